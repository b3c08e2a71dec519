//! Walking the tree and the prefilter: every `.c` and `.h` file is read once,
//! in parallel, and only those mentioning a kfunc construct are handed on, to
//! a callback that runs in the walker's own thread (so parsing overlaps the
//! reading of the rest of the tree). The others are remembered by path, for
//! the rare second look (a set member defined without `__bpf_kfunc`).
//!
//! What cannot be walked or read is an error diagnostic (data the manifest
//! lacks), the walk going on with the rest.
//!
//! Symbolic links to files are read; links to directories are not followed
//! (the kernel's `scripts/dtc/include-prefixes` would walk `arch/` again, and
//! a link loop would never end), and each one is reported as a note.

use super::{names, Progress};
use crate::manifest::{Diagnostic, Severity};
use aho_corasick::{packed, AhoCorasick, Match};
use globset::GlobSet;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Words whose presence makes a file worth parsing.
pub const NEEDLES: &[&str] = &[
    names::ENTRY_MACRO,
    names::BPF_KFUNC_ATTR,
    "BTF_KFUNCS_START",
    "BTF_SET8_START",
    names::REGISTER_KFUNC_ID_SET,
    names::REGISTER_FMODRET_ID_SET,
    names::ID_SET_STRUCT,
    names::MAGIC_TABLE,
];

/// Needles that name a use site rather than a
/// construct: a file matching only these is parsed only when `weak_confirmed`
/// finds a registration call or an id-set initialiser in it. The kernel's own
/// `kernel/bpf/btf.c` (the definition) and `verifier.c` (a mention) are the
/// largest files that would otherwise be parsed for nothing.
pub const WEAK: &[&str] = &[
    names::REGISTER_KFUNC_ID_SET,
    names::REGISTER_FMODRET_ID_SET,
    names::ID_SET_STRUCT,
];

/// What the prefilter searches for, in one pass over each file: the
/// [`NEEDLES`], each by a part that is rarer at the start (the searcher
/// checks every place where a pattern's first bytes occur, and `register`
/// is everywhere), then [`DEF_LINE`]. `register_btf_kfunc_id_set` holds
/// `btf_kfunc_id_set`, and a weak needle is as good as another: the files
/// kept are the same.
const PATTERNS: &[&str] = &[
    names::ENTRY_MACRO,
    names::BPF_KFUNC_ATTR,
    "BTF_KFUNCS_START",
    "BTF_SET8_START",
    "btf_fmodret_id_set",
    names::ID_SET_STRUCT,
    names::MAGIC_TABLE,
    DEF_LINE,
];

/// Which patterns are weak needles.
const WEAK_PATTERNS: &[&str] = &["btf_fmodret_id_set", names::ID_SET_STRUCT];

/// The end of a function's head in kernel style: `)` and the body's `{`
/// alone in column 0 on the next line. The walk notes the name before it in
/// the files it does not parse, so that the second look finds a definition
/// by a lookup instead of reading the tree again.
pub const DEF_LINE: &str = ")\n{";

/// Files larger than this are reported and not parsed.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

#[derive(Default)]
pub struct WalkOutput<T> {
    /// What the callback made of each matching file.
    pub matched: Vec<T>,
    /// C sources and headers that did not match, for a second look (in no
    /// particular order).
    pub unmatched: Vec<String>,
    /// The functions the unmatched files define in kernel style, as
    /// ([`name_hash`], index into `unmatched`).
    pub definitions: Vec<(u64, u32)>,
    pub files_read: usize,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn rel_path(root: &Path, p: &Path) -> String {
    // The walker joins each name to its directory's path, so a path below
    // `root` starts with root's own bytes and a `/`: slicing them off gives
    // what the component-wise `strip_prefix` gives, without its cost (it ran
    // for every entry of the tree). Anything else takes the general way.
    let (r, b) = (
        root.as_os_str().as_encoded_bytes(),
        p.as_os_str().as_encoded_bytes(),
    );
    let rest = b.strip_prefix(r).and_then(|rest| {
        if r.ends_with(b"/") {
            Some(rest)
        } else {
            rest.strip_prefix(b"/")
        }
    });
    // `strip_prefix` trims separators and `.` components at the ends of
    // what it leaves; the slice is the same only without them.
    let plain = |x: &[u8]| {
        !(x.is_empty()
            || x == b"."
            || x.starts_with(b"/")
            || x.starts_with(b"./")
            || x.ends_with(b"/")
            || x.ends_with(b"/."))
    };
    let text = match rest {
        Some(rest) if plain(rest) => String::from_utf8_lossy(rest),
        _ => p.strip_prefix(root).unwrap_or(p).to_string_lossy(),
    };
    if text.contains('\\') {
        text.replace('\\', "/")
    } else {
        text.into_owned()
    }
}

/// A hidden file or directory, which the walk skips (the `ignore` walker's
/// rule on Unix, which the filesystem walk applies: a name starting with `.`).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

pub fn is_c_source(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_c_name)
}

/// Whether the file at `p` is named as a C source or header, whatever the
/// rest of its name (UTF-8 or not): [`is_c_name`] on bytes.
pub(crate) fn is_c_named(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    p.file_name().is_some_and(|n| {
        let n = n.as_bytes();
        n.iter()
            .rposition(|&b| b == b'.')
            .is_some_and(|dot| dot > 0 && matches!(&n[dot + 1..], b"c" | b"h"))
    })
}

/// Why a C file at `rel` (its path below the tree's root, as bytes) cannot
/// be in a manifest, whose `file` fields are JSON strings its readers take
/// only as one line without `*/` ([`crate::manifest::read::is_file_path`]:
/// pages and the header's C comments quote them). None when it can. Such
/// a file is an error and not read: it may hold kfuncs, which the manifest
/// would lack. (For any tree: a git tree's walk can ask it too.)
pub fn unusable_rel(rel: &[u8]) -> Option<&'static str> {
    let Ok(rel) = std::str::from_utf8(rel) else {
        return Some("its path is not UTF-8, which a manifest's paths (JSON strings) must be");
    };
    if crate::manifest::read::is_file_path(rel) {
        None
    } else if rel.contains("*/") {
        Some("its path holds `*/`, which would end the C comment a header quotes it in: a manifest's readers refuse it")
    } else {
        Some("its path holds a control character or a bidirectional override, which would break or reorder the lines quoting it: a manifest's readers refuse it")
    }
}

/// [`unusable_rel`] for the file at `p`, `rel` below `root` as
/// [`rel_path`] gives it, the text the manifest would hold. Where that
/// replaced what was not UTF-8 (a U+FFFD may also be written so), the
/// path's own bytes are looked at.
pub(crate) fn unusable_path(root: &Path, p: &Path, rel: &str) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let raw = || p.strip_prefix(root).unwrap_or(p).as_os_str().as_bytes();
    if rel.contains('\u{fffd}') && std::str::from_utf8(raw()).is_err() {
        unusable_rel(raw())
    } else {
        unusable_rel(rel.as_bytes())
    }
}

/// The error for a C file whose path a manifest cannot hold (see
/// [`unusable_rel`]), named as the terminal shows it.
pub fn unusable_path_error(root: &Path, p: &Path, why: &str) -> Diagnostic {
    let rel = p.strip_prefix(root).unwrap_or(p);
    diag(
        "unusable-path",
        Severity::Error,
        &crate::manifest::term::path(rel),
        format!("{why}; not read"),
    )
}

/// Whether a file named `name` is a C source or header: `Path::extension`'s
/// rule (after the last `.`, which does not start the name) without
/// parsing a path.
pub fn is_c_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && matches!(ext, "c" | "h"))
}

/// The hash of a function name in [`WalkOutput::definitions`].
pub fn name_hash(name: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

/// Whether a file the needles matched holds something the queries extract.
pub fn worth_parsing(ac: &Needles, bytes: &[u8]) -> bool {
    prefilter(ac, bytes, &mut Vec::new())
}

/// One pass over a file: whether it is worth parsing, and the name hashes of
/// the functions it defines in kernel style, into `defs`.
fn prefilter(ac: &Needles, bytes: &[u8], defs: &mut Vec<u64>) -> bool {
    let (mut strong, mut weak) = (false, false);
    ac.for_each(bytes, |m| match PATTERNS[m.pattern().as_usize()] {
        DEF_LINE => defs.extend(def_name(bytes, m.start()).map(name_hash)),
        p if WEAK_PATTERNS.contains(&p) => weak = true,
        _ => strong = true,
    });
    strong || (weak && weak_confirmed(bytes))
}

/// The name of the function whose head ends with the `)` at `close`: the
/// identifier before the matching `(`, past attributes such as
/// `__must_hold(x)` that may follow the parameters.
///
/// This runs for every kernel-style definition of the tree (~700,000 on
/// 6.12): the scans back go by table, not by character class.
fn def_name(b: &[u8], mut close: usize) -> Option<&[u8]> {
    for _ in 0..4 {
        let open = opening_paren(b, close)?;
        let end = b[..open]
            .iter()
            .rposition(|&c| !BLANK[c as usize])
            .map_or(0, |p| p + 1);
        let start = b[..end]
            .iter()
            .rposition(|&c| !IDENT[c as usize])
            .map_or(0, |p| p + 1);
        let name = &b[start..end];
        let is_attribute = name.starts_with(b"__")
            && super::mask::CALL_ATTRIBUTES
                .iter()
                .any(|a| a.as_bytes() == name);
        if !is_attribute {
            return (!name.is_empty() && !name[0].is_ascii_digit()).then_some(name);
        }
        close = b[..start].iter().rposition(|&c| !BLANK[c as usize])?;
        if b[close] != b')' {
            return None;
        }
    }
    None
}

/// `u8::is_ascii_whitespace`, by table.
const BLANK: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_whitespace();
        i += 1;
    }
    t
};

/// Bytes of identifiers (ASCII letters, digits, `_`), by table.
const IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric() || i as u8 == b'_';
        i += 1;
    }
    t
};

/// The `(` matching the `)` at `close`, looking back at most 4096 bytes and
/// not past a `;` (then it is no parameter list). Jumps from parenthesis to
/// parenthesis: this runs for every function of the tree.
fn opening_paren(b: &[u8], close: usize) -> Option<usize> {
    debug_assert_eq!(b[close], b')');
    let from = close.saturating_sub(4096);
    // the `)` at `close` itself
    let mut depth = 1usize;
    let mut end = close;
    while let Some(p) = memchr::memrchr3(b'(', b')', b';', &b[from..end]) {
        let i = from + p;
        match b[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => return None,
        }
        end = i;
    }
    None
}

/// A registration call (`register_btf_kfunc_id_set(` followed by an argument,
/// not a parameter declaration nor `)`), or a `btf_kfunc_id_set` variable
/// with an initialiser.
fn weak_confirmed(bytes: &[u8]) -> bool {
    static RE: std::sync::OnceLock<(regex::bytes::Regex, regex::bytes::Regex)> =
        std::sync::OnceLock::new();
    let (call, init) = RE.get_or_init(|| {
        // Constant patterns: they compile or the tests fail.
        (
            regex::bytes::Regex::new(r"\bregister_btf_(?:kfunc|fmodret)_id_set\s*\(\s*")
                .expect("constant regex"),
            regex::bytes::Regex::new(r"\bbtf_kfunc_id_set\s+[A-Za-z_]\w*\s*=")
                .expect("constant regex"),
        )
    });
    if init.is_match(bytes) {
        return true;
    }
    call.find_iter(bytes).any(|m| {
        let rest = &bytes[m.end()..];
        let word: &[u8] = {
            let n = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            &rest[..n]
        };
        match rest.first() {
            Some(b'&') | Some(b'(') => true,
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                !matches!(word, b"const" | b"enum" | b"struct" | b"void")
            }
            _ => false,
        }
    })
}

/// The prefilter's searcher for [`PATTERNS`].
pub enum Needles {
    /// aho-corasick's SIMD multi-literal searcher (Teddy), used directly.
    Packed(packed::Searcher),
    /// Where Teddy is not available (no SIMD the crate uses).
    Automaton(AhoCorasick),
}

impl Needles {
    /// Each leftmost-first, non-overlapping match in `hay`, in order.
    fn for_each(&self, hay: &[u8], f: impl FnMut(Match)) {
        match self {
            Needles::Packed(s) => s.find_iter(hay).for_each(f),
            Needles::Automaton(a) => a.find_iter(hay).for_each(f),
        }
    }
}

pub fn needles() -> Needles {
    // Teddy directly: through `AhoCorasick` each of the ~700,000 matches
    // (one per kernel-style definition) went through the automaton's
    // prefilter plumbing, and without `DEF_LINE` the automaton would pick a
    // rare-byte prefilter, slower here than Teddy (measured on 6.12's files:
    // 0.17 ns/byte through the automaton, 0.15 directly). Teddy keeps
    // leftmost-first semantics as the automaton's, so the matches are the same.
    let teddy = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(PATTERNS)
        .build();
    match teddy {
        Some(s) => Needles::Packed(s),
        // Leftmost-first semantics let aho-corasick use Teddy as its
        // prefilter where it can; the needles are constants: building
        // cannot fail.
        None => Needles::Automaton(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(PATTERNS)
                .expect("constant needles"),
        ),
    }
}

/// Reads `path` into `buf` (reusing its allocation); Ok(false) when it is
/// larger than the limit.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<bool> {
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
pub const MAP_FROM: u64 = 256 << 10;

/// A walked file's bytes.
pub enum Loaded {
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
pub fn load(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<Option<Loaded>> {
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

fn diag(code: &str, sev: Severity, rel: &str, msg: String) -> Diagnostic {
    Diagnostic::new(sev, code, rel, 0, 0, msg)
}

impl<T> WalkOutput<T> {
    fn new() -> Self {
        WalkOutput {
            matched: Vec::new(),
            unmatched: Vec::new(),
            definitions: Vec::new(),
            files_read: 0,
            diagnostics: Vec::new(),
        }
    }

    fn absorb(&mut self, part: WalkOutput<T>) {
        let offset = self.unmatched.len() as u32;
        self.matched.extend(part.matched);
        self.unmatched.extend(part.unmatched);
        self.definitions
            .extend(part.definitions.into_iter().map(|(h, i)| (h, i + offset)));
        self.files_read += part.files_read;
        self.diagnostics.extend(part.diagnostics);
    }
}

/// How often (in files read by one thread) the walk reports its progress.
const PROGRESS_EVERY: usize = 1024;

/// What every walker thread shares, whatever the tree is read from: the
/// prefilter, the callback, the counters and the results.
pub struct Collector<'a, T> {
    ac: Needles,
    on_match: &'a (dyn Fn(&str, &[u8]) -> T + Sync),
    progress: &'a (dyn Fn(&Progress) + Sync),
    files_read: AtomicUsize,
    files_parsed: AtomicUsize,
    out: Mutex<WalkOutput<(String, T)>>,
}

impl<'a, T> Collector<'a, T> {
    pub fn new(
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
    pub fn thread(&self) -> Local<'_, T> {
        Local {
            part: WalkOutput::new(),
            buf: Vec::with_capacity(1 << 20),
            defs: Vec::new(),
            shared: self,
        }
    }

    /// Everything the threads found, the matched files by path.
    pub fn finish(self) -> WalkOutput<(String, T)> {
        let mut o = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        o.matched.sort_by(|a, b| a.0.cmp(&b.0));
        o
    }
}

/// What the filesystem walker's threads share.
struct Shared<'a, T> {
    root: &'a Path,
    exclude: &'a GlobSet,
    collector: Collector<'a, T>,
}

/// Walks `root`; `on_match(rel, bytes)` runs for each file the prefilter keeps.
pub fn walk<T: Send>(
    root: &Path,
    exclude: &GlobSet,
    threads: usize,
    progress: &(dyn Fn(&Progress) + Sync),
    on_match: &(dyn Fn(&str, &[u8]) -> T + Sync),
) -> WalkOutput<(String, T)> {
    let shared = Shared {
        root,
        exclude,
        collector: Collector::new(progress, on_match),
    };
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .threads(threads)
        .build_parallel();
    walker.run(|| {
        let mut local = DirVisitor {
            local: shared.collector.thread(),
            root: shared.root,
            exclude: shared.exclude,
        };
        Box::new(move |entry| local.visit(entry))
    });
    shared.collector.finish()
}

/// One walker thread's results, handed over when the thread ends.
pub struct Local<'a, T> {
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
pub enum Sift<'l, T> {
    /// Kept: what the callback made of it.
    Kept(T),
    /// Passed over, defining these functions in kernel style ([`name_hash`]).
    Passed(&'l [u64]),
}

/// What the prefilter made of a file [`Local::take`] was given.
pub enum Taken<'l, T> {
    /// Kept: what the callback made of it.
    Matched(&'l T),
    /// Passed over, defining these functions in kernel style ([`name_hash`]).
    Unmatched(&'l [u64]),
    /// Not read (too large, or a read error): a diagnostic says why.
    NotRead,
}

impl<T> Local<'_, T> {
    /// The buffer the next file is read into.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// A [`read_into`]-style outcome (the whole file in [`Local::buf`], or
    /// too large) as [`Local::take`] takes it.
    pub fn read(&self, read: std::io::Result<bool>) -> std::io::Result<Option<Loaded>> {
        read.map(|whole| whole.then_some(Loaded::Read(self.buf.len())))
    }

    /// A diagnostic about the walk itself (a link not followed, …).
    pub fn note(&mut self, d: Diagnostic) {
        self.part.diagnostics.push(d);
    }

    /// Takes the file at `rel`, loaded with this outcome ([`load`]'s, or
    /// [`Local::read`]'s: read into [`Local::buf`], or mapped):
    /// prefiltered, then handed on when kept.
    pub fn take(&mut self, rel: String, loaded: std::io::Result<Option<Loaded>>) -> Taken<'_, T> {
        match loaded {
            Ok(Some(loaded)) => {
                let buf = std::mem::take(&mut self.buf);
                let bytes: &[u8] = match &loaded {
                    Loaded::Read(n) => &buf[..*n],
                    Loaded::Mapped(map) => map,
                };
                let kept = self.prefilter(&rel, bytes);
                drop(loaded);
                // grown past the mapping threshold only when a map failed
                // (or by a git blob's read)
                if buf.len() <= 8 << 20 {
                    self.buf = buf;
                }
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
    pub fn sift(&mut self, rel: &str, bytes: &[u8]) -> Sift<'_, T> {
        let kept = self.prefilter(rel, bytes);
        self.count_read();
        match kept {
            Some(made) => Sift::Kept(made),
            None => Sift::Passed(&self.defs),
        }
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
    pub fn matched(&mut self, rel: String, made: T) -> Taken<'_, T> {
        self.shared.files_parsed.fetch_add(1, Ordering::Relaxed);
        let i = self.part.matched.len();
        self.part.matched.push((rel, made));
        self.count_read();
        Taken::Matched(&self.part.matched[i].1)
    }

    /// Takes a file the prefilter passed over, defining `defs`.
    pub fn unmatched(&mut self, rel: String, defs: &[u64]) {
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

/// A filesystem walker thread.
struct DirVisitor<'a, T> {
    local: Local<'a, T>,
    root: &'a Path,
    exclude: &'a GlobSet,
}

impl<T> DirVisitor<'_, T> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> ignore::WalkState {
        let root = self.root;
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err_path(&err)
                    .map(|p| rel_path(root, p))
                    .unwrap_or_default();
                self.local.note(walk_error(&path, err_text(&err)));
                return ignore::WalkState::Continue;
            }
        };
        let path = entry.path();
        let rel = rel_path(root, path);
        let Some(ft) = entry.file_type() else {
            return ignore::WalkState::Continue;
        };
        // an empty set matches nothing, but `is_match` still splits the path
        let excluded = !self.exclude.is_empty() && !rel.is_empty();
        if excluded && self.exclude.is_match(&rel) {
            return if ft.is_dir() {
                ignore::WalkState::Skip
            } else {
                ignore::WalkState::Continue
            };
        }
        let is_file = if ft.is_symlink() {
            self.link_to_file(path, &rel)
        } else {
            ft.is_file()
        };
        if is_file && is_c_named(path) {
            if let Some(why) = unusable_path(root, path, &rel) {
                self.local.note(unusable_path_error(root, path, why));
                return ignore::WalkState::Continue;
            }
            let loaded = load(path, self.local.buf());
            self.local.take(rel, loaded);
        }
        ignore::WalkState::Continue
    }

    /// Whether a symbolic link is to be read as a file: links to directories
    /// are not followed, a dangling link to a C file is reported.
    fn link_to_file(&mut self, path: &Path, rel: &str) -> bool {
        match std::fs::metadata(path) {
            Ok(md) if md.is_dir() => {
                self.local.note(link_not_followed(rel));
                false
            }
            Ok(md) => md.is_file(),
            Err(e) => {
                if is_c_named(path) {
                    self.local.note(dangling_link(rel, &e));
                }
                false
            }
        }
    }
}

/// The note for a link to a directory, which the walk does not follow.
pub fn link_not_followed(rel: &str) -> Diagnostic {
    diag(
        "symlink-not-followed",
        Severity::Note,
        rel,
        "a link to a directory; not followed".into(),
    )
}

/// The error for a link to a C file that cannot be followed.
pub fn dangling_link(rel: &str, e: &std::io::Error) -> Diagnostic {
    diag(
        "read-error",
        Severity::Error,
        rel,
        format!("dangling or unreadable link: {e}"),
    )
}

/// A diagnostic for a walk that could not go on below `rel`.
pub fn walk_error(rel: &str, message: String) -> Diagnostic {
    diag(
        "walk-error",
        Severity::Error,
        rel,
        format!("skipped: {message}"),
    )
}

fn err_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            err_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn err_text(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. } => err_text(err),
        ignore::Error::WithDepth { err, .. } => err_text(err),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_needles_need_a_call_or_an_initialiser() {
        let ac = needles();
        let yes = |s: &str| worth_parsing(&ac, s.as_bytes());
        // definitions, declarations, mentions: nothing to extract
        assert!(!yes("int register_btf_kfunc_id_set(enum bpf_prog_type t,\n const struct btf_kfunc_id_set *s)\n{ return 0; }"));
        assert!(!yes(
            "int register_btf_fmodret_id_set(const struct btf_kfunc_id_set *kset);"
        ));
        assert!(!yes(
            "EXPORT_SYMBOL_GPL(register_btf_kfunc_id_set);\n/* see register_btf_kfunc_id_set() */"
        ));
        assert!(!yes("static bool f(const struct btf_kfunc_id_set *s);"));
        // calls and initialisers
        assert!(yes(
            "ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &set);"
        ));
        assert!(yes("return register_btf_fmodret_id_set(&set);"));
        assert!(yes("r = register_btf_kfunc_id_set(types[i], sets[i]);"));
        assert!(yes(
            "static const struct btf_kfunc_id_set s = { .set = &ids };"
        ));
        // a strong needle alone is enough
        assert!(yes("__bpf_kfunc int f(void) { return 0; }"));
        assert!(yes("BTF_KFUNCS_START(x)"));
    }

    #[test]
    fn each_needle_is_searched_by_a_pattern_of_its_kind() {
        for n in NEEDLES {
            let by: Vec<&&str> = PATTERNS
                .iter()
                .filter(|p| **p != DEF_LINE && n.contains(**p))
                .collect();
            assert!(!by.is_empty(), "{n}: no pattern");
            for p in by {
                assert_eq!(WEAK.contains(n), WEAK_PATTERNS.contains(p), "{n} by {p}");
            }
        }
    }

    #[test]
    fn relative_paths_are_those_strip_prefix_gives() {
        let cases = [
            ("/t", "/t/a/b.c"),
            ("/t/", "/t/a/b.c"),
            ("t", "t/b.c"),
            ("./t", "./t/x/y.h"),
            (".", "./a.c"),
            ("/", "/a/b.c"),
            ("/t", "/t//a.c"),
            ("/t", "/t/./a.c"),
            ("/t", "/t/a/."),
            ("/t", "/t"),
            ("/t", "/u/a.c"),
            ("/t", "/tt/a.c"),
            ("a/./b", "a/./b/c.c"),
            ("/t", "/t/a\\b.c"),
        ];
        for (root, p) in cases {
            let (root, p) = (Path::new(root), Path::new(p));
            let slow = p
                .strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            assert_eq!(rel_path(root, p), slow, "{root:?} {p:?}");
        }
    }

    #[test]
    fn the_automaton_finds_what_teddy_finds() {
        let automaton = Needles::Automaton(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(PATTERNS)
                .unwrap(),
        );
        let src = b"x BTF_ID_FLAGS(func, f)\nstatic int g(void)\n{\n__bpf_kfunc btf_kfunc_id_set btf_fmodret_id_set BTF_SET8_START magic_kfuncs BTF_KFUNCS_START";
        let all = |n: &Needles| {
            let mut v = Vec::new();
            n.for_each(src, |m| v.push((m.pattern().as_usize(), m.start())));
            v
        };
        let found = all(&automaton);
        assert_eq!(found.len(), PATTERNS.len());
        assert_eq!(all(&needles()), found);
    }

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

    #[test]
    fn paths_a_manifest_cannot_hold() {
        for ok in [
            &b"net/core/filter.c"[..],
            b"with space/\"q\".c",
            b"star*.c",
            b"\xc3\xa9.c",
        ] {
            assert_eq!(unusable_rel(ok), None, "{ok:?}");
        }
        let why = |b: &[u8]| unusable_rel(b).unwrap_or("");
        assert!(why(b"d\xff/x.c").contains("not UTF-8"));
        assert!(why(b"drv*/x.c").contains("`*/`"));
        assert!(why(b"a\nb.c").contains("control character"));
        assert!(why(b"a\xe2\x80\xaeb.c").contains("bidirectional"));
        // a C name whatever its bytes, as `is_c_name` says for UTF-8
        use std::os::unix::ffi::OsStrExt;
        let named = |b: &[u8]| is_c_named(Path::new(std::ffi::OsStr::from_bytes(b)));
        assert!(named(b"d/\xff.c") && named(b"x.h") && !named(b".c") && !named(b"\xff.cc"));
    }

    #[test]
    fn a_c_name_is_what_path_extension_says() {
        for name in [
            "a.c", "a.h", "a.b.c", ".c", ".h", "..c", "a.", "a", "a.cc", "a.hh", "c", "a.C",
            "x.c.h", ".a.c",
        ] {
            let by_path = matches!(
                Path::new(name).extension().and_then(|e| e.to_str()),
                Some("c" | "h")
            );
            assert_eq!(is_c_name(name), by_path, "{name}");
        }
    }

    #[test]
    fn kernel_style_definitions_are_noted_by_name() {
        let ac = needles();
        let src = "static int a(int x)\n{\n}\nvoid *\nb(struct s *p,\n  int (*cb)(int))\n{\n}\nint c(void) __must_hold(&l)\n{\n}\nint d(void) { }\nif (x)\n{\n";
        let mut defs = Vec::new();
        assert!(!prefilter(&ac, src.as_bytes(), &mut defs));
        let want: Vec<u64> = ["a", "b", "c", "if"]
            .iter()
            .map(|n| name_hash(n.as_bytes()))
            .collect();
        // `d` is not in kernel style; `if (x)` is noted, harmlessly
        assert_eq!(defs, want);
    }
}
