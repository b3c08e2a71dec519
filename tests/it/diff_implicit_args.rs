//! The implicit-arguments transition on two small trees
//! (`testdata/linux-implicit-{old,new}`): `bpf_wq_set_callback_impl(…, void
//! *aux__ign)` became the KF_IMPLICIT_ARGS `bpf_wq_set_callback(…, struct
//! bpf_prog_aux *aux)`. The kernel's BTF keeps the `_impl` with the full
//! prototype, so `kfunc-scan diff` reports a compatible rename, not a
//! breaking removal. Through the command line: text, `--json`, exit status.

use crate::common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tree(v: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/linux-implicit-{v}"))
}

#[test]
fn implicit_args_transition_is_a_compatible_rename() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    scan_into(&tree("old"), &old);
    scan_into(&tree("new"), &new);
    // the new tree's kfunc carries its _impl name
    let nm = read_manifest(&new);
    let va = nm
        .kfunc("bpf_wq_set_callback")
        .and_then(|k| k.verifier_args.as_ref())
        .expect("verifier-supplied arguments");
    assert_eq!(va.impl_name, "bpf_wq_set_callback_impl");

    let text = cmd(["diff", "--fail-on-breaking"])
        .arg(&old)
        .arg(&new)
        .expect(0)
        .stdout();
    assert!(
        text.starts_with(
            "kfuncs 6.12-implicit-old → 7.0-implicit-new: 0 added, 0 removed, 1 changed (0 breaking); \
             1 of the changed renamed compatibly, the old name still loading through `_impl`\n"
        ),
        "{text}"
    );
    assert!(!text.contains("removed (breaking)"), "{text}");
    assert!(
        text.contains(
            "  ~ bpf_wq_set_callback_impl → bpf_wq_set_callback\n      renamed compatibly → bpf_wq_set_callback (KF_IMPLICIT_ARGS): \
             new programs call bpf_wq_set_callback; the old name still loads through `_impl`"
        ),
        "{text}"
    );

    let j = json(&cmd(["diff", "--json"]).arg(&old).arg(&new).expect(0).0);
    assert_eq!(j["removed"], serde_json::json!([]), "{j}");
    assert_eq!(j["added"], serde_json::json!([]), "{j}");
    assert_eq!(j["breaking"], 0, "{j}");
    let changed = j["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 1, "{j}");
    assert_eq!(changed[0]["name"], "bpf_wq_set_callback_impl");
    let rename = &changed[0]["changes"][0];
    assert_eq!(rename["kind"], "implicit_args_rename", "{j}");
    assert_eq!(rename["new_name"], "bpf_wq_set_callback");
    assert_eq!(rename["flag"], "KF_IMPLICIT_ARGS");
    assert_eq!(
        rename["impl_prototype"],
        "int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (*callback_fn)(void *map, int *key, void *value), unsigned int flags, struct bpf_prog_aux *aux)"
    );
}

#[test]
fn implicit_args_with_another_prototype_is_a_removal() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("linux-implicit-changed");
    let ok = Command::new("cp")
        .arg("-r")
        .arg(tree("new"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(ok.success());
    let helpers = copy.join("kernel/bpf/helpers.c");
    let s = fs::read_to_string(&helpers).unwrap();
    let edited = s.replace(
        "unsigned int flags,\n\t\t\t\t    struct bpf_prog_aux *aux)",
        "u64 flags,\n\t\t\t\t    struct bpf_prog_aux *aux)",
    );
    assert_ne!(s, edited);
    fs::write(&helpers, edited).unwrap();
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    scan_into(&tree("old"), &old);
    scan_into(&copy, &new);
    let j = json(&cmd(["diff", "--json"]).arg(&old).arg(&new).expect(0).0);
    assert_eq!(
        j["removed"],
        serde_json::json!(["bpf_wq_set_callback_impl"]),
        "{j}"
    );
    assert_eq!(
        j["added"],
        serde_json::json!(["bpf_wq_set_callback"]),
        "{j}"
    );
    assert_eq!(j["breaking"], 1, "{j}");
    cmd(["diff", "--fail-on-breaking"])
        .arg(&old)
        .arg(&new)
        .expect(1);
}

/// Linux 7.1's `bpf_list_push_front_impl(head, node, meta, off)`: a
/// parameter after the verifier-supplied one. The kernel's reduced
/// prototype is the parameters before the first verifier-supplied one
/// (resolve_btfids drops the rest; the verifier supplies them all), so
/// `off` goes too, and that is no error under KF_IMPLICIT_ARGS.
#[test]
fn implicit_args_drop_every_parameter_after_the_first_supplied_one() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    for f in ["Makefile", "include/linux/btf.h", "kernel/bpf/helpers.c"] {
        let to = t.join(f);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(tree("new").join(f), &to).unwrap();
    }
    let helpers = t.join("kernel/bpf/helpers.c");
    let src = fs::read_to_string(&helpers).unwrap();
    let src = src
        .replace(
            "__bpf_kfunc_end_defs();",
            "__bpf_kfunc int bpf_list_push_front(struct bpf_list_head *head,\n\
             \t\t\t\tstruct bpf_list_node *node,\n\
             \t\t\t\tstruct bpf_prog_aux *aux, u64 off)\n{\n\treturn 0;\n}\n\n\
             __bpf_kfunc_end_defs();",
        )
        .replace(
            "BTF_ID_FLAGS(func, bpf_wq_start)",
            "BTF_ID_FLAGS(func, bpf_wq_start)\nBTF_ID_FLAGS(func, bpf_list_push_front, KF_IMPLICIT_ARGS)",
        );
    fs::write(&helpers, src).unwrap();
    let m = dir.path().join("m.json");
    let out = cmd([t.as_os_str(), "-o".as_ref(), m.as_os_str()]).expect(0);
    assert!(
        !out.stderr().contains("magic-not-trailing"),
        "{}",
        out.stderr()
    );
    let k = read_manifest(&m);
    let va = (k.kfunc("bpf_list_push_front"))
        .and_then(|k| k.verifier_args.as_ref())
        .expect("verifier-supplied arguments");
    assert_eq!(va.omitted_params, [2, 3]);
    // what BPF programs call: the two parameters before `aux`
    let h = cmd(["header", "--manifest"]).arg(&m).expect(0).stdout();
    assert!(
        h.contains("int bpf_list_push_front(struct bpf_list_head *head, struct bpf_list_node *node) __ksym __weak;"),
        "{h}"
    );
}
