//! `kfunc-scan watch TREE --cache DIR`: a watcher (inotify) that tells the
//! scans using the cache DIR what changed in TREE since their last walk,
//! so that a rescan reads and stats only that.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::manifest::term;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct WatchArgs {
    /// The kernel source tree to watch (the scans' TREE).
    #[arg(required_unless_present = "stop")]
    pub tree: Option<PathBuf>,
    /// The scans' cache directory (their `--cache DIR`): the watcher's
    /// socket and lock live there.
    #[arg(long, value_name = "DIR")]
    pub cache: PathBuf,
    /// Stop the watcher serving DIR instead (exit 1 when none runs).
    #[arg(long)]
    pub stop: bool,
    /// No message when the watch is in place.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(a: WatchArgs) -> Result<Outcome, CliError> {
    if a.stop {
        return match kfunc_scan_watch::stop(&a.cache) {
            Ok(true) => Ok(Outcome::Clean),
            Ok(false) => {
                eprintln!(
                    "{}: note: no watcher serves this cache directory",
                    term::path(&a.cache)
                );
                Ok(Outcome::Findings)
            }
            Err(e) => Err(CliError::CannotRun(format!("error[watch]: {e}"))),
        };
    }
    close_inherited_descriptors();
    let tree = a.tree.clone().unwrap_or_default();
    if !tree.is_dir() {
        return Err(CliError::CannotRun(format!(
            "{}: error[watch]: not a directory",
            term::path(&tree)
        )));
    }
    let opts = kfunc_scan::scan::cache::watch_options(&tree, &a.cache);
    let quiet = a.quiet;
    let mut ready = |dirs: usize| {
        if !quiet {
            let _ = writeln!(
                std::io::stderr(),
                "kfunc-scan: watching {} ({dirs} directories) for the scans using --cache {}; `kfunc-scan watch --stop --cache DIR` ends it",
                term::path(&tree),
                term::path(&a.cache)
            );
        }
    };
    kfunc_scan_watch::watch(&opts, &mut ready)
        .map(|()| Outcome::Clean)
        .map_err(|e| CliError::CannotRun(format!("error[watch]: {e}")))
}

/// Closes every descriptor above stderr this process was started with.
/// The watcher outlives whoever started it: a build hook under `make -j`
/// hands on make's jobserver pipe, and make waits for that pipe's end
/// before it goes on, so a watcher holding it stalls the build for as
/// long as it runs. Called before the watcher opens anything of its own.
fn close_inherited_descriptors() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    // the listing's own descriptor is among them, closed already: each is
    // asked for its flags first (EBADF for a closed one; rustix's close
    // asserts that it closed something)
    for fd in fds {
        #[allow(
            unsafe_code,
            reason = "closing a descriptor this process inherited and never wraps: nothing of ours refers to it"
        )]
        // SAFETY: no OwnedFd or File of this process holds `fd`: nothing
        // has been opened yet but the listing above, already dropped; the
        // borrow lasts for the one fcntl.
        unsafe {
            let open = rustix::io::fcntl_getfd(std::os::fd::BorrowedFd::borrow_raw(fd)).is_ok();
            if open {
                rustix::io::close(fd);
            }
        }
    }
}
