//! The command line's contract: exit status, stdout/-o, atomic writes,
//! determinism across thread counts, `scan` as an alias.

mod common;
use common::*;
use std::fs;

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let one = cmd([mini()]).arg("--jobs").arg("1").expect(1).0.stdout;
    let many = cmd([mini()]).arg("--jobs").arg("8").expect(1).0.stdout;
    assert!(!one.is_empty());
    assert_eq!(one, many);
    let again = cmd(["scan"]).arg(mini()).arg("-j").arg("3").expect(1);
    assert_eq!(one, again.0.stdout);
}

#[test]
fn exit_status_zero_one_two() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.c"),
        "__bpf_kfunc int a(void) { return 0; }\n",
    )
    .unwrap();
    cmd([dir.path()]).arg("-q").expect(0);
    cmd([mini()]).arg("-q").expect(1);
    let missing = cmd(["/no/such/tree"]).expect(2).stderr();
    assert!(
        missing.contains("/no/such/tree: error[no-tree]"),
        "{missing}"
    );
}

#[test]
fn writes_atomically_and_refuses_an_unwritable_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    fs::write(&out, "previous").unwrap();
    // the broken set, written in full anyway
    cmd([mini()]).arg("-q").arg("-o").arg(&out).expect(1);
    assert!(!read_manifest(&out).diagnostics.is_empty());
    // no temporary file left behind
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let bad = dir.path().join("no/such/dir/m.json");
    let r = cmd([mini()]).arg("-q").arg("-o").arg(&bad).expect(2);
    assert!(r.stderr().contains("error[write]"), "{}", r.stderr());
}

#[test]
fn exclude_and_queries_override() {
    // magic.c's deliberate table error remains: exit 1
    let v = cmd([mini()])
        .arg("--exclude")
        .arg("drivers/broken/**")
        .arg("-q")
        .expect(1)
        .manifest();
    let in_drivers = |f: &String| f.starts_with("drivers/");
    assert!(!v.kfuncs.iter().any(|k| in_drivers(&k.file)));
    assert!(!v.diagnostics.iter().any(|d| in_drivers(&d.file)));
    assert!(!v.sets.iter().any(|s| in_drivers(&s.file)));

    // a query override with a syntax error is reported with its place
    let q = tempfile::tempdir().unwrap();
    fs::write(
        q.path().join("sets.scm"),
        "(declaration\n  type: (type_identifier) @delimiter\n  (((\n",
    )
    .unwrap();
    let err = cmd([mini()])
        .arg("--queries")
        .arg(q.path())
        .expect(2)
        .stderr();
    assert!(
        err.contains("sets.scm:") && err.contains("error[query-syntax]"),
        "{err}"
    );
}

#[test]
fn a_query_override_missing_a_capture_names_the_file_and_the_capture() {
    let q = tempfile::tempdir().unwrap();
    // a valid query that no longer captures @set_name
    fs::write(
        q.path().join("sets.scm"),
        "(declaration type: (type_identifier) @delimiter declarator: (identifier) @name)\n(call_expression arguments: (argument_list) @entry_args)\n",
    )
    .unwrap();
    let err = cmd([mini()])
        .arg("--queries")
        .arg(q.path())
        .expect(2)
        .stderr();
    let file = q.path().join("sets.scm");
    assert_eq!(
        err.trim_end(),
        format!(
            "{}: error[query-capture]: the query must capture @set_name",
            file.display()
        )
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
    // no implicit argument of a known type
    cmd([dir.path()]).arg("-q").expect(1);
    let with = cmd([dir.path()])
        .arg("-q")
        .arg("--implicit-type")
        .arg("my_ctx")
        .expect(0)
        .manifest();
    let k = with.kfunc_named("k").verifier_args.as_ref().unwrap();
    assert_eq!(k.omitted_params, [1]);
}

#[test]
fn a_manifest_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd([mini()]).arg("-q").expect(1).0;
    let text = String::from_utf8(out.stdout).unwrap().replacen(
        "\"schema_version\": 1",
        "\"schema_version\": 2",
        1,
    );
    let m = dir.path().join("m.json");
    fs::write(&m, text).unwrap();
    let err = cmd(["header", "--manifest"]).arg(&m).expect(2).stderr();
    assert!(
        err.contains("error[manifest]: schema_version 2 is not one this kfunc-scan reads (1)"),
        "{err}"
    );
    // and a broken one names its place
    fs::write(&m, "{\"schema_version\": 1,\n  \"sets\": [}").unwrap();
    let err = cmd(["diff"]).arg(&m).arg(&m).expect(2).stderr();
    assert!(err.contains("m.json:2:"), "{err}");
}
