//! The memo beside the scan cache (`scan.memo`): the manifest the last scan
//! wrote, with what it was made from, so that a scan whose walk hands on
//! what the cache would have (no listing with other entries, no file read
//! to another result) and whose other inputs are unchanged writes that
//! manifest again instead of running the stages after the walk.
//!
//! **What the manifest depends on**, beside what the walk hands on: the
//! options (the cache's identity, and the `.config`'s bytes, the
//! architecture, `--any-directory`), and the files the later stages read
//! (headers the x-macros and the tree facts open, the files the second look
//! reads, the Makefiles the build view follows, the files behind the links
//! the walk followed), each recorded with its key (or as missing) and
//! checked by a stat of each: a few hundred, not sixty thousand. A file
//! whose key falls in the racy window when recorded makes no memo.
//!
//! **Untrusted**, as the cache: bounded ([`MAX_SCAN_CACHE_SIZE`]), with a
//! checksum; a damaged one is ignored (the scan runs the later stages) and
//! replaced. Its manifest is read back through the manifest's own reader,
//! which checks every value as it does any manifest's.

use super::{checksum, put_bytes, put_key, put_token, put_u32, put_u64, Key, Rd, Token};
use crate::limits::MAX_SCAN_CACHE_SIZE;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The memo's file in the cache directory.
pub const FILE_NAME: &str = "scan.memo";

const MAGIC: &[u8; 8] = b"KFSMEMO\0";

/// A manifest and what it was made from.
#[derive(Debug, Clone)]
pub(super) struct Memo {
    /// The options it was made with ([`ident`]).
    pub ident: Vec<u8>,
    /// The [`super::Head::id`] of the cache whose walk it followed.
    pub cache_id: u64,
    /// The watcher's token when the scan that made (or last confirmed) it
    /// began.
    pub token: Option<Token>,
    /// The paths the stages after the walk read or looked at,
    /// tree-relative (`""`: the root), with their keys then (None:
    /// missing).
    pub reads: Vec<(String, Option<Key>)>,
    /// The manifest, as written.
    pub manifest: Vec<u8>,
}

impl Memo {
    /// Whether every file it read still has the key it had (and is not so
    /// fresh that a change in the same tick would not show).
    pub fn reads_hold(&self, root: &Path, since: i64) -> bool {
        self.reads.iter().all(|(rel, was)| {
            let now = key_of(root, rel);
            now == *was && !now.is_some_and(|k| k.racy(since))
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(self.manifest.len() + 64 * self.reads.len() + 256);
        w.extend_from_slice(MAGIC);
        put_bytes(&mut w, &self.ident);
        put_u64(&mut w, self.cache_id);
        put_token(&mut w, self.token);
        put_u32(&mut w, self.reads.len() as u32);
        for (rel, key) in &self.reads {
            put_bytes(&mut w, rel.as_bytes());
            match key {
                None => w.push(0),
                Some(k) => {
                    w.push(1);
                    put_key(&mut w, k);
                }
            }
        }
        put_bytes(&mut w, &self.manifest);
        let sum = checksum(&w);
        put_u64(&mut w, sum);
        w
    }

    /// The memo in `b`; None when it is for other options; an error when
    /// damaged.
    pub fn decode(b: &[u8], ident: &[u8]) -> Result<Option<Memo>, String> {
        if !b.starts_with(MAGIC) {
            return Err("not a kfunc-scan memo".into());
        }
        let Some(body) = b.len().checked_sub(8) else {
            return Err("truncated".into());
        };
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&b[body..]);
        if body < MAGIC.len() || checksum(&b[..body]) != u64::from_le_bytes(sum) {
            return Err("damaged or truncated (its checksum does not match)".into());
        }
        let mut r = Rd {
            b: &b[MAGIC.len()..body],
        };
        let found = r.bytes()?;
        if found != ident {
            return Ok(None);
        }
        let cache_id = r.u64()?;
        let token = r.token()?;
        // a read is at least its path's length and a flag
        let n = r.count(4 + 1)?;
        let mut reads = Vec::with_capacity(n);
        for _ in 0..n {
            let rel = std::str::from_utf8(r.bytes()?)
                .map_err(|_| "a path that is not UTF-8".to_string())?
                .to_string();
            // "" is the root itself (a `$(wildcard *.c)` there)
            if rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
                return Err("a path that is not below the tree".into());
            }
            let key = match r.u8()? {
                0 => None,
                1 => Some(r.key()?),
                x => return Err(format!("a key flag of {x}")),
            };
            reads.push((rel, key));
        }
        let manifest = r.bytes()?.to_vec();
        if !r.b.is_empty() {
            return Err("bytes past its end".into());
        }
        Ok(Some(Memo {
            ident: found.to_vec(),
            cache_id,
            token,
            reads,
            manifest,
        }))
    }
}

/// The key of the file or directory at `rel` below `root`, links followed
/// (as the stages after the walk read them); None when missing. A
/// directory's key changes with its entries (a `$(wildcard)` looked at it).
pub(super) fn key_of(root: &Path, rel: &str) -> Option<Key> {
    let md = std::fs::metadata(root.join(rel)).ok()?;
    Some(Key::of(&md))
}

/// What a memo must have been made with, beyond the cache's identity: the
/// `.config`'s bytes (not only its path: the build's own `.config` is
/// rewritten in place), the architecture, `--any-directory`. None when no
/// memo can be kept: an out-of-tree module's scan reads its kernel tree,
/// which no key here covers; a `.config` that cannot be read (the scan
/// reports it).
///
/// Also the `.config`'s hash as a manifest writes it: the scan reads the
/// file again, and a memo is kept only when the manifest it made names
/// that hash (a `.config` rewritten in between is not memoised under the
/// old one's bytes).
pub(super) fn ident(
    cache_ident: &[u8],
    opts: &crate::scan::ScanOptions,
) -> Option<(Vec<u8>, Option<String>)> {
    if opts.kernel_tree.is_some() {
        return None;
    }
    let mut w = cache_ident.to_vec();
    put_bytes(&mut w, opts.arch.as_bytes());
    w.push(opts.any_directory as u8);
    let hash = match &opts.config {
        None => {
            w.push(0);
            None
        }
        Some(p) => {
            w.push(1);
            put_bytes(&mut w, p.as_os_str().as_bytes());
            let bytes = read_bounded(p)?;
            let hash = crate::kbuild::config::hash_hex_of(&bytes);
            put_bytes(&mut w, hash.as_bytes());
            put_u64(&mut w, bytes.len() as u64);
            Some(hash)
        }
    };
    Some((w, hash))
}

/// A regular file of at most [`MAX_SCAN_CACHE_SIZE`] bytes (a `.config` is
/// ~300 KB); None for anything else (a FIFO is not waited on: the scan
/// refuses it, as without `--cache`).
fn read_bounded(p: &Path) -> Option<Vec<u8>> {
    super::read_regular(p, MAX_SCAN_CACHE_SIZE).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Memo {
        Memo {
            ident: b"id".to_vec(),
            cache_id: 7,
            token: Some(Token {
                generation: 3,
                seq: 9,
            }),
            reads: vec![
                ("include/linux/btf_ids.h".into(), None),
                (
                    "Makefile".into(),
                    Some(Key {
                        size: 1,
                        mtime: 2,
                        ctime: 3,
                        ino: 4,
                        dev: 5,
                    }),
                ),
            ],
            manifest: b"{}\n".to_vec(),
        }
    }

    #[test]
    fn a_memo_reads_back_as_written_and_only_for_its_options() {
        let b = sample().encode();
        let m = Memo::decode(&b, b"id").unwrap().unwrap();
        assert_eq!(m.cache_id, 7);
        assert_eq!(m.token, sample().token);
        assert_eq!(m.reads, sample().reads);
        assert_eq!(m.manifest, b"{}\n");
        assert!(Memo::decode(&b, b"other").unwrap().is_none());
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let b = sample().encode();
        for n in 0..b.len() {
            assert!(Memo::decode(&b[..n], b"id").is_err(), "{n}");
        }
        for i in 0..b.len() {
            let mut x = b.clone();
            x[i] ^= 0x40;
            assert!(Memo::decode(&x, b"id").is_err(), "{i}");
        }
    }

    #[test]
    fn a_read_path_leaving_the_tree_is_refused() {
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", ".."] {
            let mut m = sample();
            m.reads[0].0 = bad.into();
            let e = Memo::decode(&m.encode(), b"id").unwrap_err();
            assert!(e.contains("not below the tree"), "{bad}: {e}");
        }
    }
}
