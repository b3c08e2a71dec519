//! `patch-btf` says when the manifest is of another kernel than the BTF
//! (refused, as `avail` and `header --btf` refuse it, unless
//! `--allow-version-mismatch`), when the BTF does not tell its release, and
//! when it found nothing to check or to do, and why.

use crate::common;
use common::fixture::Builder;
use common::*;
use kfunc_scan::btf::Endian;
use kfunc_scan::manifest::{Manifest, SetKind};
use std::fs;
use std::path::{Path, PathBuf};

/// The mini tree's clean manifest (Linux 7.0.3-mini), changed by `edit`,
/// at `dir/m.json`.
fn manifest(dir: &Path, edit: impl FnOnce(&mut Manifest)) -> (PathBuf, Manifest) {
    let out = cmd([mini()])
        .args([
            "-q",
            "--exclude",
            "drivers/**",
            "--exclude",
            "net/mini/magic.c",
        ])
        .expect(0);
    let mut m = out.manifest();
    assert_eq!(m.kernel_version.as_deref(), Some("7.0.3-mini"));
    edit(&mut m);
    let path = dir.join("m.json");
    fs::write(&path, m.to_json()).unwrap();
    (path, m)
}

/// A BTF in `dir/btf/` with the manifest's kfuncs (none unless `with`),
/// and a RELEASE file beside it if `release`.
fn btf(dir: &Path, m: &Manifest, with: bool, release: Option<&str>) -> PathBuf {
    let d = dir.join("btf");
    fs::create_dir_all(&d).unwrap();
    let mut b = Builder::new(Endian::Little);
    b.kfuncs(m, |_| with);
    let path = d.join("vmlinux.btf");
    fs::write(&path, b.finish()).unwrap();
    if let Some(r) = release {
        fs::write(d.join("RELEASE"), format!("{r}\n")).unwrap();
    }
    path
}

fn patch(m: &Path, btf: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "patch-btf",
        "--manifest",
        m.to_str().unwrap(),
        "--btf",
        btf.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let r = run(&args);
    (r.status.code(), stderr(&r))
}

#[test]
fn another_release_series_is_refused_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    let (m, mf) = manifest(d.path(), |_| {});
    let b = btf(d.path(), &mf, true, Some("6.12.117"));
    let out = d.path().join("out.btf");
    let (code, e) = patch(&m, &b, &out, &[]);
    assert_eq!(code, Some(2), "{e}");
    assert_eq!(
        e,
        format!(
            "{}: error[version-mismatch]: the manifest is of Linux 7.0.3-mini but the BTF is of Linux 6.12.117: another release series, whose kfuncs, program types and flags are not this kernel's; use a manifest of this kernel's source (or --allow-version-mismatch to go on)\n{}: nothing written\n",
            m.display(),
            b.display()
        )
    );
    assert!(!out.exists());
    // allowed: patched, with a warning
    let (code, e) = patch(&m, &b, &out, &["--allow-version-mismatch"]);
    assert_eq!(code, Some(0), "{e}");
    assert!(
        e.starts_with(&format!(
            "{}: warning[version]: the manifest is of Linux 7.0.3-mini but the BTF is of Linux 6.12.117 (--allow-version-mismatch)",
            m.display()
        )),
        "{e}"
    );
    assert!(out.is_file());
}

#[test]
fn the_same_series_passes_and_an_unknown_release_is_said() {
    let d = tempfile::tempdir().unwrap();
    let (m, mf) = manifest(d.path(), |_| {});
    // 7.0.9 is the 7.0 series too: nothing said of versions
    let b = btf(d.path(), &mf, true, Some("7.0.9"));
    let out = d.path().join("out.btf");
    let (code, e) = patch(&m, &b, &out, &[]);
    assert_eq!(code, Some(0), "{e}");
    assert!(!e.contains("version"), "{e}");
    // no RELEASE or config beside it: the BTF tells nothing, and that is said
    fs::remove_file(d.path().join("btf/RELEASE")).unwrap();
    let (code, e) = patch(&m, &b, &out, &[]);
    assert_eq!(code, Some(0), "{e}");
    assert!(
        e.starts_with(&format!(
            "{}: note[version]: the BTF does not name its kernel's release",
            m.display()
        )),
        "{e}"
    );
    let (code, e) = patch(&m, &b, &out, &["-q"]);
    assert_eq!(code, Some(0), "{e}");
    assert_eq!(e, "");
}

#[test]
fn nothing_to_check_is_said_and_why() {
    let d = tempfile::tempdir().unwrap();
    // no kfuncs set (6.1's BTF_SET8s only) and no kfunc whose arguments the
    // verifier supplies: nothing to pair or tag
    let (m, mf) = manifest(d.path(), |m| {
        m.kfuncs.retain(|k| k.verifier_args.is_none());
        for s in &mut m.sets {
            if s.kind == SetKind::Kfuncs {
                s.kind = SetKind::Set8;
            }
        }
    });
    let b = btf(d.path(), &mf, true, Some("7.0.3-mini"));
    let out = d.path().join("out.btf");
    let (code, e) = patch(&m, &b, &out, &["--add-decl-tags"]);
    assert_eq!(code, Some(0), "{e}");
    assert!(
        e.ends_with(&format!(
            "{}: note[patch]: nothing to check: the manifest has no kfunc to pair or tag: none whose arguments the verifier supplies (KF_IMPLICIT_ARGS, __magic), none in a kfuncs set (BTF_KFUNCS_START)\n",
            b.display()
        )),
        "{e}"
    );
}

#[test]
fn nothing_to_do_is_said_and_why() {
    let d = tempfile::tempdir().unwrap();
    let (m, mf) = manifest(d.path(), |_| {});
    // a BTF with none of the manifest's kfuncs (another kernel's, a module's)
    let b = btf(d.path(), &mf, false, Some("7.0.3-mini"));
    let out = d.path().join("out.btf");
    // the kfuncs looked at: the paired ones, and the kfuncs sets' members
    let looked_at = (mf.kfuncs.iter())
        .filter(|k| {
            k.verifier_args.is_some()
                || (mf.sets.iter())
                    .filter(|s| s.kind == SetKind::Kfuncs)
                    .any(|s| s.entries.iter().any(|e| e.name == k.name))
        })
        .count();
    assert!(looked_at > 1);
    let (code, e) = patch(&m, &b, &out, &["--add-decl-tags"]);
    assert_eq!(code, Some(0), "{e}");
    assert!(
        e.ends_with(&format!(
            "{}: note[patch]: nothing to do: none of the manifest's {looked_at} kfuncs to pair (KF_IMPLICIT_ARGS, __magic) or tag (kfuncs sets) is in this BTF; is it this kernel's BTF (a module's needs --base)?\n",
            b.display()
        )),
        "{e}"
    );
}
