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

pub use callers::{CallableFrom, Gate};
pub use conventions::{FMODRET, PROG_TYPE_UNSPEC};
pub use read::{ManifestError, ManifestErrorKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The manifest's `schema_version`: changed when a field's meaning does.
pub const SCHEMA_VERSION: u32 = 1;

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub generator: String,
    pub kernel_version: Option<String>,
    /// Every `KF_*` flag the tree's `include/linux/btf.h` defines.
    pub flag_values: BTreeMap<String, u64>,
    /// Struct names whose pointers the verifier supplies under KF_IMPLICIT_ARGS.
    pub implicit_arg_types: Vec<String>,
    /// Program type → the kfunc hook it calls through, from the tree's
    /// `bpf_prog_type_to_kfunc_hook()` (kernel/bpf/btf.c). A set registered for
    /// one program type serves every type of the same hook; one registered for
    /// BPF_PROG_TYPE_UNSPEC (the common hook) serves them all.
    #[serde(default)]
    pub kfunc_hooks: BTreeMap<String, String>,
    /// Every member of the tree's `enum bpf_prog_type`
    /// (`include/uapi/linux/bpf.h`) but `BPF_PROG_TYPE_UNSPEC`, in enum
    /// order: the types a set registered for the common hook serves (the
    /// kernel checks the common hook for every program).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prog_type_enum: Vec<String>,
    pub sets: Vec<KfuncSet>,
    pub kfuncs: Vec<Kfunc>,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default)]
    pub stats: ScanStats,
    /// The build this manifest describes (`--config`); absent for a
    /// source-tree manifest, whose `object` and `built` fields are then
    /// absent too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
}

/// The kernel configuration a manifest's build view was made with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct BuildInfo {
    /// The `.config` file's name, as given.
    pub config: String,
    /// A hash of its content (`fnv1a64:` and 16 hex digits).
    pub config_hash: String,
    /// The architecture whose Kbuild was followed (`x86_64`).
    pub arch: String,
}

/// Which object of a build holds a set or a kfunc. In JSON: the field is
/// absent when unknown (no build view, or Kbuild could not tell: a
/// diagnostic says why), `null` when not built, else `"vmlinux"` or the
/// module's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuiltInto {
    /// Not known (the field is absent).
    #[default]
    Unknown,
    /// Not built with this configuration (`null`).
    NotBuilt,
    /// Built into this object: `vmlinux` or a module's name.
    Object(String),
}

impl BuiltInto {
    /// The object of the kernel image.
    pub const VMLINUX: &'static str = "vmlinux";

    /// Whether it is not known (the field is then not written).
    pub fn is_unknown(&self) -> bool {
        *self == BuiltInto::Unknown
    }

    /// The object's name when built.
    pub fn object(&self) -> Option<&str> {
        match self {
            BuiltInto::Object(o) => Some(o),
            _ => None,
        }
    }
}

impl Serialize for BuiltInto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `Unknown` is skipped by the fields' skip_serializing_if
        self.object().serialize(s)
    }
}

impl<'de> Deserialize<'de> for BuiltInto {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            Some(o) => BuiltInto::Object(o),
            None => BuiltInto::NotBuilt,
        })
    }
}

/// How much of the tree was looked at; the same for the same tree.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScanStats {
    /// `.c` and `.h` files read.
    pub files_read: usize,
    /// Files that mention a kfunc construct, parsed in full.
    pub files_parsed: usize,
    /// Files parsed in a second look for set members defined without `__bpf_kfunc`.
    pub files_second_look: usize,
    /// ERROR and MISSING nodes tree-sitter left in the parsed files.
    pub parse_error_nodes: usize,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    /// `BTF_KFUNCS_START` … `BTF_KFUNCS_END`
    #[default]
    Kfuncs,
    /// `BTF_SET8_START` … `BTF_SET8_END`
    Set8,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct KfuncSet {
    pub name: String,
    pub kind: SetKind,
    pub file: String,
    pub line: u32,
    pub end_line: Option<u32>,
    pub entries: Vec<SetEntry>,
    pub registrations: Vec<Registration>,
    /// With a build view: the object its `.BTF_ids` lands in, or `null`
    /// when the build does not compile it.
    #[serde(default, skip_serializing_if = "BuiltInto::is_unknown")]
    #[schemars(with = "Option<String>")]
    pub object: BuiltInto,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SetEntry {
    pub name: String,
    /// Flags as written, in source order.
    pub flags: Vec<String>,
    /// The flags OR-ed together, null when one of them is not defined by the tree.
    pub flags_value: Option<u64>,
    /// The preprocessor condition guarding the entry, null when unconditional.
    pub condition: Option<String>,
    pub line: u32,
    /// With a build view: whether the build compiles this entry (its set's
    /// object is built and its condition holds); absent without one, or
    /// when the condition could not be evaluated (a diagnostic names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built: Option<bool>,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(
    Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
pub struct Registration {
    /// `BPF_PROG_TYPE_*`, or `"fmodret"` for `register_btf_fmodret_id_set`.
    pub prog_type: String,
    /// The `struct btf_kfunc_id_set` variable passed to the call.
    pub id_set: String,
    /// Its `.filter` callback, when it has one.
    pub filter: Option<String>,
    pub file: String,
    pub line: u32,
    pub condition: Option<String>,
    /// What `filter` lets through, read from its body; present whenever
    /// `filter` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
}

/// What a set's `.filter` callback lets call the set's kfuncs. The kernel
/// runs every filter registered on a hook before looking a kfunc up there;
/// a filter that returns non-zero refuses the call. The fields narrow
/// together: a call passes when its program type is in `prog_types`, its
/// attach type in `attach_types`, and every one of `requires` holds.
#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct Restriction {
    /// Where the filter function is defined; null when the registration's
    /// file does not define it.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Why the body could not be read (then nothing else is known: the
    /// filter may refuse any call); null when it was read.
    pub unread: Option<String>,
    /// The program types it lets through; absent when it does not look at
    /// the program type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prog_types: Option<Vec<String>>,
    /// The attach types (`expected_attach_type`) it lets through; absent
    /// when it does not look at them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_types: Option<Vec<String>>,
    /// Conditions it also requires that kfunc-scan does not evaluate, as
    /// written (`!foo(prog)` when `foo(prog)` must be false).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

impl Restriction {
    /// A filter whose body could not be read, for this reason.
    pub fn unread(file: Option<String>, line: Option<u32>, why: impl Into<String>) -> Self {
        Restriction {
            file,
            line,
            unread: Some(why.into()),
            prog_types: None,
            attach_types: None,
            requires: Vec::new(),
        }
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Kfunc {
    pub name: String,
    pub file: String,
    pub line: u32,
    /// True when the definition carries `__bpf_kfunc`.
    pub bpf_kfunc_attr: bool,
    pub return_type: String,
    pub params: Vec<Param>,
    /// Names of the sets listing this kfunc, sorted.
    pub sets: Vec<String>,
    /// Program types of those sets' registrations, sorted and deduplicated.
    pub prog_types: Vec<String>,
    /// Flag names taken from the set entries (union over sets), sorted.
    pub flags: Vec<String>,
    /// Preprocessor condition around the definition, null when unconditional.
    pub condition: Option<String>,
    /// The kernel-doc comment above the definition, as written.
    pub doc: Option<String>,
    // The JSON keeps the name the magic-kfuncs proposal gave it; it covers
    // both conventions.
    #[serde(rename = "magic")]
    pub verifier_args: Option<VerifierArgs>,
    /// With a build view: the object holding the definition, `null` when
    /// the build does not compile it.
    #[serde(default, skip_serializing_if = "BuiltInto::is_unknown")]
    #[schemars(with = "Option<String>")]
    pub object: BuiltInto,
}

impl Kfunc {
    /// There for the selftests (under tools/, in their modules, or one of
    /// the kernel's own test files): left out of docs, YAML, header and
    /// diff unless asked for, by this one rule.
    pub fn is_selftest(&self) -> bool {
        conventions::is_test_source(&self.file)
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Param {
    pub name: String,
    /// The declared type without the parameter's name (`struct task_struct *`).
    #[serde(rename = "type")]
    pub ty: String,
    /// The `__word` suffix of the name (`"__sz"`), null when there is none.
    pub annotation: Option<String>,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename = "MagicConvention", rename_all = "snake_case")]
pub enum ArgsConvention {
    /// The magic-kfuncs proposal: `KF_MAGIC_ARGS` and `__magic` names.
    MagicArgs,
    /// Upstream: `KF_IMPLICIT_ARGS` and arguments recognised by type.
    ImplicitArgs,
}

impl ArgsConvention {
    /// The set-entry flag that marks a kfunc of this convention.
    pub fn flag(self) -> &'static str {
        match self {
            ArgsConvention::MagicArgs => conventions::FLAG_MAGIC_ARGS,
            ArgsConvention::ImplicitArgs => conventions::FLAG_IMPLICIT_ARGS,
        }
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
// A kfunc some of whose arguments the verifier supplies: BPF programs call
// `bpf_name` without them, the kernel's BTF also carries `impl_name` with
// the full prototype. `Magic` in the schema, `magic` in the JSON (plain
// comments here: a doc comment would change the schema's text).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename = "Magic")]
pub struct VerifierArgs {
    pub convention: ArgsConvention,
    /// The name BPF programs call (the kfunc's own name).
    pub bpf_name: String,
    /// The name of the function carrying the full kernel prototype.
    pub impl_name: String,
    /// Indices of the parameters the verifier supplies.
    pub omitted_params: Vec<usize>,
    /// True when `impl_name` is already defined in the source (nothing to emit).
    pub legacy_impl: bool,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    /// As the JSON and the terminal spell it (`error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic of `severity` named `code` at `file`:`line`:`col`.
    pub fn new(
        severity: Severity,
        code: &str,
        file: &str,
        line: u32,
        col: u32,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            file: file.to_string(),
            line,
            col,
            message: message.into(),
        }
    }

    /// Compiler style: `path:line:col: error[code]: message`; a diagnostic
    /// about a whole file or directory (line 0) is `path: note[code]: …`.
    /// One line for the terminal: the path, code and message carry names
    /// from outside, shown through [`term::escape`].
    pub fn render(&self) -> String {
        let file = term::escape(&self.file);
        let code = term::escape(&self.code);
        let message = term::escape(&self.message);
        if self.line == 0 {
            return format!("{file}: {}[{code}]: {message}", self.severity.as_str());
        }
        format!(
            "{file}:{}:{}: {}[{code}]: {message}",
            self.line,
            self.col,
            self.severity.as_str()
        )
    }
}

impl Manifest {
    /// The JSON Schema of the manifest, generated from these types.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Manifest);
        let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a manifest, untrusted input: one of another schema version is
    /// refused rather than misread (its fields may mean something else), and
    /// so is one whose names or text consumers could not safely put in
    /// paths, pages or C ([`read`]). Errors say where in `text`.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        read::from_json(text)
    }

    /// The manifest as JSON, pretty-printed, with a final line break.
    pub fn to_json(&self) -> String {
        // Serialising plain data structs into a String cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// How many of its diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// A set of kfuncs BPF programs call: registered for a program type (a set
    /// registered only for fmod_ret lists attach targets, not kfuncs), or,
    /// when its registration was not found, declared with BTF_KFUNCS_START.
    pub fn is_kfunc_set(set: &KfuncSet) -> bool {
        if set.registrations.is_empty() {
            set.kind == SetKind::Kfuncs
        } else {
            set.registrations.iter().any(|r| r.prog_type != FMODRET)
        }
    }

    /// What the build compiles, when the manifest has a build view: the
    /// sets it builds, their entries whose condition holds, and the kfuncs
    /// those entries list whose definition it builds. Unknowns are kept (not
    /// shown absent). Without a build view, the manifest as it is.
    pub fn built_only(&self) -> Manifest {
        let mut m = self.clone();
        if m.build.is_none() {
            return m;
        }
        m.sets.retain(|s| s.object != BuiltInto::NotBuilt);
        for s in &mut m.sets {
            s.entries.retain(|e| e.built != Some(false));
        }
        let listed: BTreeSet<String> = m
            .sets
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.name.clone()))
            .collect();
        m.kfuncs
            .retain(|k| k.object != BuiltInto::NotBuilt && listed.contains(&k.name));
        m
    }

    /// Kfuncs listed in a kfunc set (not fmod_ret targets, not helpers that
    /// only carry `__bpf_kfunc`), by name.
    pub fn callable_kfuncs(&self) -> Vec<&Kfunc> {
        let names: BTreeSet<&str> = self
            .sets
            .iter()
            .filter(|s| Self::is_kfunc_set(s))
            .flat_map(|s| s.entries.iter().map(|e| e.name.as_str()))
            .collect();
        self.kfuncs
            .iter()
            .filter(|k| names.contains(k.name.as_str()))
            .collect()
    }

    /// The kfunc of that name. A linear search: the manifest's arrays are
    /// not assumed to be in any order.
    pub fn kfunc(&self, name: &str) -> Option<&Kfunc> {
        self.kfuncs.iter().find(|k| k.name == name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

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
