//! The command line's contract: exit status, stdout/-o, atomic writes,
//! determinism across thread counts, `scan` as an alias.

mod common;
use common::*;
use std::fs;

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let m = mini();
    let one = run(&[m.to_str().unwrap(), "--jobs", "1"]);
    let many = run(&[m.to_str().unwrap(), "--jobs", "8"]);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, many.stdout);
    let again = run(&["scan", m.to_str().unwrap(), "-j", "3"]);
    assert_eq!(one.stdout, again.stdout);
}

#[test]
fn exit_status_zero_one_two() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.c"),
        "__bpf_kfunc int a(void) { return 0; }\n",
    )
    .unwrap();
    assert_eq!(
        run(&[dir.path().to_str().unwrap(), "-q"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&[mini().to_str().unwrap(), "-q"]).status.code(),
        Some(1)
    );
    let missing = run(&["/no/such/tree"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/no/such/tree: error[no-tree]"));
}

#[test]
fn writes_atomically_and_refuses_an_unwritable_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    fs::write(&out, "previous").unwrap();
    let r = run(&[mini().to_str().unwrap(), "-q", "-o", out.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1)); // the broken set, written in full anyway
    let text = fs::read_to_string(&out).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(!v["diagnostics"].as_array().unwrap().is_empty());
    // no temporary file left behind
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let bad = dir.path().join("no/such/dir/m.json");
    let r = run(&[mini().to_str().unwrap(), "-q", "-o", bad.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("error[write]"));
}

#[test]
fn exclude_and_queries_override() {
    let m = mini();
    let r = run(&[m.to_str().unwrap(), "--exclude", "drivers/broken/**", "-q"]);
    let v = json(&r);
    let from_drivers = |key: &str| {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["file"].as_str().unwrap().starts_with("drivers/"))
            .count()
    };
    assert_eq!(
        (
            from_drivers("kfuncs"),
            from_drivers("diagnostics"),
            from_drivers("sets")
        ),
        (0, 0, 0)
    );
    // magic.c's deliberate table error remains
    assert_eq!(r.status.code(), Some(1));

    // a query override with a syntax error is reported with its place
    let q = tempfile::tempdir().unwrap();
    fs::write(
        q.path().join("sets.scm"),
        "(declaration\n  type: (type_identifier) @delimiter\n  (((\n",
    )
    .unwrap();
    let r = run(&[m.to_str().unwrap(), "--queries", q.path().to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let err = stderr(&r);
    assert!(
        err.contains("sets.scm:") && err.contains("error[query-syntax]"),
        "{err}"
    );
}

#[test]
fn implicit_type_option_adds_a_type() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("include/linux")).unwrap();
    fs::write(
        dir.path().join("include/linux/btf.h"),
        "#define KF_IMPLICIT_ARGS (1 << 16)\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("k.c"),
        "__bpf_kfunc int k(int a, struct my_ctx *c) { return a; }\nBTF_KFUNCS_START(ids)\nBTF_ID_FLAGS(func, k, KF_IMPLICIT_ARGS)\nBTF_KFUNCS_END(ids)\n",
    )
    .unwrap();
    let plain = run(&[dir.path().to_str().unwrap(), "-q"]);
    assert_eq!(plain.status.code(), Some(1)); // no implicit argument of a known type
    let with = run(&[
        dir.path().to_str().unwrap(),
        "-q",
        "--implicit-type",
        "my_ctx",
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    let v = json(&with);
    assert_eq!(
        v["kfuncs"][0]["magic"]["omitted_params"],
        serde_json::json!([1])
    );
}

#[test]
fn a_manifest_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[mini().to_str().unwrap(), "-q"]);
    let text = String::from_utf8(out.stdout).unwrap().replacen(
        "\"schema_version\": 1",
        "\"schema_version\": 2",
        1,
    );
    let m = dir.path().join("m.json");
    fs::write(&m, text).unwrap();
    let r = run(&["header", "--manifest", m.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let err = stderr(&r);
    assert!(
        err.contains("error[manifest]: schema_version 2 is not one this kfunc-scan reads (1)"),
        "{err}"
    );
    // and a broken one names its place
    fs::write(&m, "{\"schema_version\": 1,\n  \"sets\": [}").unwrap();
    let r = run(&["diff", m.to_str().unwrap(), m.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("m.json:2:"), "{}", stderr(&r));
}
