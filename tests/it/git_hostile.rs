//! Hostile git repositories: `history --git` ends, within 10 s and 1 GiB
//! of address space, with a message naming the object or file and the
//! bound, whatever the repository holds. Each repository is made here by a
//! small generator: `git init`, then objects written by hand (loose trees
//! and commits, packs of entries no git writes), references as files.

// the git reader is the `git` feature's (default on)
#![cfg(feature = "git")]

use crate::common;
use common::packs::{entry_header, pack_and_index, sha1, zlib, BLOB, REF_DELTA};
use common::*;
use gix::ObjectId;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run under the limits gave: exit status, stderr, time taken.
struct Limited {
    code: Option<i32>,
    stderr: String,
    took: Duration,
}

/// `kfunc-scan ARGS` under `prlimit --as=1073741824` (1 GiB), killed and
/// failed after 10 s.
fn limited(args: &[&std::ffi::OsStr]) -> Limited {
    let t0 = Instant::now();
    let mut child = Command::new("prlimit")
        .arg("--as=1073741824")
        .arg("--")
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit runs");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let stderr = reader.join().unwrap_or_default();
            return Limited {
                code: status.code(),
                stderr,
                took: t0.elapsed(),
            };
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kfunc-scan {args:?} still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `history --no-cache --git REPO NAMES… -o DIR/h.json`, limited.
fn history(dir: &Path, repo: &Path, names: &[&str]) -> Limited {
    let out = dir.join("h.json");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "history".as_ref(),
        "--no-cache".as_ref(),
        "--git".as_ref(),
        repo.as_os_str(),
    ];
    args.extend(names.iter().map(std::ffi::OsStr::new));
    args.extend(["-o".as_ref(), out.as_os_str()]);
    limited(&args)
}

fn assert_ends(run: &Limited, code: i32, want: &[&str]) {
    assert_eq!(run.code, Some(code), "{}", run.stderr);
    for w in want {
        assert!(run.stderr.contains(w), "want `{w}`:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(10));
}

/// A repository made by `git init` in `dir/repo`, written to by hand.
struct Repo {
    work: PathBuf,
    git: PathBuf,
}

impl Repo {
    fn new(dir: &Path) -> Repo {
        let work = dir.join("repo");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "."]);
        let git = work.join(".git");
        Repo { work, git }
    }

    /// Writes loose object `kind` of `data` (its header said `size`); its id.
    fn loose_saying(&self, kind: &str, data: &[u8], size: u64) -> ObjectId {
        let header = format!("{kind} {size}\0");
        let id = sha1(&[header.as_bytes(), data]);
        let hex = id.to_string();
        let dir = self.git.join("objects").join(&hex[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        let mut whole = header.into_bytes();
        whole.extend(data);
        std::fs::write(dir.join(&hex[2..]), zlib(&whole)).unwrap();
        id
    }

    fn loose(&self, kind: &str, data: &[u8]) -> ObjectId {
        self.loose_saying(kind, data, data.len() as u64)
    }

    /// A tree of `entries` (mode, name, id), in git's order.
    fn tree(&self, entries: &[(&str, &[u8], ObjectId)]) -> ObjectId {
        let mut sorted: Vec<_> = entries.to_vec();
        let key = |(mode, name, _): &(&str, &[u8], ObjectId)| {
            let mut k = name.to_vec();
            if *mode == "40000" {
                k.push(b'/');
            }
            k
        };
        sorted.sort_by_key(key);
        let mut data = Vec::new();
        for (mode, name, id) in sorted {
            data.extend(mode.as_bytes());
            data.push(b' ');
            data.extend(name);
            data.push(0);
            data.extend(id.as_bytes());
        }
        self.loose("tree", &data)
    }

    /// A commit of `tree`, named by tag `tag` (a file under refs/tags).
    fn commit(&self, tree: ObjectId, tag: &str) -> ObjectId {
        let text =
            format!("tree {tree}\nauthor a <a@a> 0 +0000\ncommitter a <a@a> 0 +0000\n\n{tag}\n");
        let id = self.loose("commit", text.as_bytes());
        self.set_ref(&format!("refs/tags/{tag}"), id);
        id
    }

    fn set_ref(&self, name: &str, id: ObjectId) {
        let path = self.git.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("{id}\n")).unwrap();
    }

    /// A kernel-like top tree: `Makefile` (6.1), `kernel/bpf/ok.c`, and
    /// `extra` entries at the top.
    fn kernel_tree(&self, extra: &[(&str, &[u8], ObjectId)]) -> ObjectId {
        let makefile = self.loose("blob", b"VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n");
        let ok = self.loose("blob", b"int ok(void) { return 0; }\n");
        let bpf = self.tree(&[("100644", b"ok.c", ok)]);
        let kernel = self.tree(&[("40000", b"bpf", bpf)]);
        let mut entries = vec![
            ("100644", &b"Makefile"[..], makefile),
            ("40000", &b"kernel"[..], kernel),
        ];
        entries.extend_from_slice(extra);
        self.tree(&entries)
    }
}

fn entry(kind: u8, size: u64, extra: &[u8], data: &[u8]) -> Vec<u8> {
    let mut e = entry_header(kind, size);
    e.extend(extra);
    e.extend(zlib(data));
    e
}

/// Writes into `objects/pack/` a pack of `entries` and a version 2 index
/// naming entry `i` by `ids[i]`.
fn write_pack(objects: &Path, entries: &[Vec<u8>], ids: &[ObjectId]) {
    let named: Vec<(ObjectId, usize)> = ids.iter().copied().zip(0..).collect();
    let files = pack_and_index(entries, &named, None);
    let dir = objects.join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("pack-{}.pack", files.sum)), files.pack).unwrap();
    std::fs::write(dir.join(format!("pack-{}.idx", files.sum)), files.idx).unwrap();
}

/// An id made up for a test object.
fn made_up(n: u8) -> ObjectId {
    ObjectId::from_bytes_or_panic(&[n; 20])
}

/// A pack of REF_DELTA loops: entry `a` (made_up(0xa1)) its own base;
/// `b` and `c` each the other's. The three ids.
fn loop_pack(repo: &Repo) -> [ObjectId; 3] {
    let (a, b, c) = (made_up(0xa1), made_up(0xb2), made_up(0xc3));
    let delta = [3u8, 3, 0x80 | 0x10, 3];
    let entries = vec![
        entry(REF_DELTA, delta.len() as u64, a.as_bytes(), &delta),
        entry(REF_DELTA, delta.len() as u64, c.as_bytes(), &delta),
        entry(REF_DELTA, delta.len() as u64, b.as_bytes(), &delta),
    ];
    write_pack(&repo.git.join("objects"), &entries, &[a, b, c]);
    [a, b, c]
}

#[test]
fn a_tag_naming_a_ref_delta_loop_is_refused() {
    for (n, what) in [(0, "its own base"), (1, "two naming each other")] {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        let ids = loop_pack(&repo);
        repo.set_ref("refs/tags/loop", ids[n]);
        let run = history(dir.path(), &repo.work, &["loop"]);
        let id = ids[n].to_string();
        assert!(run.stderr.contains(&id), "{what}: {}", run.stderr);
        assert_ends(
            &run,
            2,
            &["error[bad-revision]: `loop`", "delta chain loops"],
        );
    }
}

#[test]
fn a_blob_on_a_ref_delta_loop_is_a_read_error_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let [a, b, _] = loop_pack(&repo);
    let top = repo.kernel_tree(&[("100644", b"self.c", a), ("100644", b"pair.c", b)]);
    repo.commit(top, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(&run, 1, &["t:self.c:", "t:pair.c:", "delta chain loops"]);
}

#[test]
fn sizes_are_checked_before_anything_is_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    // pack entries saying 3.75 GB and 256 MiB + 1 (over the bound) and
    // 256 MiB (at it, over the file limit), each holding 5 bytes
    let sizes = [3_750_000_000u64, (256 << 20) + 1, 256 << 20];
    let ids = [made_up(0x11), made_up(0x22), made_up(0x33)];
    let entries: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&s| entry(BLOB, s, &[], b"small"))
        .collect();
    write_pack(&repo.git.join("objects"), &entries, &ids);
    // loose objects saying 3 GiB, 256 MiB + 1, 64 MiB + 1 (one past the
    // file limit) and 256 MiB (at the object limit), each holding 5 bytes
    let loose: Vec<ObjectId> = [3u64 << 30, (256 << 20) + 1, (64 << 20) + 1, 256 << 20]
        .iter()
        .map(|&s| repo.loose_saying("blob", b"small", s))
        .collect();
    let top = repo.kernel_tree(&[
        ("100644", b"p1.c", ids[0]),
        ("100644", b"p2.c", ids[1]),
        ("100644", b"p3.c", ids[2]),
        ("100644", b"l1.c", loose[0]),
        ("100644", b"l2.c", loose[1]),
        ("100644", b"l3.c", loose[2]),
        ("100644", b"l4.c", loose[3]),
    ]);
    repo.commit(top, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(&run, 1, &[]);
    let line = |f: &str| {
        run.stderr
            .lines()
            .find(|l| l.starts_with(&format!("t:{f}:")))
            .unwrap_or_else(|| panic!("no line for {f}:\n{}", run.stderr))
            .to_string()
    };
    for f in ["p1.c", "p2.c", "l1.c", "l2.c"] {
        assert!(
            line(f).contains("over the limit of 268435456"),
            "{}",
            line(f)
        );
    }
    for f in ["p3.c", "l3.c", "l4.c"] {
        assert!(line(f).contains("file-too-large"), "{}", line(f));
    }
}

#[test]
fn one_blob_at_100000_paths_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let blob = repo.loose("blob", b"int f(void) { return 1; }\n");
    let names: Vec<String> = (0..100_000).map(|i| format!("f{i}.c")).collect();
    let entries: Vec<(&str, &[u8], ObjectId)> = names
        .iter()
        .map(|n| ("100644", n.as_bytes(), blob))
        .collect();
    let many = repo.tree(&entries);
    let top = repo.kernel_tree(&[("40000", b"many", many)]);
    repo.commit(top, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(&run, 0, &[]);
}

/// A chain of directories `d/d/…/d`, `depth` deep, an empty tree at the
/// bottom; the top one's id.
fn deep(repo: &Repo, depth: usize) -> ObjectId {
    let mut id = repo.tree(&[]);
    for _ in 1..depth {
        id = repo.tree(&[("40000", b"d", id)]);
    }
    id
}

#[test]
fn depth_and_path_length_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    // at the bounds: 2048 deep (a path of 4095 bytes), a name of 4096
    let long = vec![b'n'; 4096];
    let empty = repo.loose("blob", b"");
    let top = repo.kernel_tree(&[("40000", b"d", deep(&repo, 2048)), ("100644", &long, empty)]);
    repo.commit(top, "at");
    // one past: 2049 deep; a name of 4097
    let top = repo.kernel_tree(&[("40000", b"d", deep(&repo, 2049))]);
    repo.commit(top, "deeper");
    let longer = vec![b'n'; 4097];
    let top = repo.kernel_tree(&[("100644", &longer, empty)]);
    repo.commit(top, "longer");
    assert_ends(&history(dir.path(), &repo.work, &["at"]), 0, &[]);
    assert_ends(
        &history(dir.path(), &repo.work, &["deeper"]),
        2,
        &[
            "error[git-read]",
            "2049 directories deep, over the limit of 2048",
        ],
    );
    assert_ends(
        &history(dir.path(), &repo.work, &["longer"]),
        2,
        &[
            "error[git-read]",
            "a path of 4097 bytes, over the limit of 4096",
        ],
    );
}

#[test]
fn link_targets_are_bounded_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let file = repo.loose("blob", b"int g(void) { return 2; }\n");
    // 1,000 links sharing a 1 MB target; a link at the bound, one past it
    let far = repo.loose("blob", "x/".repeat(500_000).as_bytes());
    let mut at = "./".repeat(2046);
    at.push_str("g.c");
    assert_eq!(at.len(), 4095);
    let at_bound = repo.loose("blob", format!("{at}/").as_bytes());
    let past = repo.loose("blob", format!("./{at}/").as_bytes());
    let names: Vec<String> = (0..1000).map(|i| format!("l{i}.c")).collect();
    let mut entries: Vec<(&str, &[u8], ObjectId)> = names
        .iter()
        .map(|n| ("120000", n.as_bytes(), far))
        .collect();
    entries.push(("100644", b"g.c", file));
    entries.push(("120000", b"at.c", at_bound));
    entries.push(("120000", b"past.c", past));
    let top = repo.kernel_tree(&entries);
    repo.commit(top, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(&run, 1, &["t:l999.c:", "t:past.c:", "File name too long"]);
    // at the bound: the target read, and followed (`g.c/` is not a directory)
    let at_line = run.stderr.lines().find(|l| l.starts_with("t:at.c:"));
    assert!(
        at_line.is_some_and(|l| !l.contains("too long")),
        "{}",
        run.stderr
    );
}

/// Makes a FIFO at `path` (removing what is there).
fn fifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let out = Command::new("mkfifo").arg(path).output().unwrap();
    assert!(out.status.success());
}

#[test]
fn a_fifo_where_git_keeps_a_file_is_refused_without_waiting() {
    for name in [
        "config",
        "HEAD",
        "packed-refs",
        "refs/tags/t",
        "objects/info/alternates",
        "objects/pack/pack-x.idx",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        let top = repo.kernel_tree(&[]);
        repo.commit(top, "t");
        let path = repo.git.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        fifo(&path);
        let run = history(dir.path(), &repo.work, &["t"]);
        assert_ends(
            &run,
            2,
            &["error[repository-file]: not a regular file", name],
        );
    }
}

#[test]
fn a_fifo_in_the_manifest_cache_is_ignored_and_left() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let top = repo.kernel_tree(&[]);
    repo.commit(top, "t");
    let cache = dir.path().join("cache");
    let out = dir.path().join("h.json");
    let run = |_: ()| {
        limited(&[
            "history".as_ref(),
            "-q".as_ref(),
            "--cache-dir".as_ref(),
            cache.as_os_str(),
            "--git".as_ref(),
            repo.work.as_os_str(),
            "t".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
    };
    assert_ends(&run(()), 0, &[]);
    let kept: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&top.to_string())
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    fifo(&kept[0]);
    // ignored: the tree scanned again; and left, said so
    assert_ends(
        &run(()),
        0,
        &["warning[cache]", "not a regular file, left as it is"],
    );
    assert!(!std::fs::metadata(&kept[0]).unwrap().is_file(), "left");
}

#[test]
fn names_are_checked_before_any_tree_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let top = repo.kernel_tree(&[]);
    repo.commit(top, "r1");
    // r2's tree is not there: its scan would fail
    repo.commit(made_up(0x77), "r2");
    let run = history(dir.path(), &repo.work, &["r1", "r2", "r1"]);
    assert_ends(
        &run,
        2,
        &["error[duplicate-version]: version `r1` is given twice"],
    );
}

#[test]
fn a_top_makefile_that_does_not_read_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    // a blob entry whose stream is not zlib
    let bad = made_up(0x55);
    let mut e = entry_header(BLOB, 10);
    e.extend(b"not a zlib stream at all");
    write_pack(&repo.git.join("objects"), &[e], &[bad]);
    let top = repo.tree(&[("100644", b"Makefile", bad)]);
    repo.commit(top, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(
        &run,
        2,
        &["error[git-read]", "its top Makefile does not read"],
    );
    assert!(!run.stderr.contains("not a kernel tree"), "{}", run.stderr);
}

/// A tag object naming `target` (of kind `kind`).
fn tag_object(repo: &Repo, target: ObjectId, kind: &str, n: usize) -> ObjectId {
    let text = format!("object {target}\ntype {kind}\ntag t{n}\ntagger a <a@a> 0 +0000\n\nt{n}\n");
    repo.loose("tag", text.as_bytes())
}

#[test]
fn tags_are_peeled_and_references_followed_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let top = repo.kernel_tree(&[]);
    let commit = repo.commit(top, "c");
    // 32 tags over the commit (the bound), then one more
    let mut id = tag_object(&repo, commit, "commit", 0);
    for n in 1..32 {
        id = tag_object(&repo, id, "tag", n);
    }
    repo.set_ref("refs/tags/at", id);
    repo.set_ref("refs/tags/past", tag_object(&repo, id, "tag", 32));
    // 5 symbolic references to the commit (the bound), then 6; a loop
    std::fs::write(repo.git.join("refs/tags/s0"), "ref: refs/tags/c\n").unwrap();
    for n in 1..=6 {
        std::fs::write(
            repo.git.join(format!("refs/tags/s{n}")),
            format!("ref: refs/tags/s{}\n", n - 1),
        )
        .unwrap();
    }
    std::fs::write(repo.git.join("refs/tags/ya"), "ref: refs/tags/yb\n").unwrap();
    std::fs::write(repo.git.join("refs/tags/yb"), "ref: refs/tags/ya\n").unwrap();
    assert_ends(&history(dir.path(), &repo.work, &["at"]), 0, &[]);
    assert_ends(
        &history(dir.path(), &repo.work, &["past"]),
        2,
        &["error[bad-revision]: `past`", "more than 32 tags"],
    );
    assert_ends(&history(dir.path(), &repo.work, &["s4"]), 0, &[]);
    for name in ["s5", "ya"] {
        assert_ends(
            &history(dir.path(), &repo.work, &[name]),
            2,
            &["error[bad-revision]", "more than 5 symbolic references"],
        );
    }
}

#[test]
fn a_trees_entries_and_path_bytes_are_bounded() {
    // the kernel-like tree has 4 entries and 39 bytes of paths; `x` one more
    // and 1 byte
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let blob = repo.loose("blob", b"");
    let flat = |n: usize, len: usize| {
        let names: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut name = format!("{i:08}").into_bytes();
                name.resize(len, b'n');
                name
            })
            .collect();
        let entries: Vec<(&str, &[u8], ObjectId)> = names
            .iter()
            .map(|n| ("100644", n.as_slice(), blob))
            .collect();
        let x = repo.tree(&entries);
        repo.kernel_tree(&[("40000", b"x", x)])
    };
    let bound = 1 << 20;
    repo.commit(flat(bound - 5, 8), "entries-at");
    repo.commit(flat(bound - 4, 8), "entries-past");
    // paths `x/NAME` of 4096 bytes: 16383 of them and one of the rest
    let bytes = 64 << 20;
    let n = (bytes - 40) / 4096;
    let rest = (bytes - 40) % 4096;
    let last = |extra: usize| {
        let mut name = b"zz".to_vec();
        name.resize(rest - 2 + extra, b'z');
        name
    };
    let mk = |extra: usize| {
        let mut names: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut name = format!("{i:08}").into_bytes();
                name.resize(4094, b'n');
                name
            })
            .collect();
        names.push(last(extra));
        let entries: Vec<(&str, &[u8], ObjectId)> = names
            .iter()
            .map(|n| ("100644", n.as_slice(), blob))
            .collect();
        let x = repo.tree(&entries);
        repo.kernel_tree(&[("40000", b"x", x)])
    };
    repo.commit(mk(0), "bytes-at");
    repo.commit(mk(1), "bytes-past");
    for (tag, code) in [
        ("entries-at", 0),
        ("entries-past", 2),
        ("bytes-at", 0),
        ("bytes-past", 2),
    ] {
        let run = history(dir.path(), &repo.work, &[tag]);
        let want: &[&str] = match code {
            0 => &[],
            _ => &[
                "error[git-read]",
                "over 1048576 entries or 67108864 bytes of paths",
            ],
        };
        assert_ends(&run, code, want);
    }
}

#[test]
fn alternates_are_bounded_in_size_and_depth() {
    // `levels` objects directories, each the alternate of the one before
    let chained = |dir: &Path, levels: usize| -> Repo {
        let repo = Repo::new(dir);
        let top = repo.kernel_tree(&[]);
        repo.commit(top, "t");
        let mut from = repo.git.join("objects");
        for n in 1..=levels {
            let to = dir.join(format!("alt{n}"));
            std::fs::create_dir_all(to.join("info")).unwrap();
            std::fs::create_dir_all(from.join("info")).unwrap();
            std::fs::write(from.join("info/alternates"), format!("{}\n", to.display())).unwrap();
            from = to;
        }
        repo
    };
    let dir = tempfile::tempdir().unwrap();
    let at = chained(&dir.path().join("at"), 5);
    assert_ends(&history(dir.path(), &at.work, &["t"]), 0, &[]);
    let past = chained(&dir.path().join("past"), 6);
    assert_ends(
        &history(dir.path(), &past.work, &["t"]),
        2,
        &[
            "error[repository-file]",
            "alternates more than 5 levels deep",
        ],
    );
    // an alternates file of 64 KiB (comments), and one byte more
    for (extra, code) in [(0, 0), (1, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let repo = chained(dir.path(), 1);
        let path = repo.git.join("objects/info/alternates");
        let mut text = std::fs::read(&path).unwrap();
        text.push(b'#');
        text.resize((64 << 10) + extra, b'#');
        std::fs::write(&path, text).unwrap();
        let want: &[&str] = match code {
            0 => &[],
            _ => &["alternates", "65537 bytes, over the limit of 65536"],
        };
        assert_ends(&history(dir.path(), &repo.work, &["t"]), code, want);
    }
}

#[test]
fn links_deep_in_a_tree_at_many_places_are_followed_within_a_budget() {
    // 3,000 links 2,000 directories deep: following each from the top
    // looks up ~4 MB of paths (12 GB in all)
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let target = repo.loose("blob", b"../x.c");
    let x = repo.loose("blob", b"int x(void) { return 0; }\n");
    let names: Vec<String> = (0..3000).map(|i| format!("l{i}.c")).collect();
    let mut entries: Vec<(&str, &[u8], ObjectId)> = names
        .iter()
        .map(|n| ("120000", n.as_bytes(), target))
        .collect();
    entries.push(("100644", b"x.c", x));
    let mut id = repo.tree(&entries);
    for _ in 0..2000 {
        id = repo.tree(&[("40000", b"d", id)]);
    }
    let top = repo.kernel_tree(&[("40000", b"d", id)]);
    repo.commit(top, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(
        &run,
        1,
        &["links resolved past the limit of 67108864 bytes of paths"],
    );
}

/// A C file whose path a manifest cannot hold (not UTF-8, `*/`, a control
/// character) is an error of the git walk as of the directory walk: the
/// history is still written, and every manifest it made reads back.
#[test]
fn paths_a_manifest_cannot_hold_are_errors_not_silently_mangled() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    let c = repo.loose("blob", b"__bpf_kfunc int f(void) { return 0; }\n");
    let inner = repo.tree(&[("100644", b"x.c", c)]);
    let tree = repo.kernel_tree(&[
        ("100644", &b"lat\xe9n.c"[..], c),
        ("40000", &b"drv*"[..], inner),
        ("100644", &b"a\nb.c"[..], c),
        ("100644", &b"fine.c"[..], c),
    ]);
    repo.commit(tree, "t");
    let run = history(dir.path(), &repo.work, &["t"]);
    assert_ends(
        &run,
        1,
        &[
            "lat\u{fffd}n.c: error[unusable-path]: its path is not UTF-8",
            "drv*/x.c: error[unusable-path]: its path holds `*/`",
            "a\\nb.c: error[unusable-path]: its path holds a control character",
        ],
    );
    let h = std::fs::read_to_string(dir.path().join("h.json")).unwrap();
    kfunc_scan::manifest::history::History::from_json(&h).unwrap();
    assert!(!h.contains("drv*"), "{h}");
}
