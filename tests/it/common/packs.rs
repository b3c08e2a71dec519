//! Git objects and packs written by hand, for the tests that feed the pack
//! reader and `history --git` what git would never write (loops, size
//! lies, two ids for one entry).

use gix::ObjectId;

/// Pack entry kinds, as a pack numbers them.
pub const BLOB: u8 = 3;
pub const OFS_DELTA: u8 = 6;
pub const REF_DELTA: u8 = 7;

/// A pack entry's header: its kind and the size it says.
pub fn entry_header(kind: u8, mut size: u64) -> Vec<u8> {
    let mut out = vec![(kind << 4) | (size & 0x0f) as u8];
    size >>= 4;
    while size > 0 {
        if let Some(last) = out.last_mut() {
            *last |= 0x80;
        }
        out.push((size & 0x7f) as u8);
        size >>= 7;
    }
    out
}

/// A zlib stream of `data`, as git stores objects (by libdeflate).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut out = vec![0; c.zlib_compress_bound(data.len())];
    let n = c.zlib_compress(data, &mut out).expect("zlib");
    out.truncate(n);
    out
}

/// The SHA-1 of `parts`, one after the other.
pub fn sha1(parts: &[&[u8]]) -> ObjectId {
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha1);
    for p in parts {
        h.update(p);
    }
    h.try_finalize().expect("sha1")
}

/// A pack and its index (version 2), as bytes.
pub struct PackFiles {
    pub pack: Vec<u8>,
    pub idx: Vec<u8>,
    /// The pack's checksum (the name git gives it: `pack-SUM.pack`).
    pub sum: ObjectId,
}

/// A pack of `entries` (each its whole bytes, header included) and an
/// index naming them by `ids`: each id and the entry it names (several
/// ids may name one entry, which git never writes). `pack_sum` replaces
/// the index's checksum of its pack (an index of another pack).
pub fn pack_and_index(
    entries: &[Vec<u8>],
    ids: &[(ObjectId, usize)],
    pack_sum: Option<ObjectId>,
) -> PackFiles {
    let mut pack = b"PACK".to_vec();
    pack.extend(2u32.to_be_bytes());
    pack.extend((entries.len() as u32).to_be_bytes());
    let mut offsets = Vec::new();
    for e in entries {
        offsets.push(pack.len() as u32);
        pack.extend(e);
    }
    let sum = sha1(&[&pack]);
    pack.extend(sum.as_bytes());
    let mut named: Vec<(ObjectId, u32)> = ids.iter().map(|&(id, e)| (id, offsets[e])).collect();
    named.sort();
    let mut idx = vec![0xff, b't', b'O', b'c'];
    idx.extend(2u32.to_be_bytes());
    for first in 0..=255u8 {
        let n = named
            .iter()
            .filter(|(id, _)| id.as_bytes()[0] <= first)
            .count();
        idx.extend((n as u32).to_be_bytes());
    }
    for (id, _) in &named {
        idx.extend(id.as_bytes());
    }
    for _ in &named {
        idx.extend(0u32.to_be_bytes()); // CRC-32s: not read
    }
    for (_, o) in &named {
        idx.extend(o.to_be_bytes());
    }
    idx.extend(pack_sum.unwrap_or(sum).as_bytes());
    let idx_sum = sha1(&[&idx]);
    idx.extend(idx_sum.as_bytes());
    PackFiles { pack, idx, sum }
}
