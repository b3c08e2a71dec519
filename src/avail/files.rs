//! Reading a BTF directory's files, which come from other people (a CI
//! artefact, a tarball): nothing may block, nothing outside the directory
//! is printed, and no file is read past what its use needs.
//!
//! - Every file is opened only when it is a regular file, checked twice:
//!   `stat` before the open, so a link to a device (`/dev/watchdog`, a
//!   tape) is never opened, and `fstat` on the opened descriptor, so a
//!   file swapped in between is caught. The open is `O_NONBLOCK`: a FIFO
//!   swapped in after the first check does not block the open.
//! - `RELEASE` and `config` are read only inside the directory: their text
//!   is printed, so a link resolving outside it (`RELEASE -> /etc/shadow`)
//!   is not followed (a warning names it); a link within it is fine. They
//!   are read up to a small bound ([`RELEASE_MAX_BYTES`],
//!   [`CONFIG_HEAD_MAX_BYTES`]) and a release is taken only when it looks
//!   like one (printable ASCII without blanks, at most [`RELEASE_MAX_LEN`]
//!   characters); else it is ignored with a warning that says why and
//!   does not repeat the bytes.
//! - The BTF files may be links anywhere (a distribution's debug package
//!   unpacked elsewhere, `vmlinux -> /usr/lib/debug/boot/vmlinux-…`): the
//!   user named the directory to read them, and their bytes are parsed as
//!   BTF, never printed. They too must be regular files.

use crate::limits::{
    CONFIG_HEADER_LINES, CONFIG_HEAD_MAX_BYTES, RELEASE_MAX_BYTES, RELEASE_MAX_LEN,
};
use crate::manifest::term;
use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The file naming the kernel's release (`uname -r`'s text).
pub(crate) const RELEASE: &str = "RELEASE";
/// The kernel's `.config`, whose header names the release.
pub(crate) const CONFIG: &str = "config";

/// Something of a BTF directory left unread, and why: printed as a
/// warning; the listing goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub path: PathBuf,
    /// `release` (RELEASE or config) or `not-a-file` (a directory entry).
    pub code: &'static str,
    /// Our own words; never the file's bytes.
    pub text: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: warning[{}]: {}",
            term::path(&self.path),
            self.code,
            self.text
        )
    }
}

/// What a file that is not a regular file is, for a message.
pub(crate) fn kind_of(t: &FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Why a file was not opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{kind}, not a regular file")]
    NotRegular { kind: &'static str },
}

/// `path` opened for reading if it is a regular file (through links
/// unless `nofollow`), never blocking: see the module's documentation.
pub(crate) fn open_regular(path: &Path, nofollow: bool) -> Result<File, OpenError> {
    let before = if nofollow {
        std::fs::symlink_metadata(path)?
    } else {
        std::fs::metadata(path)?
    };
    if !before.is_file() {
        return Err(OpenError::NotRegular {
            kind: kind_of(&before.file_type()),
        });
    }
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let after = file.metadata()?;
    if !after.is_file() {
        return Err(OpenError::NotRegular {
            kind: kind_of(&after.file_type()),
        });
    }
    Ok(file)
}

/// At most `max` bytes of `file`, and whether there was more.
fn read_head(file: File, max: u64) -> std::io::Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    let more = bytes.len() as u64 > max;
    // max + 1 bytes at most were read: max fits in usize
    bytes.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    Ok((bytes, more))
}

/// `dir/name` opened if it is a regular file inside `dir` (links within
/// it followed); `Ok(None)` when there is no such file.
fn open_inside(dir: &Path, name: &str) -> Result<Option<File>, Note> {
    let path = dir.join(name);
    let note = |text: String| Note {
        path: path.clone(),
        code: "release",
        text,
    };
    let link = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(note(format!("cannot read it: {e}"))),
        Ok(m) => m.file_type().is_symlink(),
    };
    let root = std::fs::canonicalize(dir)
        .map_err(|e| note(format!("cannot resolve its directory: {e}")))?;
    let target = if link {
        let real = std::fs::canonicalize(&path)
            .map_err(|e| note(format!("a link that does not resolve: {e}; not read")))?;
        if !real.starts_with(&root) {
            return Err(note(format!(
                "a link to {}, outside the BTF directory: not followed (its text would be printed)",
                term::path(&real)
            )));
        }
        real
    } else {
        path.clone()
    };
    // the last component is no link now: O_NOFOLLOW refuses one swapped in
    let file = open_regular(&target, true).map_err(|e| match e {
        OpenError::NotRegular { kind } => note(format!("{kind}, not a regular file: not read")),
        OpenError::Io(e) => note(format!("cannot read it: {e}")),
    })?;
    // a directory on the way swapped for a link: where the open really
    // landed, as the kernel says (when /proc is there to say it)
    use std::os::fd::AsRawFd;
    if let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
        if !real.starts_with(&root) {
            return Err(note(format!(
                "opened as {}, outside the BTF directory: not read",
                term::path(&real)
            )));
        }
    }
    Ok(Some(file))
}

/// Why `s` is not a kernel release, if it is not: a release is what
/// `uname -r` prints, printable ASCII without blanks, at most
/// [`RELEASE_MAX_LEN`] characters.
pub(crate) fn not_a_release(s: &str) -> Option<String> {
    if s.len() > RELEASE_MAX_LEN {
        return Some(format!(
            "{} bytes, longer than a kernel release ({RELEASE_MAX_LEN} at most)",
            s.len()
        ));
    }
    if s.chars().any(char::is_whitespace) {
        return Some("it holds a blank or a line break inside: one release is one word".into());
    }
    if s.chars().any(char::is_control) {
        return Some("it holds a control character".into());
    }
    if !s.chars().all(|c| c.is_ascii_graphic()) {
        return Some("it holds a character other than printable ASCII".into());
    }
    None
}

/// The kernel release a BTF directory names, and what was ignored on the
/// way: a `RELEASE` file, else the header of a `config`
/// (`# Linux/x86 6.12.117 Kernel Configuration`).
pub fn release_of(dir: &Path) -> (Option<String>, Vec<Note>) {
    let mut notes = Vec::new();
    match release_file(dir) {
        Ok(Some(r)) => return (Some(r), notes),
        Ok(None) => {}
        Err(n) => notes.push(n),
    }
    match config_release(dir) {
        Ok(r) => (r, notes),
        Err(n) => {
            notes.push(n);
            (None, notes)
        }
    }
}

fn release_file(dir: &Path) -> Result<Option<String>, Note> {
    let Some(file) = open_inside(dir, RELEASE)? else {
        return Ok(None);
    };
    let note = |text: String| Note {
        path: dir.join(RELEASE),
        code: "release",
        text,
    };
    let (bytes, more) =
        read_head(file, RELEASE_MAX_BYTES).map_err(|e| note(format!("cannot read it: {e}")))?;
    if more {
        return Err(note(format!(
            "longer than {RELEASE_MAX_BYTES} bytes: not a kernel release (one short line); ignored"
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| note("not UTF-8 text: not a kernel release; ignored".into()))?;
    let r = text.trim();
    if r.is_empty() {
        return Ok(None);
    }
    match not_a_release(r) {
        Some(why) => Err(note(format!("not a kernel release ({why}); ignored"))),
        None => Ok(Some(r.to_string())),
    }
}

fn config_release(dir: &Path) -> Result<Option<String>, Note> {
    let Some(file) = open_inside(dir, CONFIG)? else {
        return Ok(None);
    };
    let note = |text: String| Note {
        path: dir.join(CONFIG),
        code: "release",
        text,
    };
    let (bytes, _) =
        read_head(file, CONFIG_HEAD_MAX_BYTES).map_err(|e| note(format!("cannot read it: {e}")))?;
    // only the header line is used, and its release is checked below
    let head = String::from_utf8_lossy(&bytes);
    let Some((line, version)) =
        head.lines()
            .take(CONFIG_HEADER_LINES)
            .enumerate()
            .find_map(|(i, l)| {
                let rest = l.strip_prefix("# Linux/")?;
                let mut words = rest.split_whitespace();
                words.next()?;
                let version = words.next()?;
                (words.next() == Some("Kernel")).then_some((i + 1, version))
            })
    else {
        return Ok(None);
    };
    match not_a_release(version) {
        Some(why) => Err(note(format!(
            "line {line}: the release is not a kernel release ({why}); ignored"
        ))),
        None => Ok(Some(version.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_one_printable_word() {
        for ok in [
            "6.12.117",
            "6.1.0-28-amd64",
            "5.14.0-427.el9.x86_64",
            "6.12.0-rc1+",
        ] {
            assert_eq!(not_a_release(ok), None, "{ok}");
        }
        assert_eq!(not_a_release(&"7".repeat(RELEASE_MAX_LEN)), None);
        assert!(not_a_release(&"7".repeat(RELEASE_MAX_LEN + 1)).is_some());
        for bad in [
            "6.1\nfake",
            "6.1 x",
            "6.1\u{1b}[31m",
            "6.1\u{7f}",
            "6.1é",
            "a\u{202e}b",
        ] {
            assert!(not_a_release(bad).is_some(), "{bad:?}");
        }
    }
}
