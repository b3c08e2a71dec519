//! The wire protocol, one request and one answer per connection. Each
//! message is a header line of ASCII words, `KSW <version> <kind> …`, then
//! as many raw bytes as the header's last number says: paths are bytes
//! (any but NUL), so they are never on the line itself.
//!
//! Requests:
//! - `KSW 1 query <generation|-> <seq|-> <root-len>\n` and the root's bytes;
//! - `KSW 1 stop\n`.
//!
//! Answers:
//! - `KSW 1 since <generation> <seq> <count> <len>\n` and `len` bytes, each
//!   path followed by a NUL;
//! - `KSW 1 unknown <generation> <seq>\n`;
//! - `KSW 1 wrong-root <len>\n` and the watched root's bytes;
//! - `KSW 1 stopping\n`;
//! - `KSW 1 error <what>\n` (a request the watcher could not read).
//!
//! Every read goes through [`Deadline`]: a total time for the whole message,
//! not a time per `read`, so a peer sending a byte at a time cannot stretch
//! it.

use std::io::{self, BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::PROTOCOL_VERSION;
use crate::{Answer, Changes, Token, MAX_ANSWER_BYTES, MAX_ANSWER_PATHS, MAX_LINE, MAX_ROOT_BYTES};

const MAGIC: &str = "KSW";

/// A stream read and written against one deadline.
pub(crate) struct Deadline<'a> {
    pub(crate) stream: &'a UnixStream,
    pub(crate) until: Instant,
}

impl Deadline<'_> {
    fn remaining(&self) -> io::Result<Duration> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        Ok(left)
    }
}

/// A socket timeout shows as EAGAIN; call it what it is.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out")
    } else {
        e
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_read_timeout(Some(left))?;
        let mut s = self.stream;
        s.read(buf).map_err(timed_out)
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_write_timeout(Some(left))?;
        let mut s = self.stream;
        s.write(buf).map_err(timed_out)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why a message could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The stream failed or timed out.
    Io(io::Error),
    /// The bytes are not a message of this protocol.
    Bad(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn bad<T>(what: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError::Bad(what.into()))
}

/// The header line's words after `KSW <version>`, the line at most
/// [`MAX_LINE`] bytes.
fn read_header(r: &mut impl BufRead) -> Result<Vec<String>, ReadError> {
    let mut line = Vec::new();
    r.take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        if line.len() >= MAX_LINE {
            return bad(format!(
                "header line longer than {MAX_LINE} bytes (MAX_LINE)"
            ));
        }
        return bad("connection closed before a header line");
    }
    line.pop();
    let Ok(text) = String::from_utf8(line) else {
        return bad("header line not ASCII");
    };
    let mut words = text.split(' ').map(str::to_owned);
    if words.next().as_deref() != Some(MAGIC) {
        return bad("not a kfunc-scan-watch message");
    }
    let version = words.next().unwrap_or_default();
    if version != PROTOCOL_VERSION.to_string() {
        return bad(format!(
            "protocol version {version:?}, this side speaks {PROTOCOL_VERSION}"
        ));
    }
    Ok(words.collect())
}

fn number(word: &str) -> Result<u64, ReadError> {
    // u64's parser takes a leading '+'; the protocol does not
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return bad(format!("{word:?} is not a number"));
    }
    word.parse()
        .map_or_else(|_| bad(format!("{word:?} is out of range")), Ok)
}

fn length(word: &str, max: usize, bound: &str) -> Result<usize, ReadError> {
    let n = number(word)?;
    match usize::try_from(n) {
        Ok(n) if n <= max => Ok(n),
        _ => bad(format!("length {n} is more than {max} ({bound})")),
    }
}

fn payload(r: &mut impl BufRead, len: usize) -> Result<Vec<u8>, ReadError> {
    // grown as bytes arrive, not allocated on the peer's word
    let mut bytes = Vec::new();
    r.take(len as u64).read_to_end(&mut bytes)?;
    if bytes.len() != len {
        return bad(format!(
            "connection closed after {} of {len} bytes",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// What a client asks.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// What changed since the token under this root (canonical).
    Query { since: Option<Token>, root: Vec<u8> },
    /// Stop watching.
    Stop,
}

/// What a watcher answers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    Answer(Answer),
    WrongRoot(Vec<u8>),
    Stopping,
    Error(String),
}

pub(crate) fn write_request(w: &mut impl Write, req: &Request) -> io::Result<()> {
    let mut out = Vec::new();
    match req {
        Request::Query { since, root } => {
            let (g, s) = match since {
                Some(t) => (t.generation.to_string(), t.seq.to_string()),
                None => ("-".to_owned(), "-".to_owned()),
            };
            out.extend_from_slice(
                format!("{MAGIC} {PROTOCOL_VERSION} query {g} {s} {}\n", root.len()).as_bytes(),
            );
            out.extend_from_slice(root);
        }
        Request::Stop => {
            out.extend_from_slice(format!("{MAGIC} {PROTOCOL_VERSION} stop\n").as_bytes());
        }
    }
    w.write_all(&out)
}

pub(crate) fn read_request(r: &mut impl BufRead) -> Result<Request, ReadError> {
    let words = read_header(r)?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["stop"] => Ok(Request::Stop),
        ["query", g, s, len] => {
            let since = match (*g, *s) {
                ("-", "-") => None,
                (g, s) => Some(Token {
                    generation: number(g)?,
                    seq: number(s)?,
                }),
            };
            let len = length(len, MAX_ROOT_BYTES, "MAX_ROOT_BYTES")?;
            let root = payload(r, len)?;
            Ok(Request::Query { since, root })
        }
        _ => bad("unknown request"),
    }
}

pub(crate) fn write_reply(w: &mut impl Write, reply: &Reply) -> io::Result<()> {
    let head = |rest: String| format!("{MAGIC} {PROTOCOL_VERSION} {rest}\n").into_bytes();
    let mut out;
    match reply {
        Reply::Answer(Answer { now, changes }) => match changes {
            Changes::Unknown => {
                out = head(format!("unknown {} {}", now.generation, now.seq));
            }
            Changes::Since(paths) => {
                let len: usize = paths.iter().map(|p| p.len() + 1).sum();
                out = head(format!(
                    "since {} {} {} {len}",
                    now.generation,
                    now.seq,
                    paths.len()
                ));
                out.reserve(len);
                for p in paths {
                    out.extend_from_slice(p);
                    out.push(0);
                }
            }
        },
        Reply::WrongRoot(root) => {
            out = head(format!("wrong-root {}", root.len()));
            out.extend_from_slice(root);
        }
        Reply::Stopping => out = head("stopping".to_owned()),
        Reply::Error(what) => {
            // one word of ours, never text from outside
            let word: String = what
                .chars()
                .map(|c| if c.is_ascii_graphic() { c } else { '-' })
                .take(MAX_LINE / 2)
                .collect();
            out = head(format!("error {word}"));
        }
    }
    w.write_all(&out)
}

fn token(g: &str, s: &str) -> Result<Token, ReadError> {
    Ok(Token {
        generation: number(g)?,
        seq: number(s)?,
    })
}

pub(crate) fn read_reply(r: &mut impl BufRead) -> Result<Reply, ReadError> {
    let words = read_header(r)?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["unknown", g, s] => Ok(Reply::Answer(Answer {
            now: token(g, s)?,
            changes: Changes::Unknown,
        })),
        ["since", g, s, count, len] => {
            let now = token(g, s)?;
            let count = length(count, MAX_ANSWER_PATHS, "MAX_ANSWER_PATHS")?;
            let len = length(len, MAX_ANSWER_BYTES, "MAX_ANSWER_BYTES")?;
            let bytes = payload(r, len)?;
            let paths = split_paths(&bytes, count)?;
            Ok(Reply::Answer(Answer {
                now,
                changes: Changes::Since(paths),
            }))
        }
        ["wrong-root", len] => {
            let len = length(len, MAX_ROOT_BYTES, "MAX_ROOT_BYTES")?;
            Ok(Reply::WrongRoot(payload(r, len)?))
        }
        ["stopping"] => Ok(Reply::Stopping),
        ["error", what] => Ok(Reply::Error((*what).to_owned())),
        _ => bad("unknown answer"),
    }
}

/// `count` NUL-terminated paths, sorted without duplicates as promised:
/// checked, since the client builds on it.
fn split_paths(bytes: &[u8], count: usize) -> Result<Vec<Vec<u8>>, ReadError> {
    if count == 0 {
        return if bytes.is_empty() {
            Ok(Vec::new())
        } else {
            bad("paths after a count of 0")
        };
    }
    let Some(body) = bytes.strip_suffix(&[0]) else {
        return bad("the last path is not terminated");
    };
    let paths: Vec<Vec<u8>> = body.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    if paths.len() != count {
        return bad(format!(
            "{} paths where the header says {count}",
            paths.len()
        ));
    }
    if paths.windows(2).any(|w| w[0] >= w[1]) {
        return bad("paths not sorted or repeated");
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reply_round_trip(reply: Reply) {
        let mut out = Vec::new();
        write_reply(&mut out, &reply).unwrap();
        assert_eq!(read_reply(&mut Cursor::new(out)).unwrap(), reply);
    }

    #[test]
    fn replies_round_trip_with_any_path_bytes() {
        let now = Token {
            generation: u64::MAX,
            seq: 7,
        };
        reply_round_trip(Reply::Answer(Answer {
            now,
            changes: Changes::Since(vec![
                b"".to_vec(),
                b"a\nb".to_vec(),
                b"a\xff/\x01 c".to_vec(),
            ]),
        }));
        reply_round_trip(Reply::Answer(Answer {
            now,
            changes: Changes::Since(Vec::new()),
        }));
        reply_round_trip(Reply::Answer(Answer {
            now,
            changes: Changes::Unknown,
        }));
        reply_round_trip(Reply::WrongRoot(b"/x\ny".to_vec()));
        reply_round_trip(Reply::Stopping);
    }

    #[test]
    fn requests_round_trip() {
        for req in [
            Request::Stop,
            Request::Query {
                since: None,
                root: b"/r o\not".to_vec(),
            },
            Request::Query {
                since: Some(Token {
                    generation: 1,
                    seq: 0,
                }),
                root: b"/".to_vec(),
            },
        ] {
            let mut out = Vec::new();
            write_request(&mut out, &req).unwrap();
            assert_eq!(read_request(&mut Cursor::new(out)).unwrap(), req);
        }
    }

    fn bad_reply(bytes: &[u8]) -> String {
        match read_reply(&mut Cursor::new(bytes.to_vec())) {
            Err(ReadError::Bad(what)) => what,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bounds_and_lies_are_refused() {
        // at the bound the header is read; one past, refused by its length
        let at = format!("KSW 1 since 1 1 {MAX_ANSWER_PATHS} 0\n");
        assert!(bad_reply(at.as_bytes()).contains("not terminated"));
        let past = format!("KSW 1 since 1 1 {} 0\n", MAX_ANSWER_PATHS + 1);
        assert!(bad_reply(past.as_bytes()).contains("MAX_ANSWER_PATHS"));
        let past = format!("KSW 1 since 1 1 1 {}\n", MAX_ANSWER_BYTES + 1);
        assert!(bad_reply(past.as_bytes()).contains("MAX_ANSWER_BYTES"));
        let long = format!("KSW 1 unknown 1 {}\n", "1".repeat(MAX_LINE));
        assert!(bad_reply(long.as_bytes()).contains("MAX_LINE"));
        assert!(bad_reply(b"KSW 2 stopping\n").contains("version"));
        assert!(bad_reply(b"KSW 1 since 1 1 2 4\nb\0a\0").contains("sorted"));
        assert!(bad_reply(b"KSW 1 since 1 1 3 4\na\0b\0").contains("header says 3"));
        assert!(bad_reply(b"KSW 1 unknown +1 2\n").contains("not a number"));
        assert!(bad_reply(b"KSW 1 unknown 99999999999999999999 2\n").contains("range"));
        // a header line of exactly MAX_LINE bytes, newline included, is read
        let mut exact = b"KSW 1 stopping".to_vec();
        exact.resize(MAX_LINE - 1, b' ');
        exact.push(b'\n');
        assert!(matches!(
            read_reply(&mut Cursor::new(exact)),
            Err(ReadError::Bad(w)) if w == "unknown answer"
        ));
    }
}
