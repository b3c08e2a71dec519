//! `avail --btf-dir DIR` on a directory made by someone else: it reads
//! nothing outside DIR through RELEASE or config, never blocks on a FIFO
//! or opens a device, reads RELEASE and config only up to their bounds,
//! never prints what it could not take as a release, and escapes every
//! name from the BTF (or the file names) on the terminal. Every BTF is
//! built here, a few dozen bytes; the slow and unbounded cases run the
//! binary under `prlimit --as=1 GiB` and are killed after 10 s.

use crate::common;

use common::{missing, run_limited};
use kfunc_scan::btf::{Btf, Endian, NewType};
use kfunc_scan::limits::{RELEASE_MAX_BYTES, RELEASE_MAX_LEN};
use std::path::Path;
use std::process::Command;

/// A stand-in for a kfunc's name, replaced byte for byte in the blob (so
/// that the writer's rules on names do not matter to these tests).
const PLACEHOLDER: &str = "bpf_placeholder_name_thirty_six_long";

/// A vmlinux BTF: `int bpf_good(int a)` and a FUNC named `evil` (as many
/// bytes as [`PLACEHOLDER`], or the placeholder itself), both with a
/// `bpf_kfunc` decl tag.
fn vmlinux_with(evil: Option<&[u8]>) -> (Btf, Vec<u8>) {
    let mut b = Btf::empty(Endian::Little);
    let int = b.add_string("int").unwrap();
    let int = b.add_type(&NewType::int(int, 4, true)).unwrap();
    let a = b.add_string("a").unwrap();
    let proto = b.add_type(&NewType::func_proto(int, &[(a, int)])).unwrap();
    let tag = b.add_string("bpf_kfunc").unwrap();
    for name in ["bpf_good", PLACEHOLDER] {
        let n = b.add_string(name).unwrap();
        let f = b.add_type(&NewType::func(n, 1, proto)).unwrap();
        b.add_type(&NewType::decl_tag(tag, f, -1, false)).unwrap();
    }
    let mut bytes = b.to_bytes();
    if let Some(evil) = evil {
        assert_eq!(evil.len(), PLACEHOLDER.len());
        let at = bytes
            .windows(PLACEHOLDER.len())
            .position(|w| w == PLACEHOLDER.as_bytes())
            .expect("the placeholder in the string section");
        bytes[at..at + evil.len()].copy_from_slice(evil);
    }
    let parsed = Btf::parse(&b.to_bytes(), None).unwrap();
    (parsed, bytes)
}

/// A module's BTF on `base`: `int bpf_mod_kfunc(int a)`, tagged.
fn module_on(base: &Btf) -> Vec<u8> {
    let mut s = Btf::empty_split(base.clone());
    let int = s.add_string("int").unwrap();
    let int = s.add_type(&NewType::int(int, 4, true)).unwrap();
    let proto = s.add_type(&NewType::func_proto(int, &[(0, int)])).unwrap();
    let n = s.add_string("bpf_mod_kfunc").unwrap();
    let f = s.add_type(&NewType::func(n, 1, proto)).unwrap();
    let tag = s.add_string("bpf_kfunc").unwrap();
    s.add_type(&NewType::decl_tag(tag, f, -1, false)).unwrap();
    s.to_bytes()
}

/// A BTF directory holding a plain vmlinux (two kfuncs).
fn btf_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("vmlinux"), vmlinux_with(None).1).unwrap();
    d
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo")
        .arg(p)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", p.display());
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// All of stderr's bytes, lossless.
    stderr_len: u64,
}

/// `kfunc-scan ARGS` under `prlimit --as=1 GiB`, killed (and the test
/// failed) after 10 s; stdout and stderr go to files (a runaway output
/// costs the test nothing), of which the first 64 KiB are kept.
fn run_bounded(args: &[&std::ffi::OsStr]) -> Option<Run> {
    if !Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing("prlimit (util-linux) is not installed");
        return None;
    }
    let r = run_limited(args);
    Some(Run {
        code: r.code,
        stdout: r.stdout,
        stderr: r.stderr,
        stderr_len: r.stderr_len,
    })
}

fn avail(dir: &Path, more: &[&str]) -> Option<Run> {
    let mut args: Vec<&std::ffi::OsStr> = vec!["avail".as_ref(), "--btf-dir".as_ref()];
    args.push(dir.as_os_str());
    args.extend(more.iter().map(|a| std::ffi::OsStr::new(*a)));
    run_bounded(&args)
}

fn kernel_of(dir: &Path) -> serde_json::Value {
    let r = avail(dir, &["--format", "json"]).expect("prlimit");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("avail's JSON");
    v["kernel"].clone()
}

/// No terminal control characters (but the line breaks between lines).
fn assert_clean(what: &str, s: &str) {
    assert!(
        !s.chars()
            .any(|c| c != '\n' && kfunc_scan::manifest::term::needs_escape(c)),
        "{what} holds a raw control character: {s:?}"
    );
}

#[test]
fn release_or_config_linking_out_of_the_dir_is_not_read() {
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("shadow");
    std::fs::write(&secret, "root:SECRET-HASH:20228:0:99999:7:::\n").unwrap();
    let d = btf_dir();
    std::os::unix::fs::symlink(&secret, d.path().join("RELEASE")).unwrap();
    let Some(r) = avail(d.path(), &[]) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("SECRET"), "{}", r.stderr);
    let want = format!(
        "{}/RELEASE: warning[release]: a link to {}, outside the BTF directory: not followed",
        d.path().display(),
        secret.canonicalize().unwrap().display()
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("kfunc-scan avail: Linux (release unknown): 2 kfuncs"),
        "{}",
        r.stderr
    );
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);

    // a config linking out, with a header naming a "release", likewise
    let d = btf_dir();
    std::fs::write(
        &secret,
        "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 SECRET-6.1 Kernel Configuration\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret, d.path().join("config")).unwrap();
    let r = avail(d.path(), &[]).expect("prlimit");
    assert!(!r.stderr.contains("SECRET"), "{}", r.stderr);
    assert!(r.stderr.contains("config: warning[release]: a link to"));
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);

    // links within the directory are followed, and a relative one to
    // the directory's parent is outside
    let d = btf_dir();
    std::fs::create_dir(d.path().join("meta")).unwrap();
    std::fs::write(d.path().join("meta/release"), "6.12.117\n").unwrap();
    std::os::unix::fs::symlink("meta/release", d.path().join("RELEASE")).unwrap();
    assert_eq!(kernel_of(d.path()), "6.12.117");
    let d = btf_dir();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::write(d.path().join("RELEASE.real"), "6.1.0\n").unwrap();
    std::fs::write(d.path().join("sub/vmlinux"), vmlinux_with(None).1).unwrap();
    std::os::unix::fs::symlink("../RELEASE.real", d.path().join("sub/RELEASE")).unwrap();
    let r = avail(&d.path().join("sub"), &[]).expect("prlimit");
    assert!(
        r.stderr.contains("outside the BTF directory"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Linux (release unknown)"), "{}", r.stderr);
}

#[test]
fn a_vmlinux_linking_out_of_the_dir_is_read() {
    // a distribution's debug package unpacked elsewhere, linked into DIR
    let elsewhere = tempfile::tempdir().unwrap();
    let real = elsewhere.path().join("vmlinux-6.12.117");
    std::fs::write(&real, vmlinux_with(None).1).unwrap();
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&real, d.path().join("vmlinux")).unwrap();
    std::fs::write(d.path().join("RELEASE"), "6.12.117\n").unwrap();
    let Some(r) = avail(d.path(), &[]) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    assert!(
        r.stderr.contains("Linux 6.12.117: 2 kfuncs"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_release_with_line_breaks_or_escapes_is_ignored_never_echoed() {
    let d = btf_dir();
    std::fs::write(
        d.path().join("RELEASE"),
        "6.1\n\x1b[31mHACKED\x1b]0;title\x07\nkfunc-scan avail: fake line\n",
    )
    .unwrap();
    let Some(r) = avail(d.path(), &[]) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_clean("stderr", &r.stderr);
    assert!(!r.stderr.contains("HACKED") && !r.stderr.contains("fake line"));
    assert_eq!(
        r.stderr,
        format!(
            "{}/RELEASE: warning[release]: not a kernel release (it holds a blank or a line break inside: one release is one word); ignored\n\
             kfunc-scan avail: Linux (release unknown): 2 kfuncs in vmlinux and 0 module BTFs, found by their bpf_kfunc decl tags\n",
            d.path().display()
        )
    );
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);
    // no line break, an escape sequence: ignored too
    std::fs::write(d.path().join("RELEASE"), "6.1\x1b[2J\n").unwrap();
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);
    // a config whose header holds one
    let d = btf_dir();
    std::fs::write(
        d.path().join("config"),
        "#\n# Linux/x86 6.1\x1b[2J Kernel Configuration\n",
    )
    .unwrap();
    let r = avail(d.path(), &[]).expect("prlimit");
    assert_clean("stderr", &r.stderr);
    assert!(
        r.stderr
            .contains("config: warning[release]: line 2: the release is not a kernel release (it holds a control character); ignored"),
        "{}",
        r.stderr
    );
}

#[test]
fn release_bounds_at_and_past() {
    let d = btf_dir();
    let max = RELEASE_MAX_BYTES as usize;
    // a release of RELEASE_MAX_LEN characters padded to RELEASE_MAX_BYTES
    let longest = "6".repeat(RELEASE_MAX_LEN);
    let at = format!("{longest}{}", "\n".repeat(max - RELEASE_MAX_LEN));
    assert_eq!(at.len(), max);
    std::fs::write(d.path().join("RELEASE"), &at).unwrap();
    assert_eq!(kernel_of(d.path()), longest.as_str());
    // one byte past the file's bound
    std::fs::write(d.path().join("RELEASE"), format!("{at}\n")).unwrap();
    let Some(r) = avail(d.path(), &[]) else {
        return;
    };
    assert!(
        r.stderr.contains(&format!(
            "RELEASE: warning[release]: longer than {max} bytes: not a kernel release (one short line); ignored"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);
    // one character past the release's
    std::fs::write(d.path().join("RELEASE"), format!("{longest}6\n")).unwrap();
    let r = avail(d.path(), &[]).expect("prlimit");
    assert!(
        r.stderr.contains(&format!(
            "not a kernel release ({} bytes, longer than a kernel release ({RELEASE_MAX_LEN} at most)); ignored",
            RELEASE_MAX_LEN + 1
        )),
        "{}",
        r.stderr
    );
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);
}

#[test]
fn a_300_mb_release_is_not_read_whole() {
    let d = btf_dir();
    // sparse: 300 MB of NULs costing no disk
    let f = std::fs::File::create(d.path().join("RELEASE")).unwrap();
    f.set_len(300_000_000).unwrap();
    drop(f);
    let Some(r) = avail(d.path(), &[]) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr_len < 1024, "{} bytes on stderr", r.stderr_len);
    assert!(
        r.stderr
            .contains("RELEASE: warning[release]: longer than 256 bytes"),
        "{}",
        r.stderr
    );
    // a 300 MB config: its head only
    let d = btf_dir();
    let mut config = b"#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.12.117 Kernel Configuration\n".to_vec();
    config.resize(1 << 20, b'#');
    std::fs::write(d.path().join("config"), &config).unwrap();
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(d.path().join("config"))
        .unwrap();
    f.set_len(300_000_000).unwrap();
    drop(f);
    assert_eq!(kernel_of(d.path()), "6.12.117");
}

#[test]
fn fifos_and_devices_are_refused_not_waited_on() {
    // RELEASE and config: a warning, the listing goes on
    for name in ["RELEASE", "config"] {
        let d = btf_dir();
        mkfifo(&d.path().join(name));
        let Some(r) = avail(d.path(), &[]) else {
            return;
        };
        assert_eq!(r.code, Some(0), "{name}: {}", r.stderr);
        assert_eq!(
            r.stderr,
            format!(
                "{}/{name}: warning[release]: a FIFO, not a regular file: not read\n\
                 kfunc-scan avail: Linux (release unknown): 2 kfuncs in vmlinux and 0 module BTFs, found by their bpf_kfunc decl tags\n",
                d.path().display()
            )
        );
    }
    // vmlinux: an error naming it
    let d = tempfile::tempdir().unwrap();
    mkfifo(&d.path().join("vmlinux"));
    let r = avail(d.path(), &[]).expect("prlimit");
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "{}/vmlinux: error[not-a-file]: a FIFO, not a regular file",
            d.path().display()
        )),
        "{}",
        r.stderr
    );
    // a link to a device, never opened
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/null", d.path().join("vmlinux.btf")).unwrap();
    let r = avail(d.path(), &[]).expect("prlimit");
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("vmlinux.btf: error[not-a-file]: a character device, not a regular file"),
        "{}",
        r.stderr
    );
    // a module: left out with a warning
    let d = btf_dir();
    mkfifo(&d.path().join("nf_conntrack.btf"));
    let r = avail(d.path(), &[]).expect("prlimit");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}/nf_conntrack.btf: warning[not-a-file]: a FIFO, not a regular file: not read as a module's BTF",
            d.path().display()
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("2 kfuncs in vmlinux and 0 module BTFs"));
}

#[test]
fn names_from_the_btf_and_file_names_are_escaped_on_the_terminal() {
    // 36 bytes, as the placeholder: a line of its own, colours, a title
    let evil = b"bpf_x\nkfunc-scan: \x1b[31mred\x1b]0;t\x07_\xe2\x80\xae";
    let (base, vmlinux) = vmlinux_with(Some(evil));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("vmlinux"), &vmlinux).unwrap();
    // a module whose file name holds an escape sequence and a line break
    let module = "mod\x1b[2J\nx.btf";
    std::fs::write(d.path().join(module), module_on(&base)).unwrap();
    let Some(r) = avail(d.path(), &[]) else {
        return;
    };
    assert_clean("stdout", &r.stdout);
    assert_clean("stderr", &r.stderr);
    let name = std::str::from_utf8(evil).unwrap();
    let shown = "bpf_x\\nkfunc-scan: \\u{1b}[31mred\\u{1b}]0;t\\u{7}_\\u{202e}";
    // a reader that refuses such a name says so (exit 2); one that takes
    // it shows it escaped
    if r.code == Some(2) {
        assert!(r.stdout.is_empty());
        return;
    }
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    let object = "mod\\u{1b}[2J\\nx";
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(shown) && l.contains(&format!("int {shown}(int a)"))),
        "{}",
        r.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("bpf_mod_kfunc") && l.contains(object)),
        "{}",
        r.stdout
    );
    // the columns are aligned on the escaped cells: PROTOTYPE starts at
    // the same column on every line
    let col = |l: &str, s: &str| l.find(s).map(|i| l[..i].chars().count());
    let p = col(lines[0], "PROTOTYPE");
    assert!(
        lines[1..].iter().all(|l| col(l, "int ") == p),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("3 kfuncs in vmlinux and 1 module BTFs"),
        "{}",
        r.stderr
    );

    // JSON keeps the exact strings (JSON escapes them)
    let r = avail(d.path(), &["--format", "json"]).expect("prlimit");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("avail's JSON");
    let kfuncs = v["kfuncs"].as_array().expect("kfuncs");
    assert!(kfuncs.iter().any(|k| k["name"] == name), "{}", r.stdout);
    assert!(kfuncs.iter().any(|k| k["object"] == "mod\x1b[2J\nx"));

    // the scripting form's answers
    let r = avail(d.path(), &["--has", name]).expect("prlimit");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, format!("{shown}: available (vmlinux)\n"));
    let r = avail(d.path(), &["--has", "bpf_mod_kfunc"]).expect("prlimit");
    assert_eq!(r.stdout, format!("bpf_mod_kfunc: available ({object})\n"));
    let r = avail(d.path(), &["--has", "no\x1b[2Jsuch\nkfunc"]).expect("prlimit");
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(r.stdout, "no\\u{1b}[2Jsuch\\nkfunc: not available\n");
}

#[test]
fn config_is_read_to_its_bound_only() {
    use kfunc_scan::limits::{CONFIG_HEADER_LINES, CONFIG_HEAD_MAX_BYTES};
    let max = CONFIG_HEAD_MAX_BYTES as usize;
    // the header's last needed word ends `past` bytes after the bound
    let config = |past: usize| {
        let tail = "\n# Linux/x86 6.12.117 Kernel";
        let long = max - "#\n# ".len() - tail.len() + past;
        format!(
            "#\n# {}{tail} Configuration\nCONFIG_BPF=y\n",
            "x".repeat(long)
        )
    };
    let d = btf_dir();
    let at = config(0);
    assert_eq!(at.find(" Configuration"), Some(max));
    std::fs::write(d.path().join("config"), &at).unwrap();
    assert_eq!(kernel_of(d.path()), "6.12.117");
    // one byte past: "Kerne" is all the head holds, no header
    let past = config(1);
    assert_eq!(past.find(" Configuration"), Some(max + 1));
    std::fs::write(d.path().join("config"), &past).unwrap();
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);
    // the header on the last line looked at, and one past
    let header = "# Linux/x86 6.12.117 Kernel Configuration\n";
    let on_line = |n: usize| format!("{}{header}", "#\n".repeat(n - 1));
    std::fs::write(d.path().join("config"), on_line(CONFIG_HEADER_LINES)).unwrap();
    assert_eq!(kernel_of(d.path()), "6.12.117");
    std::fs::write(d.path().join("config"), on_line(CONFIG_HEADER_LINES + 1)).unwrap();
    assert_eq!(kernel_of(d.path()), serde_json::Value::Null);
}

/// A 128 KiB program type (the most one argument may be): refused at
/// once, the message naming the bound instead of repeating the argument.
#[test]
fn a_huge_program_type_is_refused_quickly_and_shown_cut() {
    use kfunc_scan::limits::NAME_SHOWN_MAX_CHARS;
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m.json");
    let manifest = kfunc_scan::manifest::Manifest {
        schema_version: kfunc_scan::manifest::SCHEMA_VERSION,
        kernel_version: Some("6.12.1".into()),
        prog_type_enum: vec!["BPF_PROG_TYPE_SOCK_OPS".into()],
        ..Default::default()
    };
    std::fs::write(&m, manifest.to_json()).unwrap();
    let huge = "sock_ops".repeat(128 * 1024 / 8 - 1);
    for (cmd, btf) in [("avail", "--btf-dir"), ("header", "--btf")] {
        let args: Vec<&std::ffi::OsStr> = vec![
            cmd.as_ref(),
            btf.as_ref(),
            d.path().as_os_str(),
            "--manifest".as_ref(),
            m.as_os_str(),
            "--prog-type".as_ref(),
            huge.as_ref(),
        ];
        let Some(r) = run_bounded(&args) else {
            return;
        };
        assert_eq!(r.code, Some(2), "{cmd}: {}", r.stderr);
        assert!(
            r.stderr.contains("error[usage]: unknown program type")
                && r.stderr
                    .contains(&format!("… ({} bytes) (BPF_PROG_TYPE_", huge.len())),
            "{cmd}: {}",
            &r.stderr[..r.stderr.len().min(300)]
        );
        // two names cut at the bound, and the words around them
        assert!(
            r.stderr_len < 2 * NAME_SHOWN_MAX_CHARS as u64 + 400,
            "{cmd}: {} bytes",
            r.stderr_len
        );
    }
}
