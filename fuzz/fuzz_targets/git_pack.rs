//! Arbitrary bytes as the entries of a pack, with an index made for them,
//! in a repository whose one tree names each entry as a C file: read ahead
//! (the pack reader, then the object database for what it hands back) and
//! read one by one (the check, then the object database). Never panics,
//! never loops, never allocates past the bounds (run with
//! `-rss_limit_mb=1024 -timeout=10`).
//!
//! Input: a count n (1 to 8), n little-endian u16 lengths, then the
//! entries' bytes, one after another (cut where the input ends). Entry i
//! is object `[i + 1; 20]`, so a REF_DELTA can name another.
#![no_main]
use kfunc_scan::scan::git_tree::{self, BlobCache, GitTree, Repo};
use kfunc_scan::scan::source::Tree;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn sha1(parts: &[&[u8]]) -> gix::ObjectId {
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha1);
    for p in parts {
        h.update(p);
    }
    h.try_finalize().expect("sha1")
}

fn id(i: usize) -> gix::ObjectId {
    gix::ObjectId::from_bytes_or_panic(&[i as u8 + 1; 20])
}

/// The entries `data` gives.
fn entries(data: &[u8]) -> Vec<&[u8]> {
    let Some((&n, mut rest)) = data.split_first() else {
        return Vec::new();
    };
    let n = usize::from(n % 8) + 1;
    let mut lens = Vec::new();
    for _ in 0..n {
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Vec::new();
        };
        lens.push(usize::from(u16::from_le_bytes(*len)));
        rest = tail;
    }
    let mut out = Vec::new();
    for len in lens {
        let (e, tail) = rest.split_at(len.min(rest.len()));
        out.push(e);
        rest = tail;
    }
    out
}

/// A git directory at `git` with a pack of `entries` and a loose tree
/// naming them `f0.c`, `f1.c`, …; the tree's id.
fn repository(git: &Path, entries: &[&[u8]]) -> std::io::Result<gix::ObjectId> {
    std::fs::create_dir_all(git.join("objects/pack"))?;
    std::fs::create_dir_all(git.join("refs/heads"))?;
    std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n")?;
    let mut pack = b"PACK".to_vec();
    pack.extend(2u32.to_be_bytes());
    pack.extend((entries.len() as u32).to_be_bytes());
    let mut named = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        named.push((id(i), pack.len() as u32));
        pack.extend(*e);
    }
    let sum = sha1(&[&pack]);
    pack.extend(sum.as_bytes());
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
        idx.extend(0u32.to_be_bytes());
    }
    for (_, o) in &named {
        idx.extend(o.to_be_bytes());
    }
    idx.extend(sum.as_bytes());
    let idx_sum = sha1(&[&idx]);
    idx.extend(idx_sum.as_bytes());
    std::fs::write(git.join("objects/pack/pack-f.pack"), pack)?;
    std::fs::write(git.join("objects/pack/pack-f.idx"), idx)?;
    // the tree, loose
    let mut names: Vec<(String, gix::ObjectId)> = (0..entries.len())
        .map(|i| (format!("f{i}.c"), id(i)))
        .collect();
    names.sort();
    let mut tree = Vec::new();
    for (name, id) in &names {
        tree.extend(b"100644 ");
        tree.extend(name.as_bytes());
        tree.push(0);
        tree.extend(id.as_bytes());
    }
    let header = format!("tree {}\0", tree.len());
    let tree_id = sha1(&[header.as_bytes(), &tree]);
    let mut whole = header.into_bytes();
    whole.extend(&tree);
    let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest());
    let mut z = vec![0; c.zlib_compress_bound(whole.len())];
    let n = c
        .zlib_compress(&whole, &mut z)
        .map_err(std::io::Error::other)?;
    z.truncate(n);
    let hex = tree_id.to_string();
    std::fs::create_dir_all(git.join("objects").join(&hex[..2]))?;
    std::fs::write(git.join("objects").join(&hex[..2]).join(&hex[2..]), z)?;
    Ok(tree_id)
}

fuzz_target!(|data: &[u8]| {
    let entries = entries(data);
    if entries.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let git = dir.path().join("repo.git");
    let Ok(tree_id) = repository(&git, &entries) else {
        return;
    };
    let Ok(repo) = Repo::open(&git) else {
        return;
    };
    let cache = BlobCache::default();
    let Ok(tree) = GitTree::open(&repo, tree_id, &cache) else {
        return;
    };
    let trees = [tree];
    let on_match = |_: &str, _: &[u8]| Default::default();
    let _ = git_tree::read_ahead(&trees, &globset::GlobSet::empty(), 2, &|_| {}, &on_match);
    let mut buf = Vec::new();
    for i in 0..entries.len() {
        let _ = trees[0].read_into(&format!("f{i}.c"), &mut buf);
    }
});
