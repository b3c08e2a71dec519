//! The bytes a BTF is read from: owned, or a copy-on-write mapping of a file.
//!
//! Mapping a vmlinux-sized BTF instead of reading it saves the page faults of
//! filling a fresh buffer (most of the read's cost); the few records patched
//! in place are copied on write, never written back to the file. As with
//! ripgrep's mapped reads, another process truncating the file while it is
//! mapped would end this one with SIGBUS: inputs are not expected to change
//! under a build step.

use std::ops::{Deref, DerefMut};
use std::path::Path;

/// A BTF file's bytes, writable in place: read into memory, or mapped.
pub enum Blob {
    /// Read whole (a pipe, a file that cannot be mapped, an empty one).
    Owned(Vec<u8>),
    /// A private copy-on-write mapping of the file.
    Mapped(memmap2::MmapMut),
}

impl Blob {
    /// A regular file mapped copy-on-write; anything else read as a stream:
    /// a pipe or process substitution (`<(cat vmlinux.btf)`), and a file
    /// that refuses a private writable mapping (sysfs's
    /// `/sys/kernel/btf/vmlinux`, even for root) or is empty.
    pub fn map(path: &Path) -> std::io::Result<Blob> {
        let mut file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: a private (copy-on-write) mapping: our writes never
            // reach the file. The one hazard, the file shrinking while
            // mapped, is described in the module's documentation.
            #[allow(unsafe_code, reason = "mapping a file is unsafe in memmap2's API")]
            if let Ok(map) = unsafe { memmap2::MmapOptions::new().map_copy(&file) } {
                return Ok(Blob::Mapped(map));
            }
        }
        let mut bytes = Vec::with_capacity(if meta.is_file() {
            // a hint: a length past the address space fails to read below
            usize::try_from(meta.len()).unwrap_or(0)
        } else {
            0
        });
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        Ok(Blob::Owned(bytes))
    }
}

impl Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Blob::Owned(v) => v,
            Blob::Mapped(m) => m,
        }
    }
}

impl DerefMut for Blob {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Blob::Owned(v) => v,
            Blob::Mapped(m) => m,
        }
    }
}

impl Clone for Blob {
    fn clone(&self) -> Blob {
        Blob::Owned(self.to_vec())
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blob::Owned(v) => write!(f, "Blob::Owned({} bytes)", v.len()),
            Blob::Mapped(m) => write!(f, "Blob::Mapped({} bytes)", m.len()),
        }
    }
}
