//! `patch-btf --add-decl-tags` on Debian's 6.12 BTF (old pahole: no decl
//! tags) against the ground truth of the same build: the kfuncs sets
//! (`BTF_SET8_KFUNCS`) that its vmlinux and modules hold in `.BTF_ids`, read
//! by `common::btf_ids` without the scanner. pahole 1.26+ tags every member
//! of those sets; so must we, from the source's manifest, with or without
//! the build view. Each output is checked by the running kernel.

use crate::common;
use common::btf_ids::{self, BuiltSet};
use common::*;
use kfunc_scan::btf::{kernel, Btf, Kind};
use kfunc_scan::manifest::Manifest;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct Data {
    built: PathBuf,
    tree: PathBuf,
    btf_dir: PathBuf,
}

fn data() -> Option<Data> {
    let built = env_path(
        "KFUNC_SCAN_BUILT_KERNEL",
        "the folder scripts/fetch-built-kernel.sh prints",
    )?;
    let tree = env_path(
        "KFUNC_SCAN_LINUX",
        "the 6.12 tree (scripts/fetch-linux.sh 6.12 prints it)",
    )?;
    let vmlinux = shared_file("linux-6.12.117/vmlinux.btf")?;
    Some(Data {
        built,
        tree,
        btf_dir: vmlinux.parent().unwrap().to_path_buf(),
    })
}

fn truth(d: &Data) -> &'static [BuiltSet] {
    static S: OnceLock<Vec<BuiltSet>> = OnceLock::new();
    S.get_or_init(|| btf_ids::read_built_kernel(&d.built).unwrap_or_else(|e| panic!("{e}")))
}

/// The names in `object`'s kfuncs sets, as built.
fn truth_of(d: &Data, object: &str) -> BTreeSet<String> {
    truth(d)
        .iter()
        .filter(|s| s.object == object && s.kfuncs)
        .flat_map(|s| s.entries.iter().map(|e| e.name.clone()))
        .collect()
}

/// The manifests of the 6.12 tree, without and with the build's `.config`,
/// written once into a folder kept for the test run.
fn manifests(d: &Data) -> &'static [(&'static str, PathBuf); 2] {
    static M: OnceLock<(tempfile::TempDir, [(&'static str, PathBuf); 2])> = OnceLock::new();
    let (_, m) = M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source.json");
        let build = dir.path().join("build.json");
        cmd([d.tree.as_os_str(), "-q".as_ref(), "-o".as_ref()])
            .arg(&source)
            .expect(0);
        cmd([d.tree.as_os_str(), "-q".as_ref(), "-o".as_ref()])
            .arg(&build)
            .arg("--config")
            .arg(d.built.join("config"))
            .expect(0);
        (dir, [("source view", source), ("build view", build)])
    });
    m
}

/// `patch-btf --add-decl-tags` of `btf` (on `base`) into `out`; its report.
fn tag(manifest: &Path, btf: &Path, base: Option<&Path>, out: &Path) -> serde_json::Value {
    let report = out.with_extension("report");
    let mut c = cmd(["patch-btf", "--add-decl-tags", "-q", "--manifest"])
        .arg(manifest)
        .arg("--btf")
        .arg(btf)
        .arg("-o")
        .arg(out)
        .arg("--report")
        .arg(&report);
    if let Some(b) = base {
        c = c.arg("--base").arg(b);
    }
    c.expect(0);
    serde_json::from_str(&fs::read_to_string(report).unwrap()).unwrap()
}

/// The names of the FUNCs `bpf_kfunc` tags in `btf` (own types only).
fn tagged(btf: &Btf) -> BTreeSet<String> {
    btf.own_types_of(|k| k == Kind::DeclTag)
        .filter(|t| btf.name(t) == "bpf_kfunc")
        .map(|t| btf.name(&btf.get(t.target().unwrap()).unwrap()).to_string())
        .collect()
}

/// The FUNC names `btf` holds of `names`.
fn held(btf: &Btf, names: &BTreeSet<String>) -> BTreeSet<String> {
    btf.own_types_of(|k| k == Kind::Func)
        .map(|t| btf.name(&t).to_string())
        .filter(|n| names.contains(n))
        .collect()
}

fn kernel_accepts(btf: &Btf, what: &str) {
    match kernel::load(&kernel::standalone(btf)) {
        Ok(()) => eprintln!("{what}: accepted by the running kernel"),
        Err(kernel::LoadError::Unavailable(why)) => missing(format!(
            "the kernel's check of {what} (BPF_BTF_LOAD needs root): {why}"
        )),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Names a manifest lists in no set: the entries the scanner cannot see
/// (6.12's `xdp_metadata_kfunc_ids`, filled by an X-macro).
fn unlisted(manifest: &Path, names: &BTreeSet<String>) -> BTreeSet<String> {
    let m: Manifest = read_manifest(manifest);
    let listed: BTreeSet<&str> = m
        .sets
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.name.as_str()))
        .collect();
    names
        .iter()
        .filter(|n| !listed.contains(n.as_str()))
        .cloned()
        .collect()
}

/// vmlinux: the tags are the built kernel's kfuncs-set members the BTF
/// holds (all 132 of them), less only those the manifest cannot list.
fn check_vmlinux(every: bool) {
    let Some(d) = data() else { return };
    let vmlinux = d.btf_dir.join("vmlinux.btf");
    let before = Btf::parse(&fs::read(&vmlinux).unwrap(), None).unwrap();
    let truth = truth_of(&d, "vmlinux");
    let expected = held(&before, &truth);
    assert_eq!(expected, truth, "the BTF holds every built kfunc");
    assert!(tagged(&before).is_empty(), "old pahole: no tags before");
    let dir = tempfile::tempdir().unwrap();
    for (view, manifest) in manifests(&d) {
        let out = dir.path().join("vmlinux.tagged.btf");
        let report = tag(manifest, &vmlinux, None, &out);
        let btf = Btf::parse(&fs::read(&out).unwrap(), None).unwrap();
        let got = tagged(&btf);
        let extra: Vec<_> = got.difference(&expected).collect();
        assert!(extra.is_empty(), "{view}: tagged, not built: {extra:?}");
        let lacking: BTreeSet<String> = expected.difference(&got).cloned().collect();
        if every {
            assert!(lacking.is_empty(), "{view}: not tagged: {lacking:?}");
        } else {
            assert_eq!(
                lacking,
                unlisted(manifest, &lacking),
                "{view}: not tagged though the manifest lists them"
            );
        }
        if *view == "build view" {
            assert_eq!(report["object"], "vmlinux");
            assert_eq!(report["missing"].as_array().unwrap().len(), 0);
        }
        eprintln!(
            "6.12 vmlinux, {view}: {} bpf_kfunc tags; the built kernel's kfuncs sets hold {} (not listed by the manifest: {lacking:?})",
            got.len(),
            expected.len()
        );
        kernel_accepts(&btf, &format!("6.12 vmlinux tagged ({view})"));
    }
}

#[test]
fn vmlinux_tags_are_the_built_kernels_kfuncs_sets() {
    check_vmlinux(false);
}

#[test]
fn vmlinux_tags_are_every_member_of_the_built_kernels_kfuncs_sets() {
    check_vmlinux(true);
}

/// Each module's split BTF on its base: its tags are exactly its kfuncs
/// sets' members, the object taken from the file's name.
#[test]
fn module_tags_are_the_built_modules_kfuncs_sets() {
    let Some(d) = data() else { return };
    let vmlinux = d.btf_dir.join("vmlinux.btf");
    let base = Btf::parse(&fs::read(&vmlinux).unwrap(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for module in ["nf_conntrack", "nf_nat", "fou"] {
        let input = d.btf_dir.join(format!("{module}.btf"));
        let expected = truth_of(&d, module);
        assert!(!expected.is_empty(), "{module}");
        for (view, manifest) in manifests(&d) {
            let out = dir.path().join(format!("{module}.tagged.btf"));
            let report = tag(manifest, &input, Some(&vmlinux), &out);
            let btf = Btf::parse(&fs::read(&out).unwrap(), Some(base.clone())).unwrap();
            assert_eq!(tagged(&btf), expected, "{module}, {view}");
            if *view == "build view" {
                assert_eq!(report["object"], module);
                assert_eq!(report["missing"].as_array().unwrap().len(), 0);
            }
            eprintln!("{module}, {view}: {} bpf_kfunc tags", expected.len());
            kernel_accepts(
                &btf,
                &format!("{module} tagged ({view}), joined to its base"),
            );
        }
    }
}

/// `--object` names the module when the file's name does not; the wrong
/// module's BTF under a name is refused (its built kfuncs are absent), and
/// nothing is written.
#[test]
fn object_option_and_a_btf_of_another_object() {
    let Some(d) = data() else { return };
    let [_, (_, build)] = manifests(&d);
    let vmlinux = d.btf_dir.join("vmlinux.btf");
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("renamed.btf");
    fs::copy(d.btf_dir.join("nf_conntrack.btf"), &renamed).unwrap();
    let by_stem = dir.path().join("nf_conntrack.out.btf");
    tag(
        build,
        &d.btf_dir.join("nf_conntrack.btf"),
        Some(&vmlinux),
        &by_stem,
    );

    // by its name: nothing of this build, said so
    let out = dir.path().join("renamed.out.btf");
    let r = tag(build, &renamed, Some(&vmlinux), &out);
    assert_eq!(r["object"], "renamed");
    assert_eq!(r["object_without_sets"], true);
    assert!(r["decl_tags_added"].as_array().unwrap().is_empty());
    // named: as the module's own file
    let named = cmd([
        "patch-btf",
        "--add-decl-tags",
        "-q",
        "--object",
        "nf_conntrack",
    ])
    .arg("--manifest")
    .arg(build)
    .arg("--btf")
    .arg(&renamed)
    .arg("--base")
    .arg(&vmlinux)
    .arg("-o")
    .arg(&out)
    .expect(0);
    assert!(named.stderr().is_empty(), "{}", named.stderr());
    assert_eq!(fs::read(&out).unwrap(), fs::read(&by_stem).unwrap());

    // fou's BTF passed off as nf_conntrack's: its 10 built kfuncs are absent
    let never = dir.path().join("never.btf");
    let err = cmd(["patch-btf", "--add-decl-tags", "--object", "nf_conntrack"])
        .arg("--manifest")
        .arg(build)
        .arg("--btf")
        .arg(d.btf_dir.join("fou.btf"))
        .arg("--base")
        .arg(&vmlinux)
        .arg("-o")
        .arg(&never)
        .expect(1)
        .stderr();
    assert!(
        err.contains("error[refused]: bpf_ct_insert_entry: the manifest's build view puts it in nf_conntrack, but this BTF has no FUNC of that name; is the BTF from this build?"),
        "{err}"
    );
    assert_eq!(err.matches("error[refused]").count(), 10, "{err}");
    assert!(!never.exists());

    // --object is for a split BTF
    let err = cmd(["patch-btf", "--object", "fou", "--manifest"])
        .arg(build)
        .arg("--btf")
        .arg(&vmlinux)
        .arg("-o")
        .arg(&never)
        .expect(2)
        .stderr();
    assert!(err.contains("--base"), "{err}");
}
