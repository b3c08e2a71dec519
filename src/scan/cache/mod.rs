//! The per-file scan cache (`scan TREE --cache DIR`): what the walk made
//! of each C file (passed over by the prefilter, and the functions it
//! defines; or kept, and the records its parse gave), keyed by the file's metadata,
//! and each directory's listing, keyed by the directory's, so that a scan
//! of an unchanged tree stats its directories and C files instead of
//! reading them. Everything after the walk (x-macros, the second look, the
//! tree facts, the build view, resolve) runs each time, on what the walk
//! hands on: the manifest is the one a scan without the cache writes.
//!
//! **The key.** A file is taken from the cache when its (size, mtime,
//! ctime, inode, device) are those recorded; a directory's listing when
//! its (mtime, ctime, inode, device) are. Adding, removing or renaming an
//! entry changes its directory's mtime and ctime; writing a file changes
//! its mtime and ctime, and nothing but the kernel's clock sets a ctime
//! (`touch -d` sets the mtime, and moves the ctime to now). Whatever had
//! its mtime or ctime within [`SCAN_CACHE_RACY_WINDOW_NS`] of the scan's
//! start is recorded as changed (git's "racy clean" rule): a write in the
//! same timestamp tick as the scan's read would keep the key. Symbolic
//! links are never taken from the cache (their targets may be anywhere).
//! The cache's header names the program (its version and the binary's own
//! size and times), the options that change what the walk makes of a file
//! (`--exclude`, `--queries` and the query files' keys,
//! `--implicit-type`), the format, and the tree (its path and inode): any
//! difference, and the cache is rebuilt.
//!
//! **Untrusted.** The cache is read whole, at most [`MAX_SCAN_CACHE_SIZE`]
//! bytes, with a checksum; a damaged, truncated, foreign or too large one
//! is ignored with one warning and rebuilt. It is written only when
//! something changed, to a temporary file renamed over the old one: two
//! scans at once leave one or the other's, never a mix.

mod memo;
mod watcher;

pub use watcher::watch_options;

use super::records::FileRecords;
use super::walk::{self, Collector, Local, Sift, Taken, WalkOutput};
use super::{Progress, ScanOptions};
use crate::limits::MAX_QUICK_CHANGES;
use crate::limits::{MAX_SCAN_CACHE_ENTRIES, MAX_SCAN_CACHE_SIZE, SCAN_CACHE_RACY_WINDOW_NS};
use crate::manifest::term;
use crate::manifest::Manifest;
use globset::GlobSet;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// How much of the cache [`Run::open`] reads for its header: the identity
/// (the version, the options, the query files' names and keys) and the
/// tree's path are a few hundred bytes, ~4 KiB with many `--exclude`s.
const CACHE_HEAD_READ: u64 = 64 << 10;

/// The cache's file in the cache directory.
pub const FILE_NAME: &str = "scan.cache";

/// The first bytes of a cache.
const MAGIC: &[u8; 8] = b"KFSCACHE";

/// The cache's layout and meaning. Bump it when the layout changes, or
/// when what the walk makes of a file changes (the prefilter, the name
/// hashes): a cache of another format is rebuilt.
pub const FORMAT_VERSION: u32 = 2;

/// What identifies a file's or a directory's content, as far as the
/// cache is concerned (see the module's comment).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Key {
    size: u64,
    mtime: i64,
    ctime: i64,
    ino: u64,
    dev: u64,
}

impl Key {
    /// The key of a file whose result is kept for comparison only (it was
    /// read within the racy window): no file has inode 0, so it is never
    /// taken by its key.
    const UNTRUSTED: Key = Key {
        size: 0,
        mtime: 0,
        ctime: 0,
        ino: 0,
        dev: 0,
    };

    fn of(md: &std::fs::Metadata) -> Key {
        Key {
            size: md.size(),
            mtime: ns(md.mtime(), md.mtime_nsec()),
            ctime: ns(md.ctime(), md.ctime_nsec()),
            ino: md.ino(),
            dev: md.dev(),
        }
    }

    /// Changed so near the scan (at `since` or later) that a change in the
    /// same tick would not show: not to be trusted next time.
    fn racy(&self, since: i64) -> bool {
        self.mtime >= since || self.ctime >= since
    }
}

fn ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// What the walk made of a file, under its key.
#[derive(Clone, Debug)]
struct Hit {
    key: Key,
    made: Made,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Made {
    /// Passed over by the prefilter: the [`walk::name_hash`]es of the
    /// functions it defines in kernel style.
    Passed(Arc<[u64]>),
    /// Kept, and parsed into these records (JSON: 35 files of 6.12, a
    /// few hundred KB, decoded only when taken).
    Kept(Arc<[u8]>),
}

#[derive(Clone, Debug)]
enum Kind {
    Dir,
    /// A symbolic link: followed (or not) each time.
    Link,
    /// A C source or header, and what the walk made of it when that can be
    /// trusted next time.
    File(Option<Hit>),
}

#[derive(Clone, Debug)]
struct Entry {
    /// Shared with the old cache's entry (a rescan copies every listing).
    name: Arc<[u8]>,
    kind: Kind,
}

/// A directory: its key, whether its listing can be trusted next time,
/// and the entries the walk takes (not hidden, not excluded; directories,
/// links, C files).
#[derive(Debug)]
struct DirRec {
    key: Key,
    listed: bool,
    entries: Vec<Entry>,
}

/// The directories of a cache, by path below the tree (`b""`: the root).
#[derive(Default, Debug)]
pub struct Cache {
    head: Head,
    dirs: HashMap<Vec<u8>, DirRec>,
}

/// What a cache says of itself, read before its directories.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Drawn anew each time a cache is written: the memo names the cache it
    /// agrees with.
    pub id: u64,
    /// The watcher's token when the walk that made it began: what the
    /// watcher saw change since then is all that may differ from it.
    pub token: Option<Token>,
}

/// A point in a watcher's record of changes ([`kfunc_scan_watch::Token`]'s
/// numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub generation: u64,
    pub seq: u64,
}

/// Why a cache was not used, or not written; each is one warning.
#[derive(Debug, thiserror::Error)]
pub enum CacheWarning {
    #[error(
        "{}: warning[scan-cache]: ignored and rebuilt: {why}",
        term::path(path)
    )]
    Ignored { path: PathBuf, why: String },
    #[error("{}: warning[scan-cache]: not written: {why}", term::path(path))]
    NotWritten { path: PathBuf, why: String },
    #[error(
        "{}: warning[scan-cache]: the watcher did not answer ({why}); every file checked",
        term::path(path)
    )]
    Watcher { path: PathBuf, why: String },
}

/// Whether the scan's manifest was the memo's ([`memo`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum MemoUse {
    /// The stages after the walk ran.
    #[default]
    NotUsed,
    /// The walk found nothing changed, and the later stages did not run.
    Walked,
    /// The watcher vouched for the tree: no walk, no later stages.
    Quick,
}

/// What the cache did in one scan.
#[derive(Debug, Default)]
pub struct Report {
    pub warnings: Vec<CacheWarning>,
    /// A cache was found and matched this program, options and tree.
    pub used: bool,
    /// Directories whose listing was taken from the cache, and those read.
    pub dirs_trusted: usize,
    pub dirs_listed: usize,
    /// C files taken from the cache without being read, and those read.
    pub files_hit: usize,
    pub files_read: usize,
    /// The cache file was (re)written.
    pub written: bool,
    /// Reading and decoding the cache, and encoding and writing the new one.
    pub read_took: std::time::Duration,
    pub write_took: std::time::Duration,
    /// What the watcher serving the cache directory said: None when none
    /// answered; Some(None) when it could not say what changed; Some(n):
    /// n paths changed.
    pub watcher: Option<Option<usize>>,
    pub memo: MemoUse,
}

/// One scan's use of a cache directory: the cache read before the walk,
/// the one the walk builds, written after it; the memo likewise.
pub struct Run {
    dir: PathBuf,
    root: PathBuf,
    ident: Vec<u8>,
    root_id: Vec<u8>,
    /// The old cache's header, read at [`Run::open`]; the rest is read
    /// when needed.
    old_head: Option<Head>,
    old: Option<Cache>,
    /// Keys at or after this (ns since the epoch) are racy.
    since: i64,
    new: Option<Cache>,
    changed: bool,
    /// What the stages after the walk must be to reuse a memo: None, no
    /// memo is kept for these options.
    memo_ident: Option<Vec<u8>>,
    /// The `.config`'s hash when the run opened ([`memo::ident`]).
    memo_config_hash: Option<String>,
    old_memo: Option<memo::Memo>,
    /// The memo to write at [`Run::finish`].
    new_memo: Option<memo::Memo>,
    /// The watcher's token when this scan began, when one answered.
    token: Option<Token>,
    /// The walk handed on something the old cache would not have.
    differs: bool,
    links: Vec<String>,
    pub report: Report,
}

impl Run {
    /// Reads the cache and the memo in `dir` for a scan with `opts`; one
    /// that cannot be used is a warning in the report, the scan going on
    /// without it.
    pub fn open(dir: &Path, opts: &ScanOptions) -> Run {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let ident = identity(opts);
        let (memo_ident, memo_config_hash) = match memo::ident(&ident, opts) {
            Some((i, h)) => (Some(i), h),
            None => (None, None),
        };
        let mut run = Run {
            dir: dir.to_path_buf(),
            root: opts.root.clone(),
            memo_ident,
            memo_config_hash,
            ident,
            root_id: root_identity(&opts.root),
            old_head: None,
            old: None,
            since: now.saturating_sub(SCAN_CACHE_RACY_WINDOW_NS),
            new: None,
            changed: true,
            old_memo: None,
            new_memo: None,
            token: None,
            differs: true,
            links: Vec::new(),
            report: Report::default(),
        };
        let path = run.file();
        let t = std::time::Instant::now();
        // the header only: the rest (10 MB for 6.12) is read, checked and
        // decoded when the walk needs it, which a scan the memo answers
        // with the watcher's word does not; a header that does not fit in
        // the first bytes is read whole
        let found = read_start(&path, CACHE_HEAD_READ).and_then(|b| {
            match decode_head(&b, &run.ident, &run.root_id) {
                Err(e) if e == "truncated" && b.len() as u64 == CACHE_HEAD_READ => {
                    decode_head(&read(&path)?, &run.ident, &run.root_id)
                }
                other => other,
            }
        });
        match found {
            Ok(Some(head)) => {
                run.old_head = Some(head);
                run.report.used = true;
            }
            Ok(None) => {}
            Err(why) => run
                .report
                .warnings
                .push(CacheWarning::Ignored { path, why }),
        }
        if let (Some(ident), Some(_)) = (&run.memo_ident, run.old_head) {
            let path = run.dir.join(memo::FILE_NAME);
            match read(&path).and_then(|b| match b.is_empty() {
                true => Ok(None),
                false => memo::Memo::decode(&b, ident),
            }) {
                Ok(m) => run.old_memo = m,
                Err(why) => run
                    .report
                    .warnings
                    .push(CacheWarning::Ignored { path, why }),
            }
        }
        run.report.read_took = t.elapsed();
        run
    }

    fn file(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The old memo, when it agrees with the old cache.
    fn usable_memo(&self) -> Option<&memo::Memo> {
        let m = self.old_memo.as_ref()?;
        (Some(m.cache_id) == self.old_head.map(|h| h.id)).then_some(m)
    }

    /// Asks the watcher serving the cache directory, if one does, what
    /// changed since `since`; remembers the token it gives as this scan's.
    /// None: no watcher, or it could not say (every path is checked).
    fn ask_watcher(&mut self, since: Option<Token>) -> Option<Vec<Vec<u8>>> {
        match watcher::ask(&self.dir, &self.root, since) {
            watcher::Asked::NoWatcher => {
                self.report.watcher = None;
                None
            }
            watcher::Asked::Failed(why) => {
                self.report.warnings.push(CacheWarning::Watcher {
                    path: self.dir.clone(),
                    why,
                });
                None
            }
            watcher::Asked::Answer { now, changes } => {
                self.token = Some(now);
                self.report.watcher = Some(changes.as_ref().map(Vec::len));
                changes
            }
        }
    }

    /// The manifest of the last scan, when a watcher vouches that nothing
    /// it depends on changed since (or only files that still make what they
    /// made), and the files the later stages read have their keys: the
    /// whole scan is then this, and the cache is not decoded. None: the
    /// scan runs (its walk asks the watcher again, since the cache's token).
    pub fn quick(
        &mut self,
        exclude: &GlobSet,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: &(dyn Fn(&str, &[u8]) -> FileRecords + Sync),
    ) -> Option<Manifest> {
        let token = self.usable_memo()?.token?;
        let changes = self.ask_watcher(Some(token))?;
        if changes.len() > MAX_QUICK_CHANGES {
            return None;
        }
        if !self.usable_memo()?.reads_hold(&self.root, self.since) {
            return None;
        }
        if !changes.is_empty() && !self.changes_are_idle(&changes, exclude, progress, on_match) {
            return None;
        }
        self.answer_from_memo(MemoUse::Quick)
    }

    /// Whether the paths the watcher saw change leave what the walk hands
    /// on as the cache has it: every listing among them lists the same
    /// entries, every C file among them makes what it made: passed over
    /// with the same definitions, or parsed into the same records (a link,
    /// a file the cache has no result for: no).
    fn changes_are_idle(
        &self,
        changes: &[Vec<u8>],
        exclude: &GlobSet,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: &(dyn Fn(&str, &[u8]) -> FileRecords + Sync),
    ) -> bool {
        let parent = |p: &[u8]| -> Vec<u8> {
            p.iter()
                .rposition(|&b| b == b'/')
                .map_or(Vec::new(), |i| p[..i].to_vec())
        };
        let wanted: std::collections::HashSet<Vec<u8>> = changes
            .iter()
            .flat_map(|p| [p.clone(), parent(p)])
            .collect();
        let Ok(Some(part)) = read(&self.file())
            .and_then(|b| decode_some(&b, &self.ident, &self.root_id, &|d| wanted.contains(d)))
        else {
            // read again by the walk, which says what is wrong with it
            return false;
        };
        if Some(part.head) != self.old_head {
            return false;
        }
        let collector = Collector::new(progress, on_match);
        let mut local = collector.thread();
        let ctx = Ctx {
            root: &self.root,
            exclude,
            old: Some(&part),
            since: self.since,
            seen_changes: None,
        };
        for p in changes {
            let hidden = p.split(|&b| b == b'/').any(|c| c.starts_with(b"."));
            let abs = if p.is_empty() {
                self.root.clone()
            } else {
                self.root.join(OsStr::from_bytes(p))
            };
            if hidden || (!exclude.is_empty() && exclude.is_match(walk::rel_path(&self.root, &abs)))
            {
                continue;
            }
            if let Some(d) = part.dirs.get(p) {
                match list(&ctx, &mut local, &abs, Some(d)) {
                    Some((entries, true)) if same_listing(&d.entries, &entries) => continue,
                    _ => return false,
                }
            }
            let name = p.rsplit(|&b| b == b'/').next().unwrap_or_default();
            let Some(dir) = part.dirs.get(&parent(p)) else {
                // below no directory the cache lists: an excluded or hidden
                // one's, or a new one's, named itself among the changes
                if std::fs::symlink_metadata(&abs).is_ok_and(|m| m.is_dir()) {
                    return false;
                }
                continue;
            };
            let Some(entry) = dir.entries.iter().find(|e| &e.name[..] == name) else {
                // not an entry the walk takes (no C file): a new one shows
                // in its directory's listing, also among the changes
                continue;
            };
            let Kind::File(Some(hit)) = &entry.kind else {
                return false;
            };
            let rel = walk::rel_path(&self.root, &abs);
            let loaded = walk::load(&abs, local.buf());
            let made = match local.sift_loaded(&rel, loaded) {
                Some(Sift::Passed(defs)) => Some(Made::Passed(Arc::from(defs))),
                Some(Sift::Kept(records)) => serde_json::to_vec(&records)
                    .ok()
                    .map(|j| Made::Kept(Arc::from(j))),
                None => None,
            };
            if made.as_ref() != Some(&hit.made) {
                return false;
            }
        }
        true
    }

    /// Walks the directory `root` as [`walk::walk`] does, taking what it
    /// can from the cache and building the next one.
    pub fn walk(
        &mut self,
        root: &Path,
        exclude: &GlobSet,
        threads: usize,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: &(dyn Fn(&str, &[u8]) -> FileRecords + Sync),
    ) -> WalkOutput<(String, FileRecords)> {
        let t = std::time::Instant::now();
        if self.old_head.is_some() && self.old.is_none() {
            let path = self.file();
            match read(&path).and_then(|b| decode(&b, &self.ident, &self.root_id)) {
                // another scan's, written since the header was read: its
                // own header is the one that counts
                Ok(Some(c)) => {
                    self.old_head = Some(c.head);
                    self.old = Some(c);
                }
                Ok(None) => self.old_head = None,
                Err(why) => {
                    self.old_head = None;
                    self.report.used = false;
                    self.report
                        .warnings
                        .push(CacheWarning::Ignored { path, why });
                }
            }
        }
        self.report.read_took += t.elapsed();
        // what the watcher saw change since the old cache's walk began
        let cache_token = self.old.as_ref().and_then(|c| c.head.token);
        // asked again when the memo's question was asked already: its
        // token may be another, and this one must be taken before the walk
        let seen = self.ask_watcher(cache_token);
        let seen: Option<std::collections::HashSet<Vec<u8>>> = match cache_token {
            Some(_) => seen.map(|v| v.into_iter().collect()),
            None => None,
        };
        let collector = Collector::new(progress, on_match);
        let ctx = Ctx {
            root,
            exclude,
            old: self.old.as_ref(),
            since: self.since,
            seen_changes: seen.as_ref(),
        };
        let queue = Queue::new((root.to_path_buf(), Vec::new()));
        let done = Mutex::new((Vec::new(), Stats::default()));
        let work = || {
            let mut local = collector.thread();
            let mut recs = Vec::new();
            let mut stats = Stats::default();
            while let Some(task) = queue.next() {
                let _done = Finished(&queue);
                let kids = visit_dir(&ctx, &mut local, &task.0, &task.1, &mut recs, &mut stats);
                queue.push(kids);
            }
            let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
            d.0.extend(recs);
            d.1.add(stats);
        };
        std::thread::scope(|s| {
            // this thread is one of them: a thread that cannot be started
            // leaves the work to the others, never to no one
            for _ in 1..threads.max(1) {
                let _ = std::thread::Builder::new().spawn_scoped(s, work);
            }
            work();
        });
        let (recs, stats) = done.into_inner().unwrap_or_else(|p| p.into_inner());
        self.report.dirs_trusted = stats.dirs_trusted;
        self.report.dirs_listed = stats.dirs_listed;
        self.report.files_hit = stats.files_hit;
        self.report.files_read = stats.files_read;
        self.differs = self.old.is_none() || stats.differs;
        self.links = stats.links;
        // the token of a new watcher (or the first one) is worth a write:
        // the next scan can then ask it; a later token of the same watcher
        // is not (what changed since the old one includes what changed
        // since the new)
        let new_watcher = match (cache_token, self.token) {
            (Some(c), Some(n)) => c.generation != n.generation,
            (None, Some(_)) => true,
            _ => false,
        };
        self.changed = self.old.is_none() || stats.changed || new_watcher;
        self.new = Some(Cache {
            head: Head {
                id: fresh_id(),
                token: self.token,
            },
            dirs: recs.into_iter().collect(),
        });
        collector.finish()
    }

    /// The last scan's manifest, when this walk handed on what the cache
    /// would have and the files the later stages read are as they were:
    /// those stages need not run.
    pub fn reuse(&mut self) -> Option<Manifest> {
        if self.differs {
            return None;
        }
        if !self.usable_memo()?.reads_hold(&self.root, self.since) {
            return None;
        }
        self.answer_from_memo(MemoUse::Walked)
    }

    /// The usable memo's manifest as this scan's (read back through the
    /// manifest reader), the memo kept as confirmed at this scan's token.
    fn answer_from_memo(&mut self, how: MemoUse) -> Option<Manifest> {
        let memo = self.usable_memo()?;
        let manifest = Manifest::from_json(std::str::from_utf8(&memo.manifest).ok()?).ok()?;
        let mut confirmed = memo.clone();
        confirmed.token = self.token;
        self.new_memo = Some(confirmed);
        self.report.memo = how;
        Some(manifest)
    }

    /// The manifest the later stages made, with the files they read
    /// (tree-relative), to be the memo of the cache this walk writes.
    pub fn remember(&mut self, manifest: &Manifest, mut reads: Vec<String>) {
        let Some(ident) = self.memo_ident.clone() else {
            return;
        };
        // made from the `.config` whose bytes the ident holds, or no memo
        let used = manifest.build.as_ref().map(|b| b.config_hash.as_str());
        if used != self.memo_config_hash.as_deref() {
            return;
        }
        reads.extend(self.links.iter().cloned());
        reads.sort();
        reads.dedup();
        let mut keyed = Vec::with_capacity(reads.len());
        for rel in reads {
            let key = memo::key_of(&self.root, &rel);
            if key.is_some_and(|k| k.racy(self.since)) {
                // changed too near the scan to be trusted next time
                self.new_memo = None;
                return;
            }
            keyed.push((rel, key));
        }
        self.new_memo = Some(memo::Memo {
            ident,
            cache_id: 0,
            token: self.token,
            reads: keyed,
            manifest: manifest.to_json().into_bytes(),
        });
    }

    /// Writes the cache the walk built, when something changed, and the
    /// memo; one that cannot be written is a warning. Returns the report.
    pub fn finish(mut self) -> Report {
        let cache_id = match self.new.take() {
            Some(new) if self.changed => {
                let id = new.head.id;
                self.write_cache(new).then_some(id)
            }
            _ => self.old_head.map(|h| h.id),
        };
        let memo_path = self.dir.join(memo::FILE_NAME);
        match (self.new_memo.take(), cache_id) {
            (Some(mut m), Some(id)) => {
                m.cache_id = id;
                if let Err(e) = write_atomically(&self.dir, &memo_path, &m.encode()) {
                    self.report.warnings.push(CacheWarning::NotWritten {
                        path: memo_path,
                        why: e.to_string(),
                    });
                }
            }
            // an old memo would not agree with the cache written: removed
            // (a memo naming another cache's id is never used anyway)
            _ => {
                let _ = std::fs::remove_file(&memo_path);
            }
        }
        self.report
    }

    /// Writes `new`; false (and a warning) when it cannot be.
    fn write_cache(&mut self, new: Cache) -> bool {
        let path = self.file();
        let t = std::time::Instant::now();
        let entries: usize = new.dirs.values().map(|d| 1 + d.entries.len()).sum();
        if entries > MAX_SCAN_CACHE_ENTRIES {
            self.report.warnings.push(CacheWarning::NotWritten {
                path,
                why: format!("{entries} entries, over the {MAX_SCAN_CACHE_ENTRIES} entry bound"),
            });
            return false;
        }
        let bytes = encode(&new, &self.ident, &self.root_id);
        if bytes.len() as u64 > MAX_SCAN_CACHE_SIZE {
            self.report.warnings.push(CacheWarning::NotWritten {
                path,
                why: format!(
                    "{} bytes, over the {MAX_SCAN_CACHE_SIZE} byte bound",
                    bytes.len()
                ),
            });
            return false;
        }
        let ok = match write_atomically(&self.dir, &path, &bytes) {
            Ok(()) => true,
            Err(e) => {
                self.report.warnings.push(CacheWarning::NotWritten {
                    path,
                    why: e.to_string(),
                });
                false
            }
        };
        self.report.written = ok;
        self.report.write_took = t.elapsed();
        ok
    }
}

/// A cache's id: the time and the process, mixed (two scans writing in the
/// same nanosecond are two processes).
fn fresh_id() -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.write_u32(std::process::id());
    h.finish()
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".scan.cache.")
        .tempfile_in(dir)?;
    // not synced: a cache lost or torn by a crash fails its checksum and
    // is rebuilt, and an fsync of 10 MB cost more than the rest of a
    // rescan after a one-file change
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The cache file's bytes; Ok(empty) when there is none (a first scan).
fn read(path: &Path) -> Result<Vec<u8>, String> {
    read_start(path, MAX_SCAN_CACHE_SIZE)
}

/// The file at `path`, whole, when it is a regular file of at most `max`
/// bytes (see [`open_regular`]).
fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let (f, len) = open_regular(path, max)?;
    read_up_to(f, len, max, max)
}

/// `path` opened for reading when it is a regular file of at most `max`
/// bytes, with its length. Opened without blocking: a FIFO in its place
/// would otherwise wait for a writer for ever. A refusal is an error of
/// kind `Other` whose message says why.
fn open_regular(path: &Path, max: u64) -> std::io::Result<(std::fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let md = f.metadata()?;
    if !md.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if md.len() > max {
        return Err(over(md.len(), max));
    }
    Ok((f, md.len()))
}

/// The first `n` bytes of `f` (its length `len` when opened), refused when
/// it has grown past `max` since.
fn read_up_to(f: std::fs::File, len: u64, n: u64, max: u64) -> std::io::Result<Vec<u8>> {
    let mut b = Vec::with_capacity(len.min(n) as usize);
    f.take(n.min(max + 1)).read_to_end(&mut b)?;
    if b.len() as u64 > max {
        return Err(over(b.len() as u64, max));
    }
    Ok(b)
}

fn over(len: u64, max: u64) -> std::io::Error {
    std::io::Error::other(format!("{len} bytes, over the {max} byte bound"))
}

/// What must be the same for a cache to be used, but the tree: the
/// program, the format and the options that change what the walk makes
/// of a file.
fn identity(opts: &ScanOptions) -> Vec<u8> {
    let mut w = Vec::new();
    put_bytes(&mut w, env!("CARGO_PKG_VERSION").as_bytes());
    // the binary itself: a rebuilt program (a changed prefilter) is
    // another program, whatever its version says
    match std::env::current_exe().and_then(std::fs::metadata) {
        Ok(md) => put_key(&mut w, &Key::of(&md)),
        Err(_) => w.push(0),
    }
    put_u32(&mut w, opts.exclude.len() as u32);
    for g in &opts.exclude {
        put_bytes(&mut w, g.as_bytes());
    }
    put_u32(&mut w, opts.extra_implicit_types.len() as u32);
    for t in &opts.extra_implicit_types {
        put_bytes(&mut w, t.as_bytes());
    }
    match &opts.queries_dir {
        None => w.push(0),
        Some(q) => {
            w.push(1);
            put_bytes(&mut w, q.as_os_str().as_bytes());
            // the query files' keys: an edited query is another scan
            let mut files: Vec<(Vec<u8>, Option<Key>)> = std::fs::read_dir(q)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| {
                            let key = std::fs::metadata(e.path()).ok().map(|m| Key::of(&m));
                            (e.file_name().as_bytes().to_vec(), key)
                        })
                        .collect()
                })
                .unwrap_or_default();
            files.sort_by(|a, b| a.0.cmp(&b.0));
            put_u32(&mut w, files.len() as u32);
            for (name, key) in files {
                put_bytes(&mut w, &name);
                match key {
                    Some(k) => put_key(&mut w, &k),
                    None => w.push(0),
                }
            }
        }
    }
    w
}

/// The tree: its path, made absolute, and the root directory's inode.
fn root_identity(root: &Path) -> Vec<u8> {
    let mut w = Vec::new();
    let abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    put_bytes(&mut w, abs.as_os_str().as_bytes());
    match std::fs::metadata(root) {
        Ok(md) => {
            put_u64(&mut w, md.ino());
            put_u64(&mut w, md.dev());
        }
        Err(_) => w.push(0),
    }
    w
}

// ---------------------------------------------------------------- format
//
// MAGIC, u32 FORMAT_VERSION, bytes identity, bytes root identity, u64 id,
// token (u8 0, or u8 1 and u64 generation and u64 seq), u32
// directories, each: bytes path, key, u8 listed, u32 entries, each: bytes
// name, u8 kind (0 directory, 1 link, 2 file not cached, 3 file kept, 4
// file passed over), then for 3 and 4 the key, for 3 bytes (the file's
// records as JSON), and for 4 u32 n and n u64 name hashes. Then a u64 checksum of all that. Integers little-endian,
// `bytes` a u32 length and the bytes; a key is five u64 (size, mtime,
// ctime, inode, device).

fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_le_bytes());
}
fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}
fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_u32(w, b.len() as u32);
    w.extend_from_slice(b);
}
fn put_key(w: &mut Vec<u8>, k: &Key) {
    for v in [k.size, k.mtime as u64, k.ctime as u64, k.ino, k.dev] {
        put_u64(w, v);
    }
}

/// A fast checksum (not a defence against a forger, who could as well
/// write a consistent cache: the keys are what the cache trusts, and they
/// only decide whether a file is read again) against damage and truncation.
fn checksum(b: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(b);
    h.write_usize(b.len());
    h.finish()
}

fn put_token(w: &mut Vec<u8>, t: Option<Token>) {
    match t {
        None => w.push(0),
        Some(t) => {
            w.push(1);
            put_u64(w, t.generation);
            put_u64(w, t.seq);
        }
    }
}

fn encode(c: &Cache, ident: &[u8], root_id: &[u8]) -> Vec<u8> {
    let mut w = Vec::with_capacity(1 << 20);
    w.extend_from_slice(MAGIC);
    put_u32(&mut w, FORMAT_VERSION);
    put_bytes(&mut w, ident);
    put_bytes(&mut w, root_id);
    put_u64(&mut w, c.head.id);
    put_token(&mut w, c.head.token);
    let mut dirs: Vec<(&Vec<u8>, &DirRec)> = c.dirs.iter().collect();
    dirs.sort_by(|a, b| a.0.cmp(b.0));
    put_u32(&mut w, dirs.len() as u32);
    for (path, d) in dirs {
        put_bytes(&mut w, path);
        put_key(&mut w, &d.key);
        w.push(d.listed as u8);
        put_u32(&mut w, d.entries.len() as u32);
        for e in &d.entries {
            put_bytes(&mut w, &e.name);
            match &e.kind {
                Kind::Dir => w.push(0),
                Kind::Link => w.push(1),
                Kind::File(None) => w.push(2),
                Kind::File(Some(h)) => match &h.made {
                    Made::Kept(json) => {
                        w.push(3);
                        put_key(&mut w, &h.key);
                        put_bytes(&mut w, json);
                    }
                    Made::Passed(defs) => {
                        w.push(4);
                        put_key(&mut w, &h.key);
                        put_u32(&mut w, defs.len() as u32);
                        for &d in defs.iter() {
                            put_u64(&mut w, d);
                        }
                    }
                },
            }
        }
    }
    let sum = checksum(&w);
    put_u64(&mut w, sum);
    w
}

/// Reads a cache, checking every length against what is left.
struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.b.len() {
            return Err("truncated".into());
        }
        let (x, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(x)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// A count of items of at least `each` bytes: no more than what is
    /// left can hold (what bounds the allocations).
    fn count(&mut self, each: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(each) > self.b.len() {
            return Err(format!("a count of {n} past the end of the file"));
        }
        Ok(n)
    }
    fn token(&mut self) -> Result<Option<Token>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(Token {
                generation: self.u64()?,
                seq: self.u64()?,
            })),
            x => Err(format!("a token flag of {x}")),
        }
    }
    fn key(&mut self) -> Result<Key, String> {
        Ok(Key {
            size: self.u64()?,
            mtime: self.u64()? as i64,
            ctime: self.u64()? as i64,
            ino: self.u64()?,
            dev: self.u64()?,
        })
    }
}

/// The cache in `b`: None when there is none (empty) or it was made by
/// another program, format or options (rebuilt quietly); an error when it
/// is damaged or made for another tree.
fn decode(b: &[u8], ident: &[u8], root_id: &[u8]) -> Result<Option<Cache>, String> {
    decode_some(b, ident, root_id, &|_| true)
}

/// What follows the format version: the identity, the tree, the id and the
/// token; None when made by another program or options.
fn parse_head(r: &mut Rd, ident: &[u8], root_id: &[u8]) -> Result<Option<Head>, String> {
    if r.bytes()? != ident {
        return Ok(None);
    }
    let root = r.bytes()?;
    if root != root_id {
        let mut rr = Rd { b: root };
        let named = rr.bytes().map(term::escape_bytes).unwrap_or_default();
        return Err(format!("made for another tree ({named})"));
    }
    Ok(Some(Head {
        id: r.u64()?,
        token: r.token()?,
    }))
}

/// The header of the cache whose first bytes are `b`, unchecked by the
/// checksum (which needs the whole file): it only decides whether the rest
/// is worth reading, and which memo goes with it. None: no cache, or
/// another program's, format's or options'.
fn decode_head(b: &[u8], ident: &[u8], root_id: &[u8]) -> Result<Option<Head>, String> {
    match versioned(b)? {
        Some(mut r) => parse_head(&mut r, ident, root_id),
        None => Ok(None),
    }
}

/// A reader of `b` past its magic and format version; None when empty (no
/// cache) or of another format (rebuilt quietly).
fn versioned(b: &[u8]) -> Result<Option<Rd<'_>>, String> {
    if b.is_empty() {
        return Ok(None);
    }
    if !b.starts_with(MAGIC) {
        return Err("not a kfunc-scan cache".into());
    }
    let mut r = Rd {
        b: &b[MAGIC.len()..],
    };
    if r.u32()? != FORMAT_VERSION {
        return Ok(None);
    }
    Ok(Some(r))
}

/// The first `n` bytes of the cache at `path` (fewer when it is shorter;
/// all of it for `n` = [`MAX_SCAN_CACHE_SIZE`]); empty when there is none.
/// The size bound is said at once, not when the rest is read; a FIFO or
/// another file that is not regular is refused, never waited on.
fn read_start(path: &Path, n: u64) -> Result<Vec<u8>, String> {
    let said = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::Other => e.to_string(),
        _ => format!("cannot read: {e}"),
    };
    match open_regular(path, MAX_SCAN_CACHE_SIZE) {
        Ok((f, len)) => read_up_to(f, len, n, MAX_SCAN_CACHE_SIZE).map_err(said),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(said(e)),
    }
}

/// [`decode`], keeping only the directories `want` names (all are checked).
fn decode_some(
    b: &[u8],
    ident: &[u8],
    root_id: &[u8],
    want: &dyn Fn(&[u8]) -> bool,
) -> Result<Option<Cache>, String> {
    let Some(mut r) = versioned(b)? else {
        return Ok(None);
    };
    let Some(body_len) = b.len().checked_sub(8) else {
        return Err("truncated".into());
    };
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&b[body_len..]);
    if body_len < MAGIC.len() + 4 || checksum(&b[..body_len]) != u64::from_le_bytes(sum) {
        return Err("damaged or truncated (its checksum does not match)".into());
    }
    r.b = &b[MAGIC.len() + 4..body_len];
    let Some(head) = parse_head(&mut r, ident, root_id)? else {
        return Ok(None);
    };
    // a directory is at least its path's length, key, flag and count
    let n = r.count(4 + 40 + 1 + 4)?;
    let mut entries_left = MAX_SCAN_CACHE_ENTRIES;
    let mut bound = |k: usize| {
        entries_left = entries_left
            .checked_sub(k)
            .ok_or_else(|| format!("over {MAX_SCAN_CACHE_ENTRIES} entries (the bound)"))?;
        Ok::<(), String>(())
    };
    bound(n)?;
    let mut dirs = HashMap::with_capacity(n);
    for _ in 0..n {
        let path = r.bytes()?.to_vec();
        let key = r.key()?;
        let listed = match r.u8()? {
            0 => false,
            1 => true,
            x => return Err(format!("a listing flag of {x}")),
        };
        let m = r.count(4 + 1)?;
        bound(m)?;
        let mut entries = Vec::with_capacity(m);
        for _ in 0..m {
            let name = r.bytes()?;
            if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
                return Err("an entry name that is no file name".into());
            }
            let kind = match r.u8()? {
                0 => Kind::Dir,
                1 => Kind::Link,
                2 => Kind::File(None),
                3 => {
                    let key = r.key()?;
                    let made = Made::Kept(Arc::from(r.bytes()?));
                    Kind::File(Some(Hit { key, made }))
                }
                4 => {
                    let key = r.key()?;
                    let d = r.count(8)?;
                    let mut v = Vec::with_capacity(d);
                    for _ in 0..d {
                        v.push(r.u64()?);
                    }
                    let made = Made::Passed(Arc::from(v));
                    Kind::File(Some(Hit { key, made }))
                }
                x => return Err(format!("an entry kind of {x}")),
            };
            entries.push(Entry {
                name: Arc::from(name),
                kind,
            });
        }
        if !want(&path) {
            continue;
        }
        if dirs
            .insert(
                path,
                DirRec {
                    key,
                    listed,
                    entries,
                },
            )
            .is_some()
        {
            return Err("a directory listed twice".into());
        }
    }
    if !r.b.is_empty() {
        return Err("bytes past its end".into());
    }
    Ok(Some(Cache { head, dirs }))
}

// ------------------------------------------------------------------ walk

/// What every walker thread reads.
struct Ctx<'a> {
    root: &'a Path,
    exclude: &'a GlobSet,
    old: Option<&'a Cache>,
    since: i64,
    /// The paths a watcher saw change since the old cache's walk began:
    /// every other is as the cache has it. None: no watcher vouches.
    seen_changes: Option<&'a std::collections::HashSet<Vec<u8>>>,
}

#[derive(Default)]
struct Stats {
    dirs_trusted: usize,
    dirs_listed: usize,
    files_hit: usize,
    files_read: usize,
    /// Something differs from the old cache: the new one is to be written.
    changed: bool,
    /// What the walk hands on differs from what the old cache would have
    /// handed on (a listing with other entries, a file read to another
    /// result, or one not in the old cache): what came after the walk last
    /// time ([`memo`]) cannot be reused.
    differs: bool,
    /// The links the walk met (tree-relative): followed each time, and
    /// their targets may lie outside the tree, so the memo keeps their
    /// targets' keys.
    links: Vec<String>,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.dirs_trusted += o.dirs_trusted;
        self.dirs_listed += o.dirs_listed;
        self.files_hit += o.files_hit;
        self.files_read += o.files_read;
        self.changed |= o.changed;
        self.differs |= o.differs;
        self.links.extend(o.links);
    }
}

/// A directory to visit: its path, and its path below the root as bytes.
type Task = (PathBuf, Vec<u8>);

/// The directories left to visit, and how many are being visited: the
/// walk ends when both are none.
struct Queue {
    state: Mutex<(Vec<Task>, usize)>,
    cv: Condvar,
}

impl Queue {
    fn new(first: Task) -> Queue {
        Queue {
            state: Mutex::new((vec![first], 0)),
            cv: Condvar::new(),
        }
    }

    fn next(&self) -> Option<Task> {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(t) = g.0.pop() {
                g.1 += 1;
                return Some(t);
            }
            if g.1 == 0 {
                return None;
            }
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn push(&self, tasks: Vec<Task>) {
        if tasks.is_empty() {
            return;
        }
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        g.0.extend(tasks);
        self.cv.notify_all();
    }
}

/// A directory visited (dropped even when its visit panics, so that the
/// other threads do not wait for it for ever).
struct Finished<'q>(&'q Queue);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        let mut g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        g.1 = g.1.saturating_sub(1);
        if g.1 == 0 && g.0.is_empty() {
            self.0.cv.notify_all();
        }
    }
}

/// Visits the directory `abs` (`rel` below the root): its listing from the
/// cache when the watcher saw no change to it, or when its key is the
/// cached one, else read; its C files likewise. Returns the directories
/// below it to visit.
fn visit_dir(
    ctx: &Ctx,
    local: &mut Local<'_, FileRecords>,
    abs: &Path,
    rel: &[u8],
    recs: &mut Vec<(Vec<u8>, DirRec)>,
    stats: &mut Stats,
) -> Vec<Task> {
    let old = ctx.old.and_then(|c| c.dirs.get(rel));
    // the watcher vouches for a listing it saw no change to: no open, no stat
    let watched = |path: &[u8]| ctx.seen_changes.is_some_and(|w| !w.contains(path));
    let vouched = old.is_some_and(|o| o.listed) && watched(rel);
    // the root is followed if it is a link, as the walker does
    let mut fd = None;
    let key = match old {
        Some(o) if vouched => Some(o.key),
        _ => {
            fd = open_dir(abs, rel.is_empty()).ok();
            fd.as_ref()
                .and_then(|f| f.metadata().ok())
                .map(|m| Key::of(&m))
        }
    };
    let trusted = match (key, old) {
        (Some(k), Some(o)) => o.listed && o.key == k,
        _ => false,
    };
    let (entries, listed) = if trusted {
        stats.dirs_trusted += 1;
        (old.map(|o| o.entries.clone()).unwrap_or_default(), true)
    } else {
        stats.dirs_listed += 1;
        stats.changed = true;
        match list(ctx, local, abs, old) {
            Some((entries, whole)) => {
                if !old.is_some_and(|o| same_listing(&o.entries, &entries)) || !whole {
                    stats.differs = true;
                }
                (entries, whole)
            }
            None => {
                stats.differs = true;
                return Vec::new();
            }
        }
    };
    let mut kids = Vec::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let full = abs.join(OsStr::from_bytes(&e.name));
        let kind = match e.kind {
            Kind::Dir => {
                kids.push((full, child(rel, &e.name)));
                Kind::Dir
            }
            Kind::Link => {
                visit_link(ctx, local, &full, stats);
                Kind::Link
            }
            Kind::File(hit) => {
                let key = match &hit {
                    // a file the watcher saw no change to, in a listing it
                    // vouches for, has the key it had
                    Some(h) if vouched && watched(&child(rel, &e.name)) => Some(h.key),
                    _ => {
                        if fd.is_none() {
                            fd = open_dir(abs, rel.is_empty()).ok();
                        }
                        fd.as_ref().and_then(|d| file_key(d, &e.name))
                    }
                };
                Kind::File(visit_file(ctx, local, &full, key, hit, stats))
            }
        };
        out.push(Entry { name: e.name, kind });
    }
    if let Some(key) = key {
        recs.push((
            rel.to_vec(),
            DirRec {
                key,
                listed: listed && !key.racy(ctx.since),
                entries: out,
            },
        ));
    }
    kids
}

/// The path of the entry `name` of the directory `rel` (both below the root).
fn child(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(rel.len() + 1 + name.len());
    if !rel.is_empty() {
        r.extend_from_slice(rel);
        r.push(b'/');
    }
    r.extend_from_slice(name);
    r
}

/// Whether two listings hand the walk the same entries (names and kinds;
/// what the files were made into is compared as they are read).
fn same_listing(a: &[Entry], b: &[Entry]) -> bool {
    let kind = |k: &Kind| match k {
        Kind::Dir => 0,
        Kind::Link => 1,
        Kind::File(_) => 2,
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.name == y.name && kind(&x.kind) == kind(&y.kind))
}

/// The directory `abs`, opened to stat its files by name: looking each
/// one up by its whole path from the root was most of a rescan's time on
/// 6.12 (60,000 paths 5 to 8 components deep). A link is not followed,
/// but for the root (`follow`), which the walker follows too.
fn open_dir(abs: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | nofollow)
        .open(abs)
}

/// The key of the entry `name` of the directory `dir` when it is a regular
/// file (a link is not followed); None when it is not, or is gone.
fn file_key(dir: &std::fs::File, name: &[u8]) -> Option<Key> {
    use rustix::fs::{statat, AtFlags, FileType};
    let c = std::ffi::CString::new(name).ok()?;
    let st = statat(dir, c.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).ok()?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return None;
    }
    // nanoseconds are below 10^9 (unsigned in the kernel's struct)
    Some(Key {
        size: st.st_size as u64,
        mtime: ns(st.st_mtime, st.st_mtime_nsec as i64),
        ctime: ns(st.st_ctime, st.st_ctime_nsec as i64),
        ino: st.st_ino,
        dev: st.st_dev,
    })
}

/// Reads the directory `abs`'s listing under the walk's rules (hidden
/// entries and excluded paths left out), with the cached results of its
/// files (`old`) where there are some. None when it cannot be read (an
/// error, as the walker reports it); the flag: whether it was read whole.
fn list(
    ctx: &Ctx,
    local: &mut Local<'_, FileRecords>,
    abs: &Path,
    old: Option<&DirRec>,
) -> Option<(Vec<Entry>, bool)> {
    let rel = || walk::rel_path(ctx.root, abs);
    let rd = match std::fs::read_dir(abs) {
        Ok(rd) => rd,
        Err(e) => {
            local.note(walk::walk_error(&rel(), e.to_string()));
            return None;
        }
    };
    let hits: HashMap<&[u8], &Hit> = old
        .map(|o| {
            o.entries
                .iter()
                .filter_map(|e| match &e.kind {
                    Kind::File(Some(h)) => Some((&e.name[..], h)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut whole = true;
    let mut entries = Vec::new();
    for ent in rd {
        let ent = match ent {
            Ok(e) => e,
            Err(e) => {
                local.note(walk::walk_error(&rel(), e.to_string()));
                whole = false;
                continue;
            }
        };
        let name = ent.file_name();
        let name = name.as_bytes();
        if name.starts_with(b".") {
            continue;
        }
        let full = abs.join(OsStr::from_bytes(name));
        if !ctx.exclude.is_empty() && ctx.exclude.is_match(walk::rel_path(ctx.root, &full)) {
            continue;
        }
        let Ok(ft) = ent.file_type() else {
            whole = false;
            continue;
        };
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            Kind::Link
        } else if ft.is_file() && walk::is_c_named(&full) {
            Kind::File(hits.get(name).map(|h| (*h).clone()))
        } else {
            continue;
        };
        entries.push(Entry {
            name: Arc::from(name),
            kind,
        });
    }
    Some((entries, whole))
}

/// A link, as the walker takes it: to a directory, a note; to a C file,
/// read; dangling and named as a C file, an error. Never cached.
fn visit_link(ctx: &Ctx, local: &mut Local<'_, FileRecords>, full: &Path, stats: &mut Stats) {
    let rel = walk::rel_path(ctx.root, full);
    // what it leads to (a C file, a directory, nothing) may change with no
    // change in the tree: the memo keeps its target's key
    stats.links.push(rel.clone());
    let is_file = match std::fs::metadata(full) {
        Ok(md) if md.is_dir() => {
            local.note(walk::link_not_followed(&rel));
            false
        }
        Ok(md) => md.is_file(),
        Err(e) => {
            if walk::is_c_named(full) {
                local.note(walk::dangling_link(&rel, &e));
            }
            false
        }
    };
    if is_file && walk::is_c_named(full) {
        if let Some(why) = walk::unusable_path(ctx.root, full, &rel) {
            local.note(walk::unusable_path_error(ctx.root, full, why));
            return;
        }
        let loaded = walk::load(full, local.buf());
        local.take(rel, loaded);
    }
}

/// A C file: from the cache when its key is the cached one; else read
/// (and parsed when kept). What to cache for it next time.
fn visit_file(
    ctx: &Ctx,
    local: &mut Local<'_, FileRecords>,
    full: &Path,
    key: Option<Key>,
    hit: Option<Hit>,
    stats: &mut Stats,
) -> Option<Hit> {
    let rel = walk::rel_path(ctx.root, full);
    if let Some(why) = walk::unusable_path(ctx.root, full, &rel) {
        local.note(walk::unusable_path_error(ctx.root, full, why));
        return None;
    }
    // `key` was taken before the read: a change during it shows next time
    if let (Some(k), Some(h)) = (key, &hit) {
        if h.key == k && !k.racy(ctx.since) {
            match &h.made {
                Made::Passed(defs) => {
                    stats.files_hit += 1;
                    local.unmatched(rel, defs);
                    return hit;
                }
                Made::Kept(json) => {
                    // records that do not decode are read again (the
                    // checksum makes that a forged cache's case only)
                    if let Ok(mut records) = serde_json::from_slice::<FileRecords>(json) {
                        stats.files_hit += 1;
                        records.path.clone_from(&rel);
                        local.matched(rel, records);
                        return hit;
                    }
                }
            }
        }
    }
    stats.changed = true;
    stats.files_read += 1;
    let loaded = walk::load(full, local.buf());
    let made = match local.take(rel, loaded) {
        Taken::Matched(records) => serde_json::to_vec(records)
            .ok()
            .map(|j| Made::Kept(Arc::from(j))),
        Taken::Unmatched(d) => Some(Made::Passed(Arc::from(d))),
        Taken::NotRead => None,
    };
    if made.is_none() || hit.map(|h| h.made) != made {
        stats.differs = true;
    }
    let (key, made) = (key?, made?);
    // read within the racy window: kept to compare the next read with,
    // never taken by its key
    let key = if key.racy(ctx.since) {
        Key::UNTRUSTED
    } else {
        key
    };
    Some(Hit { key, made })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cache {
        let key = Key {
            size: 1,
            mtime: 2,
            ctime: 3,
            ino: 4,
            dev: 5,
        };
        let mut dirs = HashMap::new();
        dirs.insert(
            b"net".to_vec(),
            DirRec {
                key,
                listed: true,
                entries: vec![
                    Entry {
                        name: Arc::from(&b"a.c"[..]),
                        kind: Kind::File(Some(Hit {
                            key,
                            made: Made::Passed(Arc::from(vec![7u64, 8])),
                        })),
                    },
                    Entry {
                        name: Arc::from(&b"b.c"[..]),
                        kind: Kind::File(Some(Hit {
                            key,
                            made: Made::Kept(Arc::from(&b"{}"[..])),
                        })),
                    },
                    Entry {
                        name: Arc::from(&b"core"[..]),
                        kind: Kind::Dir,
                    },
                ],
            },
        );
        Cache {
            head: Head {
                id: 11,
                token: Some(Token {
                    generation: 12,
                    seq: 13,
                }),
            },
            dirs,
        }
    }

    #[test]
    fn a_cache_reads_back_as_written() {
        let b = encode(&sample(), b"id", b"root");
        let c = decode(&b, b"id", b"root").unwrap().unwrap();
        assert_eq!(c.head, sample().head);
        let d = &c.dirs[&b"net".to_vec()];
        assert_eq!(d.entries.len(), 3);
        match &d.entries[0].kind {
            Kind::File(Some(Hit {
                made: Made::Passed(d),
                ..
            })) => assert_eq!(&d[..], &[7u64, 8][..]),
            k => panic!("{k:?}"),
        }
        // another program or options: quietly none
        assert!(decode(&b, b"other", b"root").unwrap().is_none());
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let b = encode(&sample(), b"id", b"root");
        for n in 0..b.len() {
            let r = decode(&b[..n], b"id", b"root");
            assert!(n == 0 || r.is_err(), "{n}: {r:?}");
        }
        for i in 0..b.len() {
            let mut x = b.clone();
            x[i] ^= 0x40;
            // the format version: another program's cache, rebuilt quietly
            let quiet = (8..12).contains(&i);
            let r = decode(&x, b"id", b"root");
            assert!(r.is_err() || (quiet && matches!(r, Ok(None))), "{i}: {r:?}");
        }
    }

    /// A cache of one directory listing `n` links (the smallest entries).
    fn links(n: usize) -> Vec<u8> {
        let key = Key {
            size: 0,
            mtime: 0,
            ctime: 0,
            ino: 0,
            dev: 0,
        };
        let entries = (0..n)
            .map(|i| Entry {
                name: Arc::from(format!("{i:x}").as_bytes()),
                kind: Kind::Link,
            })
            .collect();
        let mut dirs = HashMap::new();
        dirs.insert(
            Vec::new(),
            DirRec {
                key,
                listed: true,
                entries,
            },
        );
        encode(
            &Cache {
                head: Head::default(),
                dirs,
            },
            b"id",
            b"root",
        )
    }

    #[test]
    fn entries_at_the_bound_are_read_one_past_it_are_not() {
        // the directory itself is one entry
        let at = decode(&links(MAX_SCAN_CACHE_ENTRIES - 1), b"id", b"root");
        assert_eq!(
            at.unwrap().unwrap().dirs[&Vec::new()].entries.len(),
            MAX_SCAN_CACHE_ENTRIES - 1
        );
        let past = decode(&links(MAX_SCAN_CACHE_ENTRIES), b"id", b"root").unwrap_err();
        assert!(past.contains("over 1048576 entries (the bound)"), "{past}");
    }

    #[test]
    fn counts_past_the_end_are_refused_before_allocating() {
        let mut w = Vec::new();
        w.extend_from_slice(MAGIC);
        put_u32(&mut w, FORMAT_VERSION);
        put_bytes(&mut w, b"id");
        put_bytes(&mut w, b"root");
        put_u64(&mut w, 1);
        put_token(&mut w, None);
        put_u32(&mut w, u32::MAX);
        let sum = checksum(&w);
        put_u64(&mut w, sum);
        let e = decode(&w, b"id", b"root").unwrap_err();
        assert!(e.contains("past the end"), "{e}");
    }
}
