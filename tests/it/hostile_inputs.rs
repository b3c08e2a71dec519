//! Inputs made to cost: deeply nested `#if`s and blocks, huge hand-kept
//! YAML, and names made to break what reads them. Each is generated here,
//! small to write and large to read, and run through the binary under
//! 1 GiB of address space and a 10 s limit, its exit status and message
//! checked.

use crate::common;
use common::*;
use kfunc_scan::limits::MAX_IF_DEPTH;
use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The memory and time a hostile input may cost the binary here.
const MEMORY: &str = "--as=1073741824";
const TIME: Duration = Duration::from_secs(10);

/// What a bounded run left: exit status, stdout, stderr.
struct Bounded {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `kfunc-scan ARGS` under `prlimit --as=1 GiB`, killing it (and
/// failing) after 10 s. Its output goes to files, so a full pipe cannot
/// stall it.
fn bounded<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Bounded {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new("prlimit")
        .arg(MEMORY)
        .arg("--")
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("stdout file"))
        .stderr(fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("prlimit runs");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > TIME {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {TIME:?}; stderr so far:\n{}",
                String::from_utf8_lossy(&fs::read(&err).unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Bounded {
        code: status.code(),
        stdout: fs::read(&out).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&fs::read(&err).unwrap_or_default()).into_owned(),
    }
}

/// `depth` nested `#ifdef`s around the kfunc `{name}_kfunc` and its set.
fn nested_ifs(depth: usize, name: &str) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!("#ifdef CONFIG_N{i}\n"));
    }
    s.push_str(&format!("__bpf_kfunc int {name}_kfunc(int a)\n{{\n\treturn a;\n}}\nBTF_KFUNCS_START({name}_ids)\nBTF_ID_FLAGS(func, {name}_kfunc)\nBTF_KFUNCS_END({name}_ids)\n"));
    for _ in 0..depth {
        s.push_str("#endif\n");
    }
    s.into_bytes()
}

fn manifest_of_bytes(b: &[u8]) -> kfunc_scan::manifest::Manifest {
    kfunc_scan::manifest::Manifest::from_json(std::str::from_utf8(b).expect("UTF-8 manifest"))
        .expect("a manifest")
}

#[test]
fn ifs_nested_to_the_bound_are_read_one_past_it_refused() {
    let dir = kernel_tree_with(&[
        (b"at.c", &nested_ifs(MAX_IF_DEPTH, "deep")),
        (b"past.c", &nested_ifs(MAX_IF_DEPTH + 1, "past")),
    ]);
    let r = bounded([dir.path()]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let m = manifest_of_bytes(&r.stdout);
    // at the bound: read, its condition the 256 `#ifdef`s
    let cond = m.kfunc_named("deep_kfunc").condition.clone().unwrap();
    assert_eq!(cond.matches("defined(CONFIG_N").count(), MAX_IF_DEPTH);
    assert!(cond.ends_with(&format!("defined(CONFIG_N{})", MAX_IF_DEPTH - 1)));
    // one past it: refused at the `#ifdef` that opens level 257
    let line = MAX_IF_DEPTH + 1;
    let want = format!("past.c:{line}:1: error[if-too-deep]: `#if`s nest deeper than {MAX_IF_DEPTH} here (the bound); not parsed");
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert!(!m.has_kfunc("past_kfunc"));
    assert!(m.has_kfunc("good_kfunc"));
}

/// 8,000 nested `#if`s took 6 s, 50,000 over a minute: now refused at
/// once, the rest of the tree scanned.
#[test]
fn thousands_of_nested_ifs_are_refused_quickly() {
    for depth in [8_000, 50_000] {
        let dir = kernel_tree_with(&[(b"deep.c", &nested_ifs(depth, "deep"))]);
        let r = bounded([dir.path()]);
        assert_eq!(r.code, Some(1), "{depth}: {}", r.stderr);
        let want = format!("deep.c:{}:1: error[if-too-deep]", MAX_IF_DEPTH + 1);
        assert!(r.stderr.contains(&want), "{depth}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("deeper than {MAX_IF_DEPTH}")),
            "{}",
            r.stderr
        );
        let m = manifest_of_bytes(&r.stdout);
        assert!(!m.has_kfunc("deep_kfunc"));
        assert!(m.has_kfunc("good_kfunc"));
    }
}

/// A registration 50,000 blocks deep: the condition of a node is found
/// going down from the root once, not up one `parent` (itself a walk down
/// from the root) at a time (over a minute).
#[test]
fn a_registration_fifty_thousand_blocks_deep_is_read_quickly() {
    let n = 50_000;
    let mut s = String::from("static const struct btf_kfunc_id_set good_set = { .set = &good_ids };\nstatic int init(void)\n");
    s.push_str(&"{\n".repeat(n));
    s.push_str("register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &good_set);\n");
    s.push_str(&"}\n".repeat(n));
    let dir = kernel_tree_with(&[(b"reg.c", s.as_bytes())]);
    let r = bounded([dir.path()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = manifest_of_bytes(&r.stdout);
    let regs = &m.set_named("good_ids").registrations;
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(regs[0].prog_type, "BPF_PROG_TYPE_XDP");
}

/// A kfuncs.yaml of `sets` sets (each a function and a program type, none
/// of them the tree's), then a comment padding it to `size` bytes.
fn kfuncs_yaml(sets: usize, size: usize) -> Vec<u8> {
    let mut y = String::from("sets:\n");
    for i in 0..sets {
        y.push_str(&format!("  set_{i}:\n    funcs:\n      - name: bpf_func_{i}\n    program_types:\n      - name: BPF_PROG_TYPE_XDP\n"));
    }
    assert!(y.len() + 2 <= size, "{sets} sets take {} bytes", y.len());
    y.push('#');
    y.push_str(&" ".repeat(size - y.len() - 1));
    y.push('\n');
    assert_eq!(y.len(), size);
    y.into_bytes()
}

/// `lint-docs` on YAMLs of these bytes against the mini tree's manifest:
/// the bounded runs.
fn lint(yaml: &[u8]) -> Bounded {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    cmd([
        mini().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        m.as_os_str(),
    ])
    .expect(1);
    let y = dir.path().join("kfuncs.yaml");
    fs::write(&y, yaml).unwrap();
    bounded([
        "lint-docs".as_ref(),
        y.as_os_str(),
        "--manifest".as_ref(),
        m.as_os_str(),
    ])
}

/// 8 MB of sets (74,000) took 26 s, each set name compared with every one
/// before it: now refused at once, naming the file and the bound.
#[test]
fn an_eight_megabyte_kfuncs_yaml_is_refused() {
    let r = lint(&kfuncs_yaml(74_000, 8_000_000));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let limit = kfunc_scan::limits::MAX_KFUNCS_YAML_SIZE;
    assert!(
        r.stderr.contains(&format!(
            "kfuncs.yaml: error[too-large]: larger than {limit} bytes, the bound on a kfuncs.yaml; not read"
        )),
        "{}",
        r.stderr
    );
}

/// At the bound the file is read (16,000 sets, in time linear in their
/// number); one byte past it, refused.
#[test]
fn a_kfuncs_yaml_at_the_bound_is_read_one_byte_past_refused() {
    let limit = kfunc_scan::limits::MAX_KFUNCS_YAML_SIZE as usize;
    let r = lint(&kfuncs_yaml(16_000, limit));
    // the mini tree's sets are all missing: disagreements, exit 1
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("16000 version differences"),
        "{}",
        &r.stderr[r.stderr.len().saturating_sub(500)..]
    );
    let r = lint(&kfuncs_yaml(16_000, limit + 1));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("error[too-large]"), "{}", r.stderr);
}

/// A C file defining the kfunc `k{i}`, its set and a registration.
fn kfunc_file(i: usize) -> Vec<u8> {
    format!("__bpf_kfunc int k{i}(int a)\n{{\n\treturn a;\n}}\nBTF_KFUNCS_START(s{i}_ids)\nBTF_ID_FLAGS(func, k{i})\nBTF_KFUNCS_END(s{i}_ids)\nstatic const struct btf_kfunc_id_set s{i}_set = {{ .set = &s{i}_ids }};\nstatic int init{i}(void) {{ return register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &s{i}_set); }}\n").into_bytes()
}

/// Names made to break what quotes them: globs (`drv*/` holds `*/`, which
/// ends a C comment), Markdown and HTML, quotes, line breaks, escapes,
/// bidirectional overrides, bytes that are not UTF-8.
const HOSTILE: &[&[u8]] = &[
    b"drv*/x.c",
    b"a*/b/y.c",
    b"with space/s.c",
    b"q\"uote.c",
    b"<script>alert(1)<!--.c",
    b"a\nb.c",
    b"\x1b[31mred.c",
    b"\xff\xfe.c",
    b"d\xff/z.c",
    b"[x](javascript:y).c",
    b"`tick`.c",
    b"|pipe|.c",
    b"&amp;.c",
    b"it's.c",
    b"star*.c",
    b"*.c",
    b"ab\xe2\x80\xaecd.c",
    b"cr\rx.c",
];

/// The tree of [`HOSTILE`] names, `k{i}` in the `i`th.
fn hostile_tree() -> tempfile::TempDir {
    let files: Vec<(&[u8], Vec<u8>)> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, kfunc_file(i)))
        .collect();
    let refs: Vec<(&[u8], &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    kernel_tree_with(&refs)
}

/// `line` with its Markdown code spans taken out (a run of n backticks
/// closes at the next run of exactly n).
fn outside_code_spans(line: &str) -> String {
    let b = line.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if b[i] != b'`' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let n = b[i..].iter().take_while(|&&c| c == b'`').count();
        let mut j = i + n;
        let mut closed = None;
        while j < b.len() {
            let m = b[j..].iter().take_while(|&&c| c == b'`').count();
            if m == n {
                closed = Some(j + m);
                break;
            }
            j += m.max(1);
        }
        match closed {
            Some(end) => i = end,
            None => {
                out.extend_from_slice(&b[i..i + n]);
                i += n;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every hostile name is either reported by the scan (an error naming it
/// as the terminal shows it, the file not read) or in a manifest that
/// `header`, `docs` (Markdown, HTML, ebpf-docs) and `diff` take, each
/// quoting it by its own output's rule: no line of theirs is the name's.
#[test]
fn hostile_names_are_reported_or_quoted_safely_by_every_reader() {
    use kfunc_scan::manifest::term;
    let dir = hostile_tree();
    let out = tempfile::tempdir().unwrap();
    let m = out.path().join("m.json");
    let r = bounded([dir.path().as_os_str(), "-o".as_ref(), m.as_os_str()]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let text = fs::read_to_string(&m).unwrap();
    let manifest =
        kfunc_scan::manifest::Manifest::from_json(&text).expect("its own reader takes it");
    let refused: Vec<&str> = manifest
        .diagnostics
        .iter()
        .filter(|d| d.code == "unusable-path")
        .map(|d| d.file.as_str())
        .collect();
    for (i, name) in HOSTILE.iter().enumerate() {
        let shown = term::escape_bytes(name).into_owned();
        let kept = manifest.kfuncs.iter().any(|k| k.name == format!("k{i}"));
        let reported = refused.contains(&shown.as_str());
        assert!(
            kept != reported,
            "{shown}: kept {kept}, reported {reported}\n{}",
            r.stderr
        );
        if reported {
            assert!(
                r.stderr
                    .contains(&format!("{shown}: error[unusable-path]: ")),
                "{}",
                r.stderr
            );
        }
    }
    // what the readers must refuse, the scan reported; the rest is kept
    assert_eq!(refused.len(), 8, "{refused:?}");
    assert!(manifest.kfuncs.iter().any(|k| k.file == "with space/s.c"));
    assert!(!r.stderr.contains('\u{1b}'), "{}", r.stderr);

    // header: the paths in one-line comments, every line C
    let h = out.path().join("k.h");
    cmd([
        "header".as_ref(),
        "--manifest".as_ref(),
        m.as_os_str(),
        "-o".as_ref(),
        h.as_os_str(),
    ])
    .expect(0);
    let header = fs::read_to_string(&h).unwrap();
    for k in &manifest.kfuncs {
        assert!(
            header.contains(&format!("\n/* {}: {}:{} */\n", k.name, k.file, k.line)),
            "{}\n{header}",
            k.file
        );
    }
    for line in header.lines() {
        let c_line = line.is_empty()
            || (line.starts_with("/*") && line.ends_with("*/") && line.matches("*/").count() == 1)
            || line.starts_with(" * ")
            || line.starts_with('#')
            || line.starts_with("extern ");
        assert!(
            c_line || line.starts_with("/* kfuncs of"),
            "{line:?}\n{header}"
        );
    }

    // Markdown: outside code spans, no name's `<`, `[`, `|` or backtick
    let md = out.path().join("md");
    cmd([
        "docs".as_ref(),
        "--manifest".as_ref(),
        m.as_os_str(),
        "-o".as_ref(),
        md.as_os_str(),
        "--source-url".as_ref(),
        "https://example.org/t/".as_ref(),
    ])
    .expect(0);
    let mut pages = 0;
    for page in walk_files(&md) {
        let text = fs::read_to_string(&page).unwrap();
        pages += 1;
        for line in text.lines().filter(|l| !l.starts_with("<!-- generated")) {
            let prose = outside_code_spans(line);
            for bad in ["<script", "javascript:y)", "tick`", "|pipe|", "&amp;"] {
                assert!(!prose.contains(bad), "{}: {line:?}", page.display());
            }
        }
    }
    assert!(pages > manifest.kfuncs.len(), "{pages}");
    let space = fs::read_to_string(md.join("kfuncs/k2.md")).unwrap();
    assert!(
        space
            .contains("Defined at [`with space/s.c:1`](https://example.org/t/with%20space/s.c#L1)"),
        "{space}"
    );

    // HTML: every name escaped
    let html = out.path().join("html");
    cmd([
        "docs".as_ref(),
        "--manifest".as_ref(),
        m.as_os_str(),
        "-o".as_ref(),
        html.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--source-url".as_ref(),
        "https://example.org/t/".as_ref(),
    ])
    .expect(0);
    for page in walk_files(&html) {
        let text = fs::read_to_string(&page).unwrap();
        assert!(!text.contains("<script>alert"), "{}", page.display());
        assert!(!text.contains("q\"uote"), "{}", page.display());
        assert!(
            !text.contains("href=\"https://example.org/t/with space"),
            "{}",
            page.display()
        );
    }

    // ebpf-docs' YAML: one document, a set for each kfunc kept
    let y = out.path().join("kfuncs.yaml");
    cmd([
        "docs".as_ref(),
        "--manifest".as_ref(),
        m.as_os_str(),
        "-o".as_ref(),
        y.as_os_str(),
        "--format".as_ref(),
        "ebpf-docs".as_ref(),
    ])
    .expect(0);
    let yaml = kfunc_scan::lint::read(&fs::read_to_string(&y).unwrap()).expect("its YAML");
    assert_eq!(yaml.sets.len(), manifest.sets.len());

    // diff: against the tree without them, and itself
    let clean = out.path().join("clean.json");
    let plain = kernel_tree();
    cmd([
        plain.path().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        clean.as_os_str(),
    ])
    .expect(0);
    let d = cmd(["diff".as_ref(), clean.as_os_str(), m.as_os_str()]).expect(0);
    assert!(!d.stdout().contains('\u{1b}'));
    cmd([
        "diff".as_ref(),
        m.as_os_str(),
        m.as_os_str(),
        "--json".as_ref(),
    ])
    .expect(0);
}

/// The files below `dir`.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A name that is not UTF-8 cannot be a manifest's path: the file is an
/// error naming it byte for byte (it was dropped silently, exit 0).
#[test]
fn a_c_file_named_in_bytes_that_are_not_utf8_is_an_error() {
    let dir = kernel_tree_with(&[
        (b"lat\xe9n.c", &kfunc_file(1)),
        (b"d\xff/z.h", &kfunc_file(2)),
    ]);
    let r = bounded([dir.path()]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for shown in ["lat\\xe9n.c", "d\\xff/z.h"] {
        assert!(
            r.stderr.contains(&format!(
                "{shown}: error[unusable-path]: its path is not UTF-8"
            )),
            "{}",
            r.stderr
        );
    }
    let m = manifest_of_bytes(&r.stdout);
    assert!(m.has_kfunc("good_kfunc") && !m.has_kfunc("k1") && !m.has_kfunc("k2"));
}

/// Names with line breaks and escapes reach stderr escaped: in the scan's
/// diagnostics, its one line about links not followed, and the tree's own
/// name in an error.
#[test]
fn names_inject_no_line_and_no_escape_into_stderr() {
    let dir = kernel_tree_with(&[
        (b"a\nb.c", b"BTF_KFUNCS_START(x)\nBTF_ID_FLAGS(func, f\n"),
        (b"\x1b[31mred.c", b"BTF_KFUNCS_START(y)\n"),
    ]);
    for link in ["l\n1", "l\u{1b}]0;x\u{7}2", "l3"] {
        std::os::unix::fs::symlink("include", dir.path().join(link)).unwrap();
    }
    let r = bounded([dir.path()]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'),
        "{:?}",
        r.stderr
    );
    for line in r.stderr.lines() {
        // each line a diagnostic or the summary
        assert!(
            line.contains(": error[")
                || line.contains(": warning[")
                || line.contains(": note[")
                || line.starts_with("kfunc-scan: "),
            "{line:?} in {:?}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains("a\\nb.c: error[unusable-path]"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("(l\\n1, l\\u{1b}]0;x\\u{7}2, l3;"),
        "{}",
        r.stderr
    );

    let named = tempfile::tempdir().unwrap();
    let root = named.path().join("t\nx\u{1b}[2J");
    fs::create_dir(&root).unwrap();
    let r = bounded([&root]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{:?}", r.stderr);
    assert!(
        r.stderr.contains("t\\nx\\u{1b}[2J: error[no-kernel-tree]"),
        "{:?}",
        r.stderr
    );
}
