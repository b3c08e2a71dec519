//! The scan's side of the file-change watcher (`kfunc-scan watch`, the
//! crate `kfunc_scan_watch`): what it says, as the cache takes it, and the
//! options a watcher for a scan cache runs with.

use super::Token;
use crate::limits::MAX_WATCH_CHANGES;
use std::path::Path;

/// What asking the watcher gave.
pub(super) enum Asked {
    /// None serves the cache directory.
    NoWatcher,
    /// One does, but did not answer as it should: the scan checks
    /// everything, with a warning.
    Failed(String),
    /// Its token now, and the paths changed since the token given (None:
    /// it cannot say).
    Answer {
        now: Token,
        changes: Option<Vec<Vec<u8>>>,
    },
}

/// Asks the watcher serving the cache directory `state_dir` what changed
/// under `root` since `since`.
pub(super) fn ask(state_dir: &Path, root: &Path, since: Option<Token>) -> Asked {
    // no socket, no watcher: not even a path too long for one is worth a
    // warning then
    if std::fs::symlink_metadata(state_dir.join(kfunc_scan_watch::SOCKET_NAME)).is_err() {
        return Asked::NoWatcher;
    }
    let asked = since.map(|t| kfunc_scan_watch::Token {
        generation: t.generation,
        seq: t.seq,
    });
    let answer = match kfunc_scan_watch::query(state_dir, root, asked) {
        Ok(None) => return Asked::NoWatcher,
        Err(e) => return Asked::Failed(e.to_string()),
        Ok(Some(a)) => a,
    };
    let now = Token {
        generation: answer.now.generation,
        seq: answer.now.seq,
    };
    let changes = match answer.changes {
        kfunc_scan_watch::Changes::Since(paths) => Some(paths),
        kfunc_scan_watch::Changes::Unknown => None,
    };
    // paths below the tree, as a watcher names them: "" (the root) or
    // file names joined by single slashes; a server that says otherwise
    // is no watcher of this tree
    if let Some(bad) = changes.iter().flatten().find(|p| !below_tree(p)) {
        return Asked::Failed(format!(
            "a changed path not below the tree: {}",
            crate::manifest::term::escape_bytes(bad)
        ));
    }
    // what changed since a token can only be told by its watcher, later
    if let (Some(_), Some(t)) = (&changes, since) {
        if now.generation != t.generation || now.seq < t.seq {
            return Asked::Failed(format!(
                "changes since {}:{} answered with the token {}:{}",
                t.generation, t.seq, now.generation, now.seq
            ));
        }
    }
    Asked::Answer { now, changes }
}

/// Whether `p` names a path below the tree as a watcher does: "" (the
/// root) or file names joined by single slashes.
fn below_tree(p: &[u8]) -> bool {
    p.is_empty()
        || p.split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// Whether a watcher records a change to an entry named `name`: not when
/// it is a build output ([`crate::scan::names::is_build_output`]).
fn relevant(name: &[u8]) -> bool {
    !crate::scan::names::is_build_output(name)
}

/// The options of a watcher serving scans of `root` with the cache `dir`.
pub fn watch_options(root: &Path, dir: &Path) -> kfunc_scan_watch::Options {
    kfunc_scan_watch::Options {
        root: root.to_path_buf(),
        state_dir: dir.to_path_buf(),
        relevant,
        max_changes: MAX_WATCH_CHANGES,
    }
}

#[cfg(test)]
mod tests {
    use super::below_tree;

    #[test]
    fn only_paths_below_the_tree_are_taken_from_a_watcher() {
        for ok in [&b""[..], b"net", b"net/core/filter.c", b"a b/\xff"] {
            assert!(below_tree(ok), "{ok:?}");
        }
        for bad in [
            &b"/etc"[..],
            b"..",
            b"net/../..",
            b"net//core",
            b"./net",
            b"net/",
        ] {
            assert!(!below_tree(bad), "{bad:?}");
        }
    }
}
