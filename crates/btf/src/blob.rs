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

pub enum Blob {
    Owned(Vec<u8>),
    Mapped(memmap2::MmapMut),
}

impl Blob {
    /// The file mapped copy-on-write; an empty file (which cannot be
    /// mapped) is read.
    pub fn map(path: &Path) -> std::io::Result<Blob> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Blob::Owned(Vec::new()));
        }
        // SAFETY: a private (copy-on-write) mapping: our writes never reach
        // the file. The one hazard, the file shrinking while mapped, is
        // described in the module's documentation.
        let map = unsafe { memmap2::MmapOptions::new().map_copy(&file)? };
        Ok(Blob::Mapped(map))
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
