//! Atomic output: a temporary file beside the target, then an atomic swap,
//! so a reader sees the old file or the new one, never part of one, and an
//! interrupted run leaves the old file as it was.
//!
//! How the new file takes the target's place: where the target is an
//! existing regular file, Linux's `renameat2(RENAME_EXCHANGE)` swaps the two
//! names and the old file is then removed; otherwise a plain rename. The
//! swap matters for speed: ext4 starts writing out a file's data at once
//! when it replaces another by rename (`auto_da_alloc`), 2–4 ms for a
//! vmlinux-sized BTF, more than the rest of writing it; a swap leaves the
//! data to the kernel's usual writeback.
//!
//! Durability: none is promised by default, as with compilers' and linkers'
//! outputs: after a power loss within the writeback delay the target may be
//! empty. `Durability::Fsync` asks for an fsync of the file before the swap
//! and of the directory after it.

use std::io::Write;
use std::path::Path;

/// Whether the output must be on disk before the write returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Atomic against interruption; on disk when the kernel writes it back.
    #[default]
    Writeback,
    /// Also durable: fsync of the file, then of its directory.
    Fsync,
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, Durability::Writeback, |w| w.write_all(bytes))
}

/// As `write_atomic`, with the content written by `fill`.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".kfunc-scan.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    fill(tmp.as_file_mut())?;
    // A temporary file is private (0600); the result should look like any
    // other output: keep the mode of the file it replaces, else 0644.
    let old = std::fs::metadata(path).ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = old
            .as_ref()
            .map_or(0o644, |m| m.permissions().mode() & 0o7777);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    if durability == Durability::Fsync {
        tmp.as_file().sync_all()?;
    }
    // Only a regular file (not a directory, not a symlink's target) is
    // swapped with: a rename would refuse a directory, a swap would not.
    let replaces_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
    if replaces_file && exchange(tmp.path(), path).is_ok() {
        // the temporary name now holds the old file
        let old_copy = tmp.path().to_path_buf();
        tmp.close().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "the output is in place, but its old copy could not be removed from {}: {e}",
                    old_copy.display()
                ),
            )
        })?;
    } else {
        tmp.persist(path).map_err(|e| e.error)?;
    }
    if durability == Durability::Fsync {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Swaps the names `a` and `b` atomically (both must exist).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths that outlive the call; the syscall
    // is used directly as older C libraries lack a renameat2 wrapper.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn creates_then_replaces_keeping_the_mode_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.bin");
        write_atomic(&out, b"first").expect("create");
        assert_eq!(std::fs::read(&out).expect("read"), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).expect("meta").permissions().mode() & 0o7777;
            assert_eq!(mode, 0o644);
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        write_atomic_with(&out, Durability::Fsync, |w| w.write_all(b"second")).expect("replace");
        assert_eq!(std::fs::read(&out).expect("read"), b"second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).expect("meta").permissions().mode() & 0o7777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(leftovers(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.bin");
        write_atomic(&out, b"old").expect("create");
        let r = write_atomic_with(&out, Durability::Writeback, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&out).expect("read"), b"old");
        assert_eq!(leftovers(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_directory_in_the_way_is_refused_not_swapped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join("keep"), b"x").expect("write");
        assert!(write_atomic(&out, b"data").is_err());
        assert!(out.join("keep").is_file());
        assert_eq!(leftovers(dir.path()), ["out"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_replaced_by_the_file_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        std::fs::write(&target, b"target").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write_atomic(&link, b"new").expect("write");
        assert!(std::fs::symlink_metadata(&link).expect("meta").is_file());
        assert_eq!(std::fs::read(&link).expect("read"), b"new");
        assert_eq!(std::fs::read(&target).expect("read"), b"target");
        assert_eq!(leftovers(dir.path()), ["link", "target"]);
    }
}
