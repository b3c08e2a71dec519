//! Bad input is normal input: each case gets a diagnostic or is skipped, the
//! rest of the tree is scanned, and nothing panics.

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

const GOOD: &str = "__bpf_kfunc int good_kfunc(int a)\n{\n\treturn a;\n}\n\nBTF_KFUNCS_START(good_ids)\nBTF_ID_FLAGS(func, good_kfunc)\nBTF_KFUNCS_END(good_ids)\n";

fn tree_with(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("include/linux")).unwrap();
    fs::write(
        dir.path().join("include/linux/btf.h"),
        "#define KF_ACQUIRE (1 << 0)\n",
    )
    .unwrap();
    fs::write(dir.path().join("good.c"), GOOD).unwrap();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(p, bytes).unwrap();
    }
    dir
}

fn scan(dir: &Path) -> (Option<i32>, Value, String) {
    let out = run(&[dir.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code(), json(&out), err)
}

fn codes(m: &Value) -> Vec<(String, String)> {
    m["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn good_is_there(m: &Value) {
    assert!(
        m["kfuncs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "good_kfunc"),
        "the rest of the tree must still be scanned: {m}"
    );
}

#[test]
fn not_utf8() {
    let mut bytes = b"/* caf\xe9 */\n".to_vec();
    bytes.extend_from_slice(GOOD.replace("good", "latin").as_bytes());
    let dir = tree_with(&[("latin1.c", bytes)]);
    let (code, m, _) = scan(dir.path());
    assert_eq!(code, Some(0));
    assert!(codes(&m).contains(&("latin1.c".into(), "not-utf8".into())));
    // still read: its kfunc is there
    assert!(m["kfuncs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "latin_kfunc"));
    good_is_there(&m);
}

#[test]
fn binary_file_named_c() {
    let mut bytes = vec![0x7f, b'E', b'L', b'F', 0, 0, 1];
    bytes.extend_from_slice(b"BTF_ID_FLAGS __bpf_kfunc");
    bytes.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
    let dir = tree_with(&[("blob.c", bytes)]);
    let (code, m, _) = scan(dir.path());
    assert_eq!(code, Some(0));
    assert!(codes(&m).contains(&("blob.c".into(), "binary-file".into())));
    good_is_there(&m);
}

#[test]
fn ten_megabytes_on_one_line() {
    let mut line = String::from("__bpf_kfunc int long_line(int a) { return a; } ");
    while line.len() < 10 << 20 {
        line.push_str("int x_");
        line.push_str(&line.len().to_string());
        line.push_str(" = 1; ");
    }
    let dir = tree_with(&[("long.c", line.into_bytes())]);
    let (code, m, _) = scan(dir.path());
    assert_eq!(code, Some(0));
    assert!(m["kfuncs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "long_line"));
    good_is_there(&m);
}

#[test]
fn thousands_of_nested_ifs() {
    let depth = 5000;
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!("#ifdef CONFIG_N{i}\n"));
    }
    s.push_str("__bpf_kfunc int deep_kfunc(int a)\n{\n\treturn a;\n}\nBTF_KFUNCS_START(deep_ids)\nBTF_ID_FLAGS(func, deep_kfunc)\nBTF_KFUNCS_END(deep_ids)\n");
    for _ in 0..depth {
        s.push_str("#endif\n");
    }
    let dir = tree_with(&[("deep.c", s.into_bytes())]);
    let (code, m, _) = scan(dir.path());
    assert_eq!(code, Some(0));
    let deep = m["kfuncs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "deep_kfunc")
        .expect("deep_kfunc found");
    let cond = deep["condition"].as_str().unwrap();
    assert!(cond.starts_with("defined(CONFIG_N0) && defined(CONFIG_N1) && "));
    assert!(cond.ends_with(&format!("defined(CONFIG_N{})", depth - 1)));
    good_is_there(&m);
}

#[test]
fn truncated_inside_a_set() {
    let dir = tree_with(&[(
        "cut.c",
        b"__bpf_kfunc int cut_kfunc(void) { return 0; }\nBTF_KFUNCS_START(cut_ids)\nBTF_ID_FLAGS(func, cut_kfunc)\nBTF_ID_FLAGS(func, cu".to_vec(),
    )]);
    let (code, m, err) = scan(dir.path());
    assert_eq!(code, Some(1));
    assert!(err.contains("cut.c:2:1: error[unterminated-set]"), "{err}");
    // the entries read before the cut are kept
    let set = m["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "cut_ids")
        .unwrap();
    assert_eq!(set["entries"][0]["name"], "cut_kfunc");
    good_is_there(&m);
}

#[test]
fn dangling_link_and_link_loop() {
    let dir = tree_with(&[]);
    std::os::unix::fs::symlink("no/such/file.c", dir.path().join("dangling.c")).unwrap();
    fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/loop")).unwrap();
    let (code, m, _) = scan(dir.path());
    assert_eq!(code, Some(0));
    let c = codes(&m);
    assert!(
        c.contains(&("dangling.c".into(), "read-error".into())),
        "{c:?}"
    );
    assert!(
        c.contains(&("sub/loop".into(), "symlink-not-followed".into())),
        "{c:?}"
    );
    good_is_there(&m);
}

#[test]
fn a_fifo_named_c_does_not_hang_the_walk() {
    let dir = tree_with(&[]);
    let fifo = dir.path().join("pipe.c");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo is not available here");
        return;
    }
    let (code, m, _) = scan(dir.path());
    assert_eq!(code, Some(0));
    good_is_there(&m);
}

#[test]
fn garbage_everywhere_never_panics() {
    // Fragments of the constructs the masker and extractor read, cut at every
    // byte: none may panic, all must yield JSON.
    let text = "BTF_KFUNCS_START(a)\n#if X\nBTF_ID_FLAGS(func, f, KF_A | (KF_B))\n#elif Y\n__printf(1, 2) __bpf_kfunc int f(int (cb)(void), int x__sz, ...) { return 0; }\n#else\nBTF_ID(func, g)\n#endif\nBTF_KFUNCS_END(a)\nstatic const struct btf_kfunc_id_set s = { .set = &a, .filter = flt };\nint i(void) { return register_btf_kfunc_id_set(T, &s) ?: register_btf_fmodret_id_set(&s); }\n";
    let files: Vec<(String, Vec<u8>)> = (0..text.len())
        .step_by(7)
        .map(|cut| (format!("cut{cut:04}.c"), text.as_bytes()[..cut].to_vec()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let dir = tree_with(&refs);
    let (code, m, _) = scan(dir.path());
    assert!(matches!(code, Some(0) | Some(1)));
    good_is_there(&m);
}
