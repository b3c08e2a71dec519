//! The manifest: the JSON contract between the scanner and its consumers
//! (BTF patching, docs, headers, diff). Field names here are relied upon by
//! other tools; add fields freely, never rename, and bump `SCHEMA_VERSION`
//! when a field's meaning changes. `schema/manifest.schema.json` describes it.

pub mod callers;
pub mod cdecl;
pub mod conventions;
#[cfg(any(test, feature = "test-util"))]
pub mod fixture;
pub mod history;
pub mod kversion;
pub mod read;
pub mod term;

mod build_view;
mod diagnostic;
mod kfunc;
mod model;
mod set;

pub use build_view::{BuildInfo, BuiltInto};
pub use callers::{CallableFrom, Gate};
pub use conventions::{FMODRET, PROG_TYPE_UNSPEC};
pub use diagnostic::{Diagnostic, Severity};
pub use kfunc::{ArgsConvention, Kfunc, Param, VerifierArgs};
pub use model::{Manifest, ScanStats, SCHEMA_VERSION};
pub use read::{ManifestError, ManifestErrorKind};
pub use set::{KfuncSet, Registration, Restriction, SetEntry, SetKind};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// `int name(void)` defined in `file`, registered for `prog_types`.
    pub(crate) fn kfunc(name: &str, file: &str, prog_types: &[&str]) -> Kfunc {
        Kfunc {
            prog_types: prog_types.iter().map(|s| s.to_string()).collect(),
            ..crate::fixture::kfunc(name, file)
        }
    }

    /// `k`'s parameters at `omitted` supplied by the verifier
    /// (KF_IMPLICIT_ARGS), the full prototype under `k_impl`.
    pub(crate) fn implicit_args(k: &Kfunc, omitted: &[usize]) -> VerifierArgs {
        crate::fixture::implicit_args(k, omitted, false)
    }

    fn entry(name: &str, built: Option<bool>) -> SetEntry {
        SetEntry {
            flags_value: Some(0),
            line: 2,
            built,
            ..crate::fixture::entry(name, &[])
        }
    }

    fn reg(prog_type: &str) -> Registration {
        crate::fixture::registration(prog_type, "s_set", "a.c", 9)
    }

    fn set(name: &str, kind: SetKind, entries: Vec<SetEntry>, regs: &[&str]) -> KfuncSet {
        KfuncSet {
            end_line: Some(5),
            entries,
            registrations: regs.iter().map(|p| reg(p)).collect(),
            ..crate::fixture::set(name, kind, "a.c", 1)
        }
    }

    /// Linux's hook table, in part: TRACING and LSM share a hook.
    fn hooks() -> BTreeMap<String, String> {
        [
            ("BPF_PROG_TYPE_TRACING", "BTF_KFUNC_HOOK_TRACING"),
            ("BPF_PROG_TYPE_LSM", "BTF_KFUNC_HOOK_TRACING"),
            ("BPF_PROG_TYPE_XDP", "BTF_KFUNC_HOOK_XDP"),
            ("BPF_PROG_TYPE_UNSPEC", "BTF_KFUNC_HOOK_COMMON"),
        ]
        .iter()
        .map(|(t, h)| (t.to_string(), h.to_string()))
        .collect()
    }

    fn names(s: &BTreeSet<String>) -> Vec<&str> {
        s.iter().map(String::as_str).collect()
    }

    #[test]
    fn diagnostics_render_compiler_style() {
        let d = Diagnostic::new(Severity::Error, "unknown-flag", "a.c", 13, 5, "bad");
        assert_eq!(d.render(), "a.c:13:5: error[unknown-flag]: bad");
        let d = Diagnostic::new(Severity::Warning, "w", "b.c", 1, 1, "m");
        assert_eq!(d.render(), "b.c:1:1: warning[w]: m");
        // about a whole file or directory: no line or column
        let d = Diagnostic::new(Severity::Note, "symlink-not-followed", "lib/x", 0, 0, "n");
        assert_eq!(d.render(), "lib/x: note[symlink-not-followed]: n");
    }

    #[test]
    fn errors_are_counted_alone() {
        let d = |s| Diagnostic::new(s, "c", "f.c", 1, 1, "m");
        let m = Manifest {
            diagnostics: vec![
                d(Severity::Error),
                d(Severity::Warning),
                d(Severity::Error),
                d(Severity::Note),
                d(Severity::Error),
            ],
            ..Default::default()
        };
        assert_eq!(m.error_count(), 3);
        assert_eq!(Manifest::default().error_count(), 0);
    }

    #[test]
    fn each_convention_has_its_flag() {
        assert_eq!(ArgsConvention::MagicArgs.flag(), "KF_MAGIC_ARGS");
        assert_eq!(ArgsConvention::ImplicitArgs.flag(), "KF_IMPLICIT_ARGS");
    }

    #[test]
    fn selftest_kfuncs_are_those_of_the_selftests_files() {
        let k = |file| kfunc("k", file, &[]);
        assert!(k("tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c").is_selftest());
        assert!(k("net/bpf/test_run.c").is_selftest());
        assert!(!k("kernel/bpf/helpers.c").is_selftest());
    }

    /// The object a set or kfunc is built into: absent when unknown (no
    /// build view), `null` when not built, the object's name otherwise; and
    /// read back the same.
    #[test]
    fn built_into_is_absent_null_or_a_name() {
        let mut s = set("s", SetKind::Kfuncs, vec![], &[]);
        let json = |s: &KfuncSet| serde_json::to_value(s).expect("json");
        assert!(json(&s).get("object").is_none());
        s.object = BuiltInto::NotBuilt;
        assert_eq!(json(&s)["object"], serde_json::Value::Null);
        s.object = BuiltInto::Object("vmlinux".into());
        assert_eq!(json(&s)["object"], "vmlinux");
        for object in [
            BuiltInto::Unknown,
            BuiltInto::NotBuilt,
            BuiltInto::Object("bpf_testmod".into()),
        ] {
            s.object = object;
            let back: KfuncSet = serde_json::from_value(json(&s)).expect("read");
            assert_eq!(back.object, s.object);
        }
    }

    #[test]
    fn a_manifest_is_read_back_as_written() {
        let mut k = kfunc(
            "bpf_task_acquire",
            "kernel/bpf/helpers.c",
            &["BPF_PROG_TYPE_TRACING"],
        );
        k.flags = vec!["KF_ACQUIRE".into()];
        let m = Manifest {
            schema_version: SCHEMA_VERSION,
            generator: "test".into(),
            kernel_version: Some("6.12.0".into()),
            sets: vec![set(
                "generic_btf_ids",
                SetKind::Kfuncs,
                vec![entry("bpf_task_acquire", None)],
                &["BPF_PROG_TYPE_TRACING"],
            )],
            kfuncs: vec![k],
            diagnostics: vec![Diagnostic::new(Severity::Note, "n", "a.c", 0, 0, "m")],
            ..Default::default()
        };
        let text = m.to_json();
        assert!(text.ends_with("}\n"));
        assert_eq!(Manifest::from_json(&text).expect("read"), m);
    }

    #[test]
    fn the_schema_describes_the_manifest() {
        let s = Manifest::json_schema();
        assert!(s.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&s).expect("JSON");
        assert_eq!(v["title"], "Manifest");
        for field in ["schema_version", "sets", "kfuncs", "diagnostics"] {
            assert!(v["properties"].get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn kfunc_sets_are_registered_for_a_program_type_or_declared_so() {
        let kfuncs = |regs: &[&str]| set("s", SetKind::Kfuncs, vec![], regs);
        let set8 = |regs: &[&str]| set("s", SetKind::Set8, vec![], regs);
        // registration unknown: the declaration says
        assert!(Manifest::is_kfunc_set(&kfuncs(&[])));
        assert!(!Manifest::is_kfunc_set(&set8(&[])));
        // registered: for fmod_ret only, attach targets
        assert!(!Manifest::is_kfunc_set(&kfuncs(&[FMODRET])));
        assert!(Manifest::is_kfunc_set(&set8(&["BPF_PROG_TYPE_XDP"])));
        assert!(Manifest::is_kfunc_set(&kfuncs(&[
            FMODRET,
            "BPF_PROG_TYPE_LSM"
        ])));
    }

    #[test]
    fn callable_kfuncs_are_those_a_kfunc_set_lists() {
        let m = Manifest {
            sets: vec![
                set("k", SetKind::Kfuncs, vec![entry("listed", None)], &[]),
                set("f", SetKind::Set8, vec![entry("target", None)], &[FMODRET]),
            ],
            kfuncs: vec![
                kfunc("attr_only", "a.c", &[]),
                kfunc("listed", "a.c", &[]),
                kfunc("target", "a.c", &[]),
            ],
            ..Default::default()
        };
        let got: Vec<&str> = m
            .callable_kfuncs()
            .iter()
            .map(|k| k.name.as_str())
            .collect();
        assert_eq!(got, ["listed"]);
        assert_eq!(m.kfunc("target").map(|k| k.name.as_str()), Some("target"));
        assert!(m.kfunc("absent").is_none());
    }

    #[test]
    fn the_build_view_keeps_what_is_built_and_what_is_unknown() {
        let mut built_set = set(
            "b",
            SetKind::Kfuncs,
            vec![
                entry("in", Some(true)),
                entry("out", Some(false)),
                entry("unknown", None),
                entry("elsewhere", Some(true)),
            ],
            &[],
        );
        built_set.object = BuiltInto::Object("vmlinux".into());
        let mut off_set = set("o", SetKind::Kfuncs, vec![entry("off", Some(true))], &[]);
        off_set.object = BuiltInto::NotBuilt;
        let mut elsewhere = kfunc("elsewhere", "m.c", &[]);
        elsewhere.object = BuiltInto::NotBuilt;
        let mut m = Manifest {
            sets: vec![built_set, off_set],
            kfuncs: ["in", "out", "unknown", "off"]
                .iter()
                .map(|n| kfunc(n, "a.c", &[]))
                .chain([elsewhere])
                .collect(),
            ..Default::default()
        };
        // no build view: nothing is taken away
        assert_eq!(m.built_only(), m);
        m.build = Some(BuildInfo::default());
        let b = m.built_only();
        let sets: Vec<&str> = b.sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(sets, ["b"]);
        let entries: Vec<&str> = b.sets[0].entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(entries, ["in", "unknown", "elsewhere"]);
        let kfuncs: Vec<&str> = b.kfuncs.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(kfuncs, ["in", "unknown"]);
    }

    /// Registrations for these program types.
    fn regs(types: &[&str]) -> Vec<Registration> {
        types.iter().map(|t| reg(t)).collect()
    }

    #[test]
    fn callable_from_follows_the_hooks() {
        let mut m = Manifest {
            kfunc_hooks: hooks(),
            ..Default::default()
        };
        // TRACING brings LSM, its hook's other type; fmod_ret is no call
        let c = m.callable_from(&regs(&["BPF_PROG_TYPE_TRACING", FMODRET]));
        assert!(!c.common);
        assert_eq!(
            names(&c.named),
            ["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"]
        );
        assert_eq!(c.every, c.named);
        assert_eq!(names(&c.with_unspec()), names(&c.named));
        // a type the table lacks is taken as registered
        let c = m.callable_from(&regs(&["BPF_PROG_TYPE_SYSCALL"]));
        assert_eq!(names(&c.named), ["BPF_PROG_TYPE_SYSCALL"]);
        // the common hook without the uapi enum: every type with a hook,
        // UNSPEC itself aside
        let both = regs(&[PROG_TYPE_UNSPEC, "BPF_PROG_TYPE_XDP"]);
        let c = m.callable_from(&both);
        assert!(c.common);
        assert_eq!(names(&c.named), ["BPF_PROG_TYPE_XDP"]);
        assert_eq!(
            names(&c.every),
            [
                "BPF_PROG_TYPE_LSM",
                "BPF_PROG_TYPE_TRACING",
                "BPF_PROG_TYPE_XDP"
            ]
        );
        assert_eq!(
            names(&c.with_unspec()),
            [PROG_TYPE_UNSPEC, "BPF_PROG_TYPE_XDP"]
        );
        // with the enum: every member, hook or not
        m.prog_type_enum = vec!["BPF_PROG_TYPE_SK_MSG".into(), "BPF_PROG_TYPE_XDP".into()];
        let c = m.callable_from(&both);
        assert_eq!(
            names(&c.every),
            ["BPF_PROG_TYPE_SK_MSG", "BPF_PROG_TYPE_XDP"]
        );
        // no hook table: UNSPEC stands for them
        let c = Manifest::default().callable_from(&regs(&[PROG_TYPE_UNSPEC]));
        assert_eq!(names(&c.every), [PROG_TYPE_UNSPEC]);
        assert!(c.named.is_empty());
    }

    #[test]
    fn filters_narrow_and_gate_the_callers() {
        let m = Manifest {
            kfunc_hooks: hooks(),
            ..Default::default()
        };
        let filtered = |restriction: Option<Restriction>| Registration {
            filter: Some("f".into()),
            restriction,
            ..reg("BPF_PROG_TYPE_LSM")
        };
        let only = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let allows = |prog_types, attach_types| Restriction {
            unread: None,
            prog_types,
            attach_types,
            ..Restriction::unread(None, None, "")
        };
        let lsm_only = allows(only(&["BPF_PROG_TYPE_LSM"]), None);
        let c = m.callable_from(&[filtered(Some(lsm_only.clone()))]);
        assert_eq!(names(&c.every), ["BPF_PROG_TYPE_LSM"]);
        assert!(c.gated.is_empty());
        // an unfiltered registration on the same hook does not escape the
        // filter: the kernel runs every filter of the hook
        let c = m.callable_from(&[
            filtered(Some(lsm_only.clone())),
            reg("BPF_PROG_TYPE_TRACING"),
        ]);
        assert_eq!(names(&c.every), ["BPF_PROG_TYPE_LSM"]);
        let iter = allows(None, only(&["BPF_TRACE_ITER"]));
        let c = m.callable_from(&[filtered(Some(iter))]);
        assert_eq!(
            names(&c.every),
            ["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"]
        );
        assert_eq!(c.gated.len(), 2);
        assert_eq!(
            c.attach_types().map(|a| a.into_iter().collect::<Vec<_>>()),
            Some(vec!["BPF_TRACE_ITER".to_string()])
        );
        // a filter the manifest says nothing of gates every type, unread
        let c = m.callable_from(&[filtered(None)]);
        assert_eq!(c.gated.len(), 2);
        assert!(c.gates().iter().all(|g| g.restriction.unread.is_some()));
        assert_eq!(c.attach_types(), None);
        // the common hook's path stays open when the type's own is filtered
        let c = m.callable_from(&[filtered(Some(lsm_only)), reg(PROG_TYPE_UNSPEC)]);
        assert!(c.every.contains("BPF_PROG_TYPE_TRACING"));
        assert!(c.gated.is_empty());
    }

    #[test]
    fn a_kfunc_and_a_set_are_callable_from_their_registrations() {
        let mut m = Manifest {
            kfunc_hooks: hooks(),
            ..Default::default()
        };
        m.sets
            .push(set("lsm", SetKind::Kfuncs, vec![], &["BPF_PROG_TYPE_LSM"]));
        let mut k = kfunc("k", "a.c", &["BPF_PROG_TYPE_LSM"]);
        k.sets = vec!["lsm".into()];
        assert_eq!(
            m.effective_prog_types(&k),
            ["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"]
        );
        assert_eq!(
            names(&m.kfunc_callable_from(&k).named),
            ["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"]
        );
        // a kfunc in no set of the manifest is callable from nothing
        k.sets.clear();
        assert!(m.effective_prog_types(&k).is_empty());
        let s = set(
            "s",
            SetKind::Kfuncs,
            vec![],
            &["BPF_PROG_TYPE_XDP", FMODRET],
        );
        assert_eq!(names(&m.set_callable_from(&s).named), ["BPF_PROG_TYPE_XDP"]);
    }

    #[test]
    fn severities_are_named_in_lower_case() {
        assert_eq!(Severity::Error.as_str(), "error");
        assert_eq!(Severity::Warning.as_str(), "warning");
        assert_eq!(Severity::Note.as_str(), "note");
    }
}
