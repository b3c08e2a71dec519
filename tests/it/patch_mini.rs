//! End to end: scan testdata/linux-mini, build a BTF for its kfuncs, patch it,
//! and check every pair, every decl tag, idempotence and the kernel's verdict.

use crate::common;
use common::fixture::Builder;
use common::*;
use kfunc_scan::btf::{kernel, Btf, Endian, Kind};
use kfunc_scan::manifest::Manifest;
use std::collections::HashMap;
use std::fs;

struct Fixture {
    dir: tempfile::TempDir,
    manifest: std::path::PathBuf,
    btf: std::path::PathBuf,
    funcs: HashMap<String, u32>,
    types_before: u32,
}

fn fixture(endian: Endian) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("mini.json");
    let out = run(&[
        mini().to_str().unwrap(),
        "-q",
        "-o",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1)); // the broken set
    let m = Manifest::from_json(&fs::read_to_string(&manifest).unwrap()).unwrap();
    let mut b = Builder::new(endian);
    // drivers/broken is "configured out" of this kernel
    let funcs = b.kfuncs(&m, |file| !file.starts_with("drivers/"));
    // tags pahole would have put there already
    b.tag("bpf_kfunc", funcs["bpf_task_acquire"], -1);
    b.tag("bpf_fastcall", funcs["bpf_mini_printk"], -1);
    b.tag("arg_str", funcs["bpf_mini_printk"], 1);
    let types_before = b.btf.end_id() - 1;
    let btf = dir.path().join("vmlinux.btf");
    fs::write(&btf, b.finish()).unwrap();
    Fixture {
        dir,
        manifest,
        btf,
        funcs,
        types_before,
    }
}

fn patch(
    f: &Fixture,
    input: &std::path::Path,
    out: &str,
) -> (std::path::PathBuf, serde_json::Value) {
    let out = f.dir.path().join(out);
    let report = f.dir.path().join("report.json");
    let r = run(&[
        "patch-btf",
        "--manifest",
        f.manifest.to_str().unwrap(),
        "--btf",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--add-decl-tags",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let rep = serde_json::from_str(&fs::read_to_string(report).unwrap()).unwrap();
    (out, rep)
}

fn func_by_name(btf: &Btf, name: &str) -> Vec<u32> {
    btf.own_types()
        .filter(|t| t.kind() == Kind::Func && btf.name(t) == name)
        .map(|t| t.id())
        .collect()
}

fn param_names(btf: &Btf, func: u32) -> Vec<String> {
    let f = btf.get(func).unwrap();
    let p = btf.get(f.target().unwrap()).unwrap();
    p.params()
        .map(|(n, _)| String::from_utf8_lossy(btf.str_at(n).unwrap()).into_owned())
        .collect()
}

fn tags_of(btf: &Btf, target: u32) -> Vec<(String, i32)> {
    let mut v: Vec<(String, i32)> = btf
        .own_types()
        .filter(|t| t.kind() == Kind::DeclTag && t.target() == Some(target))
        .map(|t| (btf.name(&t).to_string(), t.component_idx().unwrap()))
        .collect();
    v.sort();
    v
}

fn check(endian: Endian) {
    let f = fixture(endian);
    let (out, report) = patch(&f, &f.btf, "patched.btf");
    let before = fs::read(&f.btf).unwrap();
    let after_bytes = fs::read(&out).unwrap();
    let orig = Btf::parse(&before, None).unwrap();
    let btf = Btf::parse(&after_bytes, None).unwrap();

    // pairs, worked out from the fixture's sources
    let names = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["kfunc"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names("pairs_added"),
        ["bpf_mini_printk", "bpf_mini_two", "bpf_obj_new"]
    );
    assert_eq!(names("legacy_pairs"), ["bpf_wq_set_callback"]);

    let expect: &[(&str, &[&str], &[&str])] = &[
        (
            "bpf_mini_printk",
            &["stream_id", "fmt__str", "args", "len__sz", "aux__magic"],
            &["stream_id", "fmt__str", "args", "len__sz"],
        ),
        (
            "bpf_mini_two",
            &["x", "cookie__magic", "ctx__magic"],
            &["x"],
        ),
        (
            "bpf_obj_new",
            &["local_type_id", "meta", "aux"],
            &["local_type_id"],
        ),
    ];
    for (name, full, reduced) in expect {
        let id = f.funcs[*name];
        assert_eq!(func_by_name(&btf, name), vec![id], "{name} keeps its ID");
        assert_eq!(
            param_names(&btf, id),
            *reduced,
            "{name}: what BPF programs call"
        );
        let impl_ids = func_by_name(&btf, &format!("{name}_impl"));
        assert_eq!(impl_ids.len(), 1, "{name}_impl added once");
        let imp = btf.get(impl_ids[0]).unwrap();
        // the full, original prototype, and foo's linkage
        assert_eq!(imp.target(), orig.get(id).unwrap().target());
        assert_eq!(imp.linkage(), orig.get(id).unwrap().linkage());
        assert_eq!(param_names(&btf, impl_ids[0]), *full);
        // the reduced prototype keeps the return type and the kept params' types
        let new_p = btf.get(btf.get(id).unwrap().target().unwrap()).unwrap();
        let old_p = orig.get(orig.get(id).unwrap().target().unwrap()).unwrap();
        assert_eq!(new_p.return_type(), old_p.return_type());
        let kept: Vec<(u32, u32)> = old_p.params().take(reduced.len()).collect();
        assert_eq!(new_p.params().collect::<Vec<_>>(), kept);
        assert!(
            new_p.id() > orig.end_id() - 1,
            "a new prototype, not an edit"
        );
        // foo keeps bpf_kfunc; foo_impl has the others but not bpf_kfunc
        assert!(tags_of(&btf, id).contains(&("bpf_kfunc".into(), -1)));
        assert!(!tags_of(&btf, impl_ids[0])
            .iter()
            .any(|t| t.0 == "bpf_kfunc"));
    }
    let printk_impl = func_by_name(&btf, "bpf_mini_printk_impl")[0];
    assert_eq!(
        tags_of(&btf, printk_impl),
        [("arg_str".to_string(), 1), ("bpf_fastcall".to_string(), -1)]
    );
    // the parameter tag stays on foo: its parameter still exists
    assert!(tags_of(&btf, f.funcs["bpf_mini_printk"]).contains(&("arg_str".into(), 1)));

    // the legacy pair: no second _impl, foo reduced
    assert_eq!(func_by_name(&btf, "bpf_wq_set_callback_impl").len(), 1);
    assert_eq!(
        param_names(&btf, f.funcs["bpf_wq_set_callback"]),
        ["wq", "callback_fn", "flags"]
    );

    // decl tags: 14 kfuncs in kfunc sets here, one already tagged, one KF_FASTCALL
    let added = report["decl_tags_added"].as_array().unwrap();
    assert_eq!(added.iter().filter(|t| t["tag"] == "bpf_kfunc").count(), 13);
    let fast: Vec<&str> = added
        .iter()
        .filter(|t| t["tag"] == "bpf_fastcall")
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(fast, ["bpf_mini_plain"]);
    assert_eq!(
        tags_of(&btf, f.funcs["bpf_task_acquire"]),
        [("bpf_kfunc".to_string(), -1)]
    );
    // fmod_ret targets (a set8) are not kfuncs
    assert!(tags_of(&btf, f.funcs["update_socket_protocol"]).is_empty());

    // append-only: every original record byte-identical but repointed FUNCs' type
    let repointed: Vec<u32> = [
        "bpf_mini_printk",
        "bpf_mini_two",
        "bpf_obj_new",
        "bpf_wq_set_callback",
    ]
    .iter()
    .map(|n| f.funcs[*n])
    .collect();
    for t in orig.own_types() {
        let n = btf.get(t.id()).unwrap();
        assert_eq!(
            (n.kind(), n.name_off(), n.vlen(), n.kflag(), n.linkage()),
            (t.kind(), t.name_off(), t.vlen(), t.kflag(), t.linkage())
        );
        assert_eq!((n.size(), n.return_type()), (t.size(), t.return_type()));
        if !repointed.contains(&t.id()) {
            assert_eq!(n.target(), t.target(), "type [{}] unchanged", t.id());
        }
    }
    assert_eq!(report["types_before"], f.types_before);
    let n_new = report["types_after"].as_u64().unwrap() - f.types_before as u64;
    // 3 _impl FUNCs, 2 tag copies, 4 reduced protos (the legacy pair's too), 14 tags
    assert_eq!(n_new, 3 + 2 + 4 + 14);

    // idempotent: the same manifest again changes nothing
    let (again, rep2) = patch(&f, &out, "patched2.btf");
    assert_eq!(fs::read(again).unwrap(), after_bytes);
    assert_eq!(rep2["already_patched"].as_array().unwrap().len(), 4);
    assert!(rep2["decl_tags_added"].as_array().unwrap().is_empty());

    // --in-place --sync over a copy of the input: the same bytes, the file
    // swapped in place with nothing left beside it
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("vmlinux.btf");
    fs::copy(&f.btf, &copy).unwrap();
    let r = run(&[
        "patch-btf",
        "--manifest",
        f.manifest.to_str().unwrap(),
        "--btf",
        copy.to_str().unwrap(),
        "--in-place",
        "--sync",
        "--add-decl-tags",
        "-q",
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(fs::read(&copy).unwrap(), after_bytes);
    assert_eq!(fs::read_dir(copy_dir.path()).unwrap().count(), 1);

    // and the kernel agrees it is valid BTF (it reads only its own byte order)
    let native = if cfg!(target_endian = "little") {
        Endian::Little
    } else {
        Endian::Big
    };
    if endian != native {
        return;
    }
    match kernel::load(&after_bytes) {
        Ok(()) => {}
        Err(kernel::LoadError::Unavailable(why)) => missing(format!(
            "the kernel's check (BPF_BTF_LOAD needs root): {why}"
        )),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn pairs_tags_idempotence_little_endian() {
    check(Endian::Little);
}

#[test]
fn pairs_tags_idempotence_big_endian() {
    check(Endian::Big);
}

/// `patch-btf` that must refuse (exit 1); its output and where it would have written.
fn refused_patch(f: &Fixture, extra: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let out = f.dir.path().join("never.btf");
    let mut args = vec![
        "patch-btf",
        "--manifest",
        f.manifest.to_str().unwrap(),
        "--btf",
        f.btf.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    (r, out)
}

#[test]
fn a_stale_manifest_is_refused_and_nothing_written() {
    let f = fixture(Endian::Little);
    let text = fs::read_to_string(&f.manifest).unwrap();
    // the source gained a parameter the BTF does not have
    let stale = text.replacen("\"name\": \"x\",", "\"name\": \"x_renamed\",", 1);
    assert_ne!(stale, text);
    fs::write(&f.manifest, stale).unwrap();
    let (r, out) = refused_patch(&f, &[]);
    let err = stderr(&r);
    assert!(err.contains("error[refused]: bpf_mini_two: the BTF's prototype (x, cookie__magic, ctx__magic) disagrees with the source's (x_renamed, cookie__magic, ctx__magic)"), "{err}");
    assert!(!out.exists());
}

#[test]
fn strict_refuses_missing_kfuncs() {
    let f = fixture(Endian::Little);
    let (r, out) = refused_patch(&f, &["--strict"]);
    assert!(stderr(&r).contains("--strict"), "{}", stderr(&r));
    assert!(!out.exists());
}

/// Nothing to change: the note says why, and a file patched in place is
/// left as it is (same inode, same mtime: no rebuild of what depends on
/// it); a manifest with no kfunc taking verifier-supplied arguments says so.
#[test]
fn nothing_to_change_is_said_and_leaves_an_in_place_file_untouched() {
    use std::os::unix::fs::MetadataExt;
    let f = fixture(Endian::Little);
    let (patched, _) = patch(&f, &f.btf, "patched.btf");
    let before = fs::metadata(&patched).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = cmd(["patch-btf", "--add-decl-tags", "--in-place", "--manifest"])
        .arg(&f.manifest)
        .arg("--btf")
        .arg(&patched)
        .expect(0);
    let after = fs::metadata(&patched).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
    let e = r.stderr();
    assert!(
        e.contains("note[patch]: no pairs to add: the 4 kfuncs whose arguments the verifier supplies are paired already"),
        "{e}"
    );
    assert!(
        e.contains("note[patch]: nothing to change; the file is left as it is"),
        "{e}"
    );
    assert!(!e.contains("--add-decl-tags adds"), "{e}");

    // a manifest without such kfuncs (6.12's case): said, with the hint
    let mut m = read_manifest(&f.manifest);
    for k in &mut m.kfuncs {
        k.verifier_args = None;
    }
    let plain = f.dir.path().join("plain.json");
    fs::write(&plain, m.to_json()).unwrap();
    let out = f.dir.path().join("copy.btf");
    let r = cmd(["patch-btf", "--manifest"])
        .arg(&plain)
        .arg("--btf")
        .arg(&f.btf)
        .arg("-o")
        .arg(&out)
        .expect(0);
    assert!(
        r.stderr().contains("no kfunc of the manifest takes arguments the verifier supplies (KF_IMPLICIT_ARGS, __magic); --add-decl-tags adds the bpf_kfunc decl tags"),
        "{}",
        r.stderr()
    );
    // an -o copy is still written, as asked
    assert_eq!(fs::read(&out).unwrap(), fs::read(&f.btf).unwrap());
}
