//! The watcher: inotify on every directory of the tree, a record of changed
//! paths, and a single-threaded loop answering one client at a time.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use crate::proto::{self, Deadline, ReadError, Reply, Request};
use crate::{
    Answer, Changes, Options, Token, WatchError, CLIENT_READ_TIMEOUT, CLIENT_WRITE_TIMEOUT,
    COOKIE_TIMEOUT, EVENT_BUFFER, LOCK_NAME, MAX_ANSWER_BYTES, MAX_ANSWER_PATHS, MAX_SOCKET_PATH,
    SOCKET_NAME,
};

/// What every watch reports: an entry written, its attributes changed,
/// created, removed or renamed; the directory itself removed or moved.
/// `EXCL_UNLINK`: no events from a file after its last name is gone;
/// `DONT_FOLLOW`/`ONLYDIR`: a symlink or a file put where a directory was
/// is not watched.
fn mask() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::EXCL_UNLINK
        | WatchFlags::DONT_FOLLOW
        | WatchFlags::ONLYDIR
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// `dir/name`, the root being `b""`.
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return name.to_vec();
    }
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// The cookies' names: hidden, so never recorded even in a state directory
/// inside the root.
const COOKIE_PREFIX: &[u8] = b".cookie-";

fn hidden(name: &[u8]) -> bool {
    name.first() == Some(&b'.')
}

/// A generation number unlike the last one and unlike another watcher's:
/// the time and the process id, mixed (splitmix64).
fn fresh_generation(previous: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (u64::from(std::process::id()) << 40) ^ previous.rotate_left(17);
    loop {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if z != previous {
            return z;
        }
    }
}

/// One event, copied out of the read buffer.
struct Event {
    wd: i32,
    mask: ReadFlags,
    name: Option<Vec<u8>>,
}

struct Watcher<'o> {
    opts: &'o Options,
    root: PathBuf,
    state_dir: PathBuf,
    inotify: OwnedFd,
    /// The state directory's watch: only cookies are looked for there.
    state_wd: i32,
    wd_path: HashMap<i32, Vec<u8>>,
    /// The same, by path, to find a subtree's watches.
    path_wd: BTreeMap<Vec<u8>, i32>,
    /// Each changed path and the sequence number of its last change.
    record: HashMap<Vec<u8>, u64>,
    generation: u64,
    seq: u64,
    max_changes: usize,
    cookies: u64,
    /// The cookie awaited, and whether its creation was seen.
    cookie: Option<Vec<u8>>,
    cookie_seen: bool,
    /// Whether the queue overflowed since this was last cleared.
    overflowed: bool,
    root_gone: bool,
}

impl Watcher<'_> {
    fn new_generation(&mut self) {
        self.generation = fresh_generation(self.generation);
        self.record.clear();
    }

    fn record(&mut self, path: Vec<u8>) {
        self.seq += 1;
        self.record.insert(path, self.seq);
        if self.record.len() > self.max_changes {
            self.new_generation();
        }
    }

    fn abs(&self, rel: &[u8]) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(Path::new(std::ffi::OsStr::from_bytes(rel)))
        }
    }

    /// Watches `top` and every directory below it (not hidden, not the state
    /// directory, symlinks not followed). With `new` (a directory created or
    /// moved in), names it and every entry below it whose own name is
    /// relevant: files too, since a write made before the watch was in
    /// place was never reported. The watch is added before the directory
    /// is listed, so an entry made meanwhile is either listed or reported.
    fn add_tree(&mut self, top: Vec<u8>, new: bool) -> Result<(), WatchError> {
        let mut stack = vec![top];
        while let Some(rel) = stack.pop() {
            let abs = self.abs(&rel);
            let wd = match inotify::add_watch(&self.inotify, &abs, mask()) {
                Ok(wd) => wd,
                // gone or replaced by a file before we got to it: its
                // parent's event says so
                Err(Errno::NOENT | Errno::NOTDIR) if !rel.is_empty() => continue,
                Err(Errno::NOSPC) => {
                    return Err(WatchError::WatchLimit {
                        path: abs,
                        watched: self.wd_path.len(),
                    })
                }
                Err(e) if rel.is_empty() => {
                    return Err(WatchError::Root {
                        path: abs,
                        source: io_err(e),
                    })
                }
                Err(e) => {
                    return Err(WatchError::Dir {
                        path: abs,
                        source: io_err(e),
                    })
                }
            };
            // a directory already watched under another path (a bind
            // mount, maybe of an ancestor: descending would never end). The
            // state directory inside the tree is watched as the tree's
            // (a client's walk lists it; its cookies are hidden names)
            if self.wd_path.contains_key(&wd) {
                continue;
            }
            self.wd_path.insert(wd, rel.clone());
            self.path_wd.insert(rel.clone(), wd);
            // a new directory is named whatever its name: its parent's
            // listing changed, and a client walks it
            if new {
                self.record(rel.clone());
            }
            let entries = match fs::read_dir(&abs) {
                Ok(entries) => entries,
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => continue,
                Err(e) if e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) => continue,
                Err(source) => return Err(WatchError::Dir { path: abs, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| WatchError::Dir {
                    path: abs.clone(),
                    source,
                })?;
                let name = entry.file_name().into_vec();
                if hidden(&name) {
                    continue;
                }
                // the entry's type as the directory gives it: a symlink
                // is not a directory here
                let kind = entry.file_type();
                if kind.as_ref().is_ok_and(|t| t.is_dir()) {
                    stack.push(join(&rel, &name));
                } else if new && ((self.opts.relevant)(&name) || kind.is_ok_and(|t| t.is_symlink()))
                {
                    self.record(join(&rel, &name));
                }
            }
        }
        Ok(())
    }

    /// Drops the watches of `top` and of every directory below it.
    fn remove_tree(&mut self, top: &[u8]) {
        let mut gone = Vec::new();
        if let Some(&wd) = self.path_wd.get(top) {
            gone.push((top.to_vec(), wd));
        }
        let mut lo = top.to_vec();
        lo.push(b'/');
        let mut hi = top.to_vec();
        hi.push(b'/' + 1);
        gone.extend(self.path_wd.range(lo..hi).map(|(p, &wd)| (p.clone(), wd)));
        for (path, wd) in gone {
            self.path_wd.remove(&path);
            self.wd_path.remove(&wd);
            // already gone when the directory was removed: nothing to do
            let _ = inotify::remove_watch(&self.inotify, wd);
        }
    }

    /// After an overflow, events were lost, directories made meanwhile among
    /// them: every watch is put in place again, in a new generation.
    fn overflow(&mut self) -> Result<(), WatchError> {
        self.overflowed = true;
        self.new_generation();
        for (&wd, _) in self.wd_path.iter() {
            let _ = inotify::remove_watch(&self.inotify, wd);
        }
        self.wd_path.clear();
        self.path_wd.clear();
        self.add_tree(Vec::new(), false)
    }

    fn handle(&mut self, ev: Event) -> Result<(), WatchError> {
        if ev.mask.contains(ReadFlags::QUEUE_OVERFLOW) {
            return self.overflow();
        }
        if ev.wd == self.state_wd {
            if ev.mask.contains(ReadFlags::CREATE) && ev.name.is_some() && ev.name == self.cookie {
                self.cookie_seen = true;
            }
            // the state directory outside the tree has nothing else to say
            if !self.wd_path.contains_key(&ev.wd) {
                return Ok(());
            }
        }
        if ev.mask.contains(ReadFlags::IGNORED) {
            // the watch is gone (its directory removed, or we removed it)
            if let Some(path) = self.wd_path.remove(&ev.wd) {
                if self.path_wd.get(&path) == Some(&ev.wd) {
                    self.path_wd.remove(&path);
                }
                if path.is_empty() {
                    self.root_gone = true;
                }
            }
            return Ok(());
        }
        let Some(dir) = self.wd_path.get(&ev.wd).cloned() else {
            // a watch already dropped: its events are stale
            return Ok(());
        };
        let Some(name) = ev.name else {
            if dir.is_empty()
                && ev
                    .mask
                    .intersects(ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF | ReadFlags::UNMOUNT)
            {
                self.root_gone = true;
            }
            // another directory's own removal or move is its parent's event
            return Ok(());
        };
        if hidden(&name) {
            return Ok(());
        }
        let path = join(&dir, &name);
        let m = ev.mask;
        // a directory is named whatever its name: `relevant` speaks of
        // files (a directory `foo.o` in a listing is a directory a walk
        // takes)
        if m.contains(ReadFlags::ISDIR) {
            if m.intersects(ReadFlags::DELETE | ReadFlags::MOVED_FROM) {
                self.remove_tree(&path);
                self.record(dir.clone());
                self.record(path.clone());
            }
            if m.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
                self.record(dir.clone());
                self.add_tree(path.clone(), true)?;
            }
            if m.contains(ReadFlags::ATTRIB) {
                self.record(path);
            }
            return Ok(());
        }
        if !(self.opts.relevant)(&name) {
            // nor is a symbolic link so named left out (a walk lists every
            // link): one made or moved in is looked at; one removed or
            // moved out cannot be, so its directory is named
            let entry = m.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO);
            let removed = m.intersects(ReadFlags::DELETE | ReadFlags::MOVED_FROM);
            let link = entry
                && fs::symlink_metadata(self.abs(&path))
                    .is_ok_and(|md| md.file_type().is_symlink());
            if link {
                self.record(dir);
                self.record(path);
            } else if removed {
                self.record(dir);
            }
            return Ok(());
        }
        if m.intersects(
            ReadFlags::CREATE | ReadFlags::DELETE | ReadFlags::MOVED_FROM | ReadFlags::MOVED_TO,
        ) {
            self.record(dir);
            self.record(path.clone());
        }
        if m.intersects(ReadFlags::MODIFY | ReadFlags::ATTRIB | ReadFlags::CLOSE_WRITE) {
            self.record(path);
        }
        Ok(())
    }

    /// Reads what one `read` gives (nothing when the queue is empty) and
    /// applies it; whether anything was read.
    fn drain_once(&mut self) -> Result<bool, WatchError> {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); EVENT_BUFFER];
        let mut events = Vec::new();
        {
            let mut reader = inotify::Reader::new(&self.inotify, &mut buf);
            loop {
                match reader.next() {
                    Ok(ev) => events.push(Event {
                        wd: ev.wd(),
                        mask: ev.events(),
                        name: ev.file_name().map(|n| n.to_bytes().to_vec()),
                    }),
                    Err(Errno::AGAIN) => break,
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(WatchError::Inotify { source: io_err(e) }),
                }
                if reader.is_buffer_empty() {
                    break;
                }
            }
        }
        let any = !events.is_empty();
        for ev in events {
            self.handle(ev)?;
        }
        Ok(any)
    }

    /// The cookie handshake: a file made now in the state directory, and
    /// events applied until its creation comes through. Whether it did
    /// (neither a timeout nor an overflow on the way).
    fn sync(&mut self) -> Result<bool, WatchError> {
        self.cookies += 1;
        let mut name = COOKIE_PREFIX.to_vec();
        name.extend_from_slice(format!("{}-{}", std::process::id(), self.cookies).as_bytes());
        let path = self.state_dir.join(std::ffi::OsStr::from_bytes(&name));
        self.cookie = Some(name);
        self.cookie_seen = false;
        self.overflowed = false;
        let made = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        if made.is_err() {
            self.cookie = None;
            return Ok(false);
        }
        let until = Instant::now() + COOKIE_TIMEOUT;
        let result = loop {
            let read = match self.drain_once() {
                Ok(read) => read,
                Err(e) => break Err(e),
            };
            if self.cookie_seen {
                break Ok(true);
            }
            if self.overflowed || self.root_gone {
                break Ok(false);
            }
            if read {
                continue;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Ok(false);
            }
            if let Err(e) = self.wait_inotify(left) {
                break Err(e);
            }
        };
        self.cookie = None;
        // its own removal event is a hidden name in the state directory:
        // never recorded
        let _ = fs::remove_file(&path);
        result
    }

    fn wait_inotify(&self, left: Duration) -> Result<(), WatchError> {
        let timeout = Timespec {
            tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: left.subsec_nanos().into(),
        };
        let mut fds = [PollFd::new(&self.inotify, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(Errno::INTR) => Ok(()),
            Err(e) => Err(WatchError::Inotify { source: io_err(e) }),
        }
    }

    fn answer(&self, since: Option<Token>, synced: bool) -> Answer {
        let now = Token {
            generation: self.generation,
            seq: self.seq,
        };
        let unknown = Answer {
            now,
            changes: Changes::Unknown,
        };
        let Some(since) = since else { return unknown };
        if !synced || since.generation != now.generation || since.seq > now.seq {
            return unknown;
        }
        let mut paths: Vec<Vec<u8>> = self
            .record
            .iter()
            .filter(|&(_, &seq)| seq > since.seq)
            .map(|(p, _)| p.clone())
            .collect();
        let bytes: usize = paths.iter().map(|p| p.len() + 1).sum();
        if bytes > MAX_ANSWER_BYTES || paths.len() > MAX_ANSWER_PATHS {
            return unknown;
        }
        paths.sort_unstable();
        Answer {
            now,
            changes: Changes::Since(paths),
        }
    }

    /// One client, request to answer; whether it asked to stop. A client
    /// that breaks the protocol or its time is dropped, never fatal.
    fn serve(&mut self, stream: &UnixStream) -> Result<bool, WatchError> {
        if stream.set_nonblocking(false).is_err() {
            return Ok(false);
        }
        let request = proto::read_request(&mut BufReader::new(Deadline {
            stream,
            until: Instant::now() + CLIENT_READ_TIMEOUT,
        }));
        let mut stop = false;
        let reply = match request {
            Err(ReadError::Io(_)) => return Ok(false),
            Err(ReadError::Bad(what)) => Reply::Error(what),
            Ok(Request::Stop) => {
                stop = true;
                Reply::Stopping
            }
            Ok(Request::Query { since, root }) => {
                let ours = self.root.as_os_str().as_bytes();
                if root != ours {
                    Reply::WrongRoot(ours.to_vec())
                } else {
                    let synced = self.sync()?;
                    Reply::Answer(self.answer(since, synced))
                }
            }
        };
        let mut out = Deadline {
            stream,
            until: Instant::now() + CLIENT_WRITE_TIMEOUT,
        };
        let _ = proto::write_reply(&mut out, &reply);
        Ok(stop)
    }

    fn run(&mut self, listener: &UnixListener) -> Result<(), WatchError> {
        loop {
            let (inotify_ready, client_ready) = {
                let mut fds = [
                    PollFd::new(&self.inotify, PollFlags::IN),
                    PollFd::new(listener, PollFlags::IN),
                ];
                match poll(&mut fds, None) {
                    Ok(_) => {}
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(WatchError::Inotify { source: io_err(e) }),
                }
                (!fds[0].revents().is_empty(), !fds[1].revents().is_empty())
            };
            if inotify_ready {
                self.drain_once()?;
            }
            if self.root_gone {
                return Err(WatchError::RootGone {
                    path: self.root.clone(),
                });
            }
            if client_ready {
                // one client at a time; the others wait in the backlog
                match listener.accept() {
                    Ok((stream, _)) => {
                        if self.serve(&stream)? {
                            return Ok(());
                        }
                    }
                    // the client gave up before it was accepted
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::ConnectionAborted
                                | io::ErrorKind::Interrupted
                        ) => {}
                    // out of descriptors and the like: polling again would
                    // spin, so the watcher ends and clients check everything
                    Err(source) => {
                        return Err(WatchError::Socket {
                            path: self.state_dir.join(SOCKET_NAME),
                            source,
                        })
                    }
                }
            }
            if self.root_gone {
                return Err(WatchError::RootGone {
                    path: self.root.clone(),
                });
            }
        }
    }
}

/// Cookies a watcher killed mid-query left behind: ours now, by the lock.
/// Best effort: one left would only make one name unusable, and the next
/// query takes the next name.
fn remove_stale_cookies(state_dir: &Path) {
    let Ok(entries) = fs::read_dir(state_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().as_bytes().starts_with(COOKIE_PREFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Takes the state directory's lock, or says who holds it.
fn lock(state_dir: &Path) -> Result<File, WatchError> {
    let path = state_dir.join(LOCK_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| WatchError::StateDir {
            path: path.clone(),
            source,
        })?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(Errno::WOULDBLOCK) => Err(WatchError::AlreadyRunning { lock: path }),
        Err(e) => Err(WatchError::StateDir {
            path,
            source: io_err(e),
        }),
    }
}

/// Watches `opts.root` until asked to stop (`stop`), answering `query`.
/// Calls `ready` once, after every watch is in place and the socket listens
/// (with the number of directories watched), so that a caller (and tests) know
/// from when on changes are seen. Errors: another watcher holds the state
/// dir's lock; the inotify watch limit reached (name
/// /proc/sys/fs/inotify/max_user_watches and the count in the message); the
/// root unreadable; the socket path too long; etc. Typed errors (thiserror),
/// messages naming the path.
pub fn watch(opts: &Options, ready: &mut dyn FnMut(usize)) -> Result<(), WatchError> {
    fs::create_dir_all(&opts.state_dir).map_err(|source| WatchError::StateDir {
        path: opts.state_dir.clone(),
        source,
    })?;
    let state_dir = fs::canonicalize(&opts.state_dir).map_err(|source| WatchError::StateDir {
        path: opts.state_dir.clone(),
        source,
    })?;
    // held until this function returns (the file is closed)
    let _lock = lock(&state_dir)?;
    let root = fs::canonicalize(&opts.root).map_err(|source| WatchError::Root {
        path: opts.root.clone(),
        source,
    })?;
    if root == state_dir {
        return Err(WatchError::StateDirIsRoot { path: root });
    }
    let sock = state_dir.join(SOCKET_NAME);
    let len = sock.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(WatchError::SocketPathTooLong { path: sock, len });
    }
    let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
        .map_err(|e| WatchError::Inotify { source: io_err(e) })?;
    let state_wd = match inotify::add_watch(&fd, &state_dir, mask()) {
        Ok(wd) => wd,
        Err(Errno::NOSPC) => {
            return Err(WatchError::WatchLimit {
                path: state_dir,
                watched: 0,
            })
        }
        Err(e) => {
            return Err(WatchError::StateDir {
                path: state_dir,
                source: io_err(e),
            })
        }
    };
    let mut w = Watcher {
        opts,
        root,
        state_dir,
        inotify: fd,
        state_wd,
        wd_path: HashMap::new(),
        path_wd: BTreeMap::new(),
        record: HashMap::new(),
        generation: fresh_generation(0),
        seq: 0,
        max_changes: opts.max_changes.min(MAX_ANSWER_PATHS),
        cookies: 0,
        cookie: None,
        cookie_seen: false,
        overflowed: false,
        root_gone: false,
    };
    w.add_tree(Vec::new(), false)?;
    remove_stale_cookies(&w.state_dir);
    // a socket left by a watcher killed outright: ours now, by the lock
    match fs::remove_file(&sock) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(WatchError::Socket { path: sock, source }),
    }
    let listener = UnixListener::bind(&sock).map_err(|source| WatchError::Socket {
        path: sock.clone(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| WatchError::Socket {
            path: sock.clone(),
            source,
        })?;
    ready(w.wd_path.len());
    let result = w.run(&listener);
    drop(listener);
    let _ = fs::remove_file(&sock);
    result
}
