//! The watcher on a thread against a temporary tree; the client asks it
//! over its socket as a scan would. No sleep waits for events: the cookie
//! handshake is what makes each answer include every write made before it.

use std::fs;
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use kfunc_scan_watch::{
    query, stop, watch, Answer, Changes, Options, QueryError, Token, WatchError,
    CLIENT_READ_TIMEOUT, LOCK_NAME, MAX_SOCKET_PATH, QUERY_TIMEOUT, SOCKET_NAME,
};
use tempfile::TempDir;

fn everything(_: &[u8]) -> bool {
    true
}

fn not_object(name: &[u8]) -> bool {
    !name.ends_with(b".o")
}

struct Watcher {
    root: PathBuf,
    state: PathBuf,
    thread: Option<JoinHandle<Result<(), WatchError>>>,
    dirs: usize,
    _tmp: TempDir,
}

impl Watcher {
    fn token(&self) -> Token {
        let a = self.ask(None);
        assert_eq!(a.changes, Changes::Unknown);
        a.now
    }

    fn ask(&self, since: Option<Token>) -> Answer {
        query(&self.state, &self.root, since)
            .expect("query")
            .expect("a watcher")
    }

    /// The paths changed since `t`, as strings; the next token.
    fn since(&self, t: Token) -> (Vec<String>, Token) {
        let a = self.ask(Some(t));
        match a.changes {
            Changes::Since(paths) => (
                paths
                    .into_iter()
                    .map(|p| String::from_utf8(p).unwrap())
                    .collect(),
                a.now,
            ),
            Changes::Unknown => panic!("Unknown since {t:?}, now {:?}", a.now),
        }
    }

    fn stop(mut self) -> Result<(), WatchError> {
        assert!(stop(&self.state).expect("stop"));
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = stop(&self.state);
            let _ = t.join();
        }
    }
}

/// A tree of `files` (paths, parents made), a watcher on it, ready.
fn start_with(files: &[&str], relevant: fn(&[u8]) -> bool, max_changes: usize) -> Watcher {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("root");
    let state = tmp.path().join("state");
    fs::create_dir(&root).unwrap();
    for f in files {
        let p = root.join(f);
        if f.ends_with('/') {
            fs::create_dir_all(&p).unwrap();
        } else {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, b"x").unwrap();
        }
    }
    let (thread, dirs) = spawn(&root, &state, relevant, max_changes);
    Watcher {
        root,
        state,
        thread: Some(thread),
        dirs,
        _tmp: tmp,
    }
}

fn start(files: &[&str]) -> Watcher {
    start_with(files, everything, 100_000)
}

fn spawn(
    root: &Path,
    state: &Path,
    relevant: fn(&[u8]) -> bool,
    max_changes: usize,
) -> (JoinHandle<Result<(), WatchError>>, usize) {
    let opts = Options {
        root: root.to_owned(),
        state_dir: state.to_owned(),
        relevant,
        max_changes,
    };
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || watch(&opts, &mut |n| tx.send(n).unwrap()));
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(dirs) => (thread, dirs),
        Err(_) => panic!("not ready: {:?}", thread.join().unwrap()),
    }
}

#[test]
fn no_token_is_unknown_with_a_token_that_then_sees_nothing() {
    let w = start(&["a.c", "d/e/f.c"]);
    assert_eq!(w.dirs, 3); // the root, d, d/e
    let t = w.token();
    let (changed, t2) = w.since(t);
    assert_eq!(changed, Vec::<String>::new());
    assert_eq!(t2.generation, t.generation);
    w.stop().unwrap();
}

#[test]
fn an_edit_names_the_file_and_nothing_else() {
    let w = start(&["a.c", "d/x.c", "d/y.c"]);
    let t = w.token();
    fs::write(w.root.join("d/x.c"), b"changed").unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["d/x.c"]);
    // the token moves on: the same edit is not named again
    assert_eq!(w.since(t).0, Vec::<String>::new());
}

#[test]
fn a_write_right_before_the_query_is_always_seen() {
    let w = start(&["a.c", "b.c"]);
    let mut t = w.token();
    for i in 0..200 {
        let name = if i % 2 == 0 { "a.c" } else { "b.c" };
        fs::write(w.root.join(name), format!("{i}")).unwrap();
        let (changed, now) = w.since(t);
        assert_eq!(changed, [name], "round {i}");
        t = now;
    }
}

#[test]
fn a_new_file_names_it_and_its_directory() {
    let w = start(&["d/x.c"]);
    let t = w.token();
    fs::write(w.root.join("d/new.c"), b"x").unwrap();
    assert_eq!(w.since(t).0, ["d", "d/new.c"]);
}

#[test]
fn new_directories_are_named_and_watched() {
    let w = start(&["x.c"]);
    let t = w.token();
    fs::create_dir_all(w.root.join("a/b/c")).unwrap();
    fs::write(w.root.join("a/b/c/f.c"), b"x").unwrap();
    // f.c is named whether its creation came before c was watched (found
    // by the walk) or after (its event)
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "a", "a/b", "a/b/c", "a/b/c/f.c"]);
    fs::write(w.root.join("a/b/c/g.c"), b"x").unwrap();
    assert_eq!(w.since(t).0, ["a/b/c", "a/b/c/g.c"]);
}

#[test]
fn a_renamed_directory_is_watched_under_its_new_name() {
    let w = start(&["d/x.c", "d/sub/y.c"]);
    let t = w.token();
    fs::rename(w.root.join("d"), w.root.join("e")).unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "d", "e", "e/sub", "e/sub/y.c", "e/x.c"]);
    fs::write(w.root.join("e/x.c"), b"new").unwrap();
    fs::write(w.root.join("e/sub/y.c"), b"new").unwrap();
    assert_eq!(w.since(t).0, ["e/sub/y.c", "e/x.c"]);
}

#[test]
fn a_directory_moved_out_and_back_in() {
    let w = start(&["d/x.c"]);
    let outside = w.root.parent().unwrap().join("outside");
    let t = w.token();
    fs::rename(w.root.join("d"), &outside).unwrap();
    // not watched any more: a write there is not the tree's
    fs::write(outside.join("x.c"), b"out").unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "d"]);
    fs::rename(&outside, w.root.join("back")).unwrap();
    fs::write(w.root.join("back/x.c"), b"in").unwrap();
    assert_eq!(w.since(t).0, ["", "back", "back/x.c"]);
}

#[test]
fn deletions_are_named() {
    let w = start(&["a.c", "d/x.c"]);
    let t = w.token();
    fs::remove_file(w.root.join("a.c")).unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "a.c"]);
    fs::remove_dir_all(w.root.join("d")).unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "d", "d/x.c"]);
    // and a directory made again under the same name is watched afresh
    fs::create_dir(w.root.join("d")).unwrap();
    let (_, t) = w.since(t);
    fs::write(w.root.join("d/z.c"), b"x").unwrap();
    assert_eq!(w.since(t).0, ["d", "d/z.c"]);
}

#[test]
fn hidden_names_are_neither_watched_nor_recorded() {
    let w = start(&["a.c", ".git/HEAD"]);
    assert_eq!(w.dirs, 1);
    let t = w.token();
    fs::write(w.root.join(".foo.swp"), b"x").unwrap();
    fs::write(w.root.join(".git/HEAD"), b"x").unwrap();
    fs::create_dir(w.root.join(".hidden")).unwrap();
    fs::write(w.root.join(".hidden/x.c"), b"x").unwrap();
    assert_eq!(w.since(t).0, Vec::<String>::new());
}

#[test]
fn names_not_relevant_are_not_recorded() {
    let w = start_with(&["d/x.c"], not_object, 100);
    let t = w.token();
    fs::write(w.root.join("d/x.o"), b"x").unwrap();
    fs::write(w.root.join("d/x.o"), b"xy").unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, Vec::<String>::new());
    // removed: it might have been a link (a walk lists every link), so its
    // directory is named
    fs::remove_file(w.root.join("d/x.o")).unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["d"]);
    // a link so named is named, and a directory so named, whatever it holds
    std::os::unix::fs::symlink("x.c", w.root.join("d/y.o")).unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["d", "d/y.o"]);
    fs::create_dir(w.root.join("d/z.o")).unwrap();
    fs::write(w.root.join("d/z.o/k.c"), b"k").unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["d", "d/z.o", "d/z.o/k.c"]);
    fs::write(w.root.join("d/x.c"), b"y").unwrap();
    assert_eq!(w.since(t).0, ["d/x.c"]);
}

#[test]
fn a_symlink_to_a_directory_is_not_followed() {
    let w = start(&["a.c"]);
    let outside = w.root.parent().unwrap().join("elsewhere");
    fs::create_dir(&outside).unwrap();
    let t = w.token();
    std::os::unix::fs::symlink(&outside, w.root.join("link")).unwrap();
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "link"]);
    fs::write(outside.join("x.c"), b"x").unwrap();
    assert_eq!(w.since(t).0, Vec::<String>::new());
}

#[test]
fn more_changes_than_the_bound_start_a_new_generation() {
    let w = start_with(&[], everything, 4);
    let t = w.token();
    // at the bound: the root and 3 files are 4 paths
    for f in ["a.c", "b.c", "c.c"] {
        fs::write(w.root.join(f), b"x").unwrap();
    }
    let (changed, t) = w.since(t);
    assert_eq!(changed, ["", "a.c", "b.c", "c.c"]);
    // one past it
    for f in ["a.c", "b.c", "c.c", "d.c"] {
        fs::write(w.root.join(f), b"y").unwrap();
    }
    let a = w.ask(Some(t));
    assert_eq!(a.changes, Changes::Unknown);
    assert_ne!(a.now.generation, t.generation);
    // the new generation's token works
    assert_eq!(w.since(a.now).0, Vec::<String>::new());
}

#[test]
fn tokens_of_another_generation_or_from_the_future_are_unknown() {
    let w = start(&["a.c"]);
    let t = w.token();
    fs::write(w.root.join("a.c"), b"y").unwrap();
    let (_, t) = w.since(t);
    let other = Token {
        generation: t.generation.wrapping_add(1),
        seq: t.seq,
    };
    let a = w.ask(Some(other));
    assert_eq!(a.changes, Changes::Unknown);
    assert_eq!(a.now, t);
    let future = Token {
        generation: t.generation,
        seq: t.seq + 1,
    };
    assert_eq!(w.ask(Some(future)).changes, Changes::Unknown);
    // and the token itself still answers
    assert_eq!(w.since(t).0, Vec::<String>::new());
}

#[test]
fn no_watcher_and_a_stale_socket_are_none() {
    let tmp = TempDir::new().unwrap();
    assert!(query(tmp.path(), tmp.path(), None).unwrap().is_none());
    assert!(!stop(tmp.path()).unwrap());
    // a watcher killed outright leaves its socket file: nobody listens
    let sock = tmp.path().join(SOCKET_NAME);
    drop(UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    assert!(query(tmp.path(), tmp.path(), None).unwrap().is_none());
    assert!(!stop(tmp.path()).unwrap());
}

#[test]
fn a_watcher_replaces_a_stale_socket() {
    let tmp = TempDir::new().unwrap();
    let (root, state) = (tmp.path().join("root"), tmp.path().join("state"));
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&state).unwrap();
    drop(UnixListener::bind(state.join(SOCKET_NAME)).unwrap());
    let (thread, _) = spawn(&root, &state, everything, 10);
    assert!(query(&state, &root, None).unwrap().is_some());
    assert!(stop(&state).unwrap());
    thread.join().unwrap().unwrap();
    // the socket goes with the watcher
    assert!(!state.join(SOCKET_NAME).exists());
    assert!(query(&state, &root, None).unwrap().is_none());
}

#[test]
fn a_second_watcher_of_the_same_state_dir_is_refused() {
    let w = start(&["a.c"]);
    let opts = Options {
        root: w.root.clone(),
        state_dir: w.state.clone(),
        relevant: everything,
        max_changes: 10,
    };
    let err = watch(&opts, &mut |_| panic!("ready")).unwrap_err();
    assert!(matches!(err, WatchError::AlreadyRunning { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(LOCK_NAME), "{msg}");
    // the first one still answers
    w.token();
}

#[test]
fn stop_ends_watch_with_ok() {
    let w = start(&["a.c"]);
    w.stop().unwrap();
}

#[test]
fn a_silent_client_delays_others_by_the_read_timeout_at_most() {
    let w = start(&["a.c"]);
    let t = w.token();
    let silent = UnixStream::connect(w.state.join(SOCKET_NAME)).unwrap();
    // and one that sends a byte every 50 ms, forever
    let sock = w.state.join(SOCKET_NAME);
    let slow = thread::spawn(move || {
        let mut s = UnixStream::connect(sock).unwrap();
        for _ in 0..60 {
            if s.write_all(b"K").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    fs::write(w.root.join("a.c"), b"y").unwrap();
    let began = Instant::now();
    let (changed, _) = w.since(t);
    let took = began.elapsed();
    assert_eq!(changed, ["a.c"]);
    assert!(
        took < 2 * CLIENT_READ_TIMEOUT + Duration::from_millis(500),
        "{took:?}"
    );
    drop(silent);
    slow.join().unwrap();
}

#[test]
fn another_root_is_an_error() {
    let w = start(&["a.c", "d/x.c"]);
    let err = query(&w.state, &w.root.join("d"), None).unwrap_err();
    assert!(matches!(err, QueryError::WrongRoot { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("root/d") && msg.contains("watches"), "{msg}");
    // the same root by another spelling is the root
    let spelled = w.root.join("d/..");
    assert!(query(&w.state, &spelled, None).unwrap().is_some());
}

#[test]
fn a_state_dir_inside_the_root_is_watched_as_the_trees() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("root");
    let state = root.join("state");
    fs::create_dir_all(root.join("d")).unwrap();
    let (thread, dirs) = spawn(&root, &state, everything, 100);
    assert_eq!(dirs, 3); // the root, d and the state directory
    let t = query(&state, &root, None).unwrap().unwrap().now;
    // its cookies are no change (hidden names)
    for _ in 0..3 {
        let a = query(&state, &root, Some(t)).unwrap().unwrap();
        assert_eq!(a.changes, Changes::Since(Vec::new()));
    }
    // what a client's walk would list there is
    fs::write(state.join("k.c"), b"k").unwrap();
    let a = query(&state, &root, Some(t)).unwrap().unwrap();
    assert_eq!(
        a.changes,
        Changes::Since(vec![b"state".to_vec(), b"state/k.c".to_vec()])
    );
    assert!(stop(&state).unwrap());
    thread.join().unwrap().unwrap();
}

/// A state directory whose socket path is exactly `len` bytes long.
fn state_dir_with_socket_len(base: &Path, len: usize) -> PathBuf {
    let fixed = base.as_os_str().len() + 1 + 1 + SOCKET_NAME.len();
    assert!(len > fixed, "temp dir path too long for this test");
    let dir = base.join("s".repeat(len - fixed));
    assert_eq!(dir.join(SOCKET_NAME).as_os_str().len(), len);
    dir
}

#[test]
fn socket_paths_at_and_past_the_bound() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let at = state_dir_with_socket_len(tmp.path(), MAX_SOCKET_PATH);
    let (thread, _) = spawn(&root, &at, everything, 10);
    assert!(query(&at, &root, None).unwrap().is_some());
    assert!(stop(&at).unwrap());
    thread.join().unwrap().unwrap();

    let past = state_dir_with_socket_len(tmp.path(), MAX_SOCKET_PATH + 1);
    let err = query(&past, &root, None).unwrap_err();
    assert!(matches!(err, QueryError::SocketPathTooLong { len, .. } if len == MAX_SOCKET_PATH + 1));
    let opts = Options {
        root,
        state_dir: past,
        relevant: everything,
        max_changes: 10,
    };
    let err = watch(&opts, &mut |_| panic!("ready")).unwrap_err();
    assert!(
        matches!(err, WatchError::SocketPathTooLong { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("108 bytes"), "{err}");
}

#[test]
fn a_root_that_is_not_a_directory_is_an_error() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("file");
    fs::write(&file, b"x").unwrap();
    for root in [file, tmp.path().join("missing")] {
        let opts = Options {
            root: root.clone(),
            state_dir: tmp.path().join("state"),
            relevant: everything,
            max_changes: 10,
        };
        let err = watch(&opts, &mut |_| panic!("ready")).unwrap_err();
        assert!(matches!(err, WatchError::Root { .. }), "{err:?}");
        assert!(err.to_string().contains(root.to_str().unwrap()), "{err}");
    }
}

#[test]
fn a_queue_overflow_starts_a_new_generation_and_keeps_watching() {
    let w = start(&["a.c", "b.c"]);
    let t = w.token();
    // keep the watcher busy with a silent client while more events are
    // queued than the kernel keeps (max_queued_events, 16384 by default);
    // alternate two files, since equal events in a row are merged
    let max: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    // (three of them in a row: up to 1.5 s, the watcher reading one buffer
    // of events between them, so that a loaded machine still overflows)
    let silent: Vec<UnixStream> = (0..3)
        .map(|_| UnixStream::connect(w.state.join(SOCKET_NAME)).unwrap())
        .collect();
    let mut a = fs::OpenOptions::new()
        .write(true)
        .open(w.root.join("a.c"))
        .unwrap();
    let mut b = fs::OpenOptions::new()
        .write(true)
        .open(w.root.join("b.c"))
        .unwrap();
    for _ in 0..2 * max {
        a.write_all(b"x").unwrap();
        b.write_all(b"x").unwrap();
    }
    // a directory made while the queue is full: its event is lost, and it
    // is watched all the same (the watches are put in place again)
    fs::create_dir(w.root.join("new")).unwrap();
    drop(silent);
    let after = w.ask(Some(t));
    assert_eq!(after.changes, Changes::Unknown);
    assert_ne!(after.now.generation, t.generation);
    let (_, t) = w.since(after.now);
    fs::write(w.root.join("new/x.c"), b"x").unwrap();
    assert_eq!(w.since(t).0, ["new", "new/x.c"]);
}

#[test]
fn a_write_behind_thousands_of_queued_events_is_seen() {
    // more events queued than one read of the queue takes (EVENT_BUFFER,
    // about 2,000 of these): the answer waits for the cookie, behind all of
    // them, not for what one or two reads give
    let w = start(&["a.c", "b.c"]);
    let t = w.token();
    // the watcher busy with a silent client meanwhile, so that the events
    // pile up (8,000: under the kernel's 16,384, not an overflow); two
    // files alternate, since equal events in a row are merged
    let silent = UnixStream::connect(w.state.join(SOCKET_NAME)).unwrap();
    let mut a = fs::OpenOptions::new()
        .write(true)
        .open(w.root.join("a.c"))
        .unwrap();
    let mut b = fs::OpenOptions::new()
        .write(true)
        .open(w.root.join("b.c"))
        .unwrap();
    let began = Instant::now();
    for _ in 0..4000 {
        a.write_all(b"x").unwrap();
        b.write_all(b"x").unwrap();
    }
    fs::write(w.root.join("last.c"), b"x").unwrap();
    // else the watcher read the queue while it grew: the answer must still
    // be right, but the test proves less than it says
    if began.elapsed() >= CLIENT_READ_TIMEOUT {
        eprintln!("slow machine: {:?} to write", began.elapsed());
    }
    drop(silent);
    assert_eq!(w.since(t).0, ["", "a.c", "b.c", "last.c"]);
}

#[test]
fn names_with_any_bytes_come_back_as_they_are() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let w = start(&["d/"]);
    let t = w.token();
    let odd: &[u8] = b"new\nline \xff\x1b[31m.c";
    fs::write(w.root.join("d").join(OsStr::from_bytes(odd)), b"x").unwrap();
    let a = w.ask(Some(t));
    let mut want = b"d/".to_vec();
    want.extend_from_slice(odd);
    assert_eq!(a.changes, Changes::Since(vec![b"d".to_vec(), want]));
}

#[test]
fn a_watcher_that_does_not_answer_is_an_error_after_the_timeout() {
    // a socket that takes connections (the kernel's backlog) and never
    // answers them
    let tmp = TempDir::new().unwrap();
    let _listener = UnixListener::bind(tmp.path().join(SOCKET_NAME)).unwrap();
    let began = Instant::now();
    let err = query(tmp.path(), tmp.path(), None).unwrap_err();
    let took = began.elapsed();
    assert!(matches!(err, QueryError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("QUERY_TIMEOUT"), "{err}");
    assert!(took >= QUERY_TIMEOUT, "{took:?}");
    assert!(took < QUERY_TIMEOUT + Duration::from_secs(2), "{took:?}");
}

#[test]
fn the_watch_limit_message_names_the_sysctl_and_the_count() {
    let err = WatchError::WatchLimit {
        path: PathBuf::from("/t/a\nb"),
        watched: 8192,
    };
    assert_eq!(
        err.to_string(),
        "/t/a\\nb: the inotify watch limit (/proc/sys/fs/inotify/max_user_watches) \
         was reached after 8192 directories watched"
    );
}

#[test]
fn a_new_watcher_does_not_honour_an_old_watchers_token() {
    let mut w = start(&["a.c"]);
    let t = w.token();
    assert!(stop(&w.state).unwrap());
    w.thread.take().unwrap().join().unwrap().unwrap();
    // what happened while no watcher ran is nobody's record
    fs::write(w.root.join("a.c"), b"unseen").unwrap();
    let (thread, _) = spawn(&w.root, &w.state, everything, 100);
    w.thread = Some(thread);
    let a = w.ask(Some(t));
    assert_eq!(a.changes, Changes::Unknown);
    assert_ne!(a.now.generation, t.generation);
}

#[test]
fn a_missing_state_dir_or_a_file_in_its_place_is_no_watcher() {
    let tmp = TempDir::new().unwrap();
    assert!(query(&tmp.path().join("none"), tmp.path(), None)
        .unwrap()
        .is_none());
    let file = tmp.path().join("file");
    fs::write(&file, b"x").unwrap();
    assert!(query(&file, tmp.path(), None).unwrap().is_none());
}

#[test]
fn the_root_moved_away_ends_the_watcher_with_an_error() {
    let mut w = start(&["a.c"]);
    let moved = w.root.with_file_name("moved");
    fs::rename(&w.root, &moved).unwrap();
    let err = w.thread.take().unwrap().join().unwrap().unwrap_err();
    assert!(matches!(err, WatchError::RootGone { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("/root: the watched root was removed or moved"),
        "{err}"
    );
    // and its socket went with it
    assert!(query(&w.state, &moved, None).unwrap().is_none());
}

#[test]
fn cookies_left_by_a_killed_watcher_are_cleared() {
    let tmp = TempDir::new().unwrap();
    let (root, state) = (tmp.path().join("root"), tmp.path().join("state"));
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&state).unwrap();
    fs::write(state.join(".cookie-1-1"), b"").unwrap();
    let (thread, _) = spawn(&root, &state, everything, 10);
    assert!(!state.join(".cookie-1-1").exists());
    // and no cookie of its own outlives its query
    query(&state, &root, None).unwrap().unwrap();
    let mut left: Vec<String> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [LOCK_NAME, SOCKET_NAME]);
    assert!(stop(&state).unwrap());
    thread.join().unwrap().unwrap();
}

/// A socket in `state` whose "watcher" reads the request and writes `reply`.
fn fake_watcher(state: &Path, reply: &'static [u8]) -> JoinHandle<()> {
    let listener = UnixListener::bind(state.join(SOCKET_NAME)).unwrap();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.write_all(reply);
        // held open: the client must stop on the header, not on EOF
        thread::sleep(Duration::from_millis(300));
    })
}

#[test]
fn an_answer_past_its_bounds_is_refused_at_its_header() {
    let cases: [(&'static [u8], &str); 4] = [
        (b"KSW 1 since 1 1 1 67108865\n", "MAX_ANSWER_BYTES"),
        (b"KSW 1 since 1 1 1048577 2\n", "MAX_ANSWER_PATHS"),
        (b"KSW 1 wrong-root 4097\n", "MAX_ROOT_BYTES"),
        (b"KSW 7 unknown 1 1\n", "protocol version \"7\""),
    ];
    for (reply, bound) in cases {
        let tmp = TempDir::new().unwrap();
        let fake = fake_watcher(tmp.path(), reply);
        let began = Instant::now();
        let err = query(tmp.path(), tmp.path(), None).unwrap_err();
        assert!(began.elapsed() < Duration::from_millis(300));
        assert!(matches!(err, QueryError::Protocol { .. }), "{err:?}");
        assert!(err.to_string().contains(bound), "{err}");
        fake.join().unwrap();
    }
}

#[test]
fn a_tree_deeper_than_a_path_can_name_is_refused_not_missed() {
    use rustix::fs::{mkdirat, openat, Mode, OFlags};
    // made one level at a time from the parent's descriptor, as no path
    // names the bottom
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let mut dir = fs::File::open(&root).unwrap().into();
    let depth = 4096 / 3 + 1;
    for _ in 0..depth {
        mkdirat(&dir, "dd", Mode::RWXU).unwrap();
        dir = openat(
            &dir,
            "dd",
            OFlags::DIRECTORY | OFlags::RDONLY,
            Mode::empty(),
        )
        .unwrap();
    }
    let opts = Options {
        root: root.clone(),
        state_dir: tmp.path().join("state"),
        relevant: everything,
        max_changes: 10,
    };
    let err = watch(&opts, &mut |_| panic!("ready")).unwrap_err();
    assert!(matches!(err, WatchError::Dir { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/dd/dd/") && msg.contains("os error 36"),
        "{msg}"
    );
    // no watcher: the client checks everything itself
    assert!(query(&tmp.path().join("state"), &root, None)
        .unwrap()
        .is_none());
}
