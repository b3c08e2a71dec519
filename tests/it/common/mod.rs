#![allow(dead_code)]
//! What the integration tests share: running the binary, reading what it
//! wrote as typed values, and finding real data (or saying loudly that it is
//! missing).
pub mod btf_ids;
pub mod fixture;
pub mod packs;
use kfunc_scan::manifest::{Kfunc, KfuncSet, Manifest};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kfunc-scan")
}

pub fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-mini")
}

/// `../shared/data` beside the checkout, or `KFUNC_SCAN_SHARED_DATA`.
pub fn shared_data() -> PathBuf {
    match std::env::var_os("KFUNC_SCAN_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

/// Real data a test needs is absent. Under `KFUNC_SCAN_REQUIRE_DATA=1`
/// (set by `.ci/run`) that fails the test; elsewhere the test says
/// `SKIPPED: …` and passes, so `cargo test` runs anywhere.
pub fn missing(what: impl std::fmt::Display) {
    if std::env::var_os("KFUNC_SCAN_REQUIRE_DATA").is_some_and(|v| v == "1") {
        panic!("required test data is missing (KFUNC_SCAN_REQUIRE_DATA=1): {what}");
    }
    // Past the test harness's capture (which takes `eprintln!`), so that
    // `cargo test`'s own output shows every skip, one line each.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {what}");
}

/// The path in `var`, or `None` after reporting it missing.
pub fn env_path(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            missing(format!("set {var} to {what}"));
            None
        }
    }
}

/// A scanned manifest kept for the test binary's life, in its temporary
/// directory.
type ScannedOnce = std::sync::OnceLock<Option<(tempfile::TempDir, PathBuf)>>;

/// The manifest of the tree named by `var`, scanned once per test binary
/// into a temporary directory; `None` after reporting the tree missing.
fn scanned_once(cell: &'static ScannedOnce, var: &str, what: &str, name: &str) -> Option<PathBuf> {
    cell.get_or_init(|| {
        let tree = env_path(var, what)?;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join(name);
        let r = cmd([
            tree.as_os_str(),
            "-q".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .output();
        assert!(
            matches!(r.status.code(), Some(0 | 1)),
            "scan of {}",
            tree.display()
        );
        Some((dir, out))
    })
    .as_ref()
    .map(|(_, p)| p.clone())
}

/// The manifest of the 6.12 tree (`KFUNC_SCAN_LINUX`), scanned once per
/// test binary ([`scanned_once`]).
pub fn manifest_612() -> Option<PathBuf> {
    static M: ScannedOnce = std::sync::OnceLock::new();
    scanned_once(&M, "KFUNC_SCAN_LINUX", "the 6.12 tree", "m612.json")
}

/// The manifest of the 6.1 tree (`KFUNC_SCAN_LINUX_OLD`), scanned once per
/// test binary ([`scanned_once`]).
pub fn manifest_61() -> Option<PathBuf> {
    static M: ScannedOnce = std::sync::OnceLock::new();
    scanned_once(&M, "KFUNC_SCAN_LINUX_OLD", "the 6.1 tree", "m61.json")
}

/// A file of `../shared/data`, or `None` after reporting it missing.
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    let p = shared_data().join(rel);
    if p.is_file() {
        Some(p)
    } else {
        missing(format!(
            "{} is absent (see ../shared/README.md)",
            p.display()
        ));
        None
    }
}

/// Scans `tree` into the manifest file `out`; the scan must be clean.
pub fn scan_into(tree: &Path, out: &Path) {
    cmd([
        tree.as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .expect(0);
}

pub fn run(args: &[&str]) -> Output {
    cmd(args).output()
}

/// `kfunc-scan ARGS…`, to add to and run.
pub fn cmd<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Cmd {
    let mut c = Command::new(bin());
    c.args(args);
    Cmd(c)
}

pub struct Cmd(Command);

impl Cmd {
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        self.0.args(args);
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.0.arg(a);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Cmd {
        self.0.env(k, v);
        self
    }

    pub fn current_dir(mut self, d: impl AsRef<Path>) -> Cmd {
        self.0.current_dir(d);
        self
    }

    /// Runs it as an ordinary user: under root, who may write anywhere,
    /// as `nobody`, so that a directory's permissions apply.
    #[cfg(unix)]
    pub fn unprivileged(mut self) -> Cmd {
        use std::os::unix::process::CommandExt;
        if rustix::process::geteuid().is_root() {
            self.0.uid(65534).gid(65534);
        }
        self
    }

    pub fn output(mut self) -> Output {
        match self.0.output() {
            Ok(o) => o,
            Err(e) => panic!("cannot run {}: {e}", bin()),
        }
    }

    /// Runs it and checks the exit status, printing stderr when it differs.
    pub fn expect(self, code: i32) -> Ran {
        let out = self.output();
        assert_eq!(
            out.status.code(),
            Some(code),
            "exit status; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ran(out)
    }
}

/// A finished run whose exit status was as expected.
pub struct Ran(pub Output);

impl Ran {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Its stdout as a manifest.
    pub fn manifest(&self) -> Manifest {
        manifest_of(&self.0)
    }
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// stdout read as a manifest, through the reader every consumer uses.
pub fn manifest_of(out: &Output) -> Manifest {
    Manifest::from_json(&String::from_utf8_lossy(&out.stdout)).unwrap_or_else(|e| {
        panic!(
            "stdout is not a manifest ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A manifest file.
pub fn read_manifest(path: &Path) -> Manifest {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Manifest::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Lookups that fail with the name they looked for.
pub trait ManifestExt {
    fn kfunc_named(&self, name: &str) -> &Kfunc;
    fn set_named(&self, name: &str) -> &KfuncSet;
    fn has_kfunc(&self, name: &str) -> bool;
    fn codes(&self) -> Vec<&str>;
}

impl ManifestExt for Manifest {
    fn kfunc_named(&self, name: &str) -> &Kfunc {
        self.kfuncs
            .iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("no kfunc `{name}` in the manifest"))
    }

    fn set_named(&self, name: &str) -> &KfuncSet {
        self.sets
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no set `{name}` in the manifest"))
    }

    fn has_kfunc(&self, name: &str) -> bool {
        self.kfuncs.iter().any(|k| k.name == name)
    }

    /// The diagnostics' codes, in order.
    fn codes(&self) -> Vec<&str> {
        self.diagnostics.iter().map(|d| d.code.as_str()).collect()
    }
}

/// `git ARGS` in `dir`, with no configuration but ours; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=kfunc-scan",
            "-c",
            "user.email=kfunc-scan@localhost",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "gc.auto=0",
        ])
        .args(args)
        .current_dir(dir)
        // no configuration of the machine's or the user's (a missing
        // global file is an empty one)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env(
            "GIT_CONFIG_GLOBAL",
            std::env::temp_dir().join("kfunc-scan-tests-no-gitconfig"),
        )
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Packs every object of the repository at `repo` (a work tree or a bare
/// repository) into one pack, with deltas as deep and as searched for as
/// `git gc --aggressive` makes them, and drops the loose copies: the
/// objects as a clone has them.
pub fn pack(repo: &Path) {
    git(
        repo,
        &[
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
            "--depth=50",
            "--window=250",
        ],
    );
    git(repo, &["prune"]);
}

/// One object of a pack, as `git verify-pack -v` lists it.
#[derive(Debug, Clone)]
pub struct PackedObject {
    pub id: String,
    pub kind: String,
    /// Where its entry starts in the pack, and its length there.
    pub offset: u64,
    pub size_in_pack: u64,
    /// The object it is a delta of, when it is one.
    pub base: Option<String>,
}

/// The packs of the repository at `repo`: each pack's path and objects.
pub fn packed_objects(repo: &Path) -> Vec<(PathBuf, Vec<PackedObject>)> {
    let git_dir = repo.join(git(repo, &["rev-parse", "--git-dir"]));
    let mut idx: Vec<PathBuf> = std::fs::read_dir(git_dir.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    idx.sort();
    idx.into_iter()
        .map(|i| {
            let listing = git(repo, &["verify-pack", "-v", i.to_str().unwrap()]);
            let objects = listing
                .lines()
                .filter_map(|l| {
                    // id kind size size-in-pack offset [depth base]
                    let w: Vec<&str> = l.split_whitespace().collect();
                    let is_id =
                        w.first()?.len() == 40 && w[0].bytes().all(|b| b.is_ascii_hexdigit());
                    (is_id && w.len() >= 5).then(|| PackedObject {
                        id: w[0].to_string(),
                        kind: w[1].to_string(),
                        size_in_pack: w[3].parse().unwrap(),
                        offset: w[4].parse().unwrap(),
                        base: w.get(6).map(|b| b.to_string()),
                    })
                })
                .collect();
            (i.with_extension("pack"), objects)
        })
        .collect()
}

/// What a run of the binary under the trust bounds gave.
pub struct Limited {
    /// None when a signal ended it (an abort, the kernel's OOM killer).
    pub code: Option<i32>,
    /// The first 64 KiB of its stdout and stderr.
    pub stdout: String,
    pub stderr: String,
    /// The whole of stderr's length (a flood shows here, not in `stderr`).
    pub stderr_len: u64,
    pub took: std::time::Duration,
}

/// `kfunc-scan ARGS` within the bounds every hostile-input test holds it
/// to: `prlimit --as=1073741824` (1 GiB of address space) and 10 s, after
/// which it is killed and the test fails. Output goes to files (a flood
/// cannot fill a pipe and stall it) of which the first 64 KiB are read.
pub fn run_limited<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Limited {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (o, e) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new("prlimit")
        .arg("--as=1073741824")
        .arg("--")
        .arg(bin())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).expect("stdout file"))
        .stderr(std::fs::File::create(&e).expect("stderr file"))
        .spawn()
        .expect("prlimit (util-linux) runs");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kfunc-scan {args:?} still running after 10 s: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = t0.elapsed();
    let head = |p: &Path| {
        let mut s = Vec::new();
        std::fs::File::open(p)
            .and_then(|f| f.take(1 << 16).read_to_end(&mut s))
            .expect("read output");
        String::from_utf8_lossy(&s).into_owned()
    };
    Limited {
        code: status.code(),
        stdout: head(&o),
        stderr: head(&e),
        stderr_len: std::fs::metadata(&e).map(|m| m.len()).unwrap_or(0),
        took,
    }
}

/// `good.c`: one kfunc in a kfuncs set, which every bad-input tree holds
/// beside its bad files, so that a scan shows it read the rest.
pub const GOOD_KFUNC_C: &str = "__bpf_kfunc int good_kfunc(int a)\n{\n\treturn a;\n}\n\nBTF_KFUNCS_START(good_ids)\nBTF_ID_FLAGS(func, good_kfunc)\nBTF_KFUNCS_END(good_ids)\n";

/// A kernel-like tree (a top Makefile with VERSION, `KF_ACQUIRE` in
/// `include/linux/btf.h`) holding [`GOOD_KFUNC_C`] as `good.c` and the
/// files given, bytes by name (names need not be UTF-8).
pub fn kernel_tree_with(files: &[(&[u8], &[u8])]) -> tempfile::TempDir {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("Makefile"), "VERSION = 6\nPATCHLEVEL = 99\n").unwrap();
    std::fs::create_dir_all(root.join("include/linux")).unwrap();
    std::fs::write(
        root.join("include/linux/btf.h"),
        "#define KF_ACQUIRE (1 << 0)\n",
    )
    .unwrap();
    std::fs::write(root.join("good.c"), GOOD_KFUNC_C).unwrap();
    for (name, bytes) in files {
        let p = root.join(OsStr::from_bytes(name));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

/// [`kernel_tree_with`] no file but `good.c`.
pub fn kernel_tree() -> tempfile::TempDir {
    kernel_tree_with(&[])
}
