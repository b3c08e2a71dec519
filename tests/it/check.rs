//! `kfunc-scan check` against the real client: small BPF programs built
//! with clang (`testdata/bpf/check/*.bpf.c`), checked against the running
//! kernel's BTF, the 6.18 BTF file and the 6.12 manifest, and (as root)
//! loaded with `bpftool prog load` (libbpf and the verifier): both must
//! agree on every kfunc outcome. Then hostile objects and the bounds.

use crate::common;

use common::{cmd, manifest_612, missing, run_limited, shared_file};
use kfunc_scan::btf::{Btf, Endian, Linkage, NewType};
use kfunc_scan::limits::{
    CHECK_COMPAT_CHAIN_DEPTH, CHECK_COMPAT_NESTING, CHECK_MAX_CALLS, CHECK_MAX_CALL_EDGES,
    CHECK_MAX_OBJECT_BYTES, CHECK_MAX_PROGRAMS,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SYS_VMLINUX: &str = "/sys/kernel/btf/vmlinux";
const CASES: &[&str] = &[
    "good",
    "missing",
    "weak_unguarded",
    "proto",
    "sleepable",
    "xdp_only",
];

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing(format!("{tool} is not installed"));
    }
    ok
}

/// Compiles `src` (a C file) in `dir` with a `vmlinux.h` of the running
/// kernel beside it; `g`: with BTF.
fn clang_bpf(dir: &Path, src: &Path, out: &str, g: bool) {
    clang_bpf_with(dir, src, out, g, &[]);
}

fn clang_bpf_with(dir: &Path, src: &Path, out: &str, g: bool, extra: &[&str]) {
    let mut c = Command::new("clang");
    c.args(["-O2", "-Werror", "-target", "bpf", "-c"])
        .args(extra);
    if g {
        c.arg("-g");
    }
    let r = c
        .arg("-I")
        .arg(dir)
        .arg(src)
        .arg("-o")
        .arg(dir.join(out))
        .output()
        .expect("clang");
    assert!(
        r.status.success(),
        "clang {}: {}",
        src.display(),
        String::from_utf8_lossy(&r.stderr)
    );
}

/// The fixtures built once per test binary: a directory holding
/// `CASE.o` for each of [`CASES`]; None (reported) without clang, bpftool
/// or the running kernel's BTF.
fn built() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have("clang") || !have("bpftool") {
            return None;
        }
        if !Path::new(SYS_VMLINUX).is_file() {
            missing(format!("{SYS_VMLINUX} (the running kernel's BTF)"));
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let h = Command::new("bpftool")
            .args(["btf", "dump", "file", SYS_VMLINUX, "format", "c"])
            .output()
            .expect("bpftool");
        assert!(h.status.success(), "bpftool btf dump");
        std::fs::write(dir.path().join("vmlinux.h"), h.stdout).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bpf/check");
        for c in CASES.iter().chain(&["impl_pair", "int_sizes"]) {
            clang_bpf(
                dir.path(),
                &src.join(format!("{c}.bpf.c")),
                &format!("{c}.o"),
                true,
            );
        }
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn check(args: &[&std::ffi::OsStr]) -> Out {
    let mut c = cmd(["check"]);
    for a in args {
        c = c.arg(a);
    }
    let o = c.output();
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn obj(dir: &Path, case: &str) -> PathBuf {
    dir.join(format!("{case}.o"))
}

/// `bpftool prog load` of the object (libbpf, then the verifier): None
/// unless root with a BPF file system; else (loaded, libbpf's log).
fn bpftool_load(o: &Path) -> Option<(bool, String)> {
    if !rustix::process::geteuid().is_root() || !Path::new("/sys/fs/bpf").is_dir() {
        missing("root and /sys/fs/bpf, to load programs with bpftool");
        return None;
    }
    let pin = format!(
        "/sys/fs/bpf/kfunc_scan_check_{}_{}",
        std::process::id(),
        o.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
    );
    let r = Command::new("bpftool")
        .args(["prog", "load"])
        .arg(o)
        .arg(&pin)
        .output()
        .expect("bpftool");
    let _ = std::fs::remove_file(&pin);
    Some((
        r.status.success(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    ))
}

#[test]
fn running_kernel_verdicts() {
    let Some(dir) = built() else { return };
    // good: every call resolves; the __weak one the kernel lacks is a note
    let r = check(&[obj(dir, "good").as_os_str()]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("good.o: good_prog (tp_btf/task_newtask): note[kfunc-missing]: `bpf_kfunc_scan_no_such_kfunc` is not in the running kernel"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("note[not-checked]"), "{}", r.stdout);
    assert!(!r.stdout.contains("error["), "{}", r.stdout);
    // a strong extern the kernel lacks
    let r = check(&[obj(dir, "missing").as_os_str()]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("missing.o: missing_prog (tp_btf/task_newtask): error[kfunc-missing]: `bpf_kfunc_scan_no_such_kfunc` is not in the running kernel (/sys/kernel/btf)\n"), "{}", r.stdout);
    // a prototype with one parameter too many
    let r = check(&[obj(dir, "proto").as_os_str()]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("proto.o: proto_prog (tp_btf/task_newtask): error[kfunc-prototype]: `bpf_task_acquire`'s prototype does not match the running kernel (/sys/kernel/btf)'s: 2 parameters here, 1 in the kernel"), "{}", r.stdout);
    // what BTF cannot tell is said to be unchecked, not passed silently
    for c in ["sleepable", "xdp_only"] {
        let r = check(&[obj(dir, c).as_os_str()]);
        assert_eq!(r.code, Some(0), "{c}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("(program types and sleepable not checked)"),
            "{c}: {}",
            r.stdout
        );
    }
}

#[test]
fn manifest_612_checks_program_types_and_sleepable() {
    let Some(dir) = built() else { return };
    let Some(m) = manifest_612() else { return };
    let run = |c: &str| check(&[obj(dir, c).as_os_str(), "--kernel".as_ref(), m.as_os_str()]);
    let r = run("good");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("good.o: loads on "), "{}", r.stdout);
    let r = run("sleepable");
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("sleepable.o: sleepable_prog (tp_btf/task_newtask): error[kfunc-sleepable]: `bpf_copy_from_user_str` is sleepable (KF_SLEEPABLE)"), "{}", r.stdout);
    let r = run("xdp_only");
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("xdp_only.o: xdp_only_prog (tp_btf/task_newtask): error[kfunc-prog-type]: `bpf_dynptr_from_xdp` is not callable from BPF_PROG_TYPE_TRACING programs in "), "{}", r.stdout);
    assert!(
        r.stdout.contains("(callable from: BPF_PROG_TYPE_XDP)"),
        "{}",
        r.stdout
    );
    let r = run("missing");
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.contains("error[kfunc-missing]"), "{}", r.stdout);
    let r = run("proto");
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("error[kfunc-prototype]: `bpf_task_acquire`'s prototype does not match"),
        "{}",
        r.stdout
    );
}

#[test]
fn several_kernels_and_the_json_matrix() {
    let Some(dir) = built() else { return };
    let Some(btf618) = shared_file("linux-6.18/vmlinux.btf") else {
        return;
    };
    let objs: Vec<PathBuf> = CASES.iter().map(|c| obj(dir, c)).collect();
    let mut args: Vec<&std::ffi::OsStr> = objs.iter().map(|p| p.as_os_str()).collect();
    args.extend([
        "--kernel".as_ref(),
        btf618.as_os_str(),
        "--kernel".as_ref(),
        SYS_VMLINUX.as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let r = check(&args);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kernels"].as_array().unwrap().len(), 2);
    assert_eq!(v["kernels"][0]["source"], "btf");
    assert_eq!(v["objects"].as_array().unwrap().len(), CASES.len());
    // per object, its one program's cell on each kernel: whether it loads
    for (i, c) in CASES.iter().enumerate() {
        let p = &v["objects"][i]["programs"][0];
        assert_eq!(p["prog_type"], "BPF_PROG_TYPE_TRACING", "{c}");
        assert_eq!(p["sleepable"], false, "{c}");
        let want = !matches!(*c, "missing" | "weak_unguarded" | "proto");
        for k in 0..2 {
            assert_eq!(p["kernels"][k]["kernel"], k, "{c}");
            assert_eq!(p["kernels"][k]["loads"], want, "{c} on kernel {k}");
        }
    }
    let good = &v["objects"][0]["programs"][0]["kernels"][0]["kfuncs"];
    let names: Vec<&str> = (good.as_array().unwrap().iter())
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "bpf_task_acquire",
            "bpf_task_release",
            "bpf_kfunc_scan_no_such_kfunc"
        ]
    );
    assert_eq!(good[0]["status"], "ok");
    assert_eq!(good[0]["object"], "vmlinux");
    assert_eq!(good[2]["status"], "missing");
    assert_eq!(good[2]["weak"], true);
    assert_eq!(good[2]["findings"][0]["severity"], "note");
}

/// `check` (running kernel's BTF, and the 6.12 manifest for program types
/// and flags) against libbpf and the verifier: for each case, whether the
/// program loads, and why not.
#[test]
fn agrees_with_bpftool_prog_load() {
    let Some(dir) = built() else { return };
    let m = manifest_612();
    for c in CASES {
        let o = obj(dir, c);
        let Some((loaded, log)) = bpftool_load(&o) else {
            return;
        };
        let r = check(&[o.as_os_str()]);
        let mut ours = r.code == Some(0);
        let mut why = r.stdout.clone();
        if let Some(m) = &m {
            let r = check(&[o.as_os_str(), "--kernel".as_ref(), m.as_os_str()]);
            ours &= r.code == Some(0);
            why += &r.stdout;
        }
        if m.is_none() && matches!(*c, "sleepable" | "xdp_only") {
            continue; // needs the manifest to tell
        }
        assert_eq!(ours, loaded, "{c}: check says\n{why}\nbpftool says\n{log}");
        // and for the same reason
        let (ours_code, theirs) = match *c {
            "good" => continue,
            "missing" => ("kfunc-missing", "not found in kernel or module BTFs"),
            // __weak, so libbpf loads it as 0; called without a
            // bpf_ksym_exists() test, the call stays
            "weak_unguarded" => (
                "kfunc-missing",
                "invalid kernel function call not eliminated in verifier pass",
            ),
            "proto" => ("kfunc-prototype", "incompatible with kernel"),
            "sleepable" => (
                "kfunc-sleepable",
                "program must be sleepable to call sleepable kfunc",
            ),
            _ => (
                "kfunc-prog-type",
                "calling kernel function bpf_dynptr_from_xdp is not allowed",
            ),
        };
        assert!(why.contains(&format!("error[{ours_code}]")), "{c}: {why}");
        assert!(log.contains(theirs), "{c}: {log}");
    }
}

/// The mini tree's manifest (a kernel whose `bpf_wq_set_callback` has
/// KF_IMPLICIT_ARGS, `bpf_wq_set_callback_impl` its pair), scanned into `dir`.
fn mini_manifest(dir: &Path) -> PathBuf {
    let out = dir.join("mini.json");
    let r = cmd([
        common::mini().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .output();
    assert!(
        matches!(r.status.code(), Some(0 | 1)),
        "scan of the mini tree"
    );
    out
}

/// `-q` keeps errors and warnings only; `-o` writes the same report to a
/// file (refused before any object is read when it cannot be written).
#[test]
fn quiet_and_output_as_every_command_has_them() {
    let Some(dir) = built() else { return };
    let (good, o) = (obj(dir, "good"), obj(dir, "impl_pair"));
    let loud = check(&[o.as_os_str(), good.as_os_str()]);
    assert_eq!(loud.code, Some(1), "{}{}", loud.stdout, loud.stderr);
    let quiet = check(&[o.as_os_str(), good.as_os_str(), "-q".as_ref()]);
    assert_eq!(quiet.code, Some(1), "{}{}", quiet.stdout, quiet.stderr);
    // the errors and warnings of the full report, in its order, and no more
    let kept: Vec<&str> = (loud.stdout.lines())
        .filter(|l| l.contains(": error[") || l.contains(": warning["))
        .collect();
    assert!(!kept.is_empty(), "{}", loud.stdout);
    assert_eq!(quiet.stdout.lines().collect::<Vec<_>>(), kept);
    assert!(loud.stdout.contains("note[") && !quiet.stdout.contains("note["));

    let d = tempfile::tempdir().unwrap();
    for (format, args) in [("text", vec![]), ("json", vec!["--format", "json"])] {
        let file = d.path().join(format);
        let mut with: Vec<&std::ffi::OsStr> = vec![o.as_os_str(), "-o".as_ref(), file.as_os_str()];
        with.extend(args.iter().map(std::ffi::OsStr::new));
        let mut without: Vec<&std::ffi::OsStr> = vec![o.as_os_str()];
        without.extend(args.iter().map(std::ffi::OsStr::new));
        let (w, wo) = (check(&with), check(&without));
        assert_eq!((w.code, w.stdout.as_str()), (Some(1), ""), "{}", w.stderr);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), wo.stdout);
    }
    let r = check(&[
        "/nonexistent.o".as_ref(),
        "-o".as_ref(),
        d.path().as_os_str(),
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("error[output]"), "{}", r.stderr);
}

#[test]
fn impl_pairs_name_the_other_half() {
    let Some(dir) = built() else { return };
    let o = obj(dir, "impl_pair");
    // the running kernel has only `bpf_wq_set_callback_impl`
    let r = check(&[o.as_os_str()]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("impl_pair.o: reduced (tc): error[kfunc-missing]: `bpf_wq_set_callback` is not in the running kernel (/sys/kernel/btf); it has `bpf_wq_set_callback_impl`, the other name of this `_impl` pair: call that\n"), "{}", r.stdout);
    // the full-prototype call resolves: one error, from `reduced` only
    assert_eq!(r.stdout.matches("error[").count(), 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "will not load on the running kernel (/sys/kernel/btf): 1 of 2 programs (1 error)"
        ),
        "{}",
        r.stdout
    );
    // the mini tree's kernel has both names: the reduced one as the
    // kfunc, the `_impl` one through the kfunc's verifier arguments
    let d = tempfile::tempdir().unwrap();
    let m = mini_manifest(d.path());
    let r = check(&[
        o.as_os_str(),
        "--kernel".as_ref(),
        m.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for p in 0..2 {
        let k = &v["objects"][0]["programs"][p]["kernels"][0];
        assert_eq!(k["loads"], true, "{p}: {k}");
        assert_eq!(k["kfuncs"][0]["status"], "ok", "{p}: {k}");
    }
    // and libbpf agrees with the running kernel: the reduced name is missing
    if let Some((loaded, log)) = bpftool_load(&o) {
        assert!(!loaded);
        assert!(
            log.contains(
                "extern (func ksym) 'bpf_wq_set_callback': not found in kernel or module BTFs"
            ),
            "{log}"
        );
    }
}

#[test]
fn integer_sizes_do_not_make_a_prototype_incompatible() {
    let Some(dir) = built() else { return };
    let o = obj(dir, "int_sizes");
    let r = check(&[o.as_os_str()]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("kfunc-prototype"), "{}", r.stdout);
    if let Some(m) = manifest_612() {
        let r = check(&[o.as_os_str(), "--kernel".as_ref(), m.as_os_str()]);
        assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("int_sizes.o: loads on "), "{}", r.stdout);
    }
    // libbpf agrees, and so does the verifier (a syscall program sleeps)
    if let Some((loaded, log)) = bpftool_load(&o) {
        assert!(loaded, "{log}");
    }
}

/// A program of `sec` calling the mini tree's `bpf_mini_plain`
/// (KF_SLEEPABLE; registered for struct_ops and syscall programs, behind
/// the filter `mini_filter`), built in `dir`.
fn mini_caller(dir: &Path, sec: &str) -> PathBuf {
    let src = dir.join("mini.c");
    std::fs::write(
        &src,
        format!(
            "extern long bpf_mini_plain(void *skb, unsigned long flags) __attribute__((section(\".ksyms\")));\n\
             __attribute__((section(\"{sec}\"), used)) int prog(void *c) {{ return bpf_mini_plain(0, 0); }}\n\
             char LICENSE[] __attribute__((section(\"license\"), used)) = \"GPL\";\n"
        ),
    )
    .unwrap();
    clang_bpf(dir, &src, "mini.o", true);
    dir.join("mini.o")
}

#[test]
fn program_types_filters_and_sleepable_from_a_manifest() {
    if !have("clang") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let m = mini_manifest(d.path());
    // a syscall program sleeps and may call it
    let o = mini_caller(d.path(), "syscall");
    let r = check(&[o.as_os_str(), "--kernel".as_ref(), m.as_os_str()]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("mini.o: loads on "), "{}", r.stdout);
    // a filter the manifest could not read: unverifiable, a warning
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    for s in v["sets"].as_array_mut().unwrap() {
        for r in s["registrations"].as_array_mut().unwrap() {
            if r["filter"] == "mini_filter" {
                r["restriction"]["unread"] = "its body is a macro".into();
            }
        }
    }
    let unread = d.path().join("unread.json");
    std::fs::write(&unread, v.to_string()).unwrap();
    let r = check(&[o.as_os_str(), "--kernel".as_ref(), unread.as_os_str()]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("mini.o: prog (syscall): warning[kfunc-filter]: `bpf_mini_plain` from BPF_PROG_TYPE_SYSCALL: unverifiable: its filter `mini_filter` could not be read: its body is a macro"),
        "{}",
        r.stdout
    );
    // a tracing program may not call it, and does not sleep
    let d2 = tempfile::tempdir().unwrap();
    let o = mini_caller(d2.path(), "tp_btf/x");
    let r = check(&[o.as_os_str(), "--kernel".as_ref(), m.as_os_str()]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("mini.o: prog (tp_btf/x): error[kfunc-prog-type]: `bpf_mini_plain` is not callable from BPF_PROG_TYPE_TRACING programs in "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("(callable from: BPF_PROG_TYPE_STRUCT_OPS, BPF_PROG_TYPE_SYSCALL)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("mini.o: prog (tp_btf/x): error[kfunc-sleepable]: `bpf_mini_plain` is sleepable (KF_SLEEPABLE)"), "{}", r.stdout);
    assert!(r.stdout.contains("will not load on "), "{}", r.stdout);
}

// ---- hostile objects and the bounds

/// `kfunc-scan ARGS` under `prlimit --as=1 GiB`, killed (and the test
/// failed) after 10 s: (exit status, stdout, stderr).
fn run_bounded(args: &[&std::ffi::OsStr]) -> Option<Out> {
    if !have("prlimit") {
        return None;
    }
    let r = run_limited(std::iter::once("check".as_ref()).chain(args.iter().copied()));
    Some(Out {
        code: r.code,
        stdout: r.stdout,
        stderr: r.stderr,
    })
}

#[test]
fn an_object_past_the_size_bound_is_refused_unread() {
    let d = tempfile::tempdir().unwrap();
    // sparse files: no disk is used
    let at = d.path().join("at.o");
    std::fs::File::create(&at)
        .unwrap()
        .set_len(CHECK_MAX_OBJECT_BYTES)
        .unwrap();
    let past = d.path().join("past.o");
    std::fs::File::create(&past)
        .unwrap()
        .set_len(CHECK_MAX_OBJECT_BYTES + 1)
        .unwrap();
    let k = d.path().join("none.btf");
    // at the bound: read, and found not to be ELF
    let Some(r) = run_bounded(&[at.as_os_str(), "--kernel".as_ref(), k.as_os_str()]) else {
        return;
    };
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("at.o: error[object]: not an ELF object"),
        "{}",
        r.stderr
    );
    // one past: refused before reading, naming the bound
    let r = run_bounded(&[past.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "{}: error[object]: {} bytes, more than a BPF object may have here ({CHECK_MAX_OBJECT_BYTES}, CHECK_MAX_OBJECT_BYTES)\n",
            past.display(),
            CHECK_MAX_OBJECT_BYTES + 1
        )
    );
}

#[test]
fn fifos_other_machines_and_objects_without_btf_cannot_be_told() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo.o");
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, mode).unwrap();
    let Some(r) = run_bounded(&[fifo.as_os_str()]) else {
        return;
    };
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!("{}: error[object]: not a regular file\n", fifo.display())
    );
    // an ELF object of another machine (this host's)
    let host = d.path().join("host.o");
    std::fs::write(&host, host_elf()).unwrap();
    let r = run_bounded(&[host.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("host.o: error[object]: not a BPF object (ELF machine "),
        "{}",
        r.stderr
    );
    // a name with a line break and an escape reaches the terminal escaped
    let odd = d.path().join("a\nb\x1b[31m.o");
    std::fs::write(&odd, b"junk").unwrap();
    let r = run_bounded(&[odd.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2));
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains('\x1b'), "{}", r.stderr);
    // a BPF object built without -g has no BTF to name its kfuncs
    if !have("clang") {
        return;
    }
    let src = d.path().join("nobtf.c");
    std::fs::write(
        &src,
        "__attribute__((section(\"xdp\"), used)) int p(void *c) { return 2; }\n",
    )
    .unwrap();
    clang_bpf(d.path(), &src, "nobtf.o", false);
    let o = d.path().join("nobtf.o");
    let r = run_bounded(&[o.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("nobtf.o: error[object]: no .BTF section: kfunc calls are named by BTF (build with clang -g)"),
        "{}",
        r.stderr
    );
}

/// The bytes of a small ELF relocatable object for this host's machine.
fn host_elf() -> Vec<u8> {
    use object::build::elf::Builder;
    let mut b = Builder::new(object::Endianness::Little, true);
    b.header.e_type = object::elf::ET_REL;
    b.header.e_machine = object::elf::EM_X86_64;
    let mut out = Vec::new();
    b.write(&mut out).unwrap();
    out
}

/// A BPF object calling `k` (built by clang), whose extern `k` then gets
/// the prototype `proto` builds in its BTF; and a kernel BTF with a FUNC
/// `k` of the prototype `proto` builds there.
fn object_and_kernel(
    dir: &Path,
    local: impl Fn(&mut Btf) -> u32,
    theirs: impl Fn(&mut Btf) -> u32,
) -> Option<(PathBuf, PathBuf)> {
    if !have("clang") {
        return None;
    }
    let src = dir.join("k.c");
    std::fs::write(
        &src,
        "extern void k(void *p) __attribute__((section(\".ksyms\")));\n\
         __attribute__((section(\"tp_btf/x\"), used)) int prog(void *c) { k(c); return 0; }\n\
         char LICENSE[] __attribute__((section(\"license\"), used)) = \"GPL\";\n",
    )
    .unwrap();
    clang_bpf(dir, &src, "k.o", true);
    let elf = std::fs::read(dir.join("k.o")).unwrap();
    let raw = kfunc_scan::btf::elf::read_btf(&elf).unwrap();
    let mut btf = Btf::parse(&raw, None).unwrap();
    let k = (btf.own_types())
        .find(|t| btf.name(t) == "k" && t.linkage() == Some(Linkage::Extern))
        .map(|t| t.id())
        .expect("extern k in the object's BTF");
    let p = local(&mut btf);
    btf.repoint_func(k, p).unwrap();
    let obj = dir.join("hostile.o");
    std::fs::write(
        &obj,
        kfunc_scan::btf::elf::replace_btf(&elf, btf.to_bytes()).unwrap(),
    )
    .unwrap();
    let mut kernel = Btf::empty(Endian::Little);
    let p = theirs(&mut kernel);
    let name = kernel.add_string("k").unwrap();
    kernel.add_type(&NewType::func(name, 1, p)).unwrap();
    let kfile = dir.join("kernel.btf");
    std::fs::write(&kfile, kernel.to_bytes()).unwrap();
    Some((obj, kfile))
}

/// `void (int)` inside `n` prototypes: `void (void (*)(… void (*)(int)))`.
fn nested(btf: &mut Btf, n: u32) -> u32 {
    let int_name = btf.add_string("int").unwrap();
    let int = btf.add_type(&NewType::int(int_name, 4, true)).unwrap();
    let mut p = btf.add_type(&NewType::func_proto(0, &[(0, int)])).unwrap();
    for _ in 0..n {
        let ptr = btf.add_type(&NewType::ptr(p)).unwrap();
        p = btf.add_type(&NewType::func_proto(0, &[(0, ptr)])).unwrap();
    }
    p
}

/// `void (int **…*)` with `n` pointers.
fn chain(btf: &mut Btf, n: u32) -> u32 {
    let int_name = btf.add_string("int").unwrap();
    let mut t = btf.add_type(&NewType::int(int_name, 4, true)).unwrap();
    for _ in 0..n {
        t = btf.add_type(&NewType::ptr(t)).unwrap();
    }
    btf.add_type(&NewType::func_proto(0, &[(0, t)])).unwrap()
}

#[test]
fn prototype_nesting_is_compared_up_to_its_bound() {
    for (n, compared) in [
        (CHECK_COMPAT_NESTING, true),
        (CHECK_COMPAT_NESTING + 1, false),
    ] {
        let d = tempfile::tempdir().unwrap();
        let Some((o, k)) = object_and_kernel(d.path(), |b| nested(b, n), |b| nested(b, n)) else {
            return;
        };
        let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
        // compatible either way (a warning is no error): exit 0
        assert_eq!(r.code, Some(0), "{n}: {}{}", r.stdout, r.stderr);
        let unchecked = format!("warning[kfunc-prototype-unchecked]: `k`'s prototype was not compared with {}'s: function prototypes nested more than {CHECK_COMPAT_NESTING} deep (CHECK_COMPAT_NESTING)", k.display());
        assert_eq!(
            !r.stdout.contains(&unchecked),
            compared,
            "{n}: {}",
            r.stdout
        );
    }
}

/// `void (*)(void (*)(…))` pointing to itself: a cycle through a pointer.
fn cyclic(btf: &mut Btf) -> u32 {
    let ptr = btf.end_id();
    btf.add_type(&NewType::ptr(ptr + 1)).unwrap();
    btf.add_type(&NewType::func_proto(0, &[(0, ptr)])).unwrap()
}

#[test]
fn a_prototype_cycle_ends_at_the_nesting_bound() {
    // libbpf recurses on this until its stack ends; here it is a warning
    let d = tempfile::tempdir().unwrap();
    let Some((o, k)) = object_and_kernel(d.path(), cyclic, cyclic) else {
        return;
    };
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "warning[kfunc-prototype-unchecked]: `k`'s prototype was not compared with {}'s: function prototypes nested more than {CHECK_COMPAT_NESTING} deep (CHECK_COMPAT_NESTING)",
            k.display()
        )),
        "{}",
        r.stdout
    );
    // an object whose prototype differs from the kernel's cyclic one: the
    // difference is said, the kernel's prototype is not printed
    let d = tempfile::tempdir().unwrap();
    let (o, k) = object_and_kernel(d.path(), |b| nested(b, 0), cyclic).unwrap();
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "error[kfunc-prototype]: `k`'s prototype does not match {}'s: parameter 1: the type is INT here but PTR in the kernel\n",
            k.display()
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn pointer_chains_are_compared_up_to_libbpfs_depth() {
    // libbpf compares 32 levels (the prototype's parameter and 31
    // pointers to its int); one pointer more and it gives up
    for (n, compared) in [
        (CHECK_COMPAT_CHAIN_DEPTH - 1, true),
        (CHECK_COMPAT_CHAIN_DEPTH, false),
    ] {
        let d = tempfile::tempdir().unwrap();
        let Some((o, k)) = object_and_kernel(d.path(), |b| chain(b, n), |b| chain(b, n)) else {
            return;
        };
        let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
        assert_eq!(r.code, Some(0), "{n}: {}{}", r.stdout, r.stderr);
        assert_eq!(
            !r.stdout.contains("(CHECK_COMPAT_CHAIN_DEPTH)"),
            compared,
            "{n}: {}",
            r.stdout
        );
        if compared {
            assert!(
                r.stdout.contains("kfunc calls resolve on"),
                "{n}: {}",
                r.stdout
            );
        }
    }
}

#[test]
fn an_incompatible_pointee_kind_is_found_through_pointers() {
    // the object passes `int *`, the kernel takes `struct s *`
    let d = tempfile::tempdir().unwrap();
    let built = object_and_kernel(
        d.path(),
        |b| chain(b, 1),
        |b| {
            let name = b.add_string("s").unwrap();
            let s = b.add_type(&NewType::struct_(name, 0, &[])).unwrap();
            let p = b.add_type(&NewType::ptr(s)).unwrap();
            b.add_type(&NewType::func_proto(0, &[(0, p)])).unwrap()
        },
    );
    let Some((o, k)) = built else { return };
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("error[kfunc-prototype]: `k`'s prototype does not match")
            && r.stdout.contains(
                "parameter 1: what the type points to is INT here but STRUCT in the kernel"
            ),
        "{}",
        r.stdout
    );
}

/// A kernel BTF with a FUNC `void NAME(void)` for each of `names`, at
/// `dir/kernel.btf`.
fn kernel_with(dir: &Path, names: impl IntoIterator<Item = String>) -> PathBuf {
    let mut kernel = Btf::empty(Endian::Little);
    let proto = kernel.add_type(&NewType::func_proto(0, &[])).unwrap();
    for n in names {
        let name = kernel.add_string(&n).unwrap();
        kernel.add_type(&NewType::func(name, 1, proto)).unwrap();
    }
    let kfile = dir.join("kernel.btf");
    std::fs::write(&kfile, kernel.to_bytes()).unwrap();
    kfile
}

/// `extern void NAME(void) __ksym;` for each of `names`.
fn ksyms(names: impl IntoIterator<Item = String>) -> String {
    names
        .into_iter()
        .map(|n| format!("extern void {n}(void) __attribute__((section(\".ksyms\")));\n"))
        .collect()
}

/// Builds the C text `c` (with a license) into `dir/NAME.o`.
fn build_c(dir: &Path, name: &str, c: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let c = format!("{c}char LICENSE[] __attribute__((section(\"license\"), used)) = \"GPL\";\n");
    std::fs::write(&src, c).unwrap();
    clang_bpf(dir, &src, &format!("{name}.o"), true);
    dir.join(format!("{name}.o"))
}

/// A BPF object whose `.text` subprogram calls `externs` kfuncs `k0`…,
/// with `programs` programs calling it, and a kernel BTF with those
/// kfuncs.
fn many(dir: &Path, externs: usize, programs: usize) -> Option<(PathBuf, PathBuf)> {
    if !have("clang") {
        return None;
    }
    let names = || (0..externs).map(|i| format!("k{i}"));
    let mut c = ksyms(names());
    c += "static __attribute__((noinline)) int sub(void) {\n";
    for n in names() {
        c += &format!("  {n}();\n");
    }
    c += "  return 0;\n}\n";
    for i in 0..programs {
        c += &format!(
            "__attribute__((section(\"tp_btf/x\"), used)) int p{i}(void *c) {{ return sub(); }}\n"
        );
    }
    let obj = build_c(dir, "hostile", &c);
    Some((obj, kernel_with(dir, names())))
}

/// Programs reach kfuncs through `.text` functions: a global one (called
/// through its symbol), static ones calling each other (no relocation
/// between them), a callback (`bpf_loop`, an address loaded with
/// BPF_PSEUDO_FUNC); a function no program calls is not checked.
#[test]
fn calls_between_functions_are_followed() {
    if !have("clang") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut c = ksyms(["k_a", "k_b", "k_cb", "k_dead"].map(String::from));
    c += r#"
static long (*bpf_loop)(unsigned int, void *, void *, unsigned long) = (void *)181;
static __attribute__((noinline)) int deep(void) { k_b(); return 0; }
static __attribute__((noinline)) int mid(void) { return deep() + 1; }
__attribute__((noinline)) int glob(void) { k_a(); return 0; }
static int cb(unsigned int i, void *ctx) { k_cb(); return 0; }
__attribute__((noinline)) int dead(void) { k_dead(); return 0; }
__attribute__((section("tp_btf/a"), used)) int pa(void *c) { return glob(); }
__attribute__((section("tp_btf/b"), used)) int pb(void *c) { return mid(); }
__attribute__((section("tp_btf/c"), used)) int pc(void *c) { bpf_loop(1, cb, 0, 0); return 0; }
"#;
    let o = build_c(d.path(), "graph", &c);
    // the kernel lacks k_b (reached by pb only) and k_dead (by none)
    let k = kernel_with(d.path(), ["k_a", "k_cb"].map(String::from));
    let r = check(&[
        o.as_os_str(),
        "--kernel".as_ref(),
        k.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let progs = v["objects"][0]["programs"].as_array().unwrap();
    let seen: Vec<(&str, Vec<&str>, bool)> = progs
        .iter()
        .map(|p| {
            let cell = &p["kernels"][0];
            let names = (cell["kfuncs"].as_array().unwrap().iter())
                .map(|k| k["name"].as_str().unwrap())
                .collect();
            (p["name"].as_str().unwrap(), names, cell["loads"] == true)
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("pa", vec!["k_a"], true),
            ("pb", vec!["k_b"], false),
            ("pc", vec!["k_cb"], true),
        ]
    );
    let notes = &v["objects"][0]["notes"];
    assert_eq!(notes[0]["code"], "unreached-calls", "{notes}");
    assert!(
        notes[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("`k_dead` called only from .text functions no program calls"),
        "{notes}"
    );
}

/// `programs` programs, each calling the first of a chain of `chain`
/// `.text` functions, the last calling kfunc `k0`.
fn chained(dir: &Path, programs: usize, chain: usize) -> (PathBuf, PathBuf) {
    let mut c = ksyms(["k0".to_string()]);
    c += &format!(
        "static __attribute__((noinline)) int s{}(void) {{ k0(); return 0; }}\n",
        chain - 1
    );
    for i in (0..chain - 1).rev() {
        c += &format!(
            "static __attribute__((noinline)) int s{i}(void) {{ return s{}() + 1; }}\n",
            i + 1
        );
    }
    for i in 0..programs {
        c += &format!(
            "__attribute__((section(\"tp_btf/x\"), used)) int p{i}(void *c) {{ return s0(); }}\n"
        );
    }
    let o = build_c(dir, "chained", &c);
    (o, kernel_with(dir, ["k0".to_string()]))
}

#[test]
fn calls_between_functions_are_followed_up_to_a_bound() {
    if !have("clang") || !have("prlimit") {
        return;
    }
    // each program follows `chain` calls (into s0, then each to the next)
    let chain = 1024;
    let at = CHECK_MAX_CALL_EDGES / chain;
    let d = tempfile::tempdir().unwrap();
    let (o, k) = chained(d.path(), at, chain);
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "chained.o: kfunc calls resolve on {}: {at} programs, {at} kfunc calls checked",
            k.display()
        )),
        "{}",
        r.stdout
    );
    let d = tempfile::tempdir().unwrap();
    let (o, k) = chained(d.path(), at + 1, chain);
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "{}: error[object]: more than {CHECK_MAX_CALL_EDGES} calls between functions to follow (CHECK_MAX_CALL_EDGES)\n",
            o.display()
        )
    );
}

#[test]
fn programs_and_calls_are_bounded() {
    // at both bounds: 65,536 programs, each calling the 16 kfuncs of the
    // subprogram: 1,048,576 calls, checked in time and memory
    let per = CHECK_MAX_CALLS / CHECK_MAX_PROGRAMS;
    let d = tempfile::tempdir().unwrap();
    let Some((o, k)) = many(d.path(), per, CHECK_MAX_PROGRAMS) else {
        return;
    };
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "hostile.o: kfunc calls resolve on {}: {CHECK_MAX_PROGRAMS} programs, {CHECK_MAX_CALLS} kfunc calls checked",
            k.display()
        )),
        "{}",
        r.stdout
    );
    // one program more
    let d = tempfile::tempdir().unwrap();
    let (o, k) = many(d.path(), per, CHECK_MAX_PROGRAMS + 1).unwrap();
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "{}: error[object]: more than {CHECK_MAX_PROGRAMS} programs (CHECK_MAX_PROGRAMS)\n",
            o.display()
        )
    );
    // one kfunc more: 65,536 more calls
    let d = tempfile::tempdir().unwrap();
    let (o, k) = many(d.path(), per + 1, CHECK_MAX_PROGRAMS).unwrap();
    let r = run_bounded(&[o.as_os_str(), "--kernel".as_ref(), k.as_os_str()]).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "{}: error[object]: {} kfunc calls to check (programs × the kfuncs each calls), more than {CHECK_MAX_CALLS} (CHECK_MAX_CALLS)\n",
            o.display(),
            CHECK_MAX_PROGRAMS * (per + 1)
        )
    );
}
