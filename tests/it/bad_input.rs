//! Bad input is normal input: each case gets a diagnostic or is skipped, the
//! rest of the tree is scanned, and nothing panics.

use crate::common;
use common::*;
use kfunc_scan::manifest::Manifest;
use std::fs;
use std::path::Path;

/// Scans `dir`, which must end with status `code`: the manifest and stderr.
fn scan(dir: &Path, code: i32) -> (Manifest, String) {
    let ran = cmd([dir]).expect(code);
    let err = ran.stderr();
    assert!(!err.contains("panicked"), "{err}");
    (ran.manifest(), err)
}

/// (file, code) of each diagnostic.
fn places(m: &Manifest) -> Vec<(&str, &str)> {
    m.diagnostics
        .iter()
        .map(|d| (d.file.as_str(), d.code.as_str()))
        .collect()
}

fn good_is_there(m: &Manifest) {
    assert!(
        m.has_kfunc("good_kfunc"),
        "the rest of the tree must still be scanned: {:?}",
        m.kfuncs
    );
}

#[test]
fn not_utf8() {
    let mut bytes = b"/* caf\xe9 */\n".to_vec();
    bytes.extend_from_slice(GOOD_KFUNC_C.replace("good", "latin").as_bytes());
    let dir = kernel_tree_with(&[(b"latin1.c", &bytes)]);
    let (m, _) = scan(dir.path(), 0);
    assert!(places(&m).contains(&("latin1.c", "not-utf8")));
    // still read: its kfunc is there
    assert!(m.has_kfunc("latin_kfunc"));
    good_is_there(&m);
}

#[test]
fn binary_file_named_c() {
    let mut bytes = vec![0x7f, b'E', b'L', b'F', 0, 0, 1];
    bytes.extend_from_slice(b"BTF_ID_FLAGS __bpf_kfunc");
    bytes.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
    let dir = kernel_tree_with(&[(b"blob.c", &bytes)]);
    let (m, _) = scan(dir.path(), 0);
    assert!(places(&m).contains(&("blob.c", "binary-file")));
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
    let dir = kernel_tree_with(&[(b"long.c", line.as_bytes())]);
    let (m, _) = scan(dir.path(), 0);
    assert!(m.has_kfunc("long_line"));
    good_is_there(&m);
}

#[test]
fn thousands_of_nested_ifs() {
    // past the bound on nesting (`limits::MAX_IF_DEPTH`): refused at the
    // `#ifdef` past it, the rest of the tree scanned
    let depth = 5000;
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!("#ifdef CONFIG_N{i}\n"));
    }
    s.push_str("__bpf_kfunc int deep_kfunc(int a)\n{\n\treturn a;\n}\nBTF_KFUNCS_START(deep_ids)\nBTF_ID_FLAGS(func, deep_kfunc)\nBTF_KFUNCS_END(deep_ids)\n");
    for _ in 0..depth {
        s.push_str("#endif\n");
    }
    let dir = kernel_tree_with(&[(b"deep.c", s.as_bytes())]);
    let (m, err) = scan(dir.path(), 1);
    let line = kfunc_scan::limits::MAX_IF_DEPTH + 1;
    assert!(
        err.contains(&format!("deep.c:{line}:1: error[if-too-deep]")),
        "{err}"
    );
    assert!(!m.has_kfunc("deep_kfunc"));
    good_is_there(&m);
}

#[test]
fn truncated_inside_a_set() {
    let dir = kernel_tree_with(&[(
        b"cut.c",
        b"__bpf_kfunc int cut_kfunc(void) { return 0; }\nBTF_KFUNCS_START(cut_ids)\nBTF_ID_FLAGS(func, cut_kfunc)\nBTF_ID_FLAGS(func, cu",
    )]);
    let (m, err) = scan(dir.path(), 1);
    assert!(err.contains("cut.c:2:1: error[unterminated-set]"), "{err}");
    // the entries read before the cut are kept
    assert_eq!(m.set_named("cut_ids").entries[0].name, "cut_kfunc");
    good_is_there(&m);
}

#[test]
fn dangling_link_and_link_loop() {
    let dir = kernel_tree();
    std::os::unix::fs::symlink("no/such/file.c", dir.path().join("dangling.c")).unwrap();
    fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/loop")).unwrap();
    // a C file that cannot be read is lost data: an error, exit 1, the
    // manifest written in full all the same
    let (m, err) = scan(dir.path(), 1);
    let c = places(&m);
    assert!(c.contains(&("dangling.c", "read-error")), "{c:?}");
    assert!(c.contains(&("sub/loop", "symlink-not-followed")), "{c:?}");
    assert!(err.contains("dangling.c: error[read-error]"), "{err}");
    good_is_there(&m);
}

/// `depth` nested directories named `name` under `root`, a C file at the bottom.
fn deep_tree(root: &Path, depth: usize, name: &str) {
    use rustix::fs::{mkdirat, openat, Mode, OFlags, CWD};
    // each directory opened from the one above: the whole path is longer
    // than PATH_MAX
    let dir = OFlags::DIRECTORY | OFlags::RDONLY;
    let mut fd = openat(CWD, root, dir, Mode::empty()).unwrap();
    for _ in 0..depth {
        mkdirat(&fd, name, Mode::from_raw_mode(0o755)).unwrap();
        fd = openat(&fd, name, dir, Mode::empty()).unwrap();
    }
    let file = OFlags::CREATE | OFlags::WRONLY;
    openat(&fd, "deep.c", file, Mode::from_raw_mode(0o644)).unwrap();
}

#[test]
fn a_path_too_long_to_walk_is_an_error() {
    let dir = kernel_tree();
    // 20 nested directories of 250 bytes: past PATH_MAX (4096), so the
    // walker cannot open the deepest by its path. Made one level at a time
    // (mkdirat, openat), since no single path to it may be used.
    deep_tree(dir.path(), 20, &"d".repeat(250));
    let (m, err) = scan(dir.path(), 1);
    assert!(
        m.diagnostics
            .iter()
            .any(|d| d.severity == kfunc_scan::manifest::Severity::Error
                && (d.code == "walk-error" || d.code == "read-error")),
        "{:?}\n{err}",
        m.diagnostics
    );
    good_is_there(&m);
}

#[test]
fn links_to_directories_are_one_line_on_stderr_and_each_in_the_manifest() {
    let dir = kernel_tree();
    for i in 0..5 {
        std::os::unix::fs::symlink("include", dir.path().join(format!("link{i}"))).unwrap();
    }
    let (m, err) = scan(dir.path(), 0);
    let in_manifest = m
        .diagnostics
        .iter()
        .filter(|d| d.code == "symlink-not-followed")
        .count();
    assert_eq!(in_manifest, 5);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("symlink-not-followed"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("5 links to directories"), "{err}");
    // -q hides notes
    let quiet = cmd([dir.path()]).arg("-q").expect(0).stderr();
    assert!(!quiet.contains("symlink-not-followed"), "{quiet}");
}

#[test]
fn a_fifo_named_c_does_not_hang_the_walk() {
    let dir = kernel_tree();
    let fifo = dir.path().join("pipe.c");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo is not available here");
        return;
    }
    let (m, _) = scan(dir.path(), 0);
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
    let refs: Vec<(&[u8], &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_bytes(), b.as_slice()))
        .collect();
    let dir = kernel_tree_with(&refs);
    let out = cmd([dir.path()]).output();
    assert!(matches!(out.status.code(), Some(0) | Some(1)));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    good_is_there(&manifest_of(&out));
}
