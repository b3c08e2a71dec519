//! What patch-btf reads: a pipe (read as a stream, not as an empty file)
//! and a BPF object clang built (its `.llvm_addrsig` section kept, every
//! section but `.BTF` byte-identical).

use crate::common;
use crate::manifest_fixture;
use common::fixture::Builder;
use common::*;
use kfunc_scan::btf::{Btf, Endian, Kind};
use kfunc_scan::conventions::TAG_KFUNC;
use kfunc_scan::manifest::Manifest;
use manifest_fixture::{kfunc_with, Fx};
use object::{Object, ObjectSection};
use std::fs;
use std::path::Path;
use std::process::Command;

/// One kfunc set of kfuncs `int name(params)` with no verifier-supplied
/// argument.
fn manifest(kfuncs: &[(&str, &[(&str, &str)])]) -> Manifest {
    let entries: Vec<(&str, &[&str])> = kfuncs.iter().map(|(n, _)| (*n, &[][..])).collect();
    kfuncs
        .iter()
        .fold(Fx::new().set("ids", &[], &entries), |fx, (name, params)| {
            fx.def(kfunc_with(name, "int", params))
        })
        .build()
}

/// `patch-btf --add-decl-tags` of `btf` (a path or `<(…)` for bash) to `out`.
fn patch_via_bash(m: &Path, btf: &str, out: &Path) -> std::process::Output {
    let script =
        format!("\"$0\" patch-btf --add-decl-tags --manifest \"$1\" --btf {btf} -o \"$2\" -q");
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(bin())
        .arg(m)
        .arg(out)
        .output()
        .expect("bash");
    out
}

/// The old reader took a pipe for an empty file ("0 bytes is too short").
#[test]
fn a_pipe_is_read_as_a_stream() {
    let m = manifest(&[("bpf_one", &[("int", "x")])]);
    let mut b = Builder::new(Endian::Little);
    b.kfuncs(&m, |_| true);
    let dir = tempfile::tempdir().unwrap();
    let (mp, btf) = (dir.path().join("m.json"), dir.path().join("in.btf"));
    fs::write(&mp, m.to_json()).unwrap();
    fs::write(&btf, b.finish()).unwrap();
    let (from_file, from_pipe) = (dir.path().join("a.btf"), dir.path().join("b.btf"));
    let r = patch_via_bash(&mp, &format!("'{}'", btf.display()), &from_file);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let r = patch_via_bash(&mp, &format!("<(cat '{}')", btf.display()), &from_pipe);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(fs::read(&from_pipe).unwrap(), fs::read(&from_file).unwrap());
    assert_ne!(fs::read(&from_file).unwrap(), fs::read(&btf).unwrap());
}

const BPF_PROGRAM: &str = r#"
#define __ksym __attribute__((section(".ksyms")))
struct task_struct { int pid; };
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym __attribute__((weak));
extern void bpf_task_release(struct task_struct *p) __ksym __attribute__((weak));
int counter;
__attribute__((section("tp_btf/task_newtask"), used))
int handle(struct task_struct *task)
{
	struct task_struct *t = bpf_task_acquire(task);
	if (t) { counter += t->pid; bpf_task_release(t); }
	return 0;
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
"#;

/// Every section's name, type and, but for `.BTF`, bytes.
fn sections(elf: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let file = object::File::parse(elf).expect("a readable ELF object");
    file.sections()
        .map(|s| {
            let name = s.name().unwrap_or("").to_string();
            let data = if name == ".BTF" {
                vec![]
            } else {
                s.data().unwrap().to_vec()
            };
            (name, format!("{:?}", s.kind()), data)
        })
        .collect()
}

/// The old writer refused it: "Unsupported section type 6fff4c03".
#[test]
fn a_bpf_object_built_by_clang_is_patched() {
    let dir = tempfile::tempdir().unwrap();
    let (src, obj) = (dir.path().join("k.c"), dir.path().join("k.o"));
    fs::write(&src, BPF_PROGRAM).unwrap();
    let built = Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output();
    match built {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("clang: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            missing(format!("clang (Debian package clang): {e}"));
            return;
        }
    }
    let input = fs::read(&obj).unwrap();
    assert!(
        sections(&input).iter().any(|s| s.0 == ".llvm_addrsig"),
        "clang writes .llvm_addrsig"
    );
    // clang names no parameter of an extern's prototype
    let m = manifest(&[("bpf_task_acquire", &[("struct task_struct *", "")])]);
    let mp = dir.path().join("m.json");
    fs::write(&mp, m.to_json()).unwrap();
    let out = dir.path().join("out.o");
    cmd(["patch-btf", "--add-decl-tags", "-q", "--manifest"])
        .arg(&mp)
        .arg("--btf")
        .arg(&obj)
        .arg("-o")
        .arg(&out)
        .expect(0);
    let written = fs::read(&out).unwrap();
    assert_eq!(sections(&written), sections(&input));
    let btf = Btf::parse(&kfunc_scan::btf::elf::read_btf(&written).unwrap(), None).unwrap();
    let before = Btf::parse(&kfunc_scan::btf::elf::read_btf(&input).unwrap(), None).unwrap();
    assert_eq!(btf.end_id(), before.end_id() + 1, "one decl tag");
    let tag = btf.get(before.end_id()).unwrap();
    assert_eq!((tag.kind(), btf.name(&tag)), (Kind::DeclTag, TAG_KFUNC));
    let target = btf.get(tag.target().unwrap()).unwrap();
    assert_eq!(btf.name(&target), "bpf_task_acquire");
    // libbpf reads it too
    match Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(&out)
        .output()
    {
        Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => missing(format!("bpftool (Debian package bpftool): {e}")),
    }
    // patched again in place: already tagged, the same bytes
    cmd([
        "patch-btf",
        "--add-decl-tags",
        "-q",
        "--in-place",
        "--manifest",
    ])
    .arg(&mp)
    .arg("--btf")
    .arg(&out)
    .expect(0);
    assert_eq!(fs::read(&out).unwrap(), written);
}
