//! Loading a file the walk found: read into a reused buffer, or mapped
//! when large; over [`MAX_FILE_SIZE`] not read.

use std::io::Read;
use std::path::Path;

/// Files larger than this are reported and not parsed.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Reads `path` into `buf` (reusing its allocation); Ok(false) when it is
/// larger than the limit.
pub(crate) fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let f = std::fs::File::open(path)?;
    f.take(MAX_FILE_SIZE + 1).read_to_end(buf)?;
    Ok(buf.len() as u64 <= MAX_FILE_SIZE)
}

/// Files of at least this many bytes are mapped rather than read. Copying a
/// file into a buffer costs the kernel about as much as the search costs
/// us, and these are 0.5% of 6.12's C files but 39% of its bytes (register
/// headers of several megabytes); mapping one costs a page fault per 64 KiB
/// instead. Smaller files are read: mapping and unmapping cost more than
/// copying a few pages (ripgrep reads them for the same reason).
pub(crate) const MAP_FROM: u64 = 256 << 10;

/// A walked file's bytes.
pub(crate) enum Loaded {
    /// The first this many bytes of the buffer [`load`] was given.
    Read(usize),
    Mapped(memmap2::Mmap),
}

/// Reads `path` into `buf`, or maps it when it holds [`MAP_FROM`] bytes or
/// more; None when it is larger than the limit.
///
/// `buf` is kept from file to file at [`MAP_FROM`] bytes or more, zeroed
/// once: a smaller file is then read by one `read` and the one that finds
/// its end. (`read_to_end` reads 8 KiB first and doubles, ~2.6 reads a
/// file on 6.12; both end the same, at the first read of nothing.)
pub(crate) fn load(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<Option<Loaded>> {
    let limit = MAP_FROM as usize;
    if buf.len() < limit {
        buf.resize(limit, 0);
    }
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < limit {
        match f.read(&mut buf[n..limit]) {
            Ok(0) => return Ok(Some(Loaded::Read(n))),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if f.metadata()?.len() > MAX_FILE_SIZE {
        return Ok(None);
    }
    // SAFETY: the map is only read, while this file is looked at. Were the
    // file truncated meanwhile, reading past its new end would fault
    // (SIGBUS): like ripgrep where it maps, the scan takes it that the tree
    // is not being rewritten in place while it reads it (git replaces
    // files, which leaves a mapping of the old one intact).
    #[allow(unsafe_code, reason = "mapping a file is unsafe in memmap2's API")]
    if let Ok(map) = unsafe { memmap2::Mmap::map(&f) } {
        return Ok(Some(Loaded::Mapped(map)));
    }
    // cannot be mapped: read the rest
    buf.truncate(n);
    (&f).take(MAX_FILE_SIZE + 1 - n as u64).read_to_end(buf)?;
    let len = buf.len();
    Ok((len as u64 <= MAX_FILE_SIZE).then_some(Loaded::Read(len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_read_large_ones_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        for (len, mapped) in [
            (0, false),
            (100, false),
            (MAP_FROM - 1, false),
            (MAP_FROM, true),
            (MAP_FROM * 3 + 7, true),
        ] {
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let p = dir.path().join(format!("{len}.c"));
            std::fs::write(&p, &text).unwrap();
            let loaded = load(&p, &mut buf).unwrap().unwrap();
            let bytes: &[u8] = match &loaded {
                Loaded::Read(n) => &buf[..*n],
                Loaded::Mapped(m) => m,
            };
            assert_eq!(bytes, &text[..], "{len}");
            assert_eq!(matches!(loaded, Loaded::Mapped(_)), mapped, "{len}");
        }
    }
}
