//! Docs and ebpf-docs YAML leave the selftests' sets and kfuncs out (under
//! tools/, and net/bpf/test_run.c's test set) unless --with-selftests, as
//! the header does.

use crate::common;
use crate::manifest_fixture;
use common::*;
use kfunc_scan::docs::{ebpf_docs_yaml, ebpf_docs_yaml_with, markdown, markdown_with, DocsOptions};
use kfunc_scan::manifest::Manifest;
use manifest_fixture::*;

fn manifest() -> Manifest {
    let mut m = Fx::new()
        .set(
            "generic_btf_ids",
            &["BPF_PROG_TYPE_TRACING"],
            &[("bpf_task_acquire", &["KF_ACQUIRE"])],
        )
        .set(
            "bpf_testmod_check_kfunc_ids",
            &["BPF_PROG_TYPE_SCHED_CLS"],
            &[("bpf_testmod_test_mod_kfunc", &[])],
        )
        .set(
            "test_sk_check_kfunc_ids",
            &["BPF_PROG_TYPE_SCHED_CLS"],
            &[("bpf_kfunc_call_test_release", &["KF_RELEASE"])],
        )
        .def(kfunc("bpf_task_acquire"))
        .def(kfunc("bpf_testmod_test_mod_kfunc"))
        .def(kfunc("bpf_kfunc_call_test_release"))
        .build();
    let testmod = "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c";
    m.sets[1].file = testmod.into();
    m.sets[2].file = "net/bpf/test_run.c".into();
    for k in &mut m.kfuncs {
        match k.name.as_str() {
            "bpf_testmod_test_mod_kfunc" => k.file = testmod.into(),
            "bpf_kfunc_call_test_release" => k.file = "net/bpf/test_run.c".into(),
            _ => {}
        }
    }
    m
}

const TEST_NAMES: [&str; 4] = [
    "bpf_testmod_check_kfunc_ids",
    "bpf_testmod_test_mod_kfunc",
    "test_sk_check_kfunc_ids",
    "bpf_kfunc_call_test_release",
];

#[test]
fn left_out_unless_asked_for() {
    let m = manifest();
    let pages = markdown(&m, None);
    let all: String = pages.iter().map(|(k, v)| format!("{k}\n{v}")).collect();
    assert!(all.contains("bpf_task_acquire"));
    for n in TEST_NAMES {
        assert!(!all.contains(n), "{n}");
    }
    let y = ebpf_docs_yaml(&m);
    for n in TEST_NAMES {
        assert!(!y.contains(n), "{n}\n{y}");
    }
    let with = DocsOptions {
        with_selftests: true,
        ..Default::default()
    };
    let pages = markdown_with(&m, &with);
    let y = ebpf_docs_yaml_with(&m, &with);
    for n in TEST_NAMES {
        assert!(pages.values().any(|p| p.contains(n)), "{n}");
        assert!(y.contains(n), "{n}");
    }
    assert!(pages.contains_key("kfuncs/bpf_testmod_test_mod_kfunc.md"));
}

#[test]
fn the_command_line_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("m.json");
    std::fs::write(&mp, manifest().to_json()).unwrap();
    let y = dir.path().join("k.yaml");
    let run = |extra: &[&str]| {
        cmd(["docs", "--format", "ebpf-docs", "--manifest"])
            .arg(&mp)
            .arg("-o")
            .arg(&y)
            .args(extra)
            .expect(0);
        std::fs::read_to_string(&y).unwrap()
    };
    assert!(!run(&[]).contains("bpf_testmod"));
    assert!(run(&["--with-selftests"]).contains("bpf_testmod_check_kfunc_ids:"));
}
