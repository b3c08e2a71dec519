//! What interpreters of one tree share.
use super::parse::{logical_lines, LLine};
use crate::config::Config;
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// What interpreters of one tree share: the tree, the configuration, and
/// makefiles already split into lines.
pub struct Ctx<'a> {
    pub root: PathBuf,
    /// The root's canonical absolute path: Make's `CURDIR`.
    pub root_abs: String,
    pub config: &'a Config,
    cache: RefCell<HashMap<String, Option<Rc<Vec<LLine>>>>>,
    /// Makefiles read, for the caller to report.
    pub files_read: RefCell<usize>,
    /// Every path whose content or existence the interpretation looked at.
    pub looked_at: crate::ReadLog,
}

impl<'a> Ctx<'a> {
    pub fn new(root: &Path, config: &'a Config) -> Ctx<'a> {
        let abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Ctx {
            root: root.to_path_buf(),
            root_abs: abs.display().to_string(),
            config,
            cache: RefCell::new(HashMap::default()),
            files_read: RefCell::new(0),
            looked_at: crate::ReadLog::default(),
        }
    }

    /// A tree-relative makefile's lines, `None` when it cannot be read.
    pub fn lines(&self, rel: &str) -> Option<Rc<Vec<LLine>>> {
        if let Some(l) = self.cache.borrow().get(rel) {
            return l.clone();
        }
        self.looked_at.note(rel);
        let lines = std::fs::read(self.root.join(rel)).ok().map(|b| {
            *self.files_read.borrow_mut() += 1;
            let text = String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            Rc::new(logical_lines(&text))
        });
        self.cache
            .borrow_mut()
            .insert(rel.to_string(), lines.clone());
        lines
    }

    /// A path as Make sees it (relative to `CURDIR`, or absolute), made
    /// tree-relative and normalised; `None` when it leaves the tree.
    pub fn tree_rel(&self, p: &str) -> Option<String> {
        let rel = match p.strip_prefix(&self.root_abs) {
            Some(r) if r.is_empty() || r.starts_with('/') => r.trim_start_matches('/'),
            _ if p.starts_with('/') => return None,
            _ => p,
        };
        normalize(rel)
    }
}

/// `a/./b/../c` → `a/c`; `None` when `..` climbs above the start.
pub fn normalize(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise() {
        assert_eq!(normalize("./a/b/../c/").as_deref(), Some("a/c"));
        assert_eq!(normalize(".").as_deref(), Some(""));
        assert_eq!(normalize("a/../.."), None);
    }
}
