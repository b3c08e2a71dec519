//! BTF from someone else: names that would write C into a program, names
//! the kernel refuses, sizes that would make a header without end, and a
//! file that is not BTF at all. Every BTF here is built by hand, byte by
//! byte (`Raw`), so that it can be what the crate's writer would refuse.

use crate::common;

use common::{cmd, run_limited};
use kfunc_scan::btf::{Btf, ReadError};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---- a BTF writer that writes anything

const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const FWD: u32 = 7;
const TYPEDEF: u32 = 8;
const FUNC: u32 = 12;
const FUNC_PROTO: u32 = 13;
const VAR: u32 = 14;
const DATASEC: u32 = 15;
const DECL_TAG: u32 = 17;
const TYPE_TAG: u32 = 18;

/// Type records and strings as given, little-endian.
struct Raw {
    types: Vec<u8>,
    strings: Vec<u8>,
    count: u32,
}

impl Raw {
    fn new() -> Raw {
        Raw {
            types: Vec::new(),
            strings: vec![0],
            count: 0,
        }
    }

    /// A string's offset (appended, even if it is there already).
    fn s(&mut self, s: &[u8]) -> u32 {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s);
        self.strings.push(0);
        off
    }

    /// A record; returns its ID.
    fn t(&mut self, name: u32, kind: u32, vlen: u32, size_or_type: u32, extra: &[u32]) -> u32 {
        self.t_flag(name, kind, false, vlen, size_or_type, extra)
    }

    fn t_flag(
        &mut self,
        name: u32,
        kind: u32,
        kflag: bool,
        vlen: u32,
        size_or_type: u32,
        extra: &[u32],
    ) -> u32 {
        let info = (u32::from(kflag) << 31) | (kind << 24) | vlen;
        for w in [name, info, size_or_type].iter().chain(extra) {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.count += 1;
        self.count
    }

    /// `int`, 4 bytes, signed.
    fn int(&mut self) -> u32 {
        let n = self.s(b"int");
        self.t(n, INT, 0, 4, &[(1 << 24) | 32])
    }

    /// A FUNC `name` returning `ret` with `params` (name, type), tagged
    /// `bpf_kfunc` so that `header --btf` declares it.
    fn kfunc(&mut self, name: &[u8], params: &[(&[u8], u32)], ret: u32) -> u32 {
        let mut words = Vec::new();
        for (n, t) in params {
            words.push(self.s(n));
            words.push(*t);
        }
        let proto = self.t(0, FUNC_PROTO, params.len() as u32, ret, &words);
        let n = self.s(name);
        let f = self.t(n, FUNC, 1, proto, &[]);
        let tag = self.s(b"bpf_kfunc");
        self.t(tag, DECL_TAG, 0, f, &[u32::MAX]);
        f
    }

    fn bytes(&self) -> Vec<u8> {
        let (tl, sl) = (self.types.len() as u32, self.strings.len() as u32);
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9f_u16.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [24, 0, tl, tl, sl] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }

    fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, self.bytes()).expect("write BTF");
        p
    }
}

/// `#define SEC(x) …` on a line of its own, inside a name.
const DIRECTIVE: &[u8] = b"\n#define SEC(x) __attribute__((section(\"hijacked\")))\n";

fn with(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---- running the binary within bounds

/// `kfunc-scan ARGS` under `prlimit --as` of 1 GiB, killed (and the test
/// failed) after 10 s: its exit status and stderr.
fn bounded(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let r = run_limited(args);
    // a signal (the allocator's abort) has no code
    (r.code.unwrap_or(-1), r.stderr)
}

/// `header --btf BTF -o OUT` within bounds.
fn header_bounded(btf: &Path, out: &Path) -> (i32, String) {
    bounded(&[
        "header".as_ref(),
        "--btf".as_ref(),
        btf.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
}

fn have_clang() -> bool {
    let ok = Command::new("clang")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::missing("clang is not installed");
    }
    ok
}

/// clang -fsyntax-only -Wall -Werror, for BPF, of a program including
/// `header` (after `prelude`) that fails if `SEC` is defined: what a
/// directive smuggled into the header would do.
fn compiles_without_sec(header: &Path, prelude: &str) -> Result<(), String> {
    let dir = header.parent().expect("dir");
    let prog = dir.join("prog.c");
    fs::write(
        &prog,
        format!("{prelude}\n#include \"kfuncs.h\"\n#ifdef SEC\n#error SEC defined by the header\n#endif\nint f(void) {{ return 0; }}\n"),
    )
    .expect("write program");
    fs::copy(header, dir.join("kfuncs.h")).expect("copy header");
    let out = Command::new("clang")
        .args(["-fsyntax-only", "-Wall", "-Werror", "-target", "bpf"])
        .arg(&prog)
        .output()
        .expect("clang");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

// ---- 1. names that would write C

/// BTFs the kernel loads (so the validator passes them) whose names C
/// cannot take: each was written into the header as it is, a directive
/// and all. Each is refused, naming the type, the name shown escaped.
#[test]
fn names_the_kernel_takes_but_c_cannot_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(&str, Raw, &str)> = Vec::new();

    // an INT's name: the kernel checks none
    let mut r = Raw::new();
    let n = r.s(&with(&[b"int;", DIRECTIVE, b"int"]));
    let i = r.t(n, INT, 0, 4, &[(1 << 24) | 32]);
    r.kfunc(b"bpf_i", &[(b"a", i)], i);
    cases.push(("int", r, "type [1]: its name \"int;\\n#define SEC(x)"));

    // a type tag's value, written in a string literal: the kernel wants it non-empty
    let mut r = Raw::new();
    let i = r.int();
    let v = r.s(&with(&[b"rcu\")))", DIRECTIVE, b"int (*x)(void"]));
    let tag = r.t(v, TYPE_TAG, 0, i, &[]);
    let p = r.t(0, PTR, 0, tag, &[]);
    r.kfunc(b"bpf_t", &[(b"a", p)], i);
    cases.push(("type tag", r, "type [2]: its value \"rcu\")))\\n#define"));

    // a kind-flag type tag, written inside __attribute__((…))
    let mut r = Raw::new();
    let i = r.int();
    let v = r.s(&with(&[b"aligned(8)))", DIRECTIVE, b"int (*x)(void"]));
    let tag = r.t_flag(v, TYPE_TAG, true, 0, i, &[]);
    let p = r.t(0, PTR, 0, tag, &[]);
    r.kfunc(b"bpf_t", &[(b"a", p)], i);
    cases.push((
        "attribute",
        r,
        "type [2]: its value \"aligned(8)))\\n#define",
    ));

    // the kernel's identifiers allow `.` and Latin-1 letters; C's do not
    let mut r = Raw::new();
    let i = r.int();
    r.kfunc(b"bpf_x.cold", &[(b"a", i)], i);
    cases.push((
        "dot",
        r,
        "type [3]: its FUNC name \"bpf_x.cold\" is not a C identifier",
    ));

    let mut r = Raw::new();
    let i = r.int();
    let n = r.s(b"caf\xe9");
    let s = r.t(n, STRUCT, 0, 4, &[]);
    r.kfunc(b"bpf_s", &[(b"v", s)], i);
    cases.push((
        "latin-1",
        r,
        "type [2]: its name \"caf\\xe9\" is not a C identifier",
    ));

    for (what, r, want) in cases {
        let p = r.write(dir.path(), &format!("{what}.btf"));
        Btf::parse(&r.bytes(), None)
            .unwrap_or_else(|e| panic!("{what}: the kernel's rules take it: {e}"));
        let out = dir.path().join(format!("{what}.h"));
        let (code, err) = header_bounded(&p, &out);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains(want), "{what}: {err}");
        assert!(
            err.contains("the header takes only C identifiers"),
            "{what}: {err}"
        );
        // one line, the name's line breaks escaped
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
        assert!(!out.exists(), "{what}: a header was written");
    }
}

/// Names the kernel refuses never reach the C: the FUNC of the review,
/// a member holding `#include "/etc/passwd"`, a struct named with `*/`.
/// The validator refuses them (exit 2 for the header, 1 for btf-check:
/// the BTF is rejected), shown escaped on one line.
#[test]
fn names_the_kernel_refuses_are_refused_before_any_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Raw::new();
    let i = r.int();
    r.kfunc(
        &with(&[
            b"bpf_x(void) __weak __ksym;",
            DIRECTIVE,
            b"extern int bpf_y",
        ]),
        &[(b"a", i)],
        i,
    );
    let func = r.write(dir.path(), "func.btf");

    let mut r = Raw::new();
    let i = r.int();
    let m = r.s(b"a;\n#include \"/etc/passwd\"\n int b");
    let n = r.s(b"s");
    let s = r.t(n, STRUCT, 1, 4, &[m, i, 0]);
    r.kfunc(b"bpf_s", &[(b"v", s)], i);
    let member = r.write(dir.path(), "member.btf");

    let mut r = Raw::new();
    let i = r.int();
    let n = r.s(b"s */ int x; /*");
    let s = r.t(n, STRUCT, 0, 4, &[]);
    r.kfunc(b"bpf_s", &[(b"v", s)], i);
    let comment = r.write(dir.path(), "comment.btf");

    for (p, want) in [
        (
            &func,
            "type [3] (FUNC): its name \"bpf_x(void) __weak __ksym;\\n#define SEC(x)",
        ),
        (
            &member,
            "type [2] (STRUCT): its member name \"a;\\n#include \\\"/etc/passwd\\\"\\n int b\"",
        ),
        (&comment, "type [2] (STRUCT): its name \"s */ int x; /*\""),
    ] {
        let out = dir.path().join("out.h");
        let (code, err) = header_bounded(p, &out);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "{err}");
        assert!(
            err.contains("the kernel refuses it (\"Invalid name\")"),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!out.exists());
        let r = cmd(["btf-check"]).arg(p).expect(1);
        assert!(r.stderr().contains(want), "{}", r.stderr());
    }
}

/// The header's first comment names the BTF's path: a path holding `*/`
/// and a line break ended the comment and put a directive in the program.
/// Now escaped, the header compiles with no SEC defined (and no `-Wcomment`
/// warning from a `/*` inside the comment).
#[test]
fn a_path_cannot_leave_the_header_s_comment() {
    if !have_clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let evil = dir
        .path()
        .join("p*")
        .join("\n#define SEC(x) __attribute__((section(\"hijacked\")))\n/*");
    fs::create_dir_all(&evil).unwrap();
    let mut r = Raw::new();
    let i = r.int();
    r.kfunc(b"bpf_x", &[(b"a", i)], i);
    let p = r.write(&evil, "vmlinux.btf");
    let out = dir.path().join("out.h");
    let (code, err) = header_bounded(&p, &out);
    assert_eq!(code, 0, "{err}");
    let text = fs::read_to_string(&out).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.ends_with(
            "/p*\\/\\n#define SEC(x) __attribute__((section(\"hijacked\")))\\n/\\*\\/vmlinux.btf, as BPF programs call them: 1 declarations."
        ),
        "{first}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("#define SEC")),
        "{text}"
    );
    compiles_without_sec(&out, "").unwrap_or_else(|e| panic!("{e}\n{text}"));
}

/// The header from a manifest or a tree (`src/header.rs`) obeys the same
/// rule: its comments hold the tree's paths and its release, and a
/// directory `x*` with a line break in the next one's name, or an
/// EXTRAVERSION with `*/`, wrote C into the program.
#[test]
fn a_tree_s_paths_and_release_cannot_leave_the_manifest_header_s_comments() {
    if !have_clang() {
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-arena");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let evil = tree
        .join("kernel/x*")
        .join("\n#define SEC(x) __attribute__((section(\"hijacked\")))\n/*");
    fs::create_dir_all(&evil).unwrap();
    fs::create_dir_all(tree.join("include/linux")).unwrap();
    fs::copy(fixture.join("kernel/bpf/arena.c"), evil.join("arena.c")).unwrap();
    fs::copy(
        fixture.join("include/linux/btf.h"),
        tree.join("include/linux/btf.h"),
    )
    .unwrap();
    let makefile = fs::read_to_string(fixture.join("Makefile"))
        .unwrap()
        .replace(
            "EXTRAVERSION = -arena",
            "EXTRAVERSION = -x */ int injected; /*",
        );
    fs::write(tree.join("Makefile"), makefile).unwrap();
    let out = dir.path().join("kfuncs.h");
    let (code, err) = bounded(&[
        "header".as_ref(),
        "--tree".as_ref(),
        tree.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    // the scan refuses a C file whose path a manifest cannot hold (it
    // would end the comment quoting it): an error, the file not read, the
    // header written without it (exit 1: the scan found errors)
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error[unusable-path]: its path holds `*/`"),
        "{err}"
    );
    let text = fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with(
            "/* kfuncs of Linux 6.18-x *\\/ int injected; /\\*, as BPF programs call them."
        ),
        "{text}"
    );
    assert!(!text.contains("hijacked"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("#define SEC")),
        "{text}"
    );
    let types = "#define KFUNC_SCAN_KERNEL_TYPES\ntypedef unsigned int u32; typedef unsigned long long u64;";
    compiles_without_sec(&out, types).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(!text.contains("*/ int injected"), "{text}");
}

// ---- 2. the kernel's name rules, kind by kind

/// An INT [1], then what `more` adds; the validator's verdict.
fn verdict(more: impl Fn(&mut Raw)) -> Result<(), ReadError> {
    let mut r = Raw::new();
    r.int();
    more(&mut r);
    Btf::parse(&r.bytes(), None).map(|_| ())
}

/// The kind and what of the name refused, or "ok".
fn refused(more: impl Fn(&mut Raw)) -> String {
    match verdict(more) {
        Ok(()) => "ok".into(),
        Err(ReadError::InvalidName { kind, what, .. }) => format!("{kind} {what}"),
        Err(e) => panic!("another error: {e}"),
    }
}

/// A BTF of an INT [1] and what the case adds.
type Case = (&'static str, Box<dyn Fn(&mut Raw)>);

fn named(name: &'static [u8], kind: u32, target: u32) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = if name.is_empty() { 0 } else { r.s(name) };
        r.t(n, kind, 0, target, &[]);
    })
}

fn var(name: &'static [u8]) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = if name.is_empty() { 0 } else { r.s(name) };
        r.t(n, VAR, 0, 1, &[1]);
    })
}

/// A struct or union with one member of type INT.
fn su(kind: u32, name: &'static [u8], member: &'static [u8]) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = if name.is_empty() { 0 } else { r.s(name) };
        let m = if member.is_empty() { 0 } else { r.s(member) };
        r.t(n, kind, 1, 4, &[m, 1, 0]);
    })
}

fn enum_(name: &'static [u8], e: &'static [u8]) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = if name.is_empty() { 0 } else { r.s(name) };
        let m = if e.is_empty() { 0 } else { r.s(e) };
        r.t(n, ENUM, 1, 4, &[m, 7]);
    })
}

/// A DATASEC of one global int.
fn section(name: &'static [u8]) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = if name.is_empty() { 0 } else { r.s(name) };
        let v = r.s(b"v");
        let var = r.t(v, VAR, 0, 1, &[1]);
        r.t(n, DATASEC, 1, 4, &[var, 0, 4]);
    })
}

/// A decl tag on a struct.
fn decl(value: &'static [u8]) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = if value.is_empty() { 0 } else { r.s(value) };
        let s = r.s(b"s");
        let st = r.t(s, STRUCT, 0, 0, &[]);
        r.t(n, DECL_TAG, 0, st, &[u32::MAX]);
    })
}

/// Every rule of `kernel/bpf/btf.c` on names, each met and broken: what the
/// validator says ("ok", or the kind and which name it refuses).
fn kind_by_kind() -> Vec<(Case, &'static str)> {
    let c = |what: &'static str, f: Box<dyn Fn(&mut Raw)>| (what, f);
    vec![
        // what needs an identifier
        (c("typedef", named(b"u32", TYPEDEF, 1)), "ok"),
        (
            c("anonymous typedef", named(b"", TYPEDEF, 1)),
            "TYPEDEF name",
        ),
        (
            c("typedef with a space", named(b"u 32", TYPEDEF, 1)),
            "TYPEDEF name",
        ),
        (c("fwd", named(b"task_struct", FWD, 0)), "ok"),
        (c("anonymous fwd", named(b"", FWD, 0)), "FWD name"),
        (c("fwd from a digit", named(b"9lives", FWD, 0)), "FWD name"),
        // `.` and Latin-1 letters are the kernel's too (its ctype)
        (c("fwd with dots", named(b".L.str", FWD, 0)), "ok"),
        (c("fwd in Latin-1", named(b"\xe9t\xe9", FWD, 0)), "ok"),
        (
            c("fwd with a times sign", named(b"x\xd7y", FWD, 0)),
            "FWD name",
        ),
        (c("var", var(b"jiffies")), "ok"),
        (c("anonymous var", var(b"")), "VAR name"),
        // what has no name
        (c("pointer", named(b"", PTR, 1)), "ok"),
        (c("named pointer", named(b"p", PTR, 1)), "PTR name"),
        (
            c(
                "named array",
                Box::new(|r: &mut Raw| {
                    let n = r.s(b"a");
                    r.t(n, ARRAY, 0, 0, &[1, 1, 4]);
                }),
            ),
            "ARRAY name",
        ),
        (
            c(
                "named prototype",
                Box::new(|r: &mut Raw| {
                    let n = r.s(b"f");
                    r.t(n, FUNC_PROTO, 0, 1, &[]);
                }),
            ),
            "FUNC_PROTO name",
        ),
        // what is not checked: an INT's name
        (
            c(
                "int of three words",
                Box::new(|r: &mut Raw| {
                    let n = r.s(b"long unsigned int");
                    r.t(n, INT, 0, 8, &[64]);
                }),
            ),
            "ok",
        ),
        // structs: anonymous or an identifier, and so are members
        (c("anonymous struct", su(STRUCT, b"", b"")), "ok"),
        (c("union", su(UNION, b"u", b"m")), "ok"),
        (
            c("struct with a space", su(STRUCT, b"a b", b"m")),
            "STRUCT name",
        ),
        (
            c("member with a semicolon", su(UNION, b"u", b"m;")),
            "UNION member name",
        ),
        // enumerators need a name
        (c("anonymous enum", enum_(b"", b"A")), "ok"),
        (
            c("anonymous enumerator", enum_(b"e", b"")),
            "ENUM enumerator name",
        ),
        (
            c("enumerator with a dash", enum_(b"e", b"A-B")),
            "ENUM enumerator name",
        ),
        // DATASEC: printable, not empty
        (c("percpu section", section(b".data..percpu")), "ok"),
        (c("license section", section(b"license")), "ok"),
        (c("anonymous section", section(b"")), "DATASEC name"),
        (
            c("section with a line break", section(b".data\n#x")),
            "DATASEC name",
        ),
        // tag values: anything but nothing
        (c("type tag", named(b"user", TYPE_TAG, 1)), "ok"),
        (
            c("empty type tag", named(b"", TYPE_TAG, 1)),
            "TYPE_TAG value",
        ),
        (c("decl tag", decl(b"any thing (at all)")), "ok"),
        (c("empty decl tag", decl(b"")), "DECL_TAG value"),
        // at most KSYM_NAME_LEN bytes
        (c("name of 512 bytes", long_fwd(512)), "ok"),
        (c("name of 513 bytes", long_fwd(513)), "FWD name"),
        // parameter names, whether a FUNC names the prototype or not
        (
            c("prototype alone", bad_param(false)),
            "FUNC_PROTO parameter name",
        ),
        (
            c("prototype of a FUNC", bad_param(true)),
            "FUNC_PROTO parameter name",
        ),
    ]
}

fn long_fwd(len: usize) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let n = r.s(&vec![b'a'; len]);
        r.t(n, FWD, 0, 0, &[]);
    })
}

/// A prototype with a parameter named "a b", and a FUNC of it or not.
fn bad_param(func: bool) -> Box<dyn Fn(&mut Raw)> {
    Box::new(move |r: &mut Raw| {
        let a = r.s(b"a b");
        let p = r.t(0, FUNC_PROTO, 1, 1, &[a, 1]);
        if func {
            let f = r.s(b"f");
            r.t(f, FUNC, 1, p, &[]);
        }
    })
}

#[test]
fn the_kernel_s_name_rules_kind_by_kind() {
    for ((what, add), want) in kind_by_kind() {
        assert_eq!(refused(add), want, "{what}");
    }
}

/// The running kernel's loader says the same of each case, when it can be
/// asked (root): the validator refuses what `BPF_BTF_LOAD` refuses.
#[test]
fn the_running_kernel_agrees_case_by_case() {
    use kfunc_scan::btf::kernel::{load, LoadError};
    let (mut accepted, mut refused) = (0, 0);
    for ((what, add), want) in kind_by_kind() {
        let mut r = Raw::new();
        r.int();
        add(&mut r);
        match load(&r.bytes()) {
            Ok(()) => {
                assert_eq!(want, "ok", "{what}: the kernel accepted it");
                accepted += 1;
            }
            Err(LoadError::Rejected { log, .. }) => {
                assert_ne!(want, "ok", "{what}: the kernel refused it: {log}");
                assert!(log.contains("Invalid"), "{what}: {log}");
                refused += 1;
            }
            Err(LoadError::Unavailable(why)) => return common::missing(why),
        }
    }
    assert_eq!((accepted, refused), (15, 20));
}

/// Every prototype's parameter names are checked (the kernel's
/// `btf_func_proto_check` runs on each FUNC_PROTO, a function pointer's
/// too), and the error names the prototype and shows the name.
#[test]
fn parameter_names_are_checked_in_every_prototype() {
    let err = verdict(|r| {
        let a = r.s(b"a b");
        let ok = r.s(b"ok");
        r.t(0, FUNC_PROTO, 2, 1, &[ok, 1, a, 1]);
    })
    .unwrap_err();
    assert!(
        matches!(&err, ReadError::InvalidName { id: 2, kind: "FUNC_PROTO", what: "parameter name", name, .. } if name == "a b"),
        "{err}"
    );
    // unnamed parameters, and a last one of type void (`...`), are fine
    assert_eq!(
        refused(|r| {
            r.t(0, FUNC_PROTO, 2, 1, &[0, 1, 0, 0]);
        }),
        "ok"
    );
}

/// Names of 512 bytes (the kernel's KSYM_NAME_LEN) pass, 513 do not; a
/// name may start inside a longer string, and is checked from there.
#[test]
fn names_at_the_length_bound_and_inside_strings() {
    use kfunc_scan::limits::BTF_MAX_NAME_LEN;
    assert_eq!(BTF_MAX_NAME_LEN, 512);
    for (len, want) in [(BTF_MAX_NAME_LEN, "ok"), (BTF_MAX_NAME_LEN + 1, "FWD name")] {
        let name = vec![b'a'; len];
        assert_eq!(
            refused(|r| {
                let n = r.s(&name);
                r.t(n, FWD, 0, 0, &[]);
            }),
            want,
            "{len}"
        );
        let sec = vec![b'.'; len];
        assert_eq!(
            refused(|r| {
                let n = r.s(&sec);
                let v = r.s(b"v");
                let var = r.t(v, VAR, 0, 1, &[1]);
                r.t(n, DATASEC, 1, 4, &[var, 0, 4]);
            }),
            want.replace("FWD", "DATASEC"),
            "{len}"
        );
    }
    // "x9_ok": at 'x' and at '_' an identifier, at '9' not
    for (skip, want) in [(0, "ok"), (2, "ok"), (1, "FWD name")] {
        assert_eq!(
            refused(|r| {
                let n = r.s(b"x9_ok");
                r.t(n + skip, FWD, 0, 0, &[]);
            }),
            want,
            "{skip}"
        );
    }
    // inside a run of 1,000 identifier bytes: its last 512 are a name, its last 513 not
    let long = vec![b'a'; 1000];
    for (skip, want) in [(488, "ok"), (487, "FWD name")] {
        assert_eq!(
            refused(|r| {
                let n = r.s(&long);
                r.t(n + skip, FWD, 0, 0, &[]);
            }),
            want,
            "{skip}"
        );
    }
}

/// The kernel's log, which `btf-check` shows when the kernel refuses a
/// BTF, quotes its names: an INT's (which no rule checks) with a line
/// break printed a line of the BTF's choosing. Each log line is now
/// escaped and indented (a line break in a name cannot be told from the
/// log's own, so it still breaks the line, indented).
#[test]
fn the_kernel_s_log_cannot_print_a_line_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Raw::new();
    let n = r.s(b"int\nvmlinux: accepted by the running kernel (1 types)");
    r.t(n, INT, 0, 4, &[32]);
    // what the kernel refuses and this validator does not look at: int bits
    let m = r.s(b"bad");
    r.t(m, INT, 0, 4, &[0x8000_0020]);
    Btf::parse(&r.bytes(), None).expect("valid here");
    let p = r.write(dir.path(), "int.btf");
    let (code, err) = bounded(&["btf-check".as_ref(), p.as_os_str()]);
    if code == 2 {
        return common::missing(format!("BPF_BTF_LOAD: {err}"));
    }
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error[kernel]: the kernel rejected the BTF"),
        "{err}"
    );
    // the name's line break splits it, but its second half is indented
    // like every line of the log: it cannot pass for a line of ours
    assert!(
        err.contains(
            "\n    [1] INT int\n    vmlinux: accepted by the running kernel (1 types) size=4"
        ),
        "{err}"
    );
    assert!(!err.lines().any(|l| l.starts_with("vmlinux:")), "{err}");
}

// ---- 3. sizes no BTF can justify

/// A struct of `size` bytes with no members, taken by value by a kfunc.
fn empty_struct_of(dir: &Path, size: u32) -> PathBuf {
    let mut r = Raw::new();
    let i = r.int();
    let n = r.s(b"big");
    let s = r.t(n, STRUCT, 0, size, &[]);
    r.kfunc(b"bpf_big", &[(b"v", s)], i);
    r.write(dir, &format!("big{size}.btf"))
}

/// 0xffffffff bytes in 150 bytes of BTF: the header wrote `long: 64;`
/// without end (150 MB/s; killed at 10 s with 374 MB and growing).
#[test]
fn a_struct_of_four_gigabytes_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = empty_struct_of(dir.path(), u32::MAX);
    let out = dir.path().join("out.h");
    let (code, err) = header_bounded(&p, &out);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("type [2]: a struct of 4294967295 bytes whose members leave 4294967295 bytes of padding, more than a struct may have in a header (1048576 bytes, limits::MAX_STRUCT_PADDING)"),
        "{err}"
    );
    assert!(!out.exists());
}

/// At the bound the padding is written, as libbpf would; one byte past, refused.
#[test]
fn struct_padding_at_the_bound_and_one_past() {
    use kfunc_scan::limits::MAX_STRUCT_PADDING;
    let dir = tempfile::tempdir().unwrap();
    let at = empty_struct_of(dir.path(), MAX_STRUCT_PADDING as u32);
    let out = dir.path().join("at.h");
    let (code, err) = header_bounded(&at, &out);
    assert_eq!(code, 0, "{err}");
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.matches("\n\tlong: 64;").count() as u64,
        MAX_STRUCT_PADDING / 8
    );
    let past = empty_struct_of(dir.path(), MAX_STRUCT_PADDING as u32 + 1);
    let out = dir.path().join("past.h");
    let (code, err) = header_bounded(&past, &out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("leave 1048577 bytes of padding"), "{err}");
    assert!(!out.exists());
}

/// Anonymous unions written inline at each use: 256 members of 256 of 256
/// of 256 ints, 12 KB of BTF, would be four billion lines. The header stops
/// at its bound, as it is written.
#[test]
fn nested_anonymous_types_stop_at_the_header_s_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Raw::new();
    let i = r.int();
    let a = r.s(b"a");
    let mut cur = i;
    for _ in 0..4 {
        let members: Vec<u32> = (0..256).flat_map(|_| [a, cur, 0]).collect();
        cur = r.t(0, UNION, 256, 4, &members);
    }
    let top = r.s(b"top");
    let s = r.t(top, STRUCT, 1, 4, &[a, cur, 0]);
    r.kfunc(b"bpf_nest", &[(b"v", s)], i);
    let p = r.write(dir.path(), "nest.btf");
    let out = dir.path().join("out.h");
    let (code, err) = header_bounded(&p, &out);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the header grows past 4194304 bytes (limits::MAX_HEADER_LEN) at type [2]"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A function pointer taking 65,535 function pointers taking 65,535 …: the
/// planner walked each prototype once per use (4 billion steps for 1 MB of
/// BTF, no output to bound it). Now once; the prototype's text then meets
/// the header's bound.
#[test]
fn nested_function_pointers_are_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Raw::new();
    let i = r.int();
    let mut cur = r.t(0, FUNC_PROTO, 1, i, &[0, i]);
    for _ in 0..2 {
        let p = r.t(0, PTR, 0, cur, &[]);
        let params: Vec<u32> = (0..65535).flat_map(|_| [0, p]).collect();
        cur = r.t(0, FUNC_PROTO, 65535, i, &params);
    }
    let p = r.t(0, PTR, 0, cur, &[]);
    r.kfunc(b"bpf_fp", &[(b"f", p)], i);
    let path = r.write(dir.path(), "protos.btf");
    let out = dir.path().join("out.h");
    let (code, err) = header_bounded(&path, &out);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the header grows past 4194304 bytes (limits::MAX_HEADER_LEN)"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A prototype taking a pointer to itself (the validator allows cycles
/// through prototypes): writing it recursed until the stack overflowed
/// (`avail` on main; `header` once the planner walks a prototype once).
/// Refused as too deep, by both.
#[test]
fn a_prototype_taking_a_pointer_to_itself_is_too_deep() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Raw::new();
    let i = r.int();
    // [2] int (*)(…[3]), [3] pointer to [2]
    r.t(0, FUNC_PROTO, 1, i, &[0, 3]);
    let p = r.t(0, PTR, 0, 2, &[]);
    r.kfunc(b"bpf_self", &[(b"f", p)], i);
    Btf::parse(&r.bytes(), None).expect("valid BTF");
    let path = r.write(dir.path(), "vmlinux.btf");
    let (code, err) = header_bounded(&path, &dir.path().join("out.h"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("type [3] nests deeper than a C declaration may"),
        "{err}"
    );
    let (code, err) = bounded(&[
        "avail".as_ref(),
        "--btf-dir".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("type [3] nests deeper than a C declaration may"),
        "{err}"
    );
}

// ---- 4. not BTF

/// `vmlinux -> /etc/shadow` answered `bad magic 0x6f72`: "ro", two bytes
/// of the file. Now only that it is not BTF.
#[test]
fn a_file_that_is_not_btf_is_not_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("shadow");
    fs::write(
        &secret,
        b"root:$y$j9T$abcdefghijklmnopqrstuv:19700:0:99999:7:::\n",
    )
    .unwrap();
    let link = dir.path().join("vmlinux");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    // not BTF at all: btf-check cannot check it (exit 2, as patch-btf
    // says), which is not a BTF the checks reject (exit 1)
    let check = cmd(["btf-check"]).arg(&link).expect(2).stderr();
    let (code, header) = header_bounded(&link, &dir.path().join("out.h"));
    assert_eq!(code, 2, "{header}");
    for err in [check, header] {
        assert!(
            err.contains("not BTF: bad magic (BTF starts with 0xeb9f)"),
            "{err}"
        );
        let shown = err.replace("0xeb9f", "");
        for leak in ["6f72", "726f", "0x", "root:"] {
            assert!(!shown.contains(leak), "{leak} in {err}");
        }
    }
}
