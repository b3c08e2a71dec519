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
use aho_corasick::AhoCorasick;
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
const WEAK: &[&str] = &[
    names::REGISTER_KFUNC_ID_SET,
    names::REGISTER_FMODRET_ID_SET,
    names::ID_SET_STRUCT,
];

/// Files larger than this are reported and not parsed.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

#[derive(Default)]
pub struct WalkOutput<T> {
    /// What the callback made of each matching file.
    pub matched: Vec<T>,
    /// C sources and headers that did not match, for a second look.
    pub unmatched: Vec<String>,
    pub files_read: usize,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn rel_path(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    r.to_string_lossy().replace('\\', "/")
}

pub fn is_c_source(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "h"))
}

/// Whether a file the needles matched holds something the queries extract.
pub fn worth_parsing(ac: &AhoCorasick, bytes: &[u8]) -> bool {
    let mut weak_only = true;
    for m in ac.find_iter(bytes) {
        if !WEAK.contains(&NEEDLES[m.pattern().as_usize()]) {
            weak_only = false;
            break;
        }
    }
    !weak_only || weak_confirmed(bytes)
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

pub fn needles() -> AhoCorasick {
    // Leftmost-first semantics let aho-corasick use its SIMD multi-literal
    // searcher (Teddy); the default semantics fall back to a much slower
    // rare-byte prefilter. The needles are constants: building cannot fail.
    AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(NEEDLES)
        .expect("constant needles")
}

/// Reads `path` into `buf` (reusing its allocation); Ok(false) when it is
/// larger than the limit.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let f = std::fs::File::open(path)?;
    f.take(MAX_FILE_SIZE + 1).read_to_end(buf)?;
    Ok(buf.len() as u64 <= MAX_FILE_SIZE)
}

fn diag(code: &str, sev: Severity, rel: &str, msg: String) -> Diagnostic {
    Diagnostic::new(sev, code, rel, 0, 0, msg)
}

impl<T> WalkOutput<T> {
    fn new() -> Self {
        WalkOutput {
            matched: Vec::new(),
            unmatched: Vec::new(),
            files_read: 0,
            diagnostics: Vec::new(),
        }
    }

    fn absorb(&mut self, part: WalkOutput<T>) {
        self.matched.extend(part.matched);
        self.unmatched.extend(part.unmatched);
        self.files_read += part.files_read;
        self.diagnostics.extend(part.diagnostics);
    }
}

/// How often (in files read by one thread) the walk reports its progress.
const PROGRESS_EVERY: usize = 1024;

/// What the walker's threads share.
struct Shared<'a, T> {
    root: &'a Path,
    exclude: &'a GlobSet,
    ac: AhoCorasick,
    on_match: &'a (dyn Fn(&str, &[u8]) -> T + Sync),
    progress: &'a (dyn Fn(&Progress) + Sync),
    files_read: AtomicUsize,
    files_parsed: AtomicUsize,
    out: Mutex<WalkOutput<(String, T)>>,
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
        ac: needles(),
        on_match,
        progress,
        files_read: AtomicUsize::new(0),
        files_parsed: AtomicUsize::new(0),
        out: Mutex::new(WalkOutput::new()),
    };
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .threads(threads)
        .build_parallel();
    walker.run(|| {
        let mut local = Local {
            part: WalkOutput::new(),
            buf: Vec::with_capacity(1 << 20),
            shared: &shared,
        };
        Box::new(move |entry| local.visit(entry))
    });
    let mut o = shared.out.into_inner().unwrap_or_else(|p| p.into_inner());
    o.matched.sort_by(|a, b| a.0.cmp(&b.0));
    o.unmatched.sort();
    o
}

/// One walker thread's results, handed over when the thread ends.
struct Local<'a, T> {
    part: WalkOutput<(String, T)>,
    buf: Vec<u8>,
    shared: &'a Shared<'a, T>,
}

impl<T> Drop for Local<'_, T> {
    fn drop(&mut self) {
        // A poisoned lock means another walker thread panicked; its
        // results are lost either way, ours are still worth keeping.
        let mut o = self.shared.out.lock().unwrap_or_else(|p| p.into_inner());
        o.absorb(std::mem::replace(&mut self.part, WalkOutput::new()));
    }
}

impl<T> Local<'_, T> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> ignore::WalkState {
        let root = self.shared.root;
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err_path(&err)
                    .map(|p| rel_path(root, p))
                    .unwrap_or_default();
                self.part.diagnostics.push(diag(
                    "walk-error",
                    Severity::Error,
                    &path,
                    format!("skipped: {}", err_text(&err)),
                ));
                return ignore::WalkState::Continue;
            }
        };
        let path = entry.path();
        let rel = rel_path(root, path);
        let Some(ft) = entry.file_type() else {
            return ignore::WalkState::Continue;
        };
        if !rel.is_empty() && self.shared.exclude.is_match(&rel) {
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
        if is_file && is_c_source(path) {
            self.read(path, rel);
        }
        ignore::WalkState::Continue
    }

    /// Whether a symbolic link is to be read as a file: links to directories
    /// are not followed, a dangling link to a C file is reported.
    fn link_to_file(&mut self, path: &Path, rel: &str) -> bool {
        match std::fs::metadata(path) {
            Ok(md) if md.is_dir() => {
                self.part.diagnostics.push(diag(
                    "symlink-not-followed",
                    Severity::Note,
                    rel,
                    "a link to a directory; not followed".into(),
                ));
                false
            }
            Ok(md) => md.is_file(),
            Err(e) => {
                if is_c_source(path) {
                    self.part.diagnostics.push(diag(
                        "read-error",
                        Severity::Error,
                        rel,
                        format!("dangling or unreadable link: {e}"),
                    ));
                }
                false
            }
        }
    }

    /// Reads one C file and hands it on when the prefilter keeps it.
    fn read(&mut self, path: &Path, rel: String) {
        let shared = self.shared;
        match read_into(path, &mut self.buf) {
            Ok(true) => {
                self.part.files_read += 1;
                if shared.ac.is_match(&self.buf) && worth_parsing(&shared.ac, &self.buf) {
                    let made = (shared.on_match)(&rel, &self.buf);
                    self.part.matched.push((rel, made));
                    shared.files_parsed.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.part.unmatched.push(rel);
                }
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
                if self.buf.capacity() > 8 << 20 {
                    self.buf = Vec::with_capacity(1 << 20);
                }
            }
            Ok(false) => self.part.diagnostics.push(diag(
                "file-too-large",
                Severity::Error,
                &rel,
                format!("over the {MAX_FILE_SIZE} byte limit; not read"),
            )),
            Err(e) => self.part.diagnostics.push(diag(
                "read-error",
                Severity::Error,
                &rel,
                format!("cannot read: {e}"),
            )),
        }
    }
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
}
