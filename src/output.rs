//! Where outputs go and how they are written. The rules, for every output
//! the tool writes (`-o`, `--report`, `--in-place`, pages under a docs
//! directory):
//!
//! - `-` is standard output.
//! - A regular file (or a name that does not exist yet) is replaced
//!   atomically: a temporary file beside it, then an atomic swap, so a
//!   reader sees the old file or the new one, never part of one, and an
//!   interrupted run leaves the old file as it was.
//! - Anything else that exists (a character device such as `/dev/null`, a
//!   FIFO, a socket, `/dev/stdout`, `/proc/self/fd/N`) is opened and written
//!   in place, never replaced, and its mode is never copied.
//! - A symbolic link is followed: the file it points to is replaced, beside
//!   that file, and the link stays a link (also when it dangles: the file it
//!   names is created).
//! - A directory in the way is refused.
//! - A new file gets the usual mode (0666 less the umask); a replaced file
//!   keeps its mode.
//! - A temporary left beside an output by a killed run is removed by the
//!   next run that writes there (its name carries the writer's process ID;
//!   only those of processes that no longer run are removed).
//!
//! How the new file takes the target's place: where the target is an
//! existing regular file, Linux's `renameat2(RENAME_EXCHANGE)` swaps the two
//! names and the old file is then removed; otherwise a plain rename. The
//! swap matters for speed: ext4 starts writing out a file's data at once
//! when it replaces another by rename (`auto_da_alloc`), 2–4 ms for a
//! vmlinux-sized BTF, more than the rest of writing it; a swap leaves the
//! data to the kernel's usual writeback.
//!
//! Durability: none is promised by default, as with compilers' and linkers'
//! outputs: after a power loss within the writeback delay the target may be
//! empty. `Durability::Fsync` asks for an fsync of the file before the swap
//! and of the directory after it.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Whether the output must be on disk before the write returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Atomic against interruption; on disk when the kernel writes it back.
    #[default]
    Writeback,
    /// Also durable: fsync of the file, then of its directory.
    Fsync,
}

/// How an output will be written, decided before any work is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`: standard output.
    Stdout,
    /// A regular file, new or replaced atomically; the path is the file's
    /// own (symbolic links followed).
    Replace(PathBuf),
    /// Something that is not a regular file (a device, a FIFO, a socket):
    /// opened and written as it is.
    InPlace(PathBuf),
}

/// An output path, checked: its directory exists and is writable, nothing
/// but a regular file would be replaced.
#[derive(Debug, Clone)]
pub struct Output {
    /// As the user named it.
    pub requested: PathBuf,
    pub destination: Destination,
    /// Device and inode of what exists there now, to tell two names of one
    /// file apart from two files.
    identity: Option<(u64, u64)>,
}

/// A symbolic-link chain longer than this is taken as a loop (as the
/// kernel's own limit of 40).
const MAX_LINKS: usize = 40;
const TMP_PREFIX: &str = ".kfunc-scan.";
const TMP_SUFFIX: &str = ".tmp";

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

/// Follows `path` through symbolic links to what it finally names, which
/// need not exist.
fn follow_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&at)?;
                at = match at.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(at),
        }
    }
    Err(invalid(format!(
        "more than {MAX_LINKS} symbolic links (a loop?)"
    )))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

// The functions with a Unix body and another elsewhere are one function
// each, the bodies under `cfg`: cargo-mutants, which does not read `cfg`,
// then mutates only what is built on Linux.
fn writable_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        use rustix::fs::Access;
        Ok(rustix::fs::access(
            c.as_c_str(),
            Access::WRITE_OK | Access::EXEC_OK,
        )?)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Output {
        Output {
            requested: PathBuf::from("-"),
            destination: Destination::Stdout,
            identity: None,
        }
    }

    /// Checks where `path` would be written, without writing anything: so
    /// that a missing or unwritable directory is found before a long run.
    pub fn check(path: &Path) -> std::io::Result<Output> {
        if path.as_os_str() == "-" {
            return Ok(Output::stdout());
        }
        // The kernel follows the links first (it alone resolves /proc's magic
        // links such as /proc/self/fd/1 to a pipe); a name that does not
        // exist yet is followed by hand, through any dangling link.
        let (destination, identity) = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(invalid("is a directory; a file name is needed".into()));
            }
            Ok(m) if m.is_file() => (
                Destination::Replace(std::fs::canonicalize(path)?),
                Some(identity(&m)),
            ),
            Ok(m) => (Destination::InPlace(path.to_path_buf()), Some(identity(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (Destination::Replace(follow_links(path)?), None)
            }
            Err(e) => return Err(e),
        };
        if let Destination::Replace(file) = &destination {
            let dir = parent_dir(file);
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(invalid(format!("{} is not a directory", dir.display())));
                }
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("its directory {}: {e}", dir.display()),
                    ));
                }
            }
            writable_dir(dir).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("its directory {} is not writable: {e}", dir.display()),
                )
            })?;
        }
        Ok(Output {
            requested: path.to_path_buf(),
            destination,
            identity,
        })
    }

    /// Whether `self` and `other` name the same file (through links, or
    /// two names of one inode).
    pub(crate) fn same_file(&self, other: &Output) -> bool {
        match (&self.destination, &other.destination) {
            (Destination::Stdout, Destination::Stdout) => true,
            (Destination::Stdout, _) | (_, Destination::Stdout) => false,
            _ if self.identity.is_some() && self.identity == other.identity => true,
            (Destination::Replace(a), Destination::Replace(b)) => absolute(a) == absolute(b),
            _ => false,
        }
    }

    /// How many names the existing file has (1 for a new file).
    pub fn link_count(&self) -> u64 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Destination::Replace(p) = &self.destination {
                return std::fs::metadata(p).map_or(1, |m| m.nlink());
            }
        }
        1
    }

    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_with(Durability::Writeback, |w| w.write_all(bytes))
    }

    /// Writes what `fill` produces, by the rules of the module comment.
    pub(crate) fn write_with(
        &self,
        durability: Durability,
        fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match &self.destination {
            Destination::Stdout => {
                let mut out = std::io::stdout().lock();
                fill(&mut out)?;
                out.flush()
            }
            Destination::InPlace(p) => {
                // no create, no truncate: a device or FIFO is written as it is
                let mut f = std::fs::OpenOptions::new().write(true).open(p)?;
                fill(&mut f)?;
                f.flush()
            }
            Destination::Replace(p) => replace(p, durability, fill),
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    let dir = parent_dir(p);
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    match p.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        (0, 0)
    }
}

/// Refuses outputs of which two name the same file, before any work.
pub fn check_distinct(outputs: &[&Output]) -> std::io::Result<()> {
    for (i, a) in outputs.iter().enumerate() {
        if let Some(b) = outputs[i + 1..].iter().find(|b| a.same_file(b)) {
            return Err(invalid(format!(
                "{} and {} are the same file; give each output its own",
                a.requested.display(),
                b.requested.display()
            )));
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` by the rules of the module comment.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Output::check(path)?.write(bytes)
}

/// As `write_atomic`, with the content written by `fill`.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    Output::check(path)?.write_with(durability, fill)
}

/// Replaces the regular file `path` (or creates it) atomically.
fn replace(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = parent_dir(path);
    remove_stale_temporaries(dir);
    let prefix = format!("{TMP_PREFIX}{}.", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TMP_SUFFIX);
    #[cfg(unix)]
    {
        // created with 0666: the kernel takes the umask off, as for any new file
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    fill(tmp.as_file_mut())?;
    let old = std::fs::symlink_metadata(path).ok().filter(|m| m.is_file());
    #[cfg(unix)]
    if let Some(m) = &old {
        use std::os::unix::fs::PermissionsExt;
        let mode = m.permissions().mode() & 0o7777;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    if durability == Durability::Fsync {
        tmp.as_file().sync_all()?;
    }
    if old.is_some() && exchange(tmp.path(), path).is_ok() {
        // the temporary name now holds the old file
        let old_copy = tmp.path().to_path_buf();
        tmp.close().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "the output is in place, but its old copy could not be removed from {}: {e}",
                    old_copy.display()
                ),
            )
        })?;
    } else {
        tmp.persist(path).map_err(|e| e.error)?;
    }
    if durability == Durability::Fsync {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The writer's process ID in one of our temporary names.
fn temporary_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TMP_PREFIX)?.strip_suffix(TMP_SUFFIX)?;
    let (pid, random) = rest.split_once('.')?;
    (!random.is_empty() && !random.contains('.'))
        .then(|| pid.parse().ok())
        .flatten()
}

fn process_gone(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // 0 (our process group) and numbers past a pid_t are no writer of ours
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        // signal 0 only asks whether the process exists
        rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Removes, once per directory and process, the temporaries that runs
/// killed before their swap left there. Failure to remove one is not an
/// error of this run: it is left as it was.
fn remove_stale_temporaries(dir: &Path) {
    static DONE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    {
        let Ok(mut done) = DONE.lock() else { return };
        if !done
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
        {
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(temporary_owner) else {
            continue;
        };
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        if regular && pid != std::process::id() && process_gone(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Swaps the names `a` and `b` atomically (both must exist).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
        };
        let (a, b) = (c(a)?, c(b)?);
        // rustix makes the syscall itself: older C libraries lack a
        // renameat2 wrapper
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        Ok(renameat_with(
            CWD,
            a.as_c_str(),
            CWD,
            b.as_c_str(),
            RenameFlags::EXCHANGE,
        )?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Whether a write failed because the reader of standard output went away
/// (`kfunc-scan linux/ | head -1`): not an error to report.
pub fn is_closed_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).expect("meta").permissions().mode() & 0o7777
    }

    /// This process's umask, read without changing it (tests run in threads).
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .expect("Umask line");
        u32::from_str_radix(line.trim(), 8).expect("octal")
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_gets_0666_less_the_umask_and_a_replaced_one_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.bin");
        write_atomic(&out, b"first").expect("create");
        assert_eq!(std::fs::read(&out).expect("read"), b"first");
        assert_eq!(mode(&out), 0o666 & !umask());
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomic_with(&out, Durability::Fsync, |w| w.write_all(b"second")).expect("replace");
        assert_eq!(std::fs::read(&out).expect("read"), b"second");
        assert_eq!(mode(&out), 0o600);
        assert_eq!(leftovers(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.bin");
        write_atomic(&out, b"old").expect("create");
        let r = write_atomic_with(&out, Durability::Writeback, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&out).expect("read"), b"old");
        assert_eq!(leftovers(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_directory_in_the_way_is_refused_not_swapped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join("keep"), b"x").expect("write");
        let e = write_atomic(&out, b"data").expect_err("a directory");
        assert!(e.to_string().contains("is a directory"), "{e}");
        assert!(out.join("keep").is_file());
        assert_eq!(leftovers(dir.path()), ["out"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real_dir = dir.path().join("real");
        std::fs::create_dir(&real_dir).expect("mkdir");
        let target = real_dir.join("target");
        std::fs::write(&target, b"target").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real/target", &link).expect("symlink");
        write_atomic(&link, b"new").expect("write");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).expect("read"), b"new");
        assert_eq!(leftovers(dir.path()), ["link", "real"]);
        assert_eq!(leftovers(&real_dir), ["target"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_directory_is_refused_like_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("d")).expect("mkdir");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("d", &link).expect("symlink");
        assert!(write_atomic(&link, b"x").is_err());
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(leftovers(&dir.path().join("d")), Vec::<String>::new());
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_creates_the_file_it_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("new.json", &link).expect("symlink");
        write_atomic(&link, b"{}").expect("write");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read(dir.path().join("new.json")).expect("read"),
            b"{}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink("b", &a).expect("symlink");
        std::os::unix::fs::symlink("a", &b).expect("symlink");
        assert!(write_atomic(&a, b"x").is_err());
        assert_eq!(leftovers(dir.path()), ["a", "b"]);
    }

    #[cfg(unix)]
    fn mkfifo(p: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path");
        let mode = rustix::fs::Mode::from_raw_mode(0o600);
        rustix::fs::mkfifoat(rustix::fs::CWD, c.as_c_str(), mode).expect("mkfifo");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).expect("read fifo"))
        };
        let out = Output::check(&fifo).expect("check");
        assert_eq!(out.destination, Destination::InPlace(fifo.clone()));
        out.write(b"through the pipe").expect("write");
        assert_eq!(reader.join().expect("reader"), b"through the pipe");
        assert!(std::fs::symlink_metadata(&fifo)
            .expect("meta")
            .file_type()
            .is_fifo());
        assert_eq!(leftovers(dir.path()), ["fifo"]);
    }

    /// `/proc/self/fd/N` naming a pipe (as `/dev/stdout` does under a
    /// shell pipeline): its link text `pipe:[…]` is no path, the kernel
    /// resolves it; written in place.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_named_through_proc_is_written_in_place() {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let (rd, wr) = rustix::pipe::pipe().expect("pipe");
        let (mut rd, wr) = (std::fs::File::from(rd), std::fs::File::from(wr));
        let name = PathBuf::from(format!("/proc/self/fd/{}", wr.as_raw_fd()));
        let out = Output::check(&name).expect("check");
        assert_eq!(out.destination, Destination::InPlace(name.clone()));
        out.write(b"piped").expect("write");
        drop(wr);
        let mut got = Vec::new();
        rd.read_to_end(&mut got).expect("read");
        assert_eq!(got, b"piped");
    }

    /// A character device made for the test (the null device's numbers) in
    /// a temporary directory: written in place, still a device, its mode
    /// untouched. Needs root to make the node; skipped otherwise.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_character_device_is_written_in_place_not_replaced() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let dev = dir.path().join("null");
        let c = std::ffi::CString::new(dev.as_os_str().as_bytes()).expect("path");
        use rustix::fs::{makedev, mknodat, FileType, Mode, CWD};
        let (kind, perm) = (FileType::CharacterDevice, Mode::from_raw_mode(0o620));
        if let Err(e) = mknodat(CWD, c.as_c_str(), kind, perm, makedev(1, 3)) {
            eprintln!("SKIPPED: mknod needs root: {}", std::io::Error::from(e));
            return;
        }
        let before = mode(&dev);
        let out = Output::check(&dev).expect("check");
        assert_eq!(out.destination, Destination::InPlace(dev.clone()));
        write_atomic(&dev, b"discarded").expect("write");
        let meta = std::fs::symlink_metadata(&dev).expect("meta");
        assert!(meta.file_type().is_char_device());
        assert_eq!(mode(&dev), before);
        assert_eq!(leftovers(dir.path()), ["null"]);
    }

    /// Two outputs on standard output would interleave: refused as one
    /// file named twice; standard output and a file are two outputs.
    #[test]
    fn standard_output_twice_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (
            Output::stdout(),
            Output::check(Path::new("-")).expect("check"),
        );
        let e = check_distinct(&[&a, &b]).expect_err("stdout twice");
        assert_eq!(
            e.to_string(),
            "- and - are the same file; give each output its own"
        );
        let file = Output::check(&dir.path().join("out.json")).expect("check");
        assert!(check_distinct(&[&a, &file]).is_ok());
        assert!(check_distinct(&[&file, &a]).is_ok());
    }

    #[test]
    fn dash_is_standard_output_and_stdout_aliases_are_not_replaced() {
        let out = Output::check(Path::new("-")).expect("check");
        assert_eq!(out.destination, Destination::Stdout);
        // only checked, never written: whatever fd 1 is, it is not a
        // regular file to replace unless the test runner redirected it
        if let Ok(out) = Output::check(Path::new("/proc/self/fd/1")) {
            if let Destination::Replace(p) = &out.destination {
                assert!(std::fs::metadata(p).is_ok_and(|m| m.is_file()));
            }
        }
    }

    #[test]
    fn a_missing_or_unusable_directory_is_found_before_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = Output::check(&dir.path().join("no/such/dir/out.json")).expect_err("missing");
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        std::fs::write(dir.path().join("file"), b"x").expect("write");
        assert!(Output::check(&dir.path().join("file/out.json")).is_err());
    }

    /// A name the system refuses (a component longer than NAME_MAX, 255
    /// bytes on Linux) is found by the check, not after the work.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_name_too_long_is_found_before_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = dir.path().join("m".repeat(256));
        let e = Output::check(&long).expect_err("too long");
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[cfg(unix)]
    #[test]
    fn two_names_of_one_file_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.json");
        std::fs::write(&a, b"x").expect("write");
        std::os::unix::fs::symlink("a.json", dir.path().join("link")).expect("symlink");
        std::fs::hard_link(&a, dir.path().join("hard")).expect("link");
        let check = |n: &str| Output::check(&dir.path().join(n)).expect("check");
        let (oa, olink, ohard, onew) =
            (check("a.json"), check("link"), check("hard"), check("new"));
        assert!(check_distinct(&[&oa, &olink]).is_err());
        assert!(check_distinct(&[&ohard, &oa]).is_err());
        let onew2 = check("./new");
        assert!(check_distinct(&[&onew, &onew2]).is_err());
        assert!(check_distinct(&[&oa, &onew]).is_ok());
        // two files that exist are two outputs, whatever their numbers
        std::fs::write(dir.path().join("b.json"), b"y").expect("write");
        let ob = check("b.json");
        assert!(check_distinct(&[&oa, &ob]).is_ok());
        assert!(check_distinct(&[&ob, &ohard]).is_ok());
        assert_eq!(ohard.link_count(), 2);
        assert_eq!(onew.link_count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn stale_temporaries_of_dead_writers_are_removed_others_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let stale = format!("{TMP_PREFIX}{dead}.AbC123{TMP_SUFFIX}");
        // pid 1 always runs; a name not quite ours is not touched
        let live = format!("{TMP_PREFIX}1.XyZ789{TMP_SUFFIX}");
        let foreign = format!("{TMP_PREFIX}{dead}{TMP_SUFFIX}");
        for n in [&stale, &live, &foreign] {
            std::fs::write(dir.path().join(n), b"partial").expect("write");
        }
        write_atomic(&dir.path().join("out.json"), b"{}").expect("write");
        let mut want = vec![foreign.clone(), live.clone(), "out.json".to_string()];
        want.sort();
        assert_eq!(leftovers(dir.path()), want);
    }

    /// Whether a writer still runs: a dead one is gone, this process and
    /// init are not (also right after a dead one was asked about), and a
    /// number no process can have is never taken as gone.
    #[cfg(unix)]
    #[test]
    fn a_process_is_gone_only_when_the_kernel_says_so() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        assert!(process_gone(dead));
        assert!(!process_gone(std::process::id()));
        assert!(process_gone(dead));
        assert!(!process_gone(1));
        assert!(!process_gone(u32::MAX));
    }

    #[test]
    fn temporary_names_parse() {
        assert_eq!(temporary_owner(".kfunc-scan.123.abcDEF.tmp"), Some(123));
        assert_eq!(temporary_owner(".kfunc-scan.abcDEF.tmp"), None);
        assert_eq!(temporary_owner(".kfunc-scan.123..tmp"), None);
        assert_eq!(temporary_owner("kfunc-scan.123.abc.tmp"), None);
    }
}
