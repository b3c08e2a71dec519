//! `docs --format ebpf-docs` writes ebpf-docs' kfuncs.yaml in the schema
//! their generator decodes: read back with a loader shaped like its Go
//! structs (`kfunc_scan::lint::read`: `program_types: [{name, since,
//! until}]`, `funcs: [{name, flags, except}]`, strict where yaml.v3 is),
//! it loads, and checked against the manifest it came from it agrees.

use crate::common;
use crate::manifest_fixture;
use common::*;
use kfunc_scan::lint::{self, Kind, LintOptions};
use manifest_fixture::*;

fn yaml_of(m: &kfunc_scan::manifest::Manifest) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("m.json");
    std::fs::write(&mp, m.to_json()).unwrap();
    let y = dir.path().join("kfuncs.yaml");
    cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&mp)
        .arg("-o")
        .arg(&y)
        .expect(0);
    std::fs::read_to_string(&y).unwrap()
}

#[test]
fn loads_in_their_schema_and_agrees_with_its_manifest() {
    let m = Fx::new()
        .set(
            "tr",
            &["BPF_PROG_TYPE_TRACING"],
            &[("a", &["KF_ACQUIRE", "KF_RET_NULL"])],
        )
        .set("common", &["BPF_PROG_TYPE_UNSPEC"], &[("b", &[])])
        .set(
            "two",
            &["BPF_PROG_TYPE_XDP", "BPF_PROG_TYPE_SCHED_CLS"],
            &[("c", &["KF_RCU"])],
        )
        .def(kfunc("a"))
        .def(kfunc("b"))
        .def(kfunc("c"))
        .build();
    let text = yaml_of(&m);
    let file = lint::read(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let names: Vec<&str> = file.sets.iter().map(|s| s.name.value.as_str()).collect();
    assert_eq!(names, ["tr", "common", "two"]);
    let tr = &file.sets[0];
    assert_eq!(tr.funcs[0].name.value, "a");
    let flags: Vec<&str> = tr.funcs[0].flags.iter().map(|f| f.value.as_str()).collect();
    assert_eq!(flags, ["KF_ACQUIRE", "KF_RET_NULL"]);
    let progs: Vec<&str> = tr
        .program_types
        .iter()
        .map(|p| p.name.value.as_str())
        .collect();
    assert_eq!(progs, ["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_TRACING"]);
    // the common hook is written as ebpf-docs writes it
    assert_eq!(
        file.sets[1].program_types[0].name.value,
        "BPF_PROG_TYPE_UNSPEC"
    );
    assert!(file.unknown_keys.is_empty());
    let r = lint::lint(&file, &m, LintOptions::default());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert!(!r.has_disagreements() && r.count(Kind::VersionDifference) == 0);
}

#[test]
fn the_mini_trees_yaml_agrees_with_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("mini.json");
    cmd([
        mini().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        mp.as_os_str(),
    ])
    .expect(1);
    let y = dir.path().join("kfuncs.yaml");
    cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&mp)
        .arg("-o")
        .arg(&y)
        .expect(0);
    // lint-docs on our own output: no disagreement, exit 0
    let out = cmd([
        "lint-docs".as_ref(),
        y.as_os_str(),
        "--manifest".as_ref(),
        mp.as_os_str(),
    ])
    .expect(0);
    assert!(
        out.stderr().contains(" 0 disagreements"),
        "{}",
        out.stderr()
    );
}
