//! The fixture tree `testdata/linux-mini`, against values worked out by hand
//! from its sources (not from the tool's output), then the whole manifest
//! against its reviewed snapshot.

mod common;
use common::*;
use serde_json::{json, Value};

fn manifest() -> Value {
    let out = run(&[mini().to_str().unwrap(), "--jobs", "2"]);
    // linux-mini holds a broken set on purpose: errors, exit status 1.
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    json(&out)
}

fn kfunc<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["kfuncs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap_or_else(|| panic!("no kfunc {name}"))
}

fn set<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no set {name}"))
}

#[test]
fn version_flags_and_implicit_types_come_from_the_tree() {
    let m = manifest();
    assert_eq!(m["schema_version"], 1);
    assert_eq!(m["kernel_version"], "7.0.3-mini");
    // include/linux/btf.h of the fixture: bits chosen unlike any kernel's
    assert_eq!(m["flag_values"]["KF_FASTCALL"], 1 << 13);
    assert_eq!(m["flag_values"]["KF_MAGIC_ARGS"], 1 << 14);
    assert_eq!(m["flag_values"]["KF_IMPLICIT_ARGS"], 1 << 15);
    assert_eq!(
        m["flag_values"]["KF_ITER_ALL"],
        (1 << 8) | (1 << 9) | (1 << 10)
    );
    assert_eq!(
        m["implicit_arg_types"],
        json!(["bpf_prog_aux", "btf_struct_meta", "bpf_mini_ctx"])
    );
    // kernel/bpf/btf.c's switch: TRACING and LSM share a hook; the default is left out
    assert_eq!(m["kfunc_hooks"].as_object().unwrap().len(), 7);
    assert_eq!(
        m["kfunc_hooks"]["BPF_PROG_TYPE_LSM"],
        "BTF_KFUNC_HOOK_TRACING"
    );
    assert_eq!(
        m["kfunc_hooks"]["BPF_PROG_TYPE_TRACING"],
        "BTF_KFUNC_HOOK_TRACING"
    );
    assert_eq!(
        m["kfunc_hooks"]["BPF_PROG_TYPE_UNSPEC"],
        "BTF_KFUNC_HOOK_COMMON"
    );
}

#[test]
fn sets_entries_flags_and_conditions() {
    let m = manifest();
    let g = set(&m, "generic_btf_ids");
    assert_eq!(g["kind"], "kfuncs");
    assert_eq!(g["file"], "kernel/bpf/helpers.c");
    assert_eq!(g["line"], 97);
    let entries: Vec<(&str, Value, Value)> = g["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["flags_value"].clone(),
                e["condition"].clone(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("bpf_task_acquire", json!(1 | 128 | 4), Value::Null),
            ("bpf_task_release", json!(2), Value::Null),
            (
                "bpf_cgroup_acquire",
                json!(133),
                json!("defined(CONFIG_CGROUPS)")
            ),
            ("bpf_obj_new", json!(1 | 4 | 32768), Value::Null),
        ]
    );
    assert_eq!(
        g["entries"][0]["flags"],
        json!(["KF_ACQUIRE", "KF_RCU", "KF_RET_NULL"])
    );

    let c = set(&m, "common_btf_ids");
    let e = c["entries"].as_array().unwrap();
    assert_eq!(e.len(), 7);
    // a multi-line entry
    assert_eq!(e[2]["name"], "bpf_iter_num_next");
    assert_eq!(e[2]["flags_value"], 512 | 4);
    assert_eq!(e[2]["line"], 114);
    // #if / #elif
    assert_eq!(
        e[4]["condition"],
        "IS_ENABLED(CONFIG_BPF_WQ) && defined(CONFIG_MMU)"
    );
    assert_eq!(
        e[6]["condition"],
        "!(IS_ENABLED(CONFIG_BPF_WQ) && defined(CONFIG_MMU)) && defined(CONFIG_BPF_WQ_LEGACY)"
    );

    assert_eq!(set(&m, "mini_fmodret_ids")["kind"], "set8");
}

#[test]
fn registrations_follow_id_sets_and_chains() {
    let m = manifest();
    let regs = |s: &str| -> Vec<(String, String, Value)> {
        set(&m, s)["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["prog_type"].as_str().unwrap().to_string(),
                    r["id_set"].as_str().unwrap().to_string(),
                    r["filter"].clone(),
                )
            })
            .collect()
    };
    let g: Vec<String> = regs("generic_btf_ids").into_iter().map(|r| r.0).collect();
    assert_eq!(
        g,
        [
            "BPF_PROG_TYPE_SCHED_CLS",
            "BPF_PROG_TYPE_TRACING",
            "BPF_PROG_TYPE_XDP"
        ]
    );
    assert_eq!(
        regs("mini_magic_ids"),
        vec![
            (
                "BPF_PROG_TYPE_STRUCT_OPS".into(),
                "mini_magic_set".into(),
                json!("mini_filter")
            ),
            (
                "BPF_PROG_TYPE_SYSCALL".into(),
                "mini_magic_set".into(),
                json!("mini_filter")
            ),
        ]
    );
    assert_eq!(regs("mini_fmodret_ids")[0].0, "fmodret");
    assert_eq!(
        kfunc(&m, "bpf_dynptr_slice")["prog_types"],
        json!(["BPF_PROG_TYPE_UNSPEC"])
    );
}

#[test]
fn prototypes_annotations_and_docs() {
    let m = manifest();
    let t = kfunc(&m, "bpf_task_acquire");
    assert_eq!(t["return_type"], "struct task_struct *");
    assert_eq!(
        t["params"],
        json!([{"name": "p", "type": "struct task_struct *", "annotation": null}])
    );
    assert!(t["doc"]
        .as_str()
        .unwrap()
        .starts_with("/**\n * bpf_task_acquire - Acquire"));
    assert_eq!(t["bpf_kfunc_attr"], true);

    let d = kfunc(&m, "bpf_dynptr_slice");
    let ann: Vec<&Value> = d["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["annotation"])
        .collect();
    assert_eq!(
        ann,
        [&Value::Null, &Value::Null, &json!("__opt"), &json!("__szk")]
    );
    assert_eq!(d["params"][0]["type"], "const struct bpf_dynptr *");

    // `int (callback_fn)(...)`: a function parameter, adjusted to a pointer
    let w = kfunc(&m, "bpf_wq_set_callback_impl");
    assert_eq!(w["params"].as_array().unwrap().len(), 4);
    assert_eq!(w["params"][1]["name"], "callback_fn");
    assert_eq!(
        w["params"][1]["type"],
        "int (*)(void *map, int *key, void *value)"
    );
    assert_eq!(
        w["params"][3],
        json!({"name": "aux__ign", "type": "void *", "annotation": "__ign"})
    );

    // `__must_check` is not part of the return type
    assert_eq!(kfunc(&m, "bpf_mini_plain")["return_type"], "long");
    // `(void)` is no parameter
    assert_eq!(kfunc(&m, "truncated_kfunc")["params"], json!([]));
    // the first of two #ifdef/#else definitions, with its condition
    let c = kfunc(&m, "bpf_cgroup_acquire");
    assert_eq!(
        (c["line"].as_u64(), &c["condition"]),
        (Some(48), &json!("defined(CONFIG_CGROUPS)"))
    );
}

#[test]
fn definitions_found_by_the_second_look() {
    let m = manifest();
    let u = kfunc(&m, "update_socket_protocol");
    assert_eq!(
        (u["file"].as_str(), u["line"].as_u64()),
        (Some("net/core/sock.c"), Some(11))
    );
    assert_eq!(u["bpf_kfunc_attr"], false);
    let i = kfunc(&m, "bpf_mini_inline");
    assert_eq!(i["file"], "include/net/mini.h");
    // the header's include guard conditions nothing
    assert_eq!(i["condition"], Value::Null);
    assert_eq!(m["stats"]["files_second_look"], 2);
}

#[test]
fn verifier_supplied_arguments_in_both_conventions() {
    let m = manifest();
    assert_eq!(
        kfunc(&m, "bpf_mini_printk")["magic"],
        json!({"convention": "magic_args", "bpf_name": "bpf_mini_printk",
               "impl_name": "bpf_mini_printk_impl", "omitted_params": [4], "legacy_impl": false})
    );
    assert_eq!(
        kfunc(&m, "bpf_mini_two")["magic"]["omitted_params"],
        json!([1, 2])
    );
    // upstream: by type, const or not; the tree's list adds bpf_mini_ctx
    assert_eq!(
        kfunc(&m, "bpf_obj_new")["magic"],
        json!({"convention": "implicit_args", "bpf_name": "bpf_obj_new",
               "impl_name": "bpf_obj_new_impl", "omitted_params": [1, 2], "legacy_impl": false})
    );
    let w = kfunc(&m, "bpf_wq_set_callback")["magic"].clone();
    assert_eq!(
        (w["omitted_params"].clone(), w["legacy_impl"].clone()),
        (json!([3]), json!(true))
    );
    assert_eq!(kfunc(&m, "bpf_wq_set_callback_impl")["magic"], Value::Null);
    assert_eq!(kfunc(&m, "bpf_task_acquire")["magic"], Value::Null);
}

#[test]
fn every_mistake_is_a_diagnostic_with_its_place() {
    let m = manifest();
    let got: Vec<(String, String, u64, String)> = m["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_string(),
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["file"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let b = "drivers/broken/broken.c";
    let t = "drivers/broken/truncated.c";
    let mg = "net/mini/magic.c";
    let want: Vec<(&str, &str, u64, &str)> = vec![
        ("error", "magic-without-arg", 6, b),
        ("error", "magic-not-trailing", 7, b),
        ("warning", "magic-arg-unflagged", 8, b),
        ("error", "inconsistent-magic-flag", 9, b),
        ("error", "unknown-flag", 13, b),
        ("warning", "missing-definition", 18, b),
        ("warning", "unrecognised-set-line", 19, b),
        ("error", "mismatched-set-end", 25, b),
        ("warning", "entry-outside-set", 27, b),
        ("warning", "unresolved-registration", 36, b),
        ("error", "unterminated-set", 7, t),
        ("warning", "unrecognised-set-line", 9, t),
        ("error", "magic-table-missing", 43, mg),
        ("error", "magic-table-missing", 43, mg),
        ("error", "magic-table-unflagged", 48, mg),
    ];
    let want: Vec<(String, String, u64, String)> = want
        .into_iter()
        .map(|(a, b, c, d)| (a.into(), b.into(), c, d.into()))
        .collect();
    assert_eq!(got, want);
    let unknown = set(&m, "broken_ids")["entries"][0].clone();
    assert_eq!(unknown["flags"], json!(["KF_NOT_A_FLAG"]));
    assert_eq!(unknown["flags_value"], Value::Null);
}

#[test]
fn diagnostics_are_printed_compiler_style() {
    let out = run(&[mini().to_str().unwrap()]);
    let err = stderr(&out);
    assert!(
        err.contains("drivers/broken/broken.c:13:1: error[unknown-flag]: `KF_NOT_A_FLAG`"),
        "{err}"
    );
    assert!(
        err.contains("drivers/broken/truncated.c:7:1: error[unterminated-set]"),
        "{err}"
    );
}

#[test]
fn whole_manifest_matches_the_reviewed_snapshot() {
    let mut m = manifest();
    m["generator"] = json!("kfunc-scan");
    insta::assert_json_snapshot!("linux-mini", m);
}
