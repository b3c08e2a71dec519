//! Pages into a directory: each written atomically, and the pages a
//! previous run generated that this one did not (recognised by their first
//! line, [`MARKER`]) removed, so that a docs repository sees removals as
//! such. Pages not ours are left alone.

use super::MARKER;
use crate::output::write_atomic;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// What [`write_pages`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub written: usize,
    /// Stale pages of an earlier run removed.
    pub removed: usize,
}

/// A page that could not be written or removed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The subdirectories pages are written to ("" is the top).
const SUBDIRS: [&str; 4] = ["", "kfuncs", "sets", "program-types"];

pub fn write_pages(dir: &Path, pages: &BTreeMap<String, String>) -> Result<Written, WriteError> {
    let err = |p: &Path| {
        let path = p.to_path_buf();
        move |source| WriteError { path, source }
    };
    // Page names come from a manifest read as untrusted (its names are C
    // identifiers); a path that would leave `dir` is refused all the same,
    // before anything is written.
    if let Some(rel) = pages.keys().find(|rel| !is_plain_relative(rel)) {
        return Err(WriteError {
            path: dir.join(rel),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a page's path must stay inside the output directory",
            ),
        });
    }
    for (rel, text) in pages {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err(parent))?;
        }
        write_atomic(&path, text.as_bytes()).map_err(err(&path))?;
    }
    let mut removed = 0;
    for sub in SUBDIRS {
        for p in stale_pages(dir, sub, pages) {
            std::fs::remove_file(&p).map_err(err(&p))?;
            removed += 1;
        }
    }
    Ok(Written {
        written: pages.len(),
        removed,
    })
}

/// `a/b.md`: relative, with no `..`, `.` or root in it.
fn is_plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Our pages in `dir/sub` that are not among `pages`, sorted.
fn stale_pages(dir: &Path, sub: &str, pages: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let rel = path
            .strip_prefix(dir)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let ours = path.extension().is_some_and(|x| x == "md" || x == "html")
            && std::fs::read_to_string(&path).is_ok_and(|t| t.lines().next() == Some(MARKER));
        if ours && !pages.contains_key(&rel) {
            stale.push(path);
        }
    }
    stale.sort();
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages an earlier run generated (`.md` or `.html`, the marker on their
    /// first line) that this run did not write are removed, at the top and
    /// in the page directories; anything else is left alone.
    #[test]
    fn only_our_stale_pages_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let ours = format!("{MARKER}\nold\n");
        let files = [
            ("gone.md", ours.as_str()),
            ("kfuncs/gone.md", &ours),
            ("sets/gone.html", &ours),
            ("kfuncs/notes.txt", &ours),
            ("kfuncs/mine.md", "# mine\n"),
            ("kfuncs/late.md", &format!("# mine\n{MARKER}\n")),
            ("other/gone.md", &ours),
        ];
        for (rel, text) in files {
            let p = d.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let pages = BTreeMap::from([
            ("index.md".to_string(), format!("{MARKER}\nnew\n")),
            ("kfuncs/kept.md".to_string(), format!("{MARKER}\nnew\n")),
        ]);
        let w = write_pages(d, &pages).expect("write");
        assert_eq!(
            w,
            Written {
                written: 2,
                removed: 3
            }
        );
        for gone in ["gone.md", "kfuncs/gone.md", "sets/gone.html"] {
            assert!(!d.join(gone).exists(), "{gone}");
        }
        for kept in [
            "index.md",
            "kfuncs/kept.md",
            "kfuncs/notes.txt",
            "kfuncs/mine.md",
            "kfuncs/late.md",
            "other/gone.md",
        ] {
            assert!(d.join(kept).is_file(), "{kept}");
        }
    }
}
