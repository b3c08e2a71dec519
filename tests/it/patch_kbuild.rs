//! `patch-btf` as a step of a kernel build: a BTF sorted by name (Linux
//! 7.0+'s vmlinux after resolve_btfids) is refused, an unsorted one (6.x)
//! patched.

use crate::common;
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
        let name = b.add_string(&format!("a{n:06}")).unwrap();
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
    let mut b = Btf::empty(Endian::Little);
    for i in 0..fillers {
        let name = b.add_string(&format!("a{i:04}")).unwrap();
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
    let btf = Btf::parse(&b.to_bytes(), None).unwrap();
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
    let ints = |names: &[String], endian| {
        let mut b = Btf::empty(endian);
        for n in names {
            let off = b.add_string(n).unwrap();
            b.add_type(&NewType::int(off, 4, true)).unwrap();
        }
        Btf::parse(&b.to_bytes(), None).unwrap()
    };
    let names: Vec<String> = (0..fillers).map(|i| format!("a{i:04}")).collect();
    // the last of the lead above the first name past it: at the bound,
    // still sorted (the lead is not looked at)
    let mut at = names.clone();
    at.swap(SORTED_BTF_LEAD - 1, SORTED_BTF_LEAD);
    assert_eq!(
        kfunc_scan::patch::sorted_by_name(&ints(&at, Endian::Little)),
        Some(fillers)
    );
    // one past: the first two names past the lead out of order
    let mut past = names.clone();
    past.swap(SORTED_BTF_LEAD, SORTED_BTF_LEAD + 1);
    assert_eq!(
        kfunc_scan::patch::sorted_by_name(&ints(&past, Endian::Big)),
        None
    );
    // equal neighbours are in order (the kernel's sort keeps duplicates)
    let mut dup = names;
    dup[SORTED_BTF_LEAD + 2] = dup[SORTED_BTF_LEAD + 1].clone();
    let btf = ints(&dup, Endian::Little);
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

// ---------------------------------------------------------------- the hooks

/// A module's split BTF on [`core_btf`]: `mod_e(void)` returning its `int`.
fn mod_btf() -> Vec<u8> {
    let base = Btf::parse(&core_btf(), None).unwrap();
    let mut b = Btf::empty_split(base);
    let proto = b.add_type(&NewType::func_proto(1, &[])).unwrap();
    let name = b.add_string("mod_e").unwrap();
    b.add_type(&NewType::func(name, 1, proto)).unwrap();
    b.to_bytes()
}

/// [`build_tree`] with a module, `modfoo` (`CONFIG_MOD=m`), holding
/// `mod_e(void)` in a kfuncs set.
fn module_tree() -> tempfile::TempDir {
    let t = build_tree();
    let p = t.path();
    fs::write(p.join("Kbuild"), "obj-y += kernel/ net/\n").unwrap();
    fs::create_dir_all(p.join("net")).unwrap();
    fs::write(p.join("net/Makefile"), "obj-$(CONFIG_MOD) += modfoo.o\n").unwrap();
    fs::write(
        p.join("net/modfoo.c"),
        "__bpf_kfunc int mod_e(void) { return 0; }\nBTF_KFUNCS_START(mod_ids)\nBTF_ID_FLAGS(func, mod_e)\nBTF_KFUNCS_END(mod_ids)\n",
    )
    .unwrap();
    fs::write(p.join(".config"), "CONFIG_X=y\nCONFIG_MOD=m\n").unwrap();
    t
}

#[test]
fn a_module_on_a_base_that_grew_since_says_so() {
    // the module's BTF was encoded on `core_btf`; the base given has grown
    // since (as patch-btf grows a vmlinux BTF): a type and a string more
    let mut grown = Btf::parse(&core_btf(), None).unwrap();
    let name = grown.add_string("added_after_the_modules").unwrap();
    grown.add_type(&NewType::int(name, 8, false)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = mini_manifest(dir.path());
    let base = dir.path().join("vmlinux.btf");
    let module = dir.path().join("mod.btf");
    fs::write(&module, mod_btf()).unwrap();
    let note = "note[btf]: a split BTF reads only on the base it was encoded on";
    let patch = |base_bytes: Vec<u8>| {
        fs::write(&base, base_bytes).unwrap();
        cmd(["patch-btf".as_ref(), "--manifest".as_ref(), m.as_os_str()])
            .args([
                "--btf".as_ref(),
                module.as_os_str(),
                "--base".as_ref(),
                base.as_os_str(),
            ])
            .args(["-o".as_ref(), dir.path().join("out.btf").as_os_str()])
            .output()
    };
    let r = patch(grown.to_bytes());
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("mod.btf: error[btf]: "), "{err}");
    assert!(err.contains(note), "{err}");
    // on the base it was encoded on, it reads: no such note
    let r = patch(core_btf());
    assert!(!stderr(&r).contains(note), "{}", stderr(&r));
    assert!(!stderr(&r).contains("error[btf]"), "{}", stderr(&r));
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/kbuild")
        .join(name)
}

/// An executable shell script at `path`.
fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A build's object tree (its own .config, the tree's copied) and fakes of
/// the tools the hooks call: `pahole` records its arguments, says `v1.24`
/// to `--version`, and "encodes" by copying `vmlinux.raw` (or, on
/// `--btf_base`, `module.raw`) over its last argument; `resolve_btfids`
/// records its arguments and keeps a copy of the raw BTF as it found it.
struct Build {
    src: tempfile::TempDir,
    obj: tempfile::TempDir,
}

impl Build {
    fn new(src: tempfile::TempDir) -> Build {
        let obj = tempfile::tempdir().unwrap();
        let o = obj.path();
        fs::copy(src.path().join(".config"), o.join(".config")).unwrap();
        fs::write(o.join("vmlinux.raw"), core_btf()).unwrap();
        fs::write(o.join("module.raw"), mod_btf()).unwrap();
        write_script(
            &o.join("fake-pahole"),
            r#"printf '%s\n' "$@" > pahole.args
[ "$1" = --version ] && { echo v1.24; exit 0; }
[ -n "${FAKE_FAIL:-}" ] && exit 3
for a; do last=$a; done
case " $* " in *" --btf_base "*) cp module.raw "$last" ;; *) cp vmlinux.raw "$last" ;; esac
"#,
        );
        write_script(
            &o.join("fake-resolve-btfids"),
            r#"printf '%s\n' "$@" > resolve.args
[ -f .tmp_vmlinux1.BTF.1 ] && cp .tmp_vmlinux1.BTF.1 seen.btf
exit 0
"#,
        );
        Build { src, obj }
    }

    /// `hook ARGS…` run as make would: in the object tree, `srctree`
    /// exported, the fakes as the real tools.
    fn run(&self, hook: &str, args: &[&str]) -> std::process::Output {
        self.run_env(hook, args, &[])
    }

    /// [`Build::run`] with more of make's environment (`KBUILD_EXTMOD`).
    fn run_env(
        &self,
        hook: &str,
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> std::process::Output {
        let o = self.obj.path();
        std::process::Command::new(script(hook))
            .args(args)
            .current_dir(o)
            .env("srctree", self.src.path())
            .env("objtree", ".")
            .env("KFUNC_SCAN", bin())
            .env("REAL_PAHOLE", o.join("fake-pahole"))
            .env("REAL_RESOLVE_BTFIDS", o.join("fake-resolve-btfids"))
            .env_remove("KFUNC_SCAN_MANIFEST")
            .env_remove("KFUNC_SCAN_SRCTREE")
            .env_remove("FAKE_FAIL")
            .env_remove("KBUILD_EXTMOD")
            .env_remove("KBUILD_EXTMOD_OUTPUT")
            .env_remove("quiet")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.obj.path().join(rel)
    }

    fn btf(&self, rel: &str) -> Btf {
        Btf::parse(&fs::read(self.path(rel)).unwrap(), None).unwrap()
    }

    fn lines(&self, rel: &str) -> Vec<String> {
        fs::read_to_string(self.path(rel))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }
}

#[test]
fn pahole_wrapper_passes_version_through() {
    let b = Build::new(build_tree());
    let r = b.run("pahole-wrapper", &["--version"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(String::from_utf8_lossy(&r.stdout), "v1.24\n");
    assert!(!b.path("kfunc-scan.json").exists());
}

#[test]
fn pahole_wrapper_patches_tmp_vmlinux_after_pahole() {
    let b = Build::new(build_tree());
    // 6.12's link-vmlinux.sh with pahole 1.24's flags
    let args = [
        "-J",
        "--btf_gen_floats",
        "-j",
        "--lang_exclude=rust",
        ".tmp_vmlinux1",
    ];
    let r = b.run("pahole-wrapper", &args);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(b.lines("pahole.args"), args);
    assert_eq!(kfunc_tagged(&b.btf(".tmp_vmlinux1")), ["core_a"]);
    // the manifest, made from the build's .config
    let m = read_manifest(&b.path("kfunc-scan.json"));
    let build = m.build.unwrap();
    assert_eq!(build.config, "./.config");
    assert!(stderr(&r).contains("1 decl tags added"), "{}", stderr(&r));
}

#[test]
fn pahole_wrapper_patches_a_module_on_its_vmlinux() {
    let b = Build::new(module_tree());
    fs::write(b.path("vmlinux"), core_btf()).unwrap();
    // 6.12's Makefile.modfinal
    let args = [
        "-J",
        "--btf_gen_floats",
        "-j",
        "--btf_base",
        "vmlinux",
        "net/modfoo.ko",
    ];
    fs::create_dir_all(b.path("net")).unwrap();
    let r = b.run("pahole-wrapper", &args);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(b.lines("pahole.args"), args);
    let base = b.btf("vmlinux");
    let module = Btf::parse(&fs::read(b.path("net/modfoo.ko")).unwrap(), Some(base)).unwrap();
    assert_eq!(kfunc_tagged(&module), ["mod_e"]);
    // as Kbuild says nothing per module by default: no summary, no note
    assert!(
        !stderr(&r).contains("kfunc-scan patch-btf:"),
        "{}",
        stderr(&r)
    );
    assert!(!stderr(&r).contains("note["), "{}", stderr(&r));
    // with V=1 (make exports an empty `quiet`) the summary is there
    let r = b.run_env("pahole-wrapper", &args, &[("quiet", "".as_ref())]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("kfunc-scan patch-btf: 0 pairs added"),
        "{}",
        stderr(&r)
    );
}

// ------------------------------------------------- out-of-tree modules (M=)

/// An out-of-tree module's directory (`make M=`): `extmod.c` holds
/// `mod_e(void)` in a kfuncs set with `KF_ACQUIRE`, whose value only the
/// kernel tree's `include/linux/btf.h` defines.
fn extmod_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("Makefile"), "obj-m += extmod.o\n").unwrap();
    fs::write(
        d.path().join("extmod.c"),
        "__bpf_kfunc int mod_e(void) { return 0; }\nBTF_KFUNCS_START(ext_ids)\nBTF_ID_FLAGS(func, mod_e, KF_ACQUIRE)\nBTF_KFUNCS_END(ext_ids)\n",
    )
    .unwrap();
    d
}

#[test]
fn an_out_of_tree_module_scans_against_its_kernel_tree() {
    let kernel = build_tree();
    let ext = extmod_dir();
    let r = cmd([
        ext.path().as_os_str(),
        "--kernel-tree".as_ref(),
        kernel.path().as_os_str(),
    ])
    .expect(0);
    let m = r.manifest();
    // the release and the flag's value come from the kernel tree …
    assert_eq!(m.kernel_version.as_deref(), Some("6.12"));
    assert_eq!(m.flag_values.get("KF_ACQUIRE"), Some(&1));
    // … the set and its kfunc from the module's directory, and none of the
    // kernel's (`core_a`)
    let names: Vec<&str> = m.kfuncs.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["mod_e"]);
    assert_eq!(m.sets.len(), 1);
    assert_eq!(m.sets[0].name, "ext_ids");
    // scanned on its own, the flag is unknown: an error, exit 1
    let alone = cmd([ext.path().as_os_str(), "--any-directory".as_ref()]).expect(1);
    assert!(
        alone
            .stderr()
            .contains("`KF_ACQUIRE` on `mod_e` is not defined"),
        "{}",
        alone.stderr()
    );
}

#[test]
fn kernel_tree_must_be_a_kernel_tree_and_excludes_config() {
    let ext = extmod_dir();
    let not_kernel = tempfile::tempdir().unwrap();
    let r = cmd([
        ext.path().as_os_str(),
        "--kernel-tree".as_ref(),
        not_kernel.path().as_os_str(),
    ])
    .expect(2);
    let err = r.stderr();
    assert!(err.contains("error[no-kernel-tree]"), "{err}");
    assert!(err.contains(&*not_kernel.path().to_string_lossy()), "{err}");
    let gone = not_kernel.path().join("gone");
    let r = cmd([
        ext.path().as_os_str(),
        "--kernel-tree".as_ref(),
        gone.as_os_str(),
    ])
    .expect(2);
    assert!(
        r.stderr().contains("error[no-tree]: not a directory"),
        "{}",
        r.stderr()
    );
    let kernel = build_tree();
    let config = kernel.path().join(".config");
    let r = cmd([
        ext.path().as_os_str(),
        "--kernel-tree".as_ref(),
        kernel.path().as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ])
    .expect(2);
    assert!(r.stderr().contains("cannot be used with"), "{}", r.stderr());
}

#[test]
fn pahole_wrapper_patches_an_out_of_tree_module_from_its_own_sources() {
    // the kernel tree has no kfunc `mod_e`: only the module's directory does
    let b = Build::new(build_tree());
    let ext = extmod_dir();
    fs::write(b.path("vmlinux"), core_btf()).unwrap();
    let ko = ext.path().join("extmod.ko");
    let args = ["-J", "--btf_base", "vmlinux", ko.to_str().unwrap()];
    let r = b.run_env(
        "pahole-wrapper",
        &args,
        &[("KBUILD_EXTMOD", ext.path().as_os_str())],
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let base = b.btf("vmlinux");
    let module = Btf::parse(&fs::read(&ko).unwrap(), Some(base)).unwrap();
    assert_eq!(kfunc_tagged(&module), ["mod_e"]);
    // its manifest beside the module; the kernel's was not made
    let m = read_manifest(&ext.path().join("kfunc-scan.json"));
    assert_eq!(m.kfuncs.len(), 1);
    assert_eq!(m.kernel_version.as_deref(), Some("6.12"));
    assert!(!b.path("kfunc-scan.json").exists());
    // the same build in-tree (no KBUILD_EXTMOD) looks for `mod_e` in the
    // kernel's manifest, which has none: nothing tagged
    fs::write(&ko, b"").unwrap();
    let r = b.run("pahole-wrapper", &args);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let base = b.btf("vmlinux");
    let module = Btf::parse(&fs::read(&ko).unwrap(), Some(base)).unwrap();
    assert!(kfunc_tagged(&module).is_empty());
}

#[test]
fn pahole_wrapper_names_a_missing_out_of_tree_directory() {
    let b = Build::new(build_tree());
    fs::write(b.path("vmlinux"), core_btf()).unwrap();
    let gone = b.path("no-such-module-dir");
    let args = ["-J", "--btf_base", "vmlinux", "x.ko"];
    let r = b.run_env(
        "pahole-wrapper",
        &args,
        &[("KBUILD_EXTMOD", gone.as_os_str())],
    );
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("(KBUILD_EXTMOD) is not a directory"),
        "{}",
        stderr(&r)
    );
}

#[test]
fn pahole_wrapper_fails_the_build_when_patch_btf_fails() {
    let b = Build::new(build_tree());
    // the BTF disagrees with the source: core_a's parameter is `y` here
    let mut bad = Btf::empty(Endian::Little);
    let int = bad.add_string("int").unwrap();
    let int = bad.add_type(&NewType::int(int, 4, true)).unwrap();
    let y = bad.add_string("y").unwrap();
    let proto = bad
        .add_type(&NewType::func_proto(int, &[(y, int)]))
        .unwrap();
    let name = bad.add_string("core_a").unwrap();
    bad.add_type(&NewType::func(name, 1, proto)).unwrap();
    fs::write(b.path("vmlinux.raw"), bad.to_bytes()).unwrap();
    let r = b.run("pahole-wrapper", &["-J", ".tmp_vmlinux1"]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[refused]: core_a: the BTF's prototype (y)"),
        "{err}"
    );
    assert!(
        err.contains("pahole-wrapper: error: kfunc-scan patch-btf failed on .tmp_vmlinux1"),
        "{err}"
    );
}

#[test]
fn pahole_wrapper_fails_when_pahole_or_kfunc_scan_does() {
    let b = Build::new(build_tree());
    let o = b.obj.path();
    let mut c = std::process::Command::new(script("pahole-wrapper"));
    c.args(["-J", ".tmp_vmlinux1"])
        .current_dir(o)
        .env("srctree", b.src.path())
        .env("REAL_PAHOLE", o.join("fake-pahole"));
    // pahole's own status, and no scan
    let r = c
        .env("FAKE_FAIL", "1")
        .env("KFUNC_SCAN", bin())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(3), "{}", stderr(&r));
    assert!(!b.path("kfunc-scan.json").exists());
    // no kfunc-scan to run: said, and the build stops
    let r = c
        .env_remove("FAKE_FAIL")
        .env("KFUNC_SCAN", o.join("nowhere"))
        .output()
        .unwrap();
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pahole-wrapper: error: kfunc-scan not found"),
        "{err}"
    );
}

#[test]
fn pahole_wrapper_rescans_when_config_is_newer_than_the_manifest() {
    let b = Build::new(build_tree());
    let r = b.run("pahole-wrapper", &["-J", ".tmp_vmlinux1"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let first = read_manifest(&b.path("kfunc-scan.json")).build.unwrap();
    // .config rewritten later: the manifest is made again, from it
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(b.path("kfunc-scan.json"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs::write(b.path(".config"), "CONFIG_X=y\nCONFIG_NET=y\n").unwrap();
    let r = b.run("pahole-wrapper", &["-J", ".tmp_vmlinux1"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let second = read_manifest(&b.path("kfunc-scan.json")).build.unwrap();
    assert_ne!(first.config_hash, second.config_hash);
}

#[test]
fn resolve_btfids_wrapper_patches_raw_btf_before_the_real_one() {
    let b = Build::new(build_tree());
    fs::write(b.path(".tmp_vmlinux1.BTF.1"), core_btf()).unwrap();
    // as 7.x's gen-btf.sh passes pahole's raw output
    let args = ["--btf", ".tmp_vmlinux1.BTF.1", ".tmp_vmlinux1"];
    let r = b.run("resolve-btfids-wrapper", &args);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(b.lines("resolve.args"), args);
    // patched before resolve_btfids saw it
    assert_eq!(kfunc_tagged(&b.btf("seen.btf")), ["core_a"]);
}

/// [`build_tree`] as a 7.x tree: `core_a(int x, struct bpf_prog_aux *aux)`
/// is KF_IMPLICIT_ARGS, and, when `pairs_itself`, the tree's resolve_btfids
/// pairs such kfuncs (its source names KF_IMPLICIT_ARGS, as upstream's).
fn implicit_tree(pairs_itself: bool) -> tempfile::TempDir {
    let t = build_tree();
    let p = t.path();
    fs::write(
        p.join("include/linux/btf.h"),
        "#define KF_ACQUIRE (1 << 0)\n#define KF_IMPLICIT_ARGS (1 << 16)\n",
    )
    .unwrap();
    fs::write(
        p.join("kernel/core.c"),
        "#include <linux/btf.h>\n__bpf_kfunc int core_a(int x, struct bpf_prog_aux *aux) { return x; }\nBTF_KFUNCS_START(core_ids)\nBTF_ID_FLAGS(func, core_a, KF_IMPLICIT_ARGS)\nBTF_KFUNCS_END(core_ids)\n",
    )
    .unwrap();
    if pairs_itself {
        let rb = p.join("tools/bpf/resolve_btfids");
        fs::create_dir_all(&rb).unwrap();
        fs::write(
            rb.join("main.c"),
            "static int process_kfunc_with_implicit_args(void) { return KF_IMPLICIT_ARGS; }\n",
        )
        .unwrap();
    }
    t
}

/// The BTF pahole would give [`implicit_tree`]'s `core_a`.
fn implicit_btf() -> Vec<u8> {
    let mut b = Btf::empty(Endian::Little);
    let int = b.add_string("int").unwrap();
    let int = b.add_type(&NewType::int(int, 4, true)).unwrap();
    let aux = b.add_string("bpf_prog_aux").unwrap();
    let aux = b.add_type(&NewType::struct_(aux, 8, &[])).unwrap();
    let ptr = b.add_type(&NewType::ptr(aux)).unwrap();
    let (x, a) = (b.add_string("x").unwrap(), b.add_string("aux").unwrap());
    let proto = b
        .add_type(&NewType::func_proto(int, &[(x, int), (a, ptr)]))
        .unwrap();
    let name = b.add_string("core_a").unwrap();
    b.add_type(&NewType::func(name, 1, proto)).unwrap();
    b.to_bytes()
}

fn has_func(btf: &Btf, name: &str) -> bool {
    (1..btf.end_id()).any(|id| {
        btf.get(id)
            .is_some_and(|t| t.kind() == Kind::Func && btf.name(&t) == name)
    })
}

#[test]
fn no_pairs_adds_the_tags_and_leaves_the_pairs() {
    let t = implicit_tree(true);
    let manifest = t.path().join("m.json");
    scan_tree(t.path(), &manifest, false);
    let input = t.path().join("vmlinux.btf");
    fs::write(&input, implicit_btf()).unwrap();
    let out = t.path().join("out.btf");
    let patch = |extra: &[&str]| {
        cmd(["patch-btf", "--add-decl-tags", "--manifest"])
            .arg(&manifest)
            .arg("--btf")
            .arg(&input)
            .args(extra)
            .arg("-o")
            .arg(&out)
            .output()
    };
    // paired, as ever
    let r = patch(&[]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let btf = Btf::parse(&fs::read(&out).unwrap(), None).unwrap();
    assert!(has_func(&btf, "core_a_impl"));
    assert_eq!(kfunc_tagged(&btf), ["core_a"]);
    // --no-pairs: the tag alone, no _impl, core_a's prototype untouched
    let r = patch(&["--no-pairs"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(stderr(&r).contains("0 pairs added"), "{}", stderr(&r));
    assert!(!stderr(&r).contains("no pairs to add"), "{}", stderr(&r));
    let btf = Btf::parse(&fs::read(&out).unwrap(), None).unwrap();
    assert!(!has_func(&btf, "core_a_impl"));
    assert_eq!(kfunc_tagged(&btf), ["core_a"]);
    assert_eq!(
        btf.end_id(),
        Btf::parse(&implicit_btf(), None).unwrap().end_id() + 1,
        "one decl tag more"
    );
    // it is about the tags: alone it is a usage error
    let r = cmd(["patch-btf", "--no-pairs", "--manifest"])
        .arg(&manifest)
        .arg("--btf")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .output();
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("--add-decl-tags"), "{}", stderr(&r));
}

/// 7.1.3's resolve_btfids pairs KF_IMPLICIT_ARGS kfuncs itself; given the
/// `_impl` already, it takes its path for a declared one, which on a
/// module's split BTF crashed it (a segfault, the build stopped). The
/// wrapper leaves the pairs to a resolve_btfids that makes them, and makes
/// them for one that does not.
#[test]
fn resolve_btfids_wrapper_leaves_the_pairs_to_a_resolve_btfids_that_makes_them() {
    for (pairs_itself, impl_added) in [(true, false), (false, true)] {
        let b = Build::new(implicit_tree(pairs_itself));
        fs::write(b.path(".tmp_vmlinux1.BTF.1"), implicit_btf()).unwrap();
        let args = ["--btf", ".tmp_vmlinux1.BTF.1", ".tmp_vmlinux1"];
        let r = b.run("resolve-btfids-wrapper", &args);
        assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
        let seen = b.btf("seen.btf");
        assert_eq!(
            kfunc_tagged(&seen),
            ["core_a"],
            "pairs itself: {pairs_itself}"
        );
        assert_eq!(
            has_func(&seen, "core_a_impl"),
            impl_added,
            "pairs itself: {pairs_itself}"
        );
    }
}

#[test]
fn resolve_btfids_wrapper_on_a_6x_call_passes_through_and_says_so() {
    let b = Build::new(build_tree());
    let r = b.run("resolve-btfids-wrapper", &["vmlinux"]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert_eq!(b.lines("resolve.args"), ["vmlinux"]);
    assert!(
        err.contains("nothing patched (Linux 6.x: use PAHOLE=pahole-wrapper)"),
        "{err}"
    );
    assert!(!b.path("kfunc-scan.json").exists());
}

#[test]
fn resolve_btfids_wrapper_on_a_7x_patch_btfids_call_passes_through_quietly() {
    let b = Build::new(build_tree());
    // 7.1's link-vmlinux.sh, after gen-btf.sh's call with --btf: it only
    // writes the .BTF_ids computed then, so there is nothing to patch and
    // nothing to say (it used to print the 6.x note on every 7.x link)
    let args = [
        "--patch_btfids",
        ".tmp_vmlinux1.BTF_ids",
        "vmlinux.unstripped",
    ];
    let r = b.run("resolve-btfids-wrapper", &args);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert_eq!(b.lines("resolve.args"), args);
    assert_eq!(err, "");
    assert!(!b.path("kfunc-scan.json").exists());
}

#[test]
fn a_warning_naming_an_outside_name_is_escaped() {
    // --object's name reaches the warning that no set is in that object
    let t = build_tree();
    let manifest = t.path().join("m.json");
    scan_tree(t.path(), &manifest, true);
    let base = t.path().join("vmlinux.btf");
    fs::write(&base, core_btf()).unwrap();
    let module = t.path().join("mod.btf");
    fs::write(&module, mod_btf()).unwrap();
    let r = cmd(["patch-btf", "--manifest"])
        .arg(&manifest)
        .arg("--btf")
        .arg(&module)
        .arg("--base")
        .arg(&base)
        .args(["--object", "m\u{1b}[2J", "-o"])
        .arg(t.path().join("out.btf"))
        .output();
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(
        err.contains(
            "warning[patch]: the manifest's build view puts no kfunc set in object `m\\u{1b}[2J`"
        ),
        "{err}"
    );
    // -q leaves out the summary, not the warning (as every command's -q)
    let r = cmd(["patch-btf", "-q", "--manifest"])
        .arg(&manifest)
        .arg("--btf")
        .arg(&module)
        .arg("--base")
        .arg(&base)
        .args(["--object", "m", "-o"])
        .arg(t.path().join("out.btf"))
        .output();
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning[patch]: the manifest's build view puts no kfunc set in object `m`"),
        "{err}"
    );
    assert!(!err.contains("kfunc-scan patch-btf:"), "{err}");
    assert!(!err.contains("note["), "{err}");
    // taken from the file's name (`mod`), it is what most modules are: a
    // note, and none under -q
    let run = |quiet: bool| {
        let mut c = cmd(["patch-btf", "--manifest"])
            .arg(&manifest)
            .arg("--btf")
            .arg(&module)
            .arg("--base")
            .arg(&base)
            .arg("-o")
            .arg(t.path().join("out.btf"));
        if quiet {
            c = c.arg("-q");
        }
        c.output()
    };
    let r = run(false);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "mod.btf: note[patch]: the manifest's build view puts no kfunc set in object `mod`"
        ),
        "{err}"
    );
    assert!(!err.contains("warning["), "{err}");
    let r = run(true);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(!stderr(&r).contains("puts no kfunc set"), "{}", stderr(&r));
}

/// `kfunc-scan ARGS` under a 1 GiB address space, killed and failed after
/// 10 s.
fn run_bounded(args: &[&std::ffi::OsStr]) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new("prlimit")
        .arg("--as=1073741824")
        .arg("--")
        .arg(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit");
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > std::time::Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kfunc-scan {args:?}: still running after 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_vmlinux_sized_sorted_btf_is_refused_in_bounded_time_and_memory() {
    // 150k sorted names, as many types as a distribution's vmlinux has
    let dir = tempfile::tempdir().unwrap();
    let (manifest, _) = mini_manifest(dir.path());
    let input = dir.path().join("vmlinux.btf");
    fs::write(&input, acquire_btf(150_000, Order::Sorted, "p")).unwrap();
    let out = dir.path().join("out.btf");
    let r = run_bounded(&[
        "patch-btf".as_ref(),
        "--add-decl-tags".as_ref(),
        "--manifest".as_ref(),
        manifest.as_os_str(),
        "--btf".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("this BTF's 150001 named types are sorted by name"),
        "{err}"
    );
    assert!(!out.exists());
}
