//! Atomic output: a temporary file beside the target, then a rename, so an
//! interrupted run never leaves a truncated file behind.
//!
//! No fsync: the rename is atomic against interruption, which is the
//! promise; durability across a power loss is the file system's (ext4 flushes
//! a file replaced by rename). An fsync of a vmlinux-sized BTF costs more
//! than the whole patch.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// As `write_atomic`, with the content written by `fill`.
pub fn write_atomic_with(
    path: &Path,
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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
