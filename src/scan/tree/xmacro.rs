//! Macros used inside set bodies (X-macros), expanded into entries.
//!
//! `net/core/xdp.c` fills `xdp_metadata_kfunc_ids` with
//!
//! ```c
//! #define XDP_METADATA_KFUNC(_, __, name, ___) BTF_ID_FLAGS(func, name, KF_TRUSTED_ARGS)
//! XDP_METADATA_KFUNC_xxx
//! #undef XDP_METADATA_KFUNC
//! ```
//!
//! where `XDP_METADATA_KFUNC_xxx`, defined in `include/net/xdp.h`, lists
//! `XDP_METADATA_KFUNC(…)` items. Each such use is expanded with the
//! macros in effect where it stands: the `#define`s and `#undef`s of the
//! set's own file before it, over those of the headers the file includes
//! (`#include <p>` read as `include/p`, then `include/uapi/p`; `"p"` beside
//! the file first), searched breadth first and only for the names the use
//! still lacks, so that nothing else (a flag name a header happens to
//! define) is expanded. The result must be `BTF_ID_FLAGS(…)` items only;
//! each becomes an entry at the line of the use.
//!
//! Limits: `#if` is not evaluated (a macro defined in two branches takes the
//! last definition); headers under `arch/` are not searched; expansion is
//! bounded ([`cpp::MAX_DEPTH`], [`cpp::MAX_STEPS`], [`MAX_HEADERS`]). A use
//! that cannot be expanded keeps the `unrecognised-set-line` warning; a
//! recursive or oversized one has a `macro-expansion` warning too.

use crate::manifest::{Diagnostic, Severity};
use crate::scan::cpp::{self, Directive, Kind, MacroDef, Token};
use crate::scan::file::extract;
use crate::scan::names;
use crate::scan::records::{FileRecords, MacroUse, RawEntry};
use crate::scan::source::Tree;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// The most headers one search reads.
pub(crate) const MAX_HEADERS: usize = 256;
/// The most times a use is expanded again with more header macros.
const MAX_ROUNDS: usize = 16;

/// Expands the macro uses of every set of `files` into entries, in place.
pub(crate) fn expand_sets(tree: &dyn Tree, files: &mut [FileRecords]) {
    let mut headers = Headers {
        tree,
        cache: HashMap::new(),
    };
    for f in files.iter_mut() {
        if f.sets.iter().all(|s| s.uses.is_empty()) {
            continue;
        }
        let directives = std::mem::take(&mut f.directives);
        let mut diags = Vec::new();
        for set in &mut f.sets {
            // last first, so that each use's `at` still counts the entries before it
            for u in std::mem::take(&mut set.uses).into_iter().rev() {
                let cx = Use {
                    file: &f.path,
                    set: &set.name,
                    u: &u,
                    directives: &directives,
                };
                let entries = cx.expand(&mut headers, &mut diags);
                set.entries.splice(u.at..u.at, entries);
            }
        }
        f.diagnostics.extend(diags);
    }
}

/// One macro use and where it stands.
struct Use<'a> {
    file: &'a str,
    set: &'a str,
    u: &'a MacroUse,
    directives: &'a [(u32, Directive)],
}

/// Why a use gave no entries.
enum Failure {
    /// Names no macro in reach defines.
    Unreadable,
    Expand(cpp::ExpandError),
}

impl Use<'_> {
    /// The entries the use expands into; what went wrong as diagnostics.
    fn expand(&self, headers: &mut Headers, diags: &mut Vec<Diagnostic>) -> Vec<RawEntry> {
        match self.items(headers) {
            Ok(items) => items
                .into_iter()
                .filter_map(|args| self.entry(&args, diags))
                .collect(),
            Err(failure) => {
                if let Failure::Expand(e) = failure {
                    diags.push(self.diag(
                        Severity::Warning,
                        "macro-expansion",
                        format!("cannot expand `{}`: {e}", self.u.text.trim()),
                    ));
                }
                let msg = extract::unrecognised_set_line(self.set, &self.u.quote);
                diags.push(self.diag(Severity::Warning, "unrecognised-set-line", msg));
                Vec::new()
            }
        }
    }

    fn diag(&self, sev: Severity, code: &str, msg: String) -> Diagnostic {
        Diagnostic::new(sev, code, self.file, self.u.line, self.u.col, msg)
    }

    /// The arguments of each `BTF_ID_FLAGS(…)` the use expands into:
    /// expanded with the file's macros, then again with header macros for
    /// the names still unexpanded, until none is left or none is found.
    fn items(&self, headers: &mut Headers) -> Result<Vec<Vec<Vec<Token>>>, Failure> {
        let input = cpp::tokenize(&self.u.text);
        let (local, undefined) = self.local_macros();
        let includes: Vec<&Directive> = self
            .directives
            .iter()
            .filter(|(line, d)| *line < self.u.line && matches!(d, Directive::Include { .. }))
            .map(|(_, d)| d)
            .collect();
        let mut env: HashMap<String, MacroDef> = HashMap::new();
        let mut searched: HashSet<String> = HashSet::new();
        for _ in 0..MAX_ROUNDS {
            let mut all = env.clone();
            all.extend(local.iter().map(|(k, v)| (k.clone(), v.clone())));
            let out = cpp::expand(&input, &all).map_err(Failure::Expand)?;
            let unknown = match read_items(&out) {
                Ok(items) => return Ok(items),
                Err(unknown) => unknown,
            };
            let wanted: BTreeSet<String> = unknown
                .into_iter()
                .filter(|n| !undefined.contains(n) && searched.insert(n.clone()))
                .collect();
            let found = headers.find(self.file, &includes, &wanted);
            if found.is_empty() {
                break;
            }
            env.extend(found);
        }
        Err(Failure::Unreadable)
    }

    /// The macros the file defines before the use, and the names it
    /// `#undef`s there (which no header may then supply).
    fn local_macros(&self) -> (HashMap<String, MacroDef>, HashSet<String>) {
        let mut defined = HashMap::new();
        let mut undefined = HashSet::new();
        for (line, d) in self.directives {
            if *line >= self.u.line {
                break;
            }
            match d {
                Directive::Define(m) => {
                    undefined.remove(&m.name);
                    defined.insert(m.name.clone(), m.clone());
                }
                Directive::Undef(name) => {
                    defined.remove(name);
                    undefined.insert(name.clone());
                }
                Directive::Include { .. } => {}
            }
        }
        (defined, undefined)
    }

    /// One expanded `BTF_ID_FLAGS(args)`, read as `extract` reads a written
    /// one. Its line is the line of the use in the set body.
    fn entry(&self, args: &[Vec<Token>], diags: &mut Vec<Diagnostic>) -> Option<RawEntry> {
        let spelled: Vec<String> = args.iter().map(|a| cpp::spell(a)).collect();
        let name = match args.get(1).map(Vec::as_slice) {
            Some([t]) if t.kind == Kind::Ident => t.text.clone(),
            _ => {
                let msg = format!(
                    "cannot read `{}({})`, expanded from `{}`",
                    names::ENTRY_MACRO,
                    spelled.join(", "),
                    self.u.text.trim()
                );
                diags.push(self.diag(Severity::Error, "malformed-entry", msg));
                return None;
            }
        };
        if spelled[0] != "func" {
            let msg = format!(
                "BTF_ID_FLAGS({}, {name}) does not name a function; skipped",
                spelled[0]
            );
            diags.push(self.diag(Severity::Warning, "non-func-entry", msg));
            return None;
        }
        let mut flags = Vec::new();
        for a in &args[2..] {
            flag_terms(a, &mut flags);
        }
        Some(RawEntry {
            name,
            flags,
            condition: self.u.condition.clone(),
            line: self.u.line,
            col: self.u.col,
        })
    }
}

/// Splits `tokens` at the top-level (outside parentheses) tokens `sep`.
fn split_top(tokens: &[Token], sep: &str) -> Vec<Vec<Token>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0usize;
    for t in tokens {
        if t.kind == Kind::Punct {
            match t.text.as_str() {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                s if s == sep && depth == 0 => {
                    parts.push(Vec::new());
                    continue;
                }
                _ => {}
            }
        }
        if let Some(p) = parts.last_mut() {
            p.push(t.clone());
        }
    }
    parts
}

/// `KF_A | (KF_B | KF_C)` → KF_A, KF_B, KF_C; a `0` adds nothing (as
/// `extract` reads written flags).
fn flag_terms(tokens: &[Token], out: &mut Vec<String>) {
    for term in split_top(tokens, "|") {
        let wrapped = term.first().is_some_and(|t| t.text == "(")
            && closing(&term, 0) == Some(term.len() - 1);
        if wrapped {
            flag_terms(&term[1..term.len() - 1], out);
        } else if !(term.is_empty() || term.len() == 1 && term[0].text == "0") {
            out.push(cpp::spell(&term));
        }
    }
}

/// The arguments of the `BTF_ID_FLAGS(…)` items that make up `tokens`; if
/// anything else is there, the identifiers left unexpanded at the top level
/// (perhaps macros a header defines).
fn read_items(tokens: &[Token]) -> Result<Vec<Vec<Vec<Token>>>, Vec<String>> {
    let mut items = Vec::new();
    let mut unknown = Vec::new();
    let mut clean = true;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let args_end = (tokens.get(i + 1).is_some_and(|n| n.text == "("))
            .then(|| closing(tokens, i + 1))
            .flatten();
        match (t.kind, args_end) {
            (Kind::Ident, Some(end)) if t.text == names::ENTRY_MACRO => {
                items.push(split_top(&tokens[i + 2..end], ","));
                i = end + 1;
                continue;
            }
            (Kind::Ident, end) => {
                unknown.push(t.text.clone());
                i = end.map_or(i + 1, |e| e + 1);
            }
            _ => i += 1,
        }
        clean = false;
    }
    if clean {
        Ok(items)
    } else {
        Err(unknown)
    }
}

/// The `)` matching the `(` at `open`.
fn closing(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.kind != Kind::Punct {
            continue;
        }
        if t.text == "(" {
            depth += 1;
        } else if t.text == ")" {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Headers read so far, each with the macros defined at its end and the
/// headers it includes.
struct Headers<'a> {
    tree: &'a dyn Tree,
    cache: HashMap<String, Option<Rc<Header>>>,
}

struct Header {
    macros: HashMap<String, MacroDef>,
    includes: Vec<String>,
}

impl Headers<'_> {
    /// The definitions of `wanted` in the headers `file` includes (its
    /// `includes`), breadth first: the first header defining a name gives it.
    fn find(
        &mut self,
        file: &str,
        includes: &[&Directive],
        wanted: &BTreeSet<String>,
    ) -> HashMap<String, MacroDef> {
        let mut found = HashMap::new();
        let mut queue: VecDeque<String> = includes
            .iter()
            .filter_map(|d| self.resolve(file, d))
            .collect();
        let mut seen: HashSet<String> = queue.iter().cloned().collect();
        let mut read = 0;
        while let Some(rel) = queue.pop_front() {
            if found.len() == wanted.len() || read == MAX_HEADERS {
                break;
            }
            read += 1;
            let Some(h) = self.header(&rel) else { continue };
            for name in wanted {
                if let Some(m) = h.macros.get(name).filter(|_| !found.contains_key(name)) {
                    found.insert(name.clone(), m.clone());
                }
            }
            for inc in &h.includes {
                if seen.insert(inc.clone()) {
                    queue.push_back(inc.clone());
                }
            }
        }
        found
    }

    /// The header at `rel`, read and remembered; None when it cannot be read.
    fn header(&mut self, rel: &str) -> Option<Rc<Header>> {
        if let Some(h) = self.cache.get(rel) {
            return h.clone();
        }
        let mut buf = Vec::new();
        let h = match self.tree.read_into(rel, &mut buf) {
            Ok(true) => {
                let mut macros = HashMap::new();
                let mut includes = Vec::new();
                for (_, d) in cpp::directives(&buf) {
                    match d {
                        Directive::Define(m) => {
                            macros.insert(m.name.clone(), m);
                        }
                        Directive::Undef(name) => {
                            macros.remove(&name);
                        }
                        inc @ Directive::Include { .. } => includes.extend(self.resolve(rel, &inc)),
                    }
                }
                Some(Rc::new(Header { macros, includes }))
            }
            _ => None,
        };
        self.cache.insert(rel.to_string(), h.clone());
        h
    }

    /// Where `#include` in the file `from` points, when it is in the tree.
    fn resolve(&self, from: &str, d: &Directive) -> Option<String> {
        let Directive::Include { path, angled } = d else {
            return None;
        };
        let beside = (!angled).then(|| {
            let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
            normalise(&format!("{dir}/{path}"))
        });
        beside
            .into_iter()
            .flatten()
            .chain(
                ["include", "include/uapi"]
                    .iter()
                    .filter_map(|d| normalise(&format!("{d}/{path}"))),
            )
            .find(|rel| self.tree.is_file(rel))
    }
}

/// `a/./b/../c` → `a/c`; None when it leaves the tree.
fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token> {
        cpp::tokenize(s)
    }

    #[test]
    fn items_and_flags() {
        let items = read_items(&toks(
            "BTF_ID_FLAGS(func, a, KF_A | (KF_B | KF_C)) BTF_ID_FLAGS(func, b, 0)",
        ))
        .unwrap_or_else(|u| panic!("{u:?}"));
        assert_eq!(items.len(), 2);
        let mut flags = Vec::new();
        for a in &items[0][2..] {
            flag_terms(a, &mut flags);
        }
        assert_eq!(flags, vec!["KF_A", "KF_B", "KF_C"]);
        let mut none = Vec::new();
        flag_terms(&items[1][2], &mut none);
        assert!(none.is_empty());
        assert_eq!(
            read_items(&toks("BTF_ID_FLAGS(func, a) MORE(x) LIST ;")),
            Err(vec!["MORE".to_string(), "LIST".to_string()])
        );
    }

    #[test]
    fn paths() {
        assert_eq!(
            normalise("net/core/../../include/x.h").as_deref(),
            Some("include/x.h")
        );
        assert_eq!(normalise("../x.h"), None);
    }
}
