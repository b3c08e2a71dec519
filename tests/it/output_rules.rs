//! The output rules through the command line: non-regular files written in
//! place, symbolic links followed, one file named twice refused, outputs
//! checked before any work, stale temporaries removed.

use crate::common;
use common::fixture::Builder;
use common::*;
use kfunc_scan::btf::Endian;
use std::fs;
use std::path::{Path, PathBuf};

/// linux-mini without its deliberate mistakes: exit 0.
fn clean_scan() -> Cmd {
    cmd([mini().as_os_str()]).args([
        "-q",
        "--exclude",
        "drivers/**",
        "--exclude",
        "net/mini/magic.c",
    ])
}

fn mkfifo(p: &Path) {
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    rustix::fs::mkfifoat(rustix::fs::CWD, p, mode).expect("mkfifo");
}

#[test]
fn a_fifo_output_is_written_in_place_and_stays_a_fifo() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).expect("read fifo"))
    };
    clean_scan().arg("-o").arg(&fifo).expect(0);
    let got = reader.join().expect("reader");
    let m = kfunc_scan::manifest::Manifest::from_json(&String::from_utf8_lossy(&got));
    assert!(m.is_ok(), "the reader got the whole manifest");
    assert!(fs::symlink_metadata(&fifo)
        .expect("meta")
        .file_type()
        .is_fifo());
    assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
}

/// A character device of the test's own (the null device's numbers, made
/// in a temporary directory): written in place, still a device. Making the
/// node needs root.
#[test]
fn a_device_output_is_written_in_place_and_stays_a_device() {
    use rustix::fs::{makedev, mknodat, FileType, Mode, CWD};
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = dir.path().join("null");
    let (kind, perm) = (FileType::CharacterDevice, Mode::from_raw_mode(0o666));
    if let Err(e) = mknodat(CWD, &dev, kind, perm, makedev(1, 3)) {
        missing(format!(
            "root, to make a device node: {}",
            std::io::Error::from(e)
        ));
        return;
    }
    clean_scan().arg("-o").arg(&dev).expect(0);
    cmd(["header", "--manifest"])
        .arg(mini_manifest(dir.path()))
        .arg("-o")
        .arg(&dev)
        .expect(0);
    let meta = fs::symlink_metadata(&dev).expect("meta");
    assert!(meta.file_type().is_char_device());
}

fn mini_manifest(dir: &Path) -> PathBuf {
    let m = dir.join("mini.json");
    clean_scan().arg("-o").arg(&m).expect(0);
    m
}

#[test]
fn a_symlink_output_writes_its_target_and_stays_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("real")).expect("mkdir");
    fs::write(dir.path().join("real/m.json"), b"old").expect("write");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real/m.json", &link).expect("symlink");
    clean_scan().arg("-o").arg(&link).expect(0);
    assert!(fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
    let written = fs::read_to_string(dir.path().join("real/m.json")).expect("read");
    assert!(
        written.starts_with('{'),
        "the link's target holds the manifest"
    );
}

#[test]
fn a_link_to_a_directory_is_refused_like_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("d")).expect("mkdir");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("d", &link).expect("symlink");
    let out = clean_scan().arg("-o").arg(&link).expect(2);
    assert!(out.stderr().contains("error[output]"), "{}", out.stderr());
    assert!(fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
}

/// A BTF of linux-mini's kfuncs and the manifest it pairs with.
fn mini_btf(dir: &Path) -> (PathBuf, PathBuf) {
    let manifest = dir.join("mini-all.json");
    cmd([mini().as_os_str()])
        .args(["-q", "-o"])
        .arg(&manifest)
        .expect(1); // the deliberate mistakes
    let m = read_manifest(&manifest);
    let mut b = Builder::new(Endian::Little);
    b.kfuncs(&m, |file| !file.starts_with("drivers/"));
    let btf = dir.join("vmlinux.btf");
    fs::write(&btf, b.finish()).expect("write btf");
    (manifest, btf)
}

#[test]
fn in_place_through_a_link_patches_the_real_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (manifest, btf) = mini_btf(dir.path());
    let before = fs::read(&btf).expect("read");
    let link = dir.path().join("link.btf");
    std::os::unix::fs::symlink("vmlinux.btf", &link).expect("symlink");
    cmd(["patch-btf", "-q", "--manifest"])
        .arg(&manifest)
        .arg("--btf")
        .arg(&link)
        .arg("--in-place")
        .expect(0);
    assert!(fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
    assert_ne!(
        fs::read(&btf).expect("read"),
        before,
        "the real file is patched"
    );
}

#[test]
fn in_place_on_a_file_with_several_names_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (manifest, btf) = mini_btf(dir.path());
    fs::hard_link(&btf, dir.path().join("other-name.btf")).expect("link");
    let before = fs::read(&btf).expect("read");
    let out = cmd(["patch-btf", "--manifest"])
        .arg(&manifest)
        .arg("--btf")
        .arg(&btf)
        .arg("--in-place")
        .expect(2);
    assert!(out.stderr().contains("2 hard links"), "{}", out.stderr());
    assert_eq!(fs::read(&btf).expect("read"), before);
}

#[test]
fn two_outputs_naming_one_file_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (manifest, btf) = mini_btf(dir.path());
    let out_file = dir.path().join("out.btf");
    let link = dir.path().join("report-link");
    std::os::unix::fs::symlink("out.btf", &link).expect("symlink");
    for report in [&out_file, &link] {
        let out = cmd(["patch-btf", "--manifest"])
            .arg(&manifest)
            .arg("--btf")
            .arg(&btf)
            .arg("-o")
            .arg(&out_file)
            .arg("--report")
            .arg(report)
            .expect(2);
        assert!(out.stderr().contains("the same file"), "{}", out.stderr());
        assert!(!out_file.exists(), "nothing written");
    }
}

#[test]
fn a_missing_output_directory_is_found_before_the_scan() {
    // the tree does not exist either: the output is checked first
    let out = cmd(["/no/such/tree", "-o", "/no/such/dir/m.json"]).expect(2);
    assert!(
        out.stderr().contains("/no/such/dir/m.json: error[output]"),
        "{}",
        out.stderr()
    );
    let out = cmd([
        "header",
        "--tree",
        "/no/such/tree",
        "-o",
        "/no/such/dir/h.h",
    ])
    .expect(2);
    assert!(out.stderr().contains("error[output]"), "{}", out.stderr());
}

/// A directory the user may not write in is refused before the scan, as a
/// missing one is (the tree does not exist: the output is checked first).
#[test]
fn an_unwritable_output_directory_is_found_before_the_scan() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // the run may be nobody's: it must reach the read-only directory
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).expect("mkdir");
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).expect("chmod");
    let out = cmd(["/no/such/tree", "-o"])
        .arg(ro.join("m.json"))
        .unprivileged()
        .expect(2);
    let want = format!("its directory {} is not writable", ro.display());
    assert!(out.stderr().contains(&want), "{}", out.stderr());
    assert!(!out.stderr().contains("no-tree"), "{}", out.stderr());
    assert_eq!(fs::read_dir(&ro).expect("dir").count(), 0);
}

/// A bare file name is written in the current directory.
#[test]
fn a_bare_name_is_written_in_the_current_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    clean_scan()
        .current_dir(dir.path())
        .args(["-o", "m.json"])
        .expect(0);
    let m = read_manifest(&dir.path().join("m.json"));
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
}

#[test]
fn a_stale_temporary_of_a_killed_run_is_removed_by_the_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead = child.id();
    child.wait().expect("wait");
    let stale = dir.path().join(format!(".kfunc-scan.{dead}.Ab12Cd.tmp"));
    fs::write(&stale, b"half a manifest").expect("write");
    clean_scan()
        .arg("-o")
        .arg(dir.path().join("m.json"))
        .expect(0);
    assert!(!stale.exists(), "the stale temporary is gone");
}

#[test]
fn dash_is_standard_output() {
    // in a directory of its own: a regression would write a file named `-`
    let dir = tempfile::tempdir().expect("tempdir");
    let out = clean_scan()
        .current_dir(dir.path())
        .args(["-o", "-"])
        .expect(0);
    assert!(out.stdout().starts_with('{'));
    assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 0);
}
