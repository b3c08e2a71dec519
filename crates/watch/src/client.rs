//! The client side: [`query`] and [`stop`].

use std::io::{self, BufReader};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kfunc_scan_manifest::term;

use crate::proto::{self, Deadline, ReadError, Reply, Request};
use crate::{Answer, QueryError, Token, MAX_SOCKET_PATH, QUERY_TIMEOUT, SOCKET_NAME};

/// Asks the watcher that serves `state_dir` what changed under `root` since
/// `since`. Ok(None) when no watcher serves it (no socket; a socket nobody
/// listens on, i.e. ECONNREFUSED / a stale socket file). `root` must be the
/// root the watcher watches (compared after canonicalize); otherwise an error.
/// Every read bounded (answer size, time: a watcher that does not answer
/// within QUERY_TIMEOUT is an error, never a hang).
pub fn query(
    state_dir: &Path,
    root: &Path,
    since: Option<Token>,
) -> Result<Option<Answer>, QueryError> {
    let asked = std::fs::canonicalize(root).map_err(|source| QueryError::Root {
        root: root.to_owned(),
        source,
    })?;
    let request = Request::Query {
        since,
        root: asked.as_os_str().as_bytes().to_vec(),
    };
    let sock = state_dir.join(SOCKET_NAME);
    match exchange(&sock, &request)? {
        None => Ok(None),
        Some(Reply::Answer(answer)) => Ok(Some(answer)),
        Some(Reply::WrongRoot(watched)) => Err(QueryError::WrongRoot {
            path: sock,
            watched: PathBuf::from(std::ffi::OsString::from_vec(watched)),
            asked,
        }),
        Some(other) => Err(unexpected(sock, &other)),
    }
}

/// Asks the watcher serving `state_dir` to stop; Ok(false) when none runs.
pub fn stop(state_dir: &Path) -> Result<bool, QueryError> {
    let sock = state_dir.join(SOCKET_NAME);
    match exchange(&sock, &Request::Stop)? {
        None => Ok(false),
        Some(Reply::Stopping) => Ok(true),
        Some(other) => Err(unexpected(sock, &other)),
    }
}

fn unexpected(path: PathBuf, reply: &Reply) -> QueryError {
    let what = match reply {
        // the watcher's word, shown escaped like any text from outside
        Reply::Error(what) => format!("the watcher refused the request: {}", term::escape(what)),
        Reply::Answer(_) => "an answer to another request".to_owned(),
        Reply::WrongRoot(_) => "a root where none was asked".to_owned(),
        Reply::Stopping => "\"stopping\" to a query".to_owned(),
    };
    QueryError::Protocol { path, what }
}

/// One request and its reply; None when no watcher listens.
fn exchange(sock: &Path, request: &Request) -> Result<Option<Reply>, QueryError> {
    let len = sock.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(QueryError::SocketPathTooLong {
            path: sock.to_owned(),
            len,
        });
    }
    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::TimedOut {
            QueryError::Timeout {
                path: sock.to_owned(),
            }
        } else {
            QueryError::Io {
                path: sock.to_owned(),
                source,
            }
        }
    };
    let stream = match UnixStream::connect(sock) {
        Ok(s) => s,
        // no socket file (nor state directory), or one left by a watcher
        // that was killed
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(io_error(e)),
    };
    let mut io = Deadline {
        stream: &stream,
        until: Instant::now() + QUERY_TIMEOUT,
    };
    proto::write_request(&mut io, request).map_err(io_error)?;
    match proto::read_reply(&mut BufReader::new(io)) {
        Ok(reply) => Ok(Some(reply)),
        Err(ReadError::Io(e)) => Err(io_error(e)),
        Err(ReadError::Bad(what)) => Err(QueryError::Protocol {
            path: sock.to_owned(),
            what,
        }),
    }
}
