//! Who may call a kfunc, filters included, on testdata/linux-filters: a
//! set of each filter shape the kernel uses (LSM only, as fs/bpf_fs_kfuncs.c;
//! an attach type, as net/core/filter.c; a one-line helper, as
//! kernel/trace/bpf_trace.c), one filter that cannot be read, and a set on
//! the common hook. Expected values are read off the tree's sources: its
//! uapi enum has 7 program types besides UNSPEC, and its hook table puts
//! TRACING and LSM on one hook.

use crate::common;
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-filters")
}

fn manifest() -> kfunc_scan::manifest::Manifest {
    cmd(["scan".as_ref(), tree().as_os_str()])
        .expect(0)
        .manifest()
}

/// Runs `docs --format FORMAT` on the tree into `dir/name`.
fn docs(dir: &tempfile::TempDir, format: &str, name: &str) -> PathBuf {
    let out = dir.path().join(name);
    cmd(["docs", "--format", format, "--tree"])
        .arg(tree())
        .arg("-o")
        .arg(&out)
        .expect(0);
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_filter_is_read_into_its_registration() {
    let m = manifest();
    let restriction = |set: &str| {
        let s = m.set_named(set);
        assert_eq!(s.registrations.len(), 1, "{set}");
        s.registrations[0].restriction.clone()
    };
    let lsm = restriction("lsm_ids").expect("lsm_ids is filtered");
    assert_eq!(
        (lsm.file.as_deref(), lsm.line, lsm.unread.as_deref()),
        (Some("fs/lsm_only.c"), Some(25), None)
    );
    assert_eq!(lsm.prog_types, Some(strings(&["BPF_PROG_TYPE_LSM"])));
    assert_eq!(lsm.attach_types, None);

    let iter = restriction("iter_ids").expect("iter_ids is filtered");
    assert_eq!((iter.prog_types, iter.line), (None, Some(18)));
    assert_eq!(iter.attach_types, Some(strings(&["BPF_TRACE_ITER"])));

    // through `is_session(prog)`, a helper of the file
    let session = restriction("session_ids").expect("session_ids is filtered");
    assert_eq!(
        session.attach_types,
        Some(strings(&["BPF_TRACE_KPROBE_SESSION"]))
    );
    assert!(session.requires.is_empty());

    let odd = restriction("odd_ids").expect("odd_ids is filtered");
    assert_eq!(
        odd.unread.as_deref(),
        Some("`int allowed = odd_policy(prog);` (line 21) is not read")
    );
    assert_eq!((odd.prog_types, odd.attach_types), (None, None));
    assert!(restriction("common_ids").is_none());
    // what could not be read is said where the filter is
    let notes: Vec<String> = m
        .diagnostics
        .iter()
        .map(|d| format!("{}:{}:{}", d.code, d.file, d.line))
        .collect();
    assert_eq!(notes, ["filter-unread:drivers/odd/odd.c:19"]);
}

#[test]
fn the_common_hook_serves_every_program_type_of_the_uapi_enum() {
    let m = manifest();
    assert_eq!(
        m.prog_type_enum,
        strings(&[
            "BPF_PROG_TYPE_SOCKET_FILTER",
            "BPF_PROG_TYPE_KPROBE",
            "BPF_PROG_TYPE_XDP",
            "BPF_PROG_TYPE_RAW_TRACEPOINT",
            "BPF_PROG_TYPE_TRACING",
            "BPF_PROG_TYPE_LSM",
            "BPF_PROG_TYPE_SYSCALL",
        ])
    );
    let every = m
        .kfunc_callable_from(m.kfunc_named("bpf_common_thing"))
        .every;
    // RAW_TRACEPOINT and SOCKET_FILTER have no hook of their own
    assert_eq!(every.len(), 7);
    assert!(every.contains("BPF_PROG_TYPE_RAW_TRACEPOINT"));
    assert!(every.contains("BPF_PROG_TYPE_SOCKET_FILTER"));
}

#[test]
fn callers_are_narrowed_by_the_filters() {
    let m = manifest();
    let callers = |k: &str| m.kfunc_callable_from(m.kfunc_named(k));
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // registered for LSM, whose hook TRACING shares; the filter keeps LSM
    let lsm = callers("bpf_lsm_thing");
    assert_eq!(lsm.every, set(&["BPF_PROG_TYPE_LSM"]));
    assert!(lsm.gated.is_empty());
    // both types of the TRACING hook, each only for iterators
    let iter = callers("bpf_iter_thing");
    assert_eq!(
        iter.every,
        set(&["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"])
    );
    assert_eq!(iter.attach_types(), Some(set(&["BPF_TRACE_ITER"])));
    let odd = callers("bpf_odd_thing");
    assert_eq!(odd.every, set(&["BPF_PROG_TYPE_XDP"]));
    assert_eq!(odd.attach_types(), None);
    assert_eq!(odd.gated["BPF_PROG_TYPE_XDP"][0].filter, "odd_filter");
}

#[test]
fn pages_say_who_may_call_and_under_which_filter() {
    let dir = tempfile::tempdir().unwrap();
    let out = docs(&dir, "markdown", "md");
    let page = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    let lsm = page("kfuncs/bpf_lsm_thing.md");
    assert!(lsm.contains("restricted by `lsm_filter` (fs/lsm_only.c:25), which allows only program type `BPF_PROG_TYPE_LSM`"), "{lsm}");
    assert!(
        lsm.contains(
            "Callable from: [BPF_PROG_TYPE_LSM](../program-types/BPF_PROG_TYPE_LSM.md).\n"
        ),
        "{lsm}"
    );
    let iter = page("kfuncs/bpf_iter_thing.md");
    assert!(iter.contains("[BPF_PROG_TYPE_TRACING](../program-types/BPF_PROG_TYPE_TRACING.md) (only with attach type `BPF_TRACE_ITER`)"), "{iter}");
    let odd = page("kfuncs/bpf_odd_thing.md");
    assert!(
        odd.contains("restricted by `odd_filter` (drivers/odd/odd.c:19), which could not be read"),
        "{odd}"
    );
    assert!(
        odd.contains("(if filter `odd_filter` allows it: it could not be read)"),
        "{odd}"
    );
    // the program type pages: LSM-only kfuncs are not on TRACING's
    let tracing = page("program-types/BPF_PROG_TYPE_TRACING.md");
    assert!(!tracing.contains("bpf_lsm_thing"), "{tracing}");
    assert!(tracing.contains("[bpf_iter_thing](../kfuncs/bpf_iter_thing.md) (only with attach type `BPF_TRACE_ITER`)"), "{tracing}");
    let raw = page("program-types/BPF_PROG_TYPE_RAW_TRACEPOINT.md");
    assert!(raw.contains("bpf_common_thing"), "{raw}");
    // a plain `/* name - …` comment is the kfunc's doc
    let common = page("kfuncs/bpf_common_thing.md");
    assert!(common.contains("Count a thing."), "{common}");
    assert!(common.contains("The count so far."), "{common}");
}

#[test]
fn the_html_site_says_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = docs(&dir, "html", "site");
    let lsm = std::fs::read_to_string(out.join("kfuncs/bpf_lsm_thing.html")).unwrap();
    assert!(lsm.contains("restricted by <code>lsm_filter</code> (fs/lsm_only.c:25), which allows only program type <code>BPF_PROG_TYPE_LSM</code>"), "{lsm}");
    let set = std::fs::read_to_string(out.join("sets/iter_ids.html")).unwrap();
    assert!(
        set.contains("allows only attach type <code>BPF_TRACE_ITER</code>"),
        "{set}"
    );
}

#[test]
fn the_ebpf_docs_yaml_carries_program_and_attach_types() {
    let dir = tempfile::tempdir().unwrap();
    let y = docs(&dir, "ebpf-docs", "kfuncs.yaml");
    let text = std::fs::read_to_string(&y).unwrap();
    let file = kfunc_scan::lint::read(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let of = |name: &str| {
        let s = file.sets.iter().find(|s| s.name.value == name).unwrap();
        let progs: Vec<&str> = s
            .program_types
            .iter()
            .map(|p| p.name.value.as_str())
            .collect();
        let attach: Vec<&str> = s.attach_types.iter().map(|a| a.value.as_str()).collect();
        (progs, attach)
    };
    assert_eq!(of("lsm_ids"), (vec!["BPF_PROG_TYPE_LSM"], vec![]));
    assert_eq!(
        of("iter_ids"),
        (
            vec!["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"],
            vec!["BPF_TRACE_ITER"]
        )
    );
    assert_eq!(
        of("session_ids"),
        (
            vec!["BPF_PROG_TYPE_KPROBE"],
            vec!["BPF_TRACE_KPROBE_SESSION"]
        )
    );
    // not read: no attach type is claimed
    assert_eq!(of("odd_ids"), (vec!["BPF_PROG_TYPE_XDP"], vec![]));
    assert_eq!(of("common_ids"), (vec!["BPF_PROG_TYPE_UNSPEC"], vec![]));
    // and the linter, given the manifest, agrees with it
    let m = manifest();
    let report = kfunc_scan::lint::lint(&file, &m, kfunc_scan::lint::LintOptions::default());
    let disagreements = report.count(kfunc_scan::lint::Kind::Disagreement);
    assert_eq!(disagreements, 0, "{:?}", report.findings);
}
