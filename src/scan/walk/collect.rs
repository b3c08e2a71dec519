//! What the walker threads share, whatever the tree is read from: the
//! [`Collector`], and each thread's part of it ([`Local`]), which
//! prefilters the files it is given, hands the kept ones to the callback and
//! gathers the results.

use super::prefilter::{needles, prefilter, Needles};
use super::{diag, Loaded, WalkOutput, MAX_FILE_SIZE};
use crate::manifest::{Diagnostic, Severity};
use crate::scan::Progress;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How often (in files read by one thread) the walk reports its progress.
const PROGRESS_EVERY: usize = 1024;

/// What every walker thread shares, whatever the tree is read from: the
/// prefilter, the callback, the counters and the results.
pub(crate) struct Collector<'a, T> {
    ac: Needles,
    on_match: &'a (dyn Fn(&str, &[u8]) -> T + Sync),
    progress: &'a (dyn Fn(&Progress) + Sync),
    files_read: AtomicUsize,
    files_parsed: AtomicUsize,
    out: Mutex<WalkOutput<(String, T)>>,
}

impl<'a, T> Collector<'a, T> {
    pub(crate) fn new(
        progress: &'a (dyn Fn(&Progress) + Sync),
        on_match: &'a (dyn Fn(&str, &[u8]) -> T + Sync),
    ) -> Self {
        Collector {
            ac: needles(),
            on_match,
            progress,
            files_read: AtomicUsize::new(0),
            files_parsed: AtomicUsize::new(0),
            out: Mutex::new(WalkOutput::new()),
        }
    }

    /// A walker thread's part; its results join the others when it drops.
    pub(crate) fn thread(&self) -> Local<'_, T> {
        Local {
            part: WalkOutput::new(),
            buf: Vec::with_capacity(1 << 20),
            defs: Vec::new(),
            shared: self,
        }
    }

    /// Everything the threads found, the matched files by path.
    pub(crate) fn finish(self) -> WalkOutput<(String, T)> {
        let mut o = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        o.matched.sort_by(|a, b| a.0.cmp(&b.0));
        o
    }
}

/// One walker thread's results, handed over when the thread ends.
pub(crate) struct Local<'a, T> {
    part: WalkOutput<(String, T)>,
    buf: Vec<u8>,
    /// The definitions found in the file being read.
    defs: Vec<u64>,
    shared: &'a Collector<'a, T>,
}

impl<T> Drop for Local<'_, T> {
    fn drop(&mut self) {
        // A poisoned lock means another walker thread panicked; its
        // results are lost either way, ours are still worth keeping.
        let mut o = self.shared.out.lock().unwrap_or_else(|p| p.into_inner());
        o.absorb(std::mem::replace(&mut self.part, WalkOutput::new()));
    }
}

/// What the prefilter made of a file [`Local::sift`] was given.
pub(crate) enum Sift<'l, T> {
    /// Kept: what the callback made of it.
    Kept(T),
    /// Passed over, defining these functions in kernel style ([`name_hash`]).
    Passed(&'l [u64]),
}

/// What the prefilter made of a file [`Local::take`] was given.
pub(crate) enum Taken<'l, T> {
    /// Kept: what the callback made of it.
    Matched(&'l T),
    /// Passed over, defining these functions in kernel style ([`name_hash`]).
    Unmatched(&'l [u64]),
    /// Not read (too large, or a read error): a diagnostic says why.
    NotRead,
}

impl<T> Local<'_, T> {
    /// The buffer the next file is read into.
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// A [`read_into`]-style outcome (the whole file in [`Local::buf`], or
    /// too large) as [`Local::take`] takes it.
    #[cfg_attr(not(feature = "git"), allow(dead_code))] // used by a git tree's walk
    pub(crate) fn read(&self, read: std::io::Result<bool>) -> std::io::Result<Option<Loaded>> {
        read.map(|whole| whole.then_some(Loaded::Read(self.buf.len())))
    }

    /// A diagnostic about the walk itself (a link not followed, …).
    pub(crate) fn note(&mut self, d: Diagnostic) {
        self.part.diagnostics.push(d);
    }

    /// Takes the file at `rel`, loaded with this outcome ([`load`]'s, or
    /// [`Local::read`]'s: read into [`Local::buf`], or mapped):
    /// prefiltered, then handed on when kept.
    pub(crate) fn take(
        &mut self,
        rel: String,
        loaded: std::io::Result<Option<Loaded>>,
    ) -> Taken<'_, T> {
        match loaded {
            Ok(Some(loaded)) => {
                let kept = self.prefilter_loaded(&rel, loaded);
                self.kept(rel, kept)
            }
            Ok(None) => {
                self.note(diag(
                    "file-too-large",
                    Severity::Error,
                    &rel,
                    format!("over the {MAX_FILE_SIZE} byte limit; not read"),
                ));
                Taken::NotRead
            }
            Err(e) => {
                self.note(diag(
                    "read-error",
                    Severity::Error,
                    &rel,
                    format!("cannot read: {e}"),
                ));
                Taken::NotRead
            }
        }
    }

    /// What the prefilter (and the callback, when it keeps the file) makes
    /// of `bytes`, the file at `rel`, without taking the file: counted as
    /// read for the progress report, but not among the walk's results.
    #[cfg_attr(not(feature = "git"), allow(dead_code))] // used by a git tree's walk
    pub(crate) fn sift(&mut self, rel: &str, bytes: &[u8]) -> Sift<'_, T> {
        let kept = self.prefilter(rel, bytes);
        self.sifted(kept)
    }

    /// [`Local::sift`] of a file loaded as [`Local::take`] takes it; None
    /// when it was not read whole (too large, or a read error), which is
    /// not noted: the caller decides what an unread file means.
    pub(crate) fn sift_loaded(
        &mut self,
        rel: &str,
        loaded: std::io::Result<Option<Loaded>>,
    ) -> Option<Sift<'_, T>> {
        let Ok(Some(loaded)) = loaded else {
            return None;
        };
        let kept = self.prefilter_loaded(rel, loaded);
        Some(self.sifted(kept))
    }

    /// The prefilter's verdict as a [`Sift`], the file counted as read.
    fn sifted(&mut self, kept: Option<T>) -> Sift<'_, T> {
        self.count_read();
        match kept {
            Some(made) => Sift::Kept(made),
            None => Sift::Passed(&self.defs),
        }
    }

    /// [`Local::prefilter`] of a loaded file: read into [`Local::buf`], or
    /// mapped.
    fn prefilter_loaded(&mut self, rel: &str, loaded: Loaded) -> Option<T> {
        let buf = std::mem::take(&mut self.buf);
        let bytes: &[u8] = match &loaded {
            Loaded::Read(n) => &buf[..*n],
            Loaded::Mapped(map) => map,
        };
        let kept = self.prefilter(rel, bytes);
        drop(loaded);
        // grown past the mapping threshold only when a map failed (or by a
        // git blob's read)
        if buf.len() <= 8 << 20 {
            self.buf = buf;
        }
        kept
    }

    /// The prefilter's verdict on `bytes` (the definitions in `self.defs`),
    /// and the callback's result when kept.
    fn prefilter(&mut self, rel: &str, bytes: &[u8]) -> Option<T> {
        let shared = self.shared;
        self.defs.clear();
        let kept = prefilter(&shared.ac, bytes, &mut self.defs);
        kept.then(|| (shared.on_match)(rel, bytes))
    }

    fn kept(&mut self, rel: String, made: Option<T>) -> Taken<'_, T> {
        match made {
            Some(made) => self.matched(rel, made),
            None => {
                let defs = std::mem::take(&mut self.defs);
                self.unmatched(rel, &defs);
                self.defs = defs;
                Taken::Unmatched(&self.defs)
            }
        }
    }

    /// Takes a file the prefilter kept, whose callback result is known.
    pub(crate) fn matched(&mut self, rel: String, made: T) -> Taken<'_, T> {
        self.shared.files_parsed.fetch_add(1, Ordering::Relaxed);
        let i = self.part.matched.len();
        self.part.matched.push((rel, made));
        self.count_read();
        Taken::Matched(&self.part.matched[i].1)
    }

    /// Takes a file the prefilter passed over, defining `defs`.
    pub(crate) fn unmatched(&mut self, rel: String, defs: &[u64]) {
        let i = self.part.unmatched.len() as u32;
        self.part.definitions.extend(defs.iter().map(|&h| (h, i)));
        self.part.unmatched.push(rel);
        self.count_read();
    }

    fn count_read(&mut self) {
        let shared = self.shared;
        self.part.files_read += 1;
        if self.part.files_read % PROGRESS_EVERY == 0 {
            let files_read = shared
                .files_read
                .fetch_add(PROGRESS_EVERY, Ordering::Relaxed)
                + PROGRESS_EVERY;
            (shared.progress)(&Progress::Reading {
                files_read,
                files_parsed: shared.files_parsed.load(Ordering::Relaxed),
            });
        }
    }
}
