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
    let since = since.map(|t| kfunc_scan_watch::Token {
        generation: t.generation,
        seq: t.seq,
    });
    match kfunc_scan_watch::query(state_dir, root, since) {
        Ok(None) => Asked::NoWatcher,
        Err(e) => Asked::Failed(e.to_string()),
        Ok(Some(a)) => Asked::Answer {
            now: Token {
                generation: a.now.generation,
                seq: a.now.seq,
            },
            changes: match a.changes {
                kfunc_scan_watch::Changes::Since(paths) => Some(paths),
                kfunc_scan_watch::Changes::Unknown => None,
            },
        },
    }
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
