//! `patch-btf` as a step of a kernel build: a BTF sorted by name (Linux
//! 7.0+'s vmlinux after resolve_btfids) is refused, an unsorted one (6.x)
//! patched.

mod common;
use common::*;
use kfunc_scan::btf::{Btf, Endian, Kind, NewType};
use kfunc_scan::limits::{SORTED_BTF_LEAD, SORTED_BTF_MIN_NAMED};
use kfunc_scan::manifest::Manifest;
use std::fs;
use std::path::{Path, PathBuf};

/// The mini tree's manifest, scanned into `dir` (exit 1: its broken set).
fn mini_manifest(dir: &Path) -> (PathBuf, Manifest) {
    let path = dir.join("mini.json");
    cmd([
        mini().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        path.as_os_str(),
    ])
    .expect(1);
    let m = read_manifest(&path);
    (path, m)
}

/// How the filler INTs of [`acquire_btf`] are named.
#[derive(Clone, Copy)]
enum Order {
    /// `a0000`, `a0001`, …: with `bpf_task_acquire` last, every named type
    /// in byte order.
    Sorted,
    /// The same names backwards.
    Reversed,
}

/// A base BTF with `fillers` INTs named by `order`, then what
/// `bpf_task_acquire(struct task_struct *p)` needs: a PTR and a FUNC_PROTO
/// (anonymous), the FUNC (named `bpf_task_acquire`, after every `a…`).
/// Named types: `fillers + 1`. The pointee is filler 0: the patch looks at
/// parameter names only.
fn acquire_btf(fillers: usize, order: Order, param: &str) -> Vec<u8> {
    let mut b = Btf::empty(Endian::Little);
    let mut first = 0;
    for i in 0..fillers {
        let n = match order {
            Order::Sorted => i,
            Order::Reversed => fillers - 1 - i,
        };
        let name = b.add_string(&format!("a{n:04}")).unwrap();
        let id = b.add_type(&NewType::int(name, 4, true)).unwrap();
        if i == 0 {
            first = id;
        }
    }
    let ptr = b.add_type(&NewType::ptr(first)).unwrap();
    let p = b.add_string(param).unwrap();
    let proto = b.add_type(&NewType::func_proto(ptr, &[(p, ptr)])).unwrap();
    let name = b.add_string("bpf_task_acquire").unwrap();
    b.add_type(&NewType::func(name, 1, proto)).unwrap();
    b.to_bytes()
}

/// `patch-btf --add-decl-tags` of `btf` with `manifest`, to `dir/out.btf`.
fn patch_tags(dir: &Path, manifest: &Path, btf: &[u8]) -> (std::process::Output, PathBuf) {
    let input = dir.join("vmlinux.btf");
    fs::write(&input, btf).unwrap();
    let out = dir.join("out.btf");
    let _ = fs::remove_file(&out);
    let r = cmd(["patch-btf", "--add-decl-tags", "--manifest"])
        .arg(manifest)
        .arg("--btf")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .output();
    (r, out)
}

/// The FUNCs a `bpf_kfunc` decl tag points at, by name.
fn kfunc_tagged(btf: &Btf) -> Vec<String> {
    btf.own_types()
        .filter(|t| t.kind() == Kind::DeclTag && btf.name(t) == "bpf_kfunc")
        .filter_map(|t| btf.get(t.target()?))
        .map(|f| btf.name(&f).to_string())
        .collect()
}

#[test]
fn a_btf_sorted_by_name_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, m) = mini_manifest(dir.path());
    let param = &m
        .kfuncs
        .iter()
        .find(|k| k.name == "bpf_task_acquire")
        .unwrap()
        .params[0]
        .name;
    assert_eq!(param, "p");
    // at the bound: exactly SORTED_BTF_MIN_NAMED named types past the lead
    let fillers = SORTED_BTF_LEAD + SORTED_BTF_MIN_NAMED - 1;
    let btf = acquire_btf(fillers, Order::Sorted, param);
    let (r, out) = patch_tags(dir.path(), &manifest, &btf);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    let named = SORTED_BTF_LEAD + SORTED_BTF_MIN_NAMED;
    assert!(
        err.contains(&format!(
            "vmlinux.btf: error[sorted]: this BTF's {named} named types are sorted by name"
        )),
        "{err}"
    );
    // one decl tag would be appended; where to hook instead is said
    assert!(err.contains("the 1 type(s) this patch appends"), "{err}");
    assert!(err.contains("before resolve_btfids sorts it"), "{err}");
    assert!(err.contains("resolve-btfids-wrapper"), "{err}");
    assert!(err.contains("vmlinux.btf: nothing written"), "{err}");
    assert!(!out.exists());
}

#[test]
fn one_name_short_of_the_bound_is_not_called_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, _) = mini_manifest(dir.path());
    let fillers = SORTED_BTF_LEAD + SORTED_BTF_MIN_NAMED - 2;
    let (r, out) = patch_tags(
        dir.path(),
        &manifest,
        &acquire_btf(fillers, Order::Sorted, "p"),
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let btf = Btf::parse(&fs::read(out).unwrap(), None).unwrap();
    assert_eq!(kfunc_tagged(&btf), ["bpf_task_acquire"]);
}

#[test]
fn an_unsorted_btf_still_patches() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, _) = mini_manifest(dir.path());
    let fillers = SORTED_BTF_LEAD + SORTED_BTF_MIN_NAMED + 10;
    let btf = acquire_btf(fillers, Order::Reversed, "p");
    let (r, out) = patch_tags(dir.path(), &manifest, &btf);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let patched = Btf::parse(&fs::read(out).unwrap(), None).unwrap();
    assert_eq!(kfunc_tagged(&patched), ["bpf_task_acquire"]);
    // the tag appended after the last type, nothing else
    let before = (fillers + 3) as u32;
    assert_eq!(patched.end_id() - 1, before + 1);
}

#[test]
fn a_sorted_btf_with_nothing_to_append_is_patched() {
    // `bpf_cgroup_acquire`, already tagged: the tag named `bpf_kfunc` sorts
    // after its target, so the BTF is sorted, and the patch appends nothing
    let dir = tempfile::tempdir().unwrap();
    let (manifest, _) = mini_manifest(dir.path());
    let fillers = SORTED_BTF_LEAD + SORTED_BTF_MIN_NAMED + 10;
    let mut btf = Btf::parse(&acquire_btf(fillers, Order::Sorted, "cgrp"), None).unwrap();
    let mut b = Btf::empty(Endian::Little);
    for t in btf.own_types().filter(|t| t.kind() == Kind::Int) {
        let name = b.add_string(btf.name(&t)).unwrap();
        b.add_type(&NewType::int(name, 4, true)).unwrap();
    }
    let ptr = b.add_type(&NewType::ptr(1)).unwrap();
    let p = b.add_string("cgrp").unwrap();
    let proto = b.add_type(&NewType::func_proto(ptr, &[(p, ptr)])).unwrap();
    let name = b.add_string("bpf_cgroup_acquire").unwrap();
    let func = b.add_type(&NewType::func(name, 1, proto)).unwrap();
    let tag = b.add_string("bpf_kfunc").unwrap();
    b.add_type(&NewType::decl_tag(tag, func, -1, false))
        .unwrap();
    btf = Btf::parse(&b.to_bytes(), None).unwrap();
    assert_eq!(kfunc_scan::patch::sorted_by_name(&btf), Some(fillers + 2));
    let bytes = btf.to_bytes();
    let (r, out) = patch_tags(dir.path(), &manifest, &bytes);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(stderr(&r).contains("0 decl tags added"), "{}", stderr(&r));
    assert_eq!(fs::read(out).unwrap(), bytes);
}

/// Real 6.x vmlinux BTFs are not sorted: their patches keep working.
#[test]
fn real_6x_btfs_are_not_sorted() {
    for rel in ["linux-6.12.117/vmlinux.btf", "linux-6.18/vmlinux.btf"] {
        let Some(p) = shared_file(rel) else { continue };
        let btf = Btf::parse(&fs::read(&p).unwrap(), None).unwrap();
        assert_eq!(kfunc_scan::patch::sorted_by_name(&btf), None, "{rel}");
    }
    let Some(base) = shared_file("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    let Some(module) = shared_file("linux-6.12.117/nf_conntrack.btf") else {
        return;
    };
    let base = Btf::parse(&fs::read(base).unwrap(), None).unwrap();
    let btf = Btf::parse(&fs::read(module).unwrap(), Some(base)).unwrap();
    assert_eq!(kfunc_scan::patch::sorted_by_name(&btf), None);
}

#[test]
fn sorted_by_name_counts_named_types_past_anonymous_ones() {
    // anonymous types anywhere do not break the order; the count is of
    // named ones, lead included
    let fillers = SORTED_BTF_LEAD + SORTED_BTF_MIN_NAMED + 5;
    let btf = Btf::parse(&acquire_btf(fillers, Order::Sorted, "p"), None).unwrap();
    assert_eq!(kfunc_scan::patch::sorted_by_name(&btf), Some(fillers + 1));
    // one pair out of order past the lead: not sorted
    let mut names: Vec<String> = (0..fillers).map(|i| format!("a{i:04}")).collect();
    names.swap(SORTED_BTF_LEAD + 3, SORTED_BTF_LEAD + 4);
    let mut b = Btf::empty(Endian::Big);
    for n in &names {
        let off = b.add_string(n).unwrap();
        b.add_type(&NewType::int(off, 4, true)).unwrap();
    }
    let btf = Btf::parse(&b.to_bytes(), None).unwrap();
    assert_eq!(kfunc_scan::patch::sorted_by_name(&btf), None);
    // out of order within the lead only: still sorted
    let mut names: Vec<String> = (0..fillers).map(|i| format!("a{i:04}")).collect();
    names.swap(0, SORTED_BTF_LEAD - 1);
    let mut b = Btf::empty(Endian::Little);
    for n in &names {
        let off = b.add_string(n).unwrap();
        b.add_type(&NewType::int(off, 4, true)).unwrap();
    }
    let btf = Btf::parse(&b.to_bytes(), None).unwrap();
    assert_eq!(kfunc_scan::patch::sorted_by_name(&btf), Some(fillers));
}

// ---------------------------------------------------------------- --config

/// A tree whose build puts one kfunc, `core_a(int x)`, in vmlinux, with
/// its `.config` beside it (`CONFIG_X=y`).
fn build_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "Makefile",
            "VERSION = 6\nPATCHLEVEL = 12\nsrctree := .\nifeq ($(ARCH),x86_64)\n  SRCARCH := x86\nendif\nbuild-dir := .\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\n",
        ),
        ("arch/x86/Makefile", "core-y +=\n"),
        ("Kbuild", "obj-y += kernel/\n"),
        ("kernel/Makefile", "obj-y += core.o\n"),
        ("include/linux/btf.h", "#define KF_ACQUIRE (1 << 0)\n"),
        (
            "kernel/core.c",
            "#include <linux/btf.h>\n__bpf_kfunc int core_a(int x) { return x; }\nBTF_KFUNCS_START(core_ids)\nBTF_ID_FLAGS(func, core_a)\nBTF_KFUNCS_END(core_ids)\n",
        ),
        (".config", "CONFIG_X=y\n"),
    ];
    for (rel, text) in files {
        let p = dir.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
    }
    dir
}

/// The BTF pahole would give `core_a`: INT `int`, its prototype, the FUNC.
fn core_btf() -> Vec<u8> {
    let mut b = Btf::empty(Endian::Little);
    let int = b.add_string("int").unwrap();
    let int = b.add_type(&NewType::int(int, 4, true)).unwrap();
    let x = b.add_string("x").unwrap();
    let proto = b.add_type(&NewType::func_proto(int, &[(x, int)])).unwrap();
    let name = b.add_string("core_a").unwrap();
    b.add_type(&NewType::func(name, 1, proto)).unwrap();
    b.to_bytes()
}

/// `tree` scanned into `out`, with `--config` of its .config or without.
fn scan_tree(tree: &Path, out: &Path, with_config: bool) {
    let mut c = cmd([
        tree.as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    if with_config {
        c = c.arg("--config").arg(tree.join(".config"));
    }
    c.expect(0);
}

/// `patch-btf --add-decl-tags --config CONFIG` of [`core_btf`] into `out.btf`.
fn patch_with_config(
    dir: &Path,
    manifest: &Path,
    config: &Path,
) -> (std::process::Output, PathBuf) {
    let input = dir.join("vmlinux.btf");
    fs::write(&input, core_btf()).unwrap();
    let out = dir.join("out.btf");
    let r = cmd(["patch-btf", "--add-decl-tags", "--manifest"])
        .arg(manifest)
        .arg("--btf")
        .arg(&input)
        .arg("--config")
        .arg(config)
        .arg("-o")
        .arg(&out)
        .output();
    (r, out)
}

#[test]
fn config_of_the_manifest_patches() {
    let t = build_tree();
    let manifest = t.path().join("m.json");
    scan_tree(t.path(), &manifest, true);
    let (r, out) = patch_with_config(t.path(), &manifest, &t.path().join(".config"));
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let btf = Btf::parse(&fs::read(out).unwrap(), None).unwrap();
    assert_eq!(kfunc_tagged(&btf), ["core_a"]);
}

#[test]
fn a_config_changed_since_the_scan_is_refused() {
    let t = build_tree();
    let manifest = t.path().join("m.json");
    scan_tree(t.path(), &manifest, true);
    let config = t.path().join(".config");
    // the trial's case: CONFIG_NET added after the manifest was made
    fs::write(&config, "CONFIG_X=y\nCONFIG_NET=y\n").unwrap();
    let (r, out) = patch_with_config(t.path(), &manifest, &config);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    // FNV-1a 64 of each file's bytes, worked out apart from the tool
    let fnv = |b: &[u8]| {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
            (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let old = format!("fnv1a64:{:016x}", fnv(b"CONFIG_X=y\n"));
    let new = format!("fnv1a64:{:016x}", fnv(b"CONFIG_X=y\nCONFIG_NET=y\n"));
    let (m, c) = (manifest.display(), config.display());
    assert!(
        err.contains(&format!(
            "{m}: error[stale-manifest]: made from {c} ({old}), but {c} is {new}: the manifest is stale; rescan: kfunc-scan SRCTREE --config {c} -o {m}"
        )),
        "{err}"
    );
    assert!(err.contains("vmlinux.btf: nothing written"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_manifest_without_a_build_view_is_refused_with_config() {
    let t = build_tree();
    let manifest = t.path().join("m.json");
    scan_tree(t.path(), &manifest, false);
    let config = t.path().join(".config");
    let (r, out) = patch_with_config(t.path(), &manifest, &config);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}: error[stale-manifest]: made without --config, it has no build view to check against {}",
            manifest.display(),
            config.display()
        )),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn an_unreadable_config_cannot_run() {
    let t = build_tree();
    let manifest = t.path().join("m.json");
    scan_tree(t.path(), &manifest, true);
    let config = t.path().join("no-such.config");
    let (r, out) = patch_with_config(t.path(), &manifest, &config);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}: error[read]:", config.display())),
        "{err}"
    );
    assert!(!out.exists());
}
