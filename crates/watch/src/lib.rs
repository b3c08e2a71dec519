//! A directory tree's changes, recorded by a long-running watcher and
//! served over a Unix socket: what changed under a root since the last time
//! a client asked. Knows nothing of kfuncs; the scanner asks it so that a
//! rescan of an unchanged kernel tree need not stat its 60,000 files (the
//! idea of git's fsmonitor daemon).
//!
//! - **inotify**: one watch on every directory under the root (symlinks not
//!   followed, hidden directories skipped), added as directories appear and
//!   dropped as they go. Each event names an entry of a watched directory;
//!   the watcher records the entry's path, relative to the root, against a
//!   sequence number.
//! - **The cookie handshake** ([`query`]): inotify queues events in the
//!   order their system calls ran, so when a query arrives the watcher
//!   creates a file of its own (`.cookie-…`) in the state directory, which
//!   it also watches, and applies events until it sees that file's
//!   creation. Every write that returned before the client asked was queued
//!   before the cookie, so the answer names it: no sleep, no race.
//! - **Generations**: a [`Token`] is a generation and a sequence number.
//!   When the watcher cannot vouch for its record (an inotify queue
//!   overflow, more changed paths than [`Options::max_changes`], a new
//!   watcher) it starts a new generation, and a token of any other
//!   generation gets [`Changes::Unknown`]: the client checks everything.
//! - **Bounds**: every read of the socket is bounded in size and in time on
//!   both sides (the constants below, each saying why its number), so a
//!   client that connects and says nothing, or a watcher that hangs, costs
//!   at most a timeout, never a hang.
//!
//! One watcher per state directory, by `flock` on [`LOCK_NAME`]; a watcher
//! killed outright leaves its socket file behind, which [`query`] takes for
//! "no watcher" (the connection is refused).

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use kfunc_scan_manifest::term;

mod client;
mod proto;
mod server;

pub use client::{query, stop};
pub use server::watch;

/// The socket the watcher listens on, in its state directory.
pub const SOCKET_NAME: &str = "watch.sock";
/// The file whose `flock` makes a watcher the only one of its state
/// directory.
pub const LOCK_NAME: &str = "watch.lock";

/// The protocol's version, the first thing on every line of it: a client and
/// a watcher of different versions refuse each other rather than misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// How long [`query`] and [`stop`] wait for the whole answer. A watcher
/// answers in milliseconds; this covers one silent client ahead in the
/// queue ([`CLIENT_READ_TIMEOUT`]) plus a cookie wait ([`COOKIE_TIMEOUT`])
/// with room to spare, and past it the client treats the watcher as broken
/// rather than hang a scan.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the watcher waits for its cookie's creation to come through
/// inotify before it answers [`Changes::Unknown`]. The event is queued in
/// microseconds; only a queue thousands of events deep delays it, and then
/// a full check is as good as waiting.
pub const COOKIE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the watcher waits for a client's whole request. A client
/// writes its request in one call right after connecting; one that says
/// nothing blocks every other query, one at a time, for this long at most.
pub const CLIENT_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the watcher spends writing one answer. The largest answer
/// ([`MAX_ANSWER_BYTES`]) crosses a Unix socket in well under a second; a
/// client that stops reading is dropped after this.
pub const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest header line of a request or an answer, newline included: a
/// word, two 20-digit numbers and two lengths fit several times over.
pub const MAX_LINE: usize = 256;

/// The longest root path a request carries, and the longest watched root an
/// answer names: Linux's PATH_MAX, which a canonical path never exceeds.
pub const MAX_ROOT_BYTES: usize = 4096;

/// The most paths in one answer; a larger [`Options::max_changes`] is cut
/// to this. A whole kernel tree is about 90,000 files and directories;
/// past a million, checking everything is cheaper than the list.
pub const MAX_ANSWER_PATHS: usize = 1 << 20;

/// The most bytes of paths in one answer (each path and its NUL). A kernel
/// tree's every path takes about 4 MiB; a record larger than this is
/// answered [`Changes::Unknown`] by the watcher and refused by the client.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// The longest socket path: `sun_path` holds 108 bytes with its NUL.
pub const MAX_SOCKET_PATH: usize = 107;

/// The inotify read buffer: a few hundred events per read (an event is 16
/// bytes and its name, at most 256), and large enough for any one event.
pub const EVENT_BUFFER: usize = 64 << 10;

/// A point in one watcher's record of changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Token {
    /// Which record: a new one starts whenever the watcher cannot vouch for
    /// the old one.
    pub generation: u64,
    /// How far into the record.
    pub seq: u64,
}

/// What changed since a token.
#[derive(Debug, PartialEq, Eq)]
pub enum Changes {
    /// The paths changed since the token, relative to the root, `/`-separated,
    /// as bytes (`b""` is the root itself), sorted and without duplicates. A file
    /// is named when it was written, truncated, had its attributes changed, or was
    /// created, removed or renamed; a directory is named when an entry was
    /// added to it, removed from it or renamed in or out of it, and when it was
    /// itself created or moved in (then every directory and file below it is
    /// named too: a write there before its watch was in place had no event).
    Since(Vec<Vec<u8>>),
    /// The watcher cannot say (no token given, a token of another generation
    /// or from the future, more changes than its bound, an inotify queue
    /// overflow): the client must check everything.
    Unknown,
}

/// A watcher's answer to [`query`].
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// The token to give the next query.
    pub now: Token,
    /// What changed between the token given and `now`.
    pub changes: Changes,
}

/// What a watcher watches and where it keeps its socket and lock.
pub struct Options {
    /// The tree watched.
    pub root: PathBuf,
    /// Where the lock, the socket and the cookies live (created if missing).
    pub state_dir: PathBuf,
    /// Whether a change to a *file* of this name matters (the file name
    /// only, not the path); a file for which it says false is not recorded
    /// (the caller passes e.g. "not a build output"), but for its removal
    /// (it may have been a symbolic link), which names its directory.
    /// Directories and symbolic links are recorded whatever their names.
    /// Hidden names (starting with '.') are never watched nor recorded.
    pub relevant: fn(&[u8]) -> bool,
    /// Changed paths kept at most; past it, the record is dropped and a new
    /// generation starts (every older token then gets Unknown).
    pub max_changes: usize,
}

/// Why [`query`] or [`stop`] could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The root asked about cannot be resolved.
    #[error("{}: cannot resolve the root: {source}", term::path(.root))]
    Root {
        /// The root as given.
        root: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The socket's path does not fit a Unix socket address.
    #[error("{}: the socket path is {len} bytes, more than a Unix socket address holds ({MAX_SOCKET_PATH})", term::path(.path))]
    SocketPathTooLong {
        /// The socket path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// Connecting, writing or reading failed.
    #[error("{}: {source}", term::path(.path))]
    Io {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The watcher did not answer in time.
    #[error("{}: the watcher did not answer within {}s (QUERY_TIMEOUT)", term::path(.path), QUERY_TIMEOUT.as_secs())]
    Timeout {
        /// The socket path.
        path: PathBuf,
    },
    /// The watcher serving the state directory watches another root.
    #[error("{}: the watcher watches {}, not {}", term::path(.path), term::path(.watched), term::path(.asked))]
    WrongRoot {
        /// The socket path.
        path: PathBuf,
        /// The root the watcher watches.
        watched: PathBuf,
        /// The root asked about, canonical.
        asked: PathBuf,
    },
    /// The answer broke the protocol or one of its bounds.
    #[error("{}: bad answer from the watcher: {what}", term::path(.path))]
    Protocol {
        /// The socket path.
        path: PathBuf,
        /// What was wrong, bound named.
        what: String,
    },
}

/// Why [`watch`] could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Another watcher holds the state directory's lock.
    #[error("{}: another watcher holds this lock", term::path(.lock))]
    AlreadyRunning {
        /// The lock file.
        lock: PathBuf,
    },
    /// The state directory is the root itself (its cookies would be the
    /// tree's changes).
    #[error("{}: the state directory cannot be the watched root", term::path(.path))]
    StateDirIsRoot {
        /// The directory.
        path: PathBuf,
    },
    /// The state directory, its lock or a cookie cannot be made.
    #[error("{}: {source}", term::path(.path))]
    StateDir {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The root cannot be read or watched.
    #[error("{}: cannot watch the root: {source}", term::path(.path))]
    Root {
        /// The root as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The root was removed or moved away while watched.
    #[error("{}: the watched root was removed or moved", term::path(.path))]
    RootGone {
        /// The root.
        path: PathBuf,
    },
    /// A directory of the tree cannot be listed or watched.
    #[error("{}: cannot watch this directory: {source}", term::path(.path))]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The inotify watch limit was reached.
    #[error("{}: the inotify watch limit (/proc/sys/fs/inotify/max_user_watches) was reached after {watched} directories watched", term::path(.path))]
    WatchLimit {
        /// The directory that could not be watched.
        path: PathBuf,
        /// How many directories were watched.
        watched: usize,
    },
    /// inotify itself failed (e.g. /proc/sys/fs/inotify/max_user_instances
    /// reached).
    #[error("inotify: {source}")]
    Inotify {
        /// Why.
        source: io::Error,
    },
    /// The socket's path does not fit a Unix socket address.
    #[error("{}: the socket path is {len} bytes, more than a Unix socket address holds ({MAX_SOCKET_PATH})", term::path(.path))]
    SocketPathTooLong {
        /// The socket path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// The socket cannot be bound, listened on or polled.
    #[error("{}: {source}", term::path(.path))]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}
