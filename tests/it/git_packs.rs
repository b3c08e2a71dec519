//! Blobs read in the order of their packs' delta chains
//! (`crates/git/src/packs.rs`), against `git cat-file`'s reading of the same
//! objects, in a repository this test builds with deep chains: 40 versions
//! of a file, each a line longer than the last, packed as
//! `git gc --aggressive` packs.

// the git reader is the `git` feature's (default on)
#![cfg(feature = "git")]

use crate::common;
use common::packs::{entry_header, pack_and_index, zlib, BLOB, OFS_DELTA, REF_DELTA};
use common::*;
use gix::ObjectId;
use kfunc_scan::scan::packs::Packs;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A repository in `dir` with 40 commits, each holding `grow.c` with one
/// more of its lines rewritten (each version closest to the one before,
/// which makes chains) and `other.h` in a version of its own; packed. Its
/// path.
fn repo_with_chains(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "."]);
    for v in 0..40 {
        let grow: String = (0..300)
            .map(|i| match i < v * 7 {
                true => format!("long kfunc_line_{i}_rewritten(int x) {{ return x * {i}; }}\n"),
                false => format!("int kfunc_line_{i}(void) {{ return {i}; }}\n"),
            })
            .collect();
        std::fs::write(repo.join("grow.c"), grow).unwrap();
        let other = format!("/* version {v} */\n#define OTHER {v}\n{}", "x".repeat(2000));
        std::fs::write(repo.join("other.h"), other).unwrap();
        git(&repo, &["add", "-A", "."]);
        git(&repo, &["commit", "-q", "-m", &format!("v{v}")]);
    }
    pack(&repo);
    repo
}

/// Every blob of the repository, by id.
fn blobs(repo: &Path) -> BTreeMap<String, PackedObject> {
    packed_objects(repo)
        .into_iter()
        .flat_map(|(_, objects)| objects)
        .filter(|o| o.kind == "blob")
        .map(|o| (o.id.clone(), o))
        .collect()
}

/// Blob `id`, the blob it is a delta of, and so on down to a blob stored
/// whole.
fn chain<'a>(blobs: &'a BTreeMap<String, PackedObject>, id: &'a str) -> Vec<&'a str> {
    let mut ids = vec![id];
    while let Some(base) = blobs[*ids.last().unwrap()].base.as_deref() {
        ids.push(base);
    }
    ids
}

fn open(repo: &Path) -> Packs {
    Packs::open(&[repo.join(".git/objects")], gix::hash::Kind::Sha1)
}

fn id(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex.as_bytes()).unwrap()
}

/// What `Plan::read` hands over with `threads` threads: each blob's bytes
/// by id (a blob handed twice fails the test), and the blobs it gives back.
fn read_all(
    packs: &Packs,
    wanted: &[ObjectId],
    threads: usize,
) -> (BTreeMap<ObjectId, Vec<u8>>, BTreeSet<ObjectId>) {
    let (got, failed, elsewhere) = read_all_from(packs, wanted, threads);
    assert!(elsewhere.is_empty(), "every blob is in the pack");
    (got, failed)
}

/// As [`read_all`], with the blobs the plan leaves to the caller.
fn read_all_from(
    packs: &Packs,
    wanted: &[ObjectId],
    threads: usize,
) -> (
    BTreeMap<ObjectId, Vec<u8>>,
    BTreeSet<ObjectId>,
    BTreeSet<ObjectId>,
) {
    let plan = packs.plan(wanted, threads, kfunc_scan::scan::walk::MAX_FILE_SIZE);
    let elsewhere = plan.elsewhere.iter().map(|&i| wanted[i]).collect();
    let got = Mutex::new(BTreeMap::new());
    let failed = plan.read(threads, || {
        let got = &got;
        move |i: usize, bytes: &[u8]| {
            let before = got.lock().unwrap().insert(wanted[i], bytes.to_vec());
            assert!(before.is_none(), "{} handed over twice", wanted[i]);
        }
    });
    let failed = failed.into_iter().map(|i| wanted[i]).collect();
    (got.into_inner().unwrap(), failed, elsewhere)
}

#[test]
fn every_blob_of_a_packed_repository_reads_as_git_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo_with_chains(dir.path());
    let blobs = blobs(&repo);
    assert_eq!(blobs.len(), 80, "40 versions of two files");
    // the chains the test is about: most blobs deltas, some 10 deep or more
    let deltas = blobs.values().filter(|o| o.base.is_some()).count();
    assert!(deltas >= 60, "{deltas} deltas");
    let deepest = blobs
        .keys()
        .map(|b| chain(&blobs, b).len() - 1)
        .max()
        .unwrap();
    assert!(deepest >= 10, "deepest chain {deepest}");

    let wanted: Vec<ObjectId> = blobs.keys().map(|h| id(h)).collect();
    let packs = open(&repo);
    for threads in [1, 3] {
        let (got, failed) = read_all(&packs, &wanted, threads);
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(got.len(), wanted.len());
        for (oid, bytes) in &got {
            let hex = oid.to_string();
            let expected = std::process::Command::new("git")
                .args(["cat-file", "blob", &hex])
                .current_dir(&repo)
                .output()
                .unwrap()
                .stdout;
            assert!(*bytes == expected, "{hex} ({threads} threads)");
        }
    }
    // part of them: only those, each once, whatever they are built on
    let some: Vec<ObjectId> = wanted.iter().step_by(7).copied().collect();
    let (got, failed) = read_all(&packs, &some, 2);
    assert!(failed.is_empty());
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), {
        let mut s = some.clone();
        s.sort();
        s
    });
}

#[test]
fn a_damaged_entry_is_given_back_with_every_blob_built_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo_with_chains(dir.path());
    let blobs = blobs(&repo);
    // a base that deltas are built on, itself no delta
    let bases: BTreeSet<&str> = blobs.values().filter_map(|o| o.base.as_deref()).collect();
    let damaged = blobs
        .values()
        .find(|o| o.base.is_none() && bases.contains(o.id.as_str()))
        .expect("a base of deltas");
    // it, and every blob whose chain goes through it
    let lost: BTreeSet<ObjectId> = blobs
        .keys()
        .filter(|b| chain(&blobs, b).contains(&damaged.id.as_str()))
        .map(|b| id(b))
        .collect();
    assert!(lost.len() > 1, "{lost:?}");

    // a byte in the middle of its compressed data, changed
    let (pack_path, _) = &packed_objects(&repo)[0];
    let mut pack_bytes = std::fs::read(pack_path).unwrap();
    let at = (damaged.offset + damaged.size_in_pack / 2) as usize;
    pack_bytes[at] ^= 0x55;
    let mut perms = std::fs::metadata(pack_path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(pack_path, perms).unwrap();
    std::fs::write(pack_path, pack_bytes).unwrap();

    let wanted: Vec<ObjectId> = blobs.keys().map(|h| id(h)).collect();
    let (got, failed) = read_all(&open(&repo), &wanted, 2);
    assert_eq!(failed, lost);
    assert_eq!(got.len() + lost.len(), wanted.len());
    assert!(got.keys().all(|k| !lost.contains(k)));
}

/// A byte changed anywhere in the pack, or the pack cut short, never
/// panics: every wanted blob is handed over once or given back, and one
/// handed over has the bytes git reads (the check of each entry's zlib
/// stream, sizes and delta bounds catch what a changed byte breaks).
#[test]
fn damage_anywhere_in_a_pack_is_handed_back_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo_with_chains(dir.path());
    let blobs = blobs(&repo);
    let wanted: Vec<ObjectId> = blobs.keys().map(|h| id(h)).collect();
    let (good, failed) = read_all(&open(&repo), &wanted, 2);
    assert!(failed.is_empty());
    let (pack_path, _) = &packed_objects(&repo)[0];
    let original = std::fs::read(pack_path).unwrap();
    let idx = std::fs::read(pack_path.with_extension("idx")).unwrap();
    // a copy of the objects directory, its pack damaged each time
    let objects = dir.path().join("damaged/objects");
    std::fs::create_dir_all(objects.join("pack")).unwrap();
    let name = pack_path.file_name().unwrap();
    std::fs::write(objects.join("pack").join(name).with_extension("idx"), &idx).unwrap();
    // a fixed walk over the pack's positions (a linear congruential sequence)
    let mut x: u64 = 12345;
    let mut changes: Vec<(usize, u8)> = (0..300)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as usize % original.len(), (x >> 13) as u8 | 1)
        })
        .collect();
    // the pack's header and the first entries' headers, every byte
    changes.extend((0..64).map(|i| (i, 0xff)));
    let mut wrong = 0;
    for (at, flip) in changes {
        let mut damaged = original.clone();
        damaged[at] ^= flip;
        std::fs::write(objects.join("pack").join(name), &damaged).unwrap();
        let packs = Packs::open(std::slice::from_ref(&objects), gix::hash::Kind::Sha1);
        let (got, failed, elsewhere) = read_all_from(&packs, &wanted, 2);
        assert_eq!(
            got.len() + failed.len() + elsewhere.len(),
            wanted.len(),
            "byte {at}"
        );
        wrong += got.iter().filter(|&(k, v)| good.get(k) != Some(v)).count();
    }
    // cut short
    for len in [0, 11, 12, 100, original.len() / 2, original.len() - 20] {
        std::fs::write(objects.join("pack").join(name), &original[..len]).unwrap();
        let packs = Packs::open(std::slice::from_ref(&objects), gix::hash::Kind::Sha1);
        let (got, failed, elsewhere) = read_all_from(&packs, &wanted, 1);
        assert_eq!(got.len() + failed.len() + elsewhere.len(), wanted.len());
    }
    assert_eq!(wrong, 0, "blobs handed over with other bytes than git's");
}

/// An OFS_DELTA's distance back to its base, as a pack writes it.
fn ofs_distance(mut d: u64) -> Vec<u8> {
    let mut out = vec![(d & 0x7f) as u8];
    d >>= 7;
    while d > 0 {
        d -= 1;
        out.insert(0, 0x80 | (d & 0x7f) as u8);
        d >>= 7;
    }
    out
}

/// Writes into `objects/pack/` a pack of `entries` and its index
/// ([`pack_and_index`]), named `pack-handmade`.
fn write_pack(
    objects: &Path,
    entries: &[Vec<u8>],
    ids: &[(ObjectId, usize)],
    pack_sum: Option<ObjectId>,
) {
    let files = pack_and_index(entries, ids, pack_sum);
    let dir = objects.join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pack-handmade.pack"), files.pack).unwrap();
    std::fs::write(dir.join("pack-handmade.idx"), files.idx).unwrap();
}

/// An id made up for a test object.
fn made_up(n: u8) -> ObjectId {
    ObjectId::from_bytes_or_panic(&[n; 20])
}

/// Entries no git writes: a REF_DELTA loop, sizes said that no stream
/// gives, a delta onto the pack's header, a result too large to hold, two
/// ids for one entry. None panics; each is handed back or left to the
/// caller, and the well-formed ones around them read right.
#[test]
fn entries_no_git_writes_are_handed_back() {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let base = b"hello world, a base of deltas".to_vec();
    // a delta onto `base`: copy its first 11 bytes, insert "!"
    let delta = vec![base.len() as u8, 12, 0x80 | 0x10, 11, 1, b'!'];
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let entry = |kind: u8, size: usize, extra: &[u8], data: &[u8]| {
        let mut e = entry_header(kind, size as u64);
        e.extend(extra);
        e.extend(zlib(data));
        e
    };
    // 0: the base; 1: a delta on it, 12 + the header's bytes after it
    entries.push(entry(BLOB, base.len(), &[], &base));
    let at1 = 12 + entries[0].len();
    entries.push(entry(
        OFS_DELTA,
        delta.len(),
        &ofs_distance((at1 - 12) as u64),
        &delta,
    ));
    // 2 and 3: each a REF_DELTA of the other
    entries.push(entry(REF_DELTA, delta.len(), made_up(3).as_bytes(), &delta));
    entries.push(entry(REF_DELTA, delta.len(), made_up(2).as_bytes(), &delta));
    // 4: a blob saying 1 TiB; 5: a blob saying 200 MiB, holding 5 bytes
    entries.push(entry(BLOB, 1 << 40, &[], b"small"));
    entries.push(entry(BLOB, 200 << 20, &[], b"small"));
    // 6: a delta onto the pack's header (4 bytes in)
    let at6 = 12 + entries.iter().map(Vec::len).sum::<usize>();
    entries.push(entry(
        OFS_DELTA,
        delta.len(),
        &ofs_distance((at6 - 4) as u64),
        &delta,
    ));
    // 7: a delta on the base saying a 2 GiB result
    let huge = [
        base.len() as u8,
        0x80,
        0x80,
        0x80,
        0x80,
        0x08,
        0x80 | 0x10,
        11,
    ];
    let at7 = 12 + entries.iter().map(Vec::len).sum::<usize>();
    entries.push(entry(
        OFS_DELTA,
        huge.len(),
        &ofs_distance((at7 - 12) as u64),
        &huge,
    ));
    // 8: a REF_DELTA on the base, by its id
    entries.push(entry(REF_DELTA, delta.len(), made_up(0).as_bytes(), &delta));
    // ids: one for each entry, and 9 a second id for the base
    let mut ids: Vec<(ObjectId, usize)> = (0..9).map(|e| (made_up(e as u8), e)).collect();
    ids.push((made_up(9), 0));
    write_pack(&objects, &entries, &ids, None);

    let wanted: Vec<ObjectId> = (0..10).map(made_up).collect();
    let packs = Packs::open(std::slice::from_ref(&objects), gix::hash::Kind::Sha1);
    let (got, failed, elsewhere) = read_all_from(&packs, &wanted, 2);
    let mut expected = b"hello world".to_vec();
    expected.push(b'!');
    assert_eq!(got.get(&made_up(1)), Some(&expected), "the delta");
    assert_eq!(got.get(&made_up(8)), Some(&expected), "the delta by id");
    // the base under one of its two ids; the other left to the caller
    let base_ids = [made_up(0), made_up(9)];
    let handed: Vec<_> = base_ids
        .iter()
        .filter(|&id| got.get(id) == Some(&base))
        .collect();
    assert_eq!(handed.len(), 1, "{got:?}");
    assert_eq!(
        elsewhere.iter().filter(|id| base_ids.contains(id)).count(),
        1
    );
    for (n, what) in [(2, "a loop"), (3, "a loop"), (4, "a 1 TiB blob")] {
        assert!(elsewhere.contains(&made_up(n)), "{what}: {elsewhere:?}");
    }
    for (n, what) in [(5, "a 200 MiB blob of 5 bytes"), (7, "a 2 GiB result")] {
        assert!(failed.contains(&made_up(n)), "{what}: {failed:?}");
    }
    assert!(!got.contains_key(&made_up(6)), "a delta onto the header");
    assert_eq!(got.len() + failed.len() + elsewhere.len(), wanted.len());

    // an index of another pack: the pack is passed over
    let other = dir.path().join("other");
    write_pack(&other, &entries, &ids, Some(made_up(0xaa)));
    let packs = Packs::open(std::slice::from_ref(&other), gix::hash::Kind::Sha1);
    let (got, failed, elsewhere) = read_all_from(&packs, &wanted, 1);
    assert!(got.is_empty() && failed.is_empty(), "{got:?} {failed:?}");
    assert_eq!(elsewhere.len(), wanted.len());
    // an index without its pack
    std::fs::remove_file(objects.join("pack/pack-handmade.pack")).unwrap();
    let packs = Packs::open(std::slice::from_ref(&objects), gix::hash::Kind::Sha1);
    assert_eq!(read_all_from(&packs, &wanted, 1).2.len(), wanted.len());
}

/// A pack of one blob and `deltas` OFS_DELTAs, each on the one before
/// (each copies its base whole, then adds a byte); the ids, base first.
fn chain_pack(objects: &Path, deltas: usize) -> Vec<ObjectId> {
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut offsets = Vec::new();
    let mut at = 12u64;
    let entry = |kind: u8, size: usize, extra: &[u8], data: &[u8]| {
        let mut e = entry_header(kind, size as u64);
        e.extend(extra);
        e.extend(zlib(data));
        e
    };
    let base = b"x".to_vec();
    let e = entry(BLOB, base.len(), &[], &base);
    offsets.push(at);
    at += e.len() as u64;
    entries.push(e);
    for n in 0..deltas {
        // base n + 1 bytes, result n + 2: copy all, insert one byte
        let mut d = Vec::new();
        let varint = |mut v: usize, d: &mut Vec<u8>| loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                d.push(b);
                break;
            }
            d.push(b | 0x80);
        };
        varint(n + 1, &mut d);
        varint(n + 2, &mut d);
        // copy offset 0, size n + 1 (two size bytes)
        d.extend([
            0x80 | 0x10 | 0x20,
            ((n + 1) & 0xff) as u8,
            ((n + 1) >> 8) as u8,
        ]);
        d.extend([1, b'y']);
        let e = entry(OFS_DELTA, d.len(), &ofs_distance(at - offsets[n]), &d);
        offsets.push(at);
        at += e.len() as u64;
        entries.push(e);
    }
    let ids: Vec<ObjectId> = (0..entries.len())
        .map(|i| {
            let mut b = [0u8; 20];
            b[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            ObjectId::from_bytes_or_panic(&b)
        })
        .collect();
    let named: Vec<(ObjectId, usize)> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    write_pack(objects, &entries, &named, None);
    ids
}

/// The check made before the object database reads an object: a chain of
/// 4096 entries (the bound) is followed to its size, one of 4097 refused;
/// loops and sizes over the bound refused, naming the object.
#[test]
fn objects_are_checked_before_the_object_database_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let ids = chain_pack(&objects, 4096);
    let packs = Packs::open(std::slice::from_ref(&objects), gix::hash::Kind::Sha1);
    let dirs = std::slice::from_ref(&objects);
    // entries: 4096 from the 4095th delta down to the base
    assert_eq!(packs.check(&ids[4095], dirs).unwrap(), Some(4096));
    assert_eq!(packs.check(&ids[0], dirs).unwrap(), Some(1));
    let past = packs.check(&ids[4096], dirs).unwrap_err();
    assert_eq!(past.oid, ids[4096]);
    assert!(past.message.contains("longer than 4096 entries"), "{past}");
    assert_eq!(packs.check(&made_up(0xee), dirs).unwrap(), None, "nowhere");

    // the handmade entries of `entries_no_git_writes_are_handed_back`
    let other = dir.path().join("other");
    let delta = vec![3u8, 3, 0x80 | 0x10, 3];
    let entry = |kind: u8, size: u64, extra: &[u8], data: &[u8]| {
        let mut e = entry_header(kind, size);
        e.extend(extra);
        e.extend(zlib(data));
        e
    };
    let mut entries = vec![
        // 0 its own base; 1 and 2 each the other's
        entry(REF_DELTA, 4, made_up(0).as_bytes(), &delta),
        entry(REF_DELTA, 4, made_up(2).as_bytes(), &delta),
        entry(REF_DELTA, 4, made_up(1).as_bytes(), &delta),
        // 3 at the size bound, 4 one past
        entry(BLOB, 256 << 20, &[], b"small"),
        entry(BLOB, (256 << 20) + 1, &[], b"small"),
        // 5 a base of 3 bytes
        entry(BLOB, 3, &[], b"abc"),
    ];
    // 6 and 7: deltas on 5 saying results of 256 MiB and one byte more
    for result in [256u64 << 20, (256 << 20) + 1] {
        let mut d = vec![3u8];
        let mut v = result;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                d.push(b);
                break;
            }
            d.push(b | 0x80);
        }
        d.extend([0x80 | 0x10, 3]);
        entries.push(entry(REF_DELTA, d.len() as u64, made_up(5).as_bytes(), &d));
    }
    let named: Vec<(ObjectId, usize)> = (0..8).map(|e| (made_up(e as u8), e)).collect();
    write_pack(&other, &entries, &named, None);
    let packs = Packs::open(std::slice::from_ref(&other), gix::hash::Kind::Sha1);
    let dirs = std::slice::from_ref(&other);
    for n in [0, 1, 2] {
        let e = packs.check(&made_up(n), dirs).unwrap_err();
        assert!(e.to_string().contains("delta chain loops"), "{n}: {e}");
        assert!(e.to_string().contains(&made_up(n).to_string()), "{e}");
    }
    assert_eq!(packs.check(&made_up(3), dirs).unwrap(), Some(256 << 20));
    let e = packs.check(&made_up(4), dirs).unwrap_err();
    assert!(e.message.contains("over the limit of 268435456"), "{e}");
    assert_eq!(packs.check(&made_up(5), dirs).unwrap(), Some(3));
    assert_eq!(packs.check(&made_up(6), dirs).unwrap(), Some(256 << 20));
    let e = packs.check(&made_up(7), dirs).unwrap_err();
    assert!(e.message.contains("says 268435457 bytes"), "{e}");
}

/// A blob nothing is built on, larger than a file the scan reads (64 MiB),
/// is not decoded here (each reading thread would hold one): handed back,
/// for its size to say it is too large. One at the limit is decoded.
#[test]
fn a_blob_too_large_to_scan_is_handed_back_undecoded() {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let limit = 64usize << 20;
    let mut entries = Vec::new();
    for size in [limit, limit + 1] {
        let mut e = entry_header(BLOB, size as u64);
        e.extend(zlib(&vec![0u8; size]));
        entries.push(e);
    }
    let ids = [(made_up(1), 0), (made_up(2), 1)];
    write_pack(&objects, &entries, &ids, None);
    let packs = Packs::open(std::slice::from_ref(&objects), gix::hash::Kind::Sha1);
    let (got, failed, elsewhere) = read_all_from(&packs, &[made_up(1), made_up(2)], 2);
    assert_eq!(got.get(&made_up(1)).map(Vec::len), Some(limit));
    assert!(failed.contains(&made_up(2)), "{failed:?}");
    assert!(elsewhere.is_empty());
}
