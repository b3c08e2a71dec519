//! `--config`: the build's view of a small tree made here, whose Kbuild and
//! `.config` decide each answer (worked out by hand below).

use crate::common;
use common::*;
use kfunc_scan::manifest::{BuiltInto, Manifest};
use std::path::Path;

const TOP: &str = "\
VERSION = 7
PATCHLEVEL = 0
srctree := .
ifeq ($(ARCH),x86_64)
  SRCARCH := x86
endif
build-dir := .
include $(srctree)/arch/$(SRCARCH)/Makefile
";

const BTF_H: &str = "\
#define KF_ACQUIRE (1 << 0)
#define KF_RELEASE (1 << 1)
#define KF_SLEEPABLE (1 << 5)
";

const CORE_C: &str = "\
#include <linux/btf.h>
#include <linux/inl.h>
__bpf_kfunc int core_a(void) { return 0; }
__bpf_kfunc int core_b(void) { return 0; }
__bpf_kfunc int core_c(void) { return 0; }
__bpf_kfunc int core_d(void) { return 0; }
__bpf_kfunc int core_m(void) { return 0; }
BTF_KFUNCS_START(core_ids)
BTF_ID_FLAGS(func, core_a, KF_ACQUIRE)
#ifdef CONFIG_X
BTF_ID_FLAGS(func, core_b)
#endif
#ifdef CONFIG_Y
BTF_ID_FLAGS(func, core_c)
#endif
#if BITS_PER_LONG == 64
BTF_ID_FLAGS(func, core_d)
#endif
#if IS_MODULE(CONFIG_MOD)
BTF_ID_FLAGS(func, core_m)
#endif
BTF_ID_FLAGS(func, inline_k)
BTF_KFUNCS_END(core_ids)
";

const INL_H: &str = "\
static inline __bpf_kfunc int inline_k(void) { return 1; }
";

const MOD_C: &str = "\
__bpf_kfunc int mod_e(void) { return 0; }
BTF_KFUNCS_START(mod_ids)
BTF_ID_FLAGS(func, mod_e, KF_SLEEPABLE)
#if IS_BUILTIN(CONFIG_MOD)
BTF_ID_FLAGS(func, mod_builtin_only)
#endif
BTF_KFUNCS_END(mod_ids)
__bpf_kfunc int mod_builtin_only(void) { return 0; }
";

const OFF_C: &str = "\
__bpf_kfunc int off_f(void) { return 0; }
BTF_KFUNCS_START(off_ids)
BTF_ID_FLAGS(func, off_f)
BTF_KFUNCS_END(off_ids)
";

const CONFIG: &str = "\
CONFIG_X=y
# CONFIG_Y is not set
CONFIG_MOD=m
# CONFIG_OFF is not set
";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        ("Makefile", TOP),
        ("arch/x86/Makefile", "core-y +=\n"),
        ("Kbuild", "obj-y += kernel/ net/\n"),
        ("kernel/Makefile", "obj-y += core.o\n"),
        (
            "net/Makefile",
            "obj-$(CONFIG_MOD) += modfoo.o\nobj-$(CONFIG_OFF) += off.o\n",
        ),
        ("include/linux/btf.h", BTF_H),
        ("include/linux/inl.h", INL_H),
        ("kernel/core.c", CORE_C),
        ("net/modfoo.c", MOD_C),
        ("net/off.c", OFF_C),
        (".config", CONFIG),
    ];
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
    dir
}

fn scan(root: &Path, extra: &[&str]) -> Manifest {
    cmd([root.as_os_str()]).args(extra).expect(0).manifest()
}

fn built(m: &Manifest, set: &str) -> Vec<(String, Option<bool>)> {
    m.set_named(set)
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.built))
        .collect()
}

#[test]
fn objects_and_entries_follow_kbuild_and_the_config() {
    let t = tree();
    let config = t.path().join(".config");
    let m = scan(t.path(), &["--config", config.to_str().expect("utf-8")]);
    let b = m.build.as_ref().expect("build info");
    assert_eq!(b.arch, "x86_64");
    assert!(b.config.ends_with(".config"));

    let object = |set: &str| m.set_named(set).object.clone();
    assert_eq!(object("core_ids"), BuiltInto::Object("vmlinux".into()));
    assert_eq!(object("mod_ids"), BuiltInto::Object("modfoo".into()));
    assert_eq!(object("off_ids"), BuiltInto::NotBuilt);

    let some = |s: &str, b| (s.to_string(), Some(b));
    assert_eq!(
        built(&m, "core_ids"),
        [
            some("core_a", true),
            some("core_b", true),         // CONFIG_X=y
            some("core_c", false),        // CONFIG_Y not set
            ("core_d".to_string(), None), // BITS_PER_LONG: not the config's to say
            some("core_m", true),         // IS_MODULE(CONFIG_MOD): MOD=m, wherever core.c is
            some("inline_k", true),
        ]
    );
    // IS_BUILTIN(CONFIG_MOD) with MOD=m: false
    assert_eq!(
        built(&m, "mod_ids"),
        [some("mod_e", true), some("mod_builtin_only", false)]
    );
    assert_eq!(built(&m, "off_ids"), [some("off_f", false)]);

    let kobject = |k: &str| m.kfunc_named(k).object.clone();
    assert_eq!(kobject("core_a"), BuiltInto::Object("vmlinux".into()));
    assert_eq!(kobject("mod_e"), BuiltInto::Object("modfoo".into()));
    assert_eq!(kobject("off_f"), BuiltInto::NotBuilt);
    // defined in a header: the object of the built set listing it
    assert_eq!(kobject("inline_k"), BuiltInto::Object("vmlinux".into()));

    let unevaluable: Vec<_> = m
        .diagnostics
        .iter()
        .filter(|d| d.code == "condition-unevaluable")
        .collect();
    assert_eq!(unevaluable.len(), 1, "{:?}", m.diagnostics);
    assert_eq!(
        (unevaluable[0].file.as_str(), unevaluable[0].line),
        ("kernel/core.c", 17)
    );
    assert!(
        unevaluable[0].message.contains("BITS_PER_LONG"),
        "{}",
        unevaluable[0].message
    );
}

#[test]
fn without_a_config_the_build_fields_are_absent() {
    let t = tree();
    let out = cmd([t.path()]).expect(0);
    let text = out.stdout();
    for field in ["\"build\"", "\"object\"", "\"built\""] {
        assert!(
            !text.contains(field),
            "{field} in a manifest made without --config"
        );
    }
    let m = out.manifest();
    assert!(m.sets.iter().all(|s| s.object == BuiltInto::Unknown));
}

#[test]
fn an_unreadable_config_stops_the_scan_before_it_starts() {
    let t = tree();
    let out = cmd([t.path()])
        .args(["--config", "/nonexistent/.config"])
        .expect(2);
    assert!(
        out.stderr().contains("/nonexistent/.config: error[config]"),
        "{}",
        out.stderr()
    );
}

#[test]
fn header_and_docs_publish_what_the_build_compiles_unless_asked_for_more() {
    let t = tree();
    let config = t.path().join(".config");
    let m = t.path().join("m.json");
    let scanned = cmd([t.path()])
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&m)
        .expect(0)
        .stderr();
    // the counts below start from the scan's, and say what they leave out
    assert!(
        scanned.contains("9 kfuncs (6 built by the .config, "),
        "{scanned}"
    );
    let said = cmd(["header", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(t.path().join("h.h"))
        .expect(0)
        .stderr();
    assert!(
        said.contains(
            "6 kfuncs declared (of the manifest's 9: 3 not built by its .config (--with-unbuilt))"
        ),
        "{said}"
    );
    let declared = |extra: &[&str]| -> Vec<String> {
        let h = cmd(["header", "--manifest"])
            .arg(&m)
            .args(extra)
            .expect(0)
            .stdout();
        h.lines()
            .filter(|l| l.contains("__ksym __weak;"))
            .filter_map(|l| {
                l.split('(')
                    .next()?
                    .split_whitespace()
                    .last()
                    .map(String::from)
            })
            .collect()
    };
    // core_c (CONFIG_Y unset), off_f (net/off.o not built) and
    // mod_builtin_only (IS_BUILTIN of a module) are left out; core_d, whose
    // condition cannot be decided, is kept
    let mut built = declared(&[]);
    built.sort();
    assert_eq!(
        built,
        ["core_a", "core_b", "core_d", "core_m", "inline_k", "mod_e"]
    );
    let all = declared(&["--with-unbuilt"]);
    assert_eq!(all.len(), 9, "{all:?}");

    let docs = t.path().join("docs");
    cmd(["docs", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&docs)
        .expect(0);
    let pages: Vec<String> = std::fs::read_dir(docs.join("kfuncs"))
        .expect("kfunc pages")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(pages.contains(&"core_a.md".to_string()), "{pages:?}");
    assert!(!pages.contains(&"off_f.md".to_string()), "{pages:?}");
    assert!(!pages.contains(&"core_c.md".to_string()), "{pages:?}");
}

/// What cannot be a `.config` is refused before the scan, naming the file
/// and why: the BTF given by mistake (13,032 syntax errors before), a text
/// without a CONFIG_ line (a manifest where nothing is built before), a
/// FIFO (a hang before). A damaged one shows its first errors and a count.
#[test]
fn what_cannot_be_a_config_is_refused_at_once() {
    let t = tree();
    let dir = tempfile::tempdir().unwrap();
    let btf = dir.path().join("vmlinux.btf");
    let mut bytes = vec![0x9f, 0xeb, 0x01, 0x00, 0x18, 0, 0, 0];
    bytes.extend(b"CONFIG_X=y\n".repeat(50));
    std::fs::write(&btf, &bytes).unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "remember to buy milk\nand=eggs\n").unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let huge = dir.path().join("huge");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len((16 << 20) + 1).unwrap();
    for (file, why) in [
        (&btf, "not a kernel .config: binary data (NUL bytes)"),
        (
            &notes,
            "not a kernel .config: no line sets or unsets a CONFIG_ symbol",
        ),
        (&fifo, "not a kernel .config: not a regular file"),
        (
            &huge,
            "not a kernel .config: 16777217 bytes, over the 16 MiB",
        ),
    ] {
        let out = cmd([t.path()]).arg("--config").arg(file).expect(2);
        let want = format!("{}: error[config]: {why}", file.display());
        assert!(out.stderr().contains(&want), "{want}\n{}", out.stderr());
        assert!(out.stdout().is_empty());
        assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    }

    // 20 syntax errors shown, the other 30 counted
    let damaged = dir.path().join("damaged");
    let mut text = std::fs::read_to_string(t.path().join(".config")).unwrap();
    for i in 0..50 {
        text.push_str(&format!("garbage line {i}\n"));
    }
    std::fs::write(&damaged, text).unwrap();
    let out = cmd([t.path()]).arg("--config").arg(&damaged).expect(1);
    let m = out.manifest();
    let syntax: Vec<_> = m
        .diagnostics
        .iter()
        .filter(|d| d.code == "config-syntax")
        .collect();
    assert_eq!(syntax.len(), 21, "{syntax:?}");
    assert_eq!(syntax.iter().filter(|d| d.line > 0).count(), 20);
    assert!(syntax.iter().any(|d| d.line == 0
        && d.message
            .starts_with("30 more lines are not `CONFIG_X=value` nor comments")));
}

/// A configuration under which the build compiles no set entry (another
/// tree's, or one without BPF) is said, not passed in silence: docs and
/// header would publish nothing from it.
#[test]
fn a_config_that_builds_no_kfunc_is_a_warning() {
    let t = tree();
    std::fs::write(t.path().join("Kbuild"), "obj-$(CONFIG_K) += kernel/ net/\n").unwrap();
    let config = t.path().join(".config");
    let out = cmd([t.path()]).arg("--config").arg(&config).expect(0);
    let m = out.manifest();
    let total: usize = m.sets.iter().map(|s| s.entries.len()).sum();
    assert!(m
        .sets
        .iter()
        .flat_map(|s| &s.entries)
        .all(|e| e.built == Some(false)));
    let want = format!(
        "{}: warning[nothing-built]: this configuration builds none of the tree's {total} kfunc set entries",
        config.display()
    );
    assert!(out.stderr().contains(&want), "{want}\n{}", out.stderr());
    // with the directory built, no word
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("CONFIG_K=y\n");
    std::fs::write(&config, text).unwrap();
    let out = cmd([t.path()]).arg("--config").arg(&config).expect(0);
    assert!(!out.stderr().contains("nothing-built"), "{}", out.stderr());
}

/// `--arch` is for `--config` (alone it changed nothing, silently), and an
/// architecture the tree lacks is named at once, not a Kbuild warning and
/// an empty build view.
#[test]
fn arch_needs_a_config_and_an_arch_directory() {
    let t = tree();
    let config = t.path().join(".config");
    let r = cmd([t.path()]).args(["--arch", "x86_64"]).expect(2);
    assert!(r.stderr().contains("--config <FILE>"), "{}", r.stderr());
    for (arch, hint) in [("x86", ""), ("x68", "; did you mean `x86`?")] {
        let r = cmd([t.path()])
            .arg("--config")
            .arg(&config)
            .args(["--arch", arch])
            .output();
        if arch == "x86" {
            // arch/x86 exists: taken as is
            assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
            continue;
        }
        assert_eq!(r.status.code(), Some(2));
        let want = format!(
            "error[usage]: unknown architecture `{arch}`: the tree has no arch/{arch} directory{hint}"
        );
        assert!(stderr(&r).contains(&want), "{want}\n{}", stderr(&r));
    }
    cmd([t.path()])
        .arg("--config")
        .arg(&config)
        .args(["--arch", "x86_64"])
        .expect(0);
}
