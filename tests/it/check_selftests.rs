//! `check` against the kernel's own selftests: 30 BPF programs of the 6.12
//! tree that call kfuncs (scripts/selftests-objects.sh builds them with
//! clang), checked against four kernels (the 6.1 and 6.12 manifests, the
//! shared 6.18 BTF, the running kernel): the matrix of docs/check.md. As
//! root, each program is also loaded alone by libbpf on the running kernel
//! (scripts/check-tables.py): every kfunc-related refusal must be one
//! `check` predicted, and every program `check` passes that the kernel
//! refuses must be refused for another reason. Each half says `SKIPPED: …`
//! when what it needs is missing.

use crate::common;

use common::{cmd, env_path, manifest_61, manifest_612, missing, shared_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SYS_BTF: &str = "/sys/kernel/btf";

fn have(tool: &str, arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing(format!("{tool} is not installed"));
    }
    ok
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// The selftest objects, built once per test binary: the directory (with
/// `built.txt`), or None (reported) without clang, bpftool, the running
/// kernel's BTF or the 6.12 tree.
fn objects() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let tree = env_path("KFUNC_SCAN_LINUX", "the 6.12 tree")?;
        if !have("clang", "--version") || !have("bpftool", "version") {
            return None;
        }
        if !Path::new(SYS_BTF).join("vmlinux").is_file() {
            missing("/sys/kernel/btf/vmlinux (the running kernel's BTF, for vmlinux.h)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let r = Command::new("bash")
            .arg(script("selftests-objects.sh"))
            .arg(dir.path())
            .env("KFUNC_SCAN_LINUX", tree)
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "selftests-objects.sh: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

fn built(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(dir.join("built.txt"))
        .unwrap()
        .split_whitespace()
        .map(|n| dir.join(format!("{n}.o")))
        .collect()
}

/// The first error of program `prog` of object `obj` (a file name) on
/// kernel `k`, as (code, kfunc); None when it loads.
fn first_error<'a>(
    v: &'a serde_json::Value,
    obj: &str,
    prog: &str,
    k: usize,
) -> Option<(&'a str, &'a str)> {
    let o = (v["objects"].as_array().unwrap().iter())
        .find(|o| o["path"].as_str().unwrap().ends_with(&format!("/{obj}")))
        .unwrap_or_else(|| panic!("{obj} not in the report"));
    let p = (o["programs"].as_array().unwrap().iter())
        .find(|p| p["name"] == prog)
        .unwrap_or_else(|| panic!("{obj}: no program {prog}"));
    let cell = &p["kernels"][k];
    assert_eq!(cell["kernel"], k);
    if cell["loads"] == true {
        return None;
    }
    (cell["kfuncs"].as_array().unwrap().iter()).find_map(|kf| {
        (kf["findings"].as_array().unwrap().iter())
            .find(|f| f["severity"] == "error")
            .map(|f| (f["code"].as_str().unwrap(), kf["name"].as_str().unwrap()))
    })
}

/// The matrix: 30 objects against four kernels in one run, with what is
/// known of those kernels independently (a kfunc's first release, a
/// rename, a registration).
#[test]
fn thirty_selftests_against_four_kernels() {
    let Some(dir) = objects() else { return };
    let (Some(m61), Some(m612), Some(btf618)) = (
        manifest_61(),
        manifest_612(),
        shared_file("linux-6.18/vmlinux.btf"),
    ) else {
        return;
    };
    let objs = built(dir);
    assert!(objs.len() >= 30, "{} objects built", objs.len());
    let mut c = cmd(["check"]);
    for o in &objs {
        c = c.arg(o);
    }
    for k in [m61.as_path(), &m612, &btf618, Path::new(SYS_BTF)] {
        c = c.arg("--kernel").arg(k);
    }
    let o = c.args(["--format", "json"]).output();
    // some programs will not load somewhere: 1, never 2
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["objects"].as_array().unwrap().len(), objs.len());
    let (k61, k612, k618, running) = (0, 1, 2, 3);
    // bpf_obj_new_impl is not in 6.1's source (grep), the later ones have it
    assert_eq!(
        first_error(&v, "rbtree.o", "rbtree_add_nodes", k61),
        Some(("kfunc-missing", "bpf_obj_new_impl"))
    );
    for k in [k612, k618, running] {
        assert_eq!(first_error(&v, "rbtree.o", "rbtree_add_nodes", k), None);
    }
    // 6.18's BTF has css_rstat_updated, no cgroup_rstat_updated
    assert_eq!(
        first_error(&v, "cgroup_hierarchical_stats.o", "counter", k612),
        None
    );
    assert_eq!(
        first_error(&v, "cgroup_hierarchical_stats.o", "counter", k618),
        Some(("kfunc-missing", "cgroup_rstat_updated"))
    );
    // bpf_task_acquire is registered for tracing and LSM programs, not
    // kprobes: what only a manifest tells
    let kretprobe = "task_kfunc_acquire_unsafe_kretprobe";
    assert_eq!(
        first_error(&v, "task_kfunc_failure.o", kretprobe, k612),
        Some(("kfunc-prog-type", "bpf_task_acquire"))
    );
    assert_eq!(
        first_error(&v, "task_kfunc_failure.o", kretprobe, k618),
        None
    );
    // SEC("?raw_tp") is a raw tracepoint: bpf_dynptr_from_skb is not for it
    assert_eq!(
        first_error(&v, "dynptr_fail.o", "skb_invalid_ctx", k612),
        Some(("kfunc-prog-type", "bpf_dynptr_from_skb"))
    );
    // the cpumask kfuncs (Linux 6.3) are in the last three
    let o = (v["objects"].as_array().unwrap().iter())
        .find(|o| o["path"].as_str().unwrap().ends_with("/cpumask_success.o"))
        .unwrap();
    for p in o["programs"].as_array().unwrap() {
        for k in [k612, k618, running] {
            assert_eq!(p["kernels"][k]["loads"], true, "{} on {k}", p["name"]);
        }
    }
    // on 6.1 they are absent; cpumask_common.h declares them __weak, but
    // the programs call them without testing bpf_ksym_exists(): the
    // verifier refuses those unresolved calls
    assert_eq!(
        first_error(&v, "cpumask_success.o", "test_alloc_free_cpumask", k61),
        Some(("kfunc-missing", "bpf_cpumask_create"))
    );
}

/// Whether this machine can load a BPF program at all: a trivial one
/// through `bpftool prog load`.
fn can_load(dir: &Path) -> bool {
    if !rustix::process::geteuid().is_root() || !Path::new("/sys/fs/bpf").is_dir() {
        missing("root and /sys/fs/bpf, to load programs");
        return false;
    }
    let src = dir.join("trivial.c");
    std::fs::write(
        &src,
        "__attribute__((section(\"tp_btf/task_newtask\"), used)) int t(void *c) { return 0; }\n\
         char LICENSE[] __attribute__((section(\"license\"), used)) = \"GPL\";\n",
    )
    .unwrap();
    let obj = dir.join("trivial.o");
    let built = Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .is_ok_and(|s| s.success());
    let pin = format!("/sys/fs/bpf/kfunc_scan_selftests_{}", std::process::id());
    let loaded = built
        && Command::new("bpftool")
            .args(["prog", "load"])
            .arg(&obj)
            .arg(&pin)
            .output()
            .is_ok_and(|o| o.status.success());
    let _ = std::fs::remove_file(&pin);
    if !loaded {
        missing("bpftool prog load of a trivial program failed: this machine cannot load programs");
    }
    loaded
}

/// Every program loaded alone by libbpf on the running kernel: no
/// kfunc-related outcome on which `check` and the kernel disagree
/// (scripts/check-tables.py classifies; docs/check.md has its table).
#[test]
fn agrees_with_libbpf_and_the_verifier_on_every_program() {
    let Some(dir) = objects() else { return };
    let (Some(m61), Some(m612), Some(btf618)) = (
        manifest_61(),
        manifest_612(),
        shared_file("linux-6.18/vmlinux.btf"),
    ) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    if !can_load(work.path()) || !have("python3", "--version") || !have("cc", "--version") {
        return;
    }
    let json = work.path().join("agreement.json");
    let r = Command::new("python3")
        .arg(script("check-tables.py"))
        .arg(dir)
        .arg("--bin")
        .arg(common::bin())
        .arg("--m61")
        .arg(&m61)
        .arg("--m612")
        .arg(&m612)
        .arg("--btf618")
        .arg(&btf618)
        .arg("--agreement")
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "check-tables.py: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let tables = String::from_utf8_lossy(&r.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["disagreements"], serde_json::json!([]), "{tables}");
    // and the kernel did refuse some programs for kfunc reasons check named
    let refused: u32 = tables
        .lines()
        .find(|l| l.starts_with("| **all** |"))
        .and_then(|l| l.split('|').nth(4))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(refused > 0, "{tables}");
}
