//! `scan TREE --cache DIR`: the manifest with the cache is the manifest
//! without it, byte for byte, whatever changed in the tree, the options or
//! the cache itself; and an unchanged tree is not read again.

use crate::common;
use common::{cmd, env_path, mini, run_limited};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Past the cache's racy window (`SCAN_CACHE_RACY_WINDOW_NS`, 3 s): what
/// was written before is trusted by the next scan.
fn past_racy_window() {
    std::thread::sleep(Duration::from_millis(3_200));
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A function of the same length as the name `drivers/broken/broken.c`
/// lists without a definition: renamed in place, it gives it one.
const PLAIN: &str = "int unrelated_helper_function(int x)\n{\n\treturn x;\n}\n";
const DEFINES: &str = "int broken_missing_definition(int x)\n{\n\treturn x;\n}\n";

/// A copy of the mini tree with a file the prefilter passes over
/// (`lib/plain.c`), old enough for the cache to trust.
struct Fixture {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    cache: PathBuf,
    out: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        copy_dir(&mini(), &tree);
        fs::create_dir_all(tree.join("lib")).unwrap();
        fs::write(tree.join("lib/plain.c"), PLAIN).unwrap();
        past_racy_window();
        let f = Fixture {
            cache: dir.path().join("cache"),
            out: dir.path().join("out"),
            tree,
            _dir: dir,
        };
        fs::create_dir_all(&f.out).unwrap();
        f
    }

    /// The manifest of a scan with `args`, and its stderr.
    fn scan(&self, name: &str, args: &[&str]) -> (String, String) {
        let out = self.out.join(name);
        let r = cmd([
            self.tree.as_os_str(),
            "-q".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .args(args)
        .env("KFUNC_SCAN_TIMING", "1")
        .output();
        assert!(
            matches!(r.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
        (fs::read_to_string(&out).unwrap(), stderr)
    }

    fn cached(&self, name: &str, extra: &[&str]) -> (String, Cached) {
        let mut args = vec!["--cache", self.cache.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (m, err) = self.scan(name, &args);
        (m, Cached::of(&err))
    }

    fn uncached(&self, name: &str, extra: &[&str]) -> String {
        self.scan(name, extra).0
    }

    /// A scan with the cache, then one that finds it all there.
    fn warm(&self, extra: &[&str]) -> String {
        let (first, c) = self.cached("first.json", extra);
        assert!(c.written && c.warnings.is_empty(), "{c:?}");
        let (again, c) = self.cached("again.json", extra);
        assert_eq!(first, again);
        assert!(c.used && !c.written && c.dirs_listed == 0, "{c:?}");
        first
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tree.join(rel)
    }
}

/// What the timing line and warnings of a scan with the cache say.
#[derive(Debug, Default)]
struct Cached {
    used: bool,
    written: bool,
    dirs_listed: usize,
    files_read: usize,
    files_hit: usize,
    warnings: Vec<String>,
    /// What `timing: memo` said.
    memo: String,
    /// What `timing: watcher` said: the paths changed, when it could say.
    watcher: Option<usize>,
}

impl Cached {
    fn of(stderr: &str) -> Cached {
        let mut c = Cached::default();
        for l in stderr.lines() {
            if l.contains("warning[scan-cache]") {
                c.warnings.push(l.to_string());
            }
            if let Some(m) = l.strip_prefix("timing: memo ") {
                c.memo = m.to_string();
            }
            if let Some(n) = l
                .strip_prefix("timing: watcher ")
                .and_then(|w| w.strip_suffix(" paths changed"))
            {
                c.watcher = n.parse().ok();
            }
            let Some(rest) = l.strip_prefix("timing: cache ") else {
                continue;
            };
            if rest.starts_with("read in") {
                continue;
            }
            c.used = rest.starts_with("used");
            c.written = rest.ends_with("; written");
            let nums: Vec<usize> = rest
                .split(|ch: char| !ch.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect();
            assert_eq!(nums.len(), 4, "{l}");
            c.dirs_listed = nums[0];
            c.files_read = nums[2];
            c.files_hit = nums[3];
        }
        c
    }
}

#[test]
fn an_unchanged_tree_is_not_read_again() {
    let f = Fixture::new();
    let warm = f.warm(&[]);
    assert_eq!(warm, f.uncached("plain.json", &[]));
    let (_, c) = f.cached("third.json", &[]);
    // 10 C files, none read
    assert_eq!((c.files_read, c.files_hit), (0, 10), "{c:?}");
}

#[test]
fn an_edit_keeping_size_and_mtime_is_seen_by_its_ctime() {
    let f = Fixture::new();
    let before = f.warm(&[]);
    let p = f.path("lib/plain.c");
    let mtime = fs::metadata(&p).unwrap().modified().unwrap();
    fs::write(&p, DEFINES).unwrap();
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let md = fs::metadata(&p).unwrap();
    assert_eq!(
        (md.len(), md.modified().unwrap()),
        (PLAIN.len() as u64, mtime)
    );
    let (after, c) = f.cached("after.json", &[]);
    assert_ne!(
        after, before,
        "the edit gives broken_missing_definition a definition"
    );
    assert_eq!(after, f.uncached("plain.json", &[]));
    assert_eq!((c.files_read, c.files_hit), (1, 9), "{c:?}");
    assert!(c.written);
}

#[test]
fn an_added_file_is_seen() {
    let f = Fixture::new();
    let before = f.warm(&[]);
    fs::write(f.path("lib/added.c"), DEFINES).unwrap();
    let (after, _) = f.cached("after.json", &[]);
    assert_ne!(after, before);
    assert_eq!(after, f.uncached("plain.json", &[]));
}

#[test]
fn a_removed_file_is_seen() {
    let f = Fixture::new();
    let before = f.warm(&[]);
    fs::remove_file(f.path("drivers/broken/truncated.c")).unwrap();
    let (after, _) = f.cached("after.json", &[]);
    assert_ne!(after, before);
    assert_eq!(after, f.uncached("plain.json", &[]));
}

#[test]
fn a_renamed_file_is_seen() {
    let f = Fixture::new();
    let before = f.warm(&[]);
    fs::rename(
        f.path("drivers/broken/truncated.c"),
        f.path("drivers/broken/renamed.c"),
    )
    .unwrap();
    let (after, _) = f.cached("after.json", &[]);
    assert_ne!(after, before);
    assert!(after.contains("drivers/broken/renamed.c"));
    assert_eq!(after, f.uncached("plain.json", &[]));
}

#[test]
fn an_added_directory_is_seen() {
    let f = Fixture::new();
    let before = f.warm(&[]);
    fs::create_dir_all(f.path("lib/deeper/still")).unwrap();
    fs::write(f.path("lib/deeper/still/defs.c"), DEFINES).unwrap();
    let (after, _) = f.cached("after.json", &[]);
    assert_ne!(after, before);
    assert_eq!(after, f.uncached("plain.json", &[]));
}

#[test]
fn changed_options_rebuild_the_cache() {
    let f = Fixture::new();
    f.warm(&[]);
    let ex = ["--exclude", "drivers/**"];
    let (after, c) = f.cached("after.json", &ex);
    assert!(!c.used && c.written && c.warnings.is_empty(), "{c:?}");
    assert_eq!(after, f.uncached("plain.json", &ex));
    assert!(!after.contains("drivers/broken"));
}

/// The cache file of the fixture, after `edit`: ignored with one warning
/// saying `why`, the manifest the one without the cache, a new cache written.
fn damaged(edit: impl Fn(&Path), why: &str) {
    let f = Fixture::new();
    f.warm(&[]);
    edit(&f.cache.join("scan.cache"));
    let (after, c) = f.cached("after.json", &[]);
    assert_eq!(c.warnings.len(), 1, "{c:?}");
    assert!(
        c.warnings[0].contains("warning[scan-cache]: ignored and rebuilt")
            && c.warnings[0].contains(why),
        "{c:?}"
    );
    assert!(!c.used && c.written, "{c:?}");
    assert_eq!(after, f.uncached("plain.json", &[]));
    let (_, c) = f.cached("again.json", &[]);
    assert!(c.used && c.warnings.is_empty(), "{c:?}");
}

#[test]
fn a_damaged_cache_is_ignored_and_rebuilt() {
    damaged(
        |p| {
            let mut b = fs::read(p).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 1;
            fs::write(p, b).unwrap();
        },
        "checksum",
    );
}

#[test]
fn a_truncated_cache_is_ignored_and_rebuilt() {
    damaged(
        |p| {
            let b = fs::read(p).unwrap();
            fs::write(p, &b[..b.len() - 3]).unwrap();
        },
        "checksum",
    );
}

#[test]
fn a_foreign_file_is_ignored_and_rebuilt() {
    damaged(
        |p| fs::write(p, "{\"not\": \"a cache\"}\n").unwrap(),
        "not a kfunc-scan cache",
    );
}

#[test]
fn a_cache_of_another_tree_is_ignored_and_rebuilt() {
    let f = Fixture::new();
    f.warm(&[]);
    // the other tree: the same files, one changed with its size and times
    let other = f.tree.with_file_name("other");
    copy_dir(&f.tree, &other);
    fs::write(other.join("lib/plain.c"), DEFINES).unwrap();
    let out = f.out.join("other.json");
    let r = cmd([
        other.as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .arg("--cache")
    .arg(&f.cache)
    .output();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("ignored and rebuilt: made for another tree"),
        "{err}"
    );
    let plain = f.out.join("other-plain.json");
    cmd([
        other.as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        plain.as_os_str(),
    ])
    .output();
    assert_eq!(fs::read(out).unwrap(), fs::read(plain).unwrap());
}

/// A sparse cache file of `len` bytes.
fn sized_cache(dir: &Path, len: u64) {
    fs::create_dir_all(dir).unwrap();
    fs::File::create(dir.join("scan.cache"))
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_cache_at_the_size_bound_is_read_one_past_it_is_not() {
    use kfunc_scan::limits::MAX_SCAN_CACHE_SIZE;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.json");
    cmd([
        mini().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        plain.as_os_str(),
    ])
    .output();
    for (len, why) in [
        (MAX_SCAN_CACHE_SIZE, "not a kfunc-scan cache".to_string()),
        (
            MAX_SCAN_CACHE_SIZE + 1,
            format!(
                "{} bytes, over the {MAX_SCAN_CACHE_SIZE} byte bound",
                MAX_SCAN_CACHE_SIZE + 1
            ),
        ),
    ] {
        let cache = dir.path().join(format!("cache{len}"));
        sized_cache(&cache, len);
        let out = dir.path().join(format!("{len}.json"));
        let r = run_limited([
            mini().as_os_str(),
            "-q".as_ref(),
            "--cache".as_ref(),
            cache.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        let warned: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.contains("scan-cache"))
            .collect();
        assert_eq!(warned.len(), 1, "{}", r.stderr);
        assert!(warned[0].contains(&why), "{len}: {}", r.stderr);
        assert_eq!(fs::read(&out).unwrap(), fs::read(&plain).unwrap());
        // rebuilt: a cache of the mini tree is a few KB
        assert!(fs::metadata(cache.join("scan.cache")).unwrap().len() < 1 << 20);
    }
}

/// A tree whose build puts `core_a` in vmlinux under `CONFIG_X=y`, in a
/// module under `CONFIG_X=m`.
fn build_tree(dir: &Path) {
    let files = [
        (
            "Makefile",
            // a wildcard in the root: the memo keeps the root's key
            "VERSION = 6\nPATCHLEVEL = 12\nsrctree := .\nifeq ($(ARCH),x86_64)\n  SRCARCH := x86\nendif\nbuild-dir := .\nnotes := $(wildcard *.txt)\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\n",
        ),
        ("arch/x86/Makefile", "core-y +=\n"),
        ("Kbuild", "obj-y += kernel/\n"),
        ("kernel/Makefile", "obj-$(CONFIG_X) += core.o\n"),
        ("include/linux/btf.h", "#define KF_ACQUIRE (1 << 0)\n"),
        (
            "kernel/core.c",
            "#include <linux/btf.h>\n__bpf_kfunc int core_a(int x) { return x; }\nBTF_KFUNCS_START(core_ids)\nBTF_ID_FLAGS(func, core_a)\nBTF_KFUNCS_END(core_ids)\n",
        ),
        ("kernel/other.c", PLAIN),
        (".config", "CONFIG_X=y\n"),
    ];
    for (rel, text) in files {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
    }
}

#[test]
fn a_changed_config_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    build_tree(&tree);
    past_racy_window();
    let config = tree.join(".config");
    let (cache, out) = (dir.path().join("cache"), dir.path().join("m.json"));
    let scan = |cached: bool| {
        let mut c = cmd([
            tree.as_os_str(),
            "-q".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .arg("--config")
        .arg(&config);
        if cached {
            c = c.arg("--cache").arg(&cache);
        }
        c.expect(0);
        fs::read(&out).unwrap()
    };
    let y = scan(true);
    assert_eq!(y, scan(true));
    fs::write(&config, "CONFIG_X=m\n").unwrap();
    let m = scan(true);
    assert_ne!(m, y, "core_a moves to a module");
    assert_eq!(m, scan(false));
}

/// The 6.12 tree (`KFUNC_SCAN_LINUX`): with the cache, cold and warm, the
/// manifest of a scan without it; then a file's ctime moved (its mtime set
/// to what it was: nothing else changes, for whoever else reads the tree)
/// is read again.
#[test]
fn real_tree_with_and_without_the_cache() {
    let Some(tree) = env_path("KFUNC_SCAN_LINUX", "the 6.12 tree") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let scan = |name: &str, cached: bool| {
        let out = dir.path().join(name);
        let mut c = cmd([
            tree.as_os_str(),
            "-q".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .env("KFUNC_SCAN_TIMING", "1");
        if cached {
            c = c.arg("--cache").arg(&cache);
        }
        let r = c.output();
        assert!(matches!(r.status.code(), Some(0 | 1)));
        (
            fs::read(&out).unwrap(),
            Cached::of(&String::from_utf8_lossy(&r.stderr)),
        )
    };
    let (plain, _) = scan("plain.json", false);
    let (cold, _) = scan("cold.json", true);
    assert_eq!(cold, plain);
    let (warm, c) = scan("warm.json", true);
    assert_eq!(warm, plain);
    assert!(c.used && c.files_hit > 50_000, "{c:?}");
    let p = tree.join("lib/string.c");
    let mtime = fs::metadata(&p).unwrap().modified().unwrap();
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (touched, t) = scan("touched.json", true);
    assert_eq!(touched, plain);
    assert_eq!(t.files_read, c.files_read + 1, "{t:?} after {c:?}");
}

/// `ks_manifest` of `scripts/kbuild/kfunc-scan-hook.sh`, as the wrappers
/// call it in the object tree `obj` (`fresh`: 1 at a vmlinux link).
fn hook_manifest(src: &Path, obj: &Path, fresh: &str) {
    hook_manifest_with(src, obj, fresh, &[]);
}

fn hook_manifest_with(src: &Path, obj: &Path, fresh: &str, env: &[(&str, &str)]) {
    let r = hook_command(src, obj, r#"ks_manifest "$KFUNC_SCAN" .config "$1""#, fresh)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

/// bash running `script` (its `$1`: `arg`) with the hook's functions, as
/// the wrappers run them in the object tree `obj`.
fn hook_command(src: &Path, obj: &Path, script: &str, arg: &str) -> std::process::Command {
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kbuild/kfunc-scan-hook.sh");
    let mut c = std::process::Command::new("bash");
    c.arg("-c")
        .arg(format!(r#"ks_me=test; . "$0"; {script}"#))
        .arg(hook)
        .arg(arg)
        .current_dir(obj)
        .env("srctree", src)
        .env("objtree", ".")
        .env("KFUNC_SCAN", common::bin())
        .env_remove("KFUNC_SCAN_MANIFEST")
        .env_remove("KFUNC_SCAN_SRCTREE")
        .env_remove("KFUNC_SCAN_CACHE")
        .env_remove("KFUNC_SCAN_WATCH");
    c
}

/// A source tree ([`build_tree`]) and an object tree holding its `.config`,
/// as the hook finds them.
fn hook_trees(dir: &Path) -> (PathBuf, PathBuf) {
    let (src, obj) = (dir.join("src"), dir.join("obj"));
    build_tree(&src);
    fs::create_dir_all(&obj).unwrap();
    fs::copy(src.join(".config"), obj.join(".config")).unwrap();
    (src, obj)
}

/// Waits (at most 10 s) for a watcher's socket in `cache`: bound once
/// every watch is in place. Whether it came.
fn socket_bound(cache: &Path) -> bool {
    let sock = cache.join("watch.sock");
    for _ in 0..200 {
        if sock.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn the_hook_rescans_at_a_vmlinux_link_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (src, obj) = hook_trees(dir.path());
    let manifest = obj.join("kfunc-scan.json");
    hook_manifest(&src, &obj, "1");
    assert!(obj.join(".kfunc-scan-cache/scan.cache").is_file());
    let first = fs::read(&manifest).unwrap();
    // a source edit after the build: a module link reuses the manifest,
    // the next vmlinux link scans again and sees it
    let core = src.join("kernel/core.c");
    let text = fs::read_to_string(&core).unwrap();
    fs::write(&core, text.replace("core_a", "core_b")).unwrap();
    hook_manifest(&src, &obj, "0");
    assert_eq!(fs::read(&manifest).unwrap(), first);
    hook_manifest(&src, &obj, "1");
    let second = fs::read(&manifest).unwrap();
    assert!(String::from_utf8_lossy(&second).contains("core_b"));
    let plain = dir.path().join("plain.json");
    cmd([
        src.as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        plain.as_os_str(),
    ])
    // named as the hook names it, from the object tree
    .args(["--config", ".config"])
    .current_dir(&obj)
    .expect(0);
    assert_eq!(
        String::from_utf8_lossy(&second),
        String::from_utf8_lossy(&fs::read(plain).unwrap())
    );
}

#[test]
fn an_edit_of_a_parsed_file_keeping_size_and_mtime_is_seen() {
    let f = Fixture::new();
    let before = f.warm(&[]);
    let p = f.path("drivers/broken/broken.c");
    let mtime = fs::metadata(&p).unwrap().modified().unwrap();
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains("broken_stray"));
    fs::write(&p, text.replace("broken_stray", "broken_strax")).unwrap();
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (after, c) = f.cached("after.json", &[]);
    assert!(after.contains("broken_strax") && !before.contains("broken_strax"));
    assert_eq!(after, f.uncached("plain.json", &[]));
    assert_eq!((c.files_read, c.files_hit), (1, 9), "{c:?}");
}

#[test]
fn scans_at_once_on_one_cache_leave_a_whole_one() {
    let f = Fixture::new();
    let plain = f.uncached("plain.json", &[]);
    // no cache yet: each of the four writes one, renamed over the others'
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let out = f.out.join(format!("at-once-{i}.json"));
            std::process::Command::new(common::bin())
                .arg(&f.tree)
                .args(["-q", "--cache"])
                .arg(&f.cache)
                .arg("-o")
                .arg(&out)
                .stderr(std::process::Stdio::null())
                .spawn()
                .map(|c| (c, out))
                .unwrap()
        })
        .collect();
    for (mut child, out) in runs {
        assert_eq!(child.wait().unwrap().code(), Some(1));
        assert_eq!(fs::read_to_string(out).unwrap(), plain);
    }
    let (again, c) = f.cached("again.json", &[]);
    assert_eq!(again, plain);
    assert!(
        c.used && c.warnings.is_empty() && c.files_read == 0,
        "{c:?}"
    );
    // and no temporary left behind
    let mut left: Vec<String> = fs::read_dir(&f.cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["scan.cache", "scan.memo"]);
}

#[test]
fn what_changed_within_the_racy_window_is_read_again() {
    // a fresh copy: every file and directory changed just now, within the
    // window, so a change in the same timestamp tick as a read could hide
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_dir(&mini(), &tree);
    let cache = dir.path().join("cache");
    let scan = || {
        let out = dir.path().join("m.json");
        let r = cmd([
            tree.as_os_str(),
            "-q".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .arg("--cache")
        .arg(&cache)
        .env("KFUNC_SCAN_TIMING", "1")
        .output();
        Cached::of(&String::from_utf8_lossy(&r.stderr))
    };
    let first = scan();
    assert!(first.written, "{first:?}");
    let second = scan();
    // the cache was used, but nothing in it trusted: all read and listed again
    assert!(second.used, "{second:?}");
    assert_eq!((second.files_read, second.files_hit), (9, 0), "{second:?}");
    assert_eq!(second.dirs_listed, 14, "{second:?}");
}

// ------------------------------------------------------------------ memo
//
// The memo (`scan.memo`) stands for the stages after the walk when the walk
// hands on what the cache would have and the files those stages read are
// unchanged; the manifest is still the one a scan without the cache writes.

#[test]
fn an_unchanged_tree_is_answered_from_the_memo() {
    let f = Fixture::new();
    let (first, c) = f.cached("first.json", &[]);
    assert_eq!(c.memo, "not used", "{c:?}");
    let (again, c) = f.cached("again.json", &[]);
    assert_eq!(c.memo, "used (the walk found nothing changed)", "{c:?}");
    assert_eq!(again, first);
    assert_eq!(again, f.uncached("plain.json", &[]));
}

#[test]
fn a_file_read_again_to_the_same_result_keeps_the_memo() {
    let f = Fixture::new();
    f.warm(&[]);
    // one more blank line: the prefilter passes it over with the same
    // definitions
    fs::write(f.path("lib/plain.c"), format!("{PLAIN}\n")).unwrap();
    let (after, c) = f.cached("after.json", &[]);
    assert_eq!(
        (c.files_read, c.memo.as_str()),
        (1, "used (the walk found nothing changed)"),
        "{c:?}"
    );
    assert_eq!(after, f.uncached("plain.json", &[]));
    // a definition added: another result, the later stages run
    fs::write(f.path("lib/plain.c"), format!("{PLAIN}{DEFINES}")).unwrap();
    let (defined, c) = f.cached("defined.json", &[]);
    assert_eq!(c.memo, "not used", "{c:?}");
    assert_eq!(defined, f.uncached("plain2.json", &[]));
}

#[test]
fn a_file_only_the_later_stages_read_is_seen() {
    // the top Makefile is no C file (the walk never lists it); the tree
    // facts read the release from it
    let f = Fixture::new();
    let before = f.warm(&[]);
    let mk = f.path("Makefile");
    let text = fs::read_to_string(&mk).unwrap();
    let bumped = text.replacen("SUBLEVEL = ", "SUBLEVEL = 9", 1);
    assert_ne!(bumped, text, "the mini tree's Makefile has a SUBLEVEL");
    fs::write(&mk, bumped).unwrap();
    let (after, c) = f.cached("after.json", &[]);
    assert_eq!(c.memo, "not used", "{c:?}");
    assert_ne!(after, before);
    assert_eq!(after, f.uncached("plain.json", &[]));
}

#[test]
fn a_makefile_the_build_view_follows_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    build_tree(&tree);
    past_racy_window();
    let (cache, out) = (dir.path().join("cache"), dir.path().join("m.json"));
    let scan = |cached: bool| {
        let mut c = cmd([tree.as_os_str(), "-o".as_ref(), out.as_os_str()])
            .arg("--config")
            .arg(tree.join(".config"))
            .env("KFUNC_SCAN_TIMING", "1");
        if cached {
            c = c.arg("--cache").arg(&cache);
        }
        let err = c.expect(0).stderr();
        (fs::read(&out).unwrap(), Cached::of(&err))
    };
    let (first, _) = scan(true);
    let (again, c) = scan(true);
    assert_eq!(
        (&again, c.memo.as_str()),
        (&first, "used (the walk found nothing changed)")
    );
    assert!(c.warnings.is_empty(), "{c:?}");
    // the object leaves the build: no C file changed
    fs::write(tree.join("kernel/Makefile"), "obj-$(CONFIG_Y) += core.o\n").unwrap();
    let (after, c) = scan(true);
    assert_eq!(c.memo, "not used", "{c:?}");
    assert_ne!(after, first);
    assert_eq!(after, scan(false).0);
}

#[test]
fn a_damaged_memo_is_ignored_and_replaced() {
    let f = Fixture::new();
    let first = f.warm(&[]);
    let memo = f.cache.join("scan.memo");
    let mut b = fs::read(&memo).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x20;
    fs::write(&memo, &b).unwrap();
    let (again, c) = f.cached("again.json", &[]);
    assert_eq!(again, first);
    assert_eq!(c.memo, "not used", "{c:?}");
    assert!(
        c.warnings.len() == 1
            && c.warnings[0].contains("scan.memo")
            && c.warnings[0].contains("checksum"),
        "{c:?}"
    );
    let (third, c) = f.cached("third.json", &[]);
    assert_eq!(
        (third, c.memo.as_str(), c.warnings.len()),
        (first, "used (the walk found nothing changed)", 0)
    );
}

// --------------------------------------------------------------- watcher
//
// With `kfunc-scan watch TREE --cache DIR` running, a scan through DIR asks
// it what changed instead of statting the tree: still the manifest of a
// scan without the cache, after every kind of change, made at once before
// the scan (the watcher's cookie: no sleep here is needed for it).

/// A watcher on `tree` for the cache `cache`, stopped (and waited for) when
/// dropped.
struct Watcher {
    child: std::process::Child,
    cache: PathBuf,
}

impl Watcher {
    fn start(tree: &Path, cache: &Path) -> Watcher {
        let child = std::process::Command::new(common::bin())
            .args(["watch", "-q"])
            .arg(tree)
            .arg("--cache")
            .arg(cache)
            .spawn()
            .unwrap();
        let w = Watcher {
            child,
            cache: cache.to_path_buf(),
        };
        assert!(
            socket_bound(cache),
            "no watcher socket in {}",
            cache.display()
        );
        w
    }

    fn stop(mut self) -> Option<i32> {
        let stopped = cmd([
            "watch".as_ref(),
            "--stop".as_ref(),
            "--cache".as_ref(),
            self.cache.as_os_str(),
        ]);
        stopped.expect(0);
        let code = self.child.wait().unwrap().code();
        std::mem::forget(self);
        code
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_watched_tree_gives_the_same_manifests_without_a_walk() {
    let f = Fixture::new();
    let w = Watcher::start(&f.tree, &f.cache);
    let check = |name: &str, memo: &str| {
        let (m, c) = f.cached(name, &[]);
        assert_eq!(m, f.uncached("plain.json", &[]), "{name}");
        // "": either (it depends on which files were still racy)
        assert!(memo.is_empty() || c.memo == memo, "{name}: {c:?}");
        assert!(c.warnings.is_empty(), "{name}: {c:?}");
        m
    };
    let first = check("first.json", "not used");
    let quick = "used (the watcher vouched for the tree)";
    check("again.json", quick);
    // a file read again to what it made: still no walk
    fs::write(f.path("lib/plain.c"), format!("{PLAIN}\n")).unwrap();
    check("blank.json", quick);
    // a file the prefilter keeps, parsed again to the same records (a
    // comment after its last line)
    let helpers = f.path("kernel/bpf/helpers.c");
    let text = fs::read_to_string(&helpers).unwrap();
    fs::write(&helpers, format!("{text}/* reviewed */\n")).unwrap();
    check("comment.json", quick);
    // and to other records: a line before everything moves every record
    fs::write(&helpers, format!("\n{text}")).unwrap();
    check("moved.json", "not used");
    // a definition the set lacked, written just before the scan
    fs::write(f.path("lib/plain.c"), format!("{PLAIN}{DEFINES}")).unwrap();
    let defined = check("defined.json", "not used");
    assert_ne!(defined, first);
    // a new directory, a file in it, a build output beside it
    fs::create_dir_all(f.path("net/new/deeper")).unwrap();
    fs::write(f.path("net/new/deeper/k.c"), PLAIN).unwrap();
    fs::write(f.path("net/new/deeper/k.o"), "\x7fELF").unwrap();
    check("new-dir.json", "not used");
    // renamed, then removed
    fs::rename(f.path("net/new"), f.path("net/old")).unwrap();
    check("renamed.json", "not used");
    fs::remove_dir_all(f.path("net/old")).unwrap();
    check("removed.json", "not used");
    // only a build output written: nothing to look at
    fs::write(f.path("lib/plain.o"), "\x7fELF").unwrap();
    past_racy_window();
    check("settled.json", "");
    check("output.json", quick);
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn an_edit_while_no_watcher_ran_is_seen() {
    let f = Fixture::new();
    let w = Watcher::start(&f.tree, &f.cache);
    let (first, _) = f.cached("first.json", &[]);
    let (_, c) = f.cached("again.json", &[]);
    assert_eq!(c.memo, "used (the watcher vouched for the tree)", "{c:?}");
    assert_eq!(w.stop(), Some(0));
    fs::write(f.path("lib/plain.c"), format!("{PLAIN}{DEFINES}")).unwrap();
    // another watcher: another generation, whose answer to the old token
    // is "cannot say": the whole tree is statted
    let w = Watcher::start(&f.tree, &f.cache);
    let (after, c) = f.cached("after.json", &[]);
    assert_ne!(after, first);
    assert_eq!(after, f.uncached("plain.json", &[]));
    assert_eq!((c.memo.as_str(), c.files_read), ("not used", 1), "{c:?}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn the_hook_starts_a_watcher_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (src, obj) = hook_trees(dir.path());
    let watch = [("KFUNC_SCAN_WATCH", "1")];
    hook_manifest_with(&src, &obj, "1", &watch);
    let cache = obj.join(".kfunc-scan-cache");
    // started in the background: in place once its socket is bound
    assert!(
        socket_bound(&cache),
        "no watcher: {:?}",
        fs::read_to_string(cache.join("watch.log"))
    );
    // a second hook run leaves the one watcher (the new one exits, said in
    // its log) and its scan asks it
    let core = src.join("kernel/core.c");
    let text = fs::read_to_string(&core).unwrap();
    fs::write(&core, text.replace("core_a", "core_b")).unwrap();
    hook_manifest_with(&src, &obj, "1", &watch);
    let second = fs::read_to_string(obj.join("kfunc-scan.json")).unwrap();
    assert!(second.contains("core_b"), "{second}");
    let asked = cmd([
        src.as_os_str(),
        "-o".as_ref(),
        dir.path().join("m.json").as_os_str(),
    ])
    .args(["--config", ".config", "--cache"])
    .arg(&cache)
    .current_dir(&obj)
    .env("KFUNC_SCAN_TIMING", "1")
    .expect(0)
    .stderr();
    assert!(asked.contains("timing: watcher 0 paths changed"), "{asked}");
    assert_eq!(
        fs::read_to_string(dir.path().join("m.json")).unwrap(),
        second
    );
    cmd([
        "watch".as_ref(),
        "--stop".as_ref(),
        "--cache".as_ref(),
        cache.as_os_str(),
    ])
    .expect(0);
}

#[test]
fn changed_paths_past_the_quick_bound_go_to_the_walk() {
    use kfunc_scan::limits::MAX_QUICK_CHANGES;
    let f = Fixture::new();
    let many = f.path("lib/many");
    fs::create_dir_all(&many).unwrap();
    let name = |i: usize| many.join(format!("f{i}.c"));
    for i in 0..=MAX_QUICK_CHANGES {
        fs::write(name(i), PLAIN).unwrap();
    }
    let w = Watcher::start(&f.tree, &f.cache);
    f.cached("first.json", &[]);
    let quick = "used (the watcher vouched for the tree)";
    // each rewritten to what it made: at the bound, read one by one
    for i in 0..MAX_QUICK_CHANGES {
        fs::write(name(i), format!("{PLAIN}\n")).unwrap();
    }
    let (m, c) = f.cached("at.json", &[]);
    assert_eq!(
        (c.memo.as_str(), c.watcher),
        (quick, Some(MAX_QUICK_CHANGES)),
        "{c:?}"
    );
    assert_eq!(m, f.uncached("plain.json", &[]));
    // one past it: the walk, which reads only those the watcher named
    for i in 0..=MAX_QUICK_CHANGES {
        fs::write(name(i), format!("{PLAIN}\n\n")).unwrap();
    }
    let (m, c) = f.cached("past.json", &[]);
    assert_eq!(c.files_read, MAX_QUICK_CHANGES + 1, "{c:?}");
    assert_ne!(c.memo, quick, "{c:?}");
    assert_eq!(m, f.uncached("plain2.json", &[]));
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_watcher_the_hook_starts_keeps_none_of_its_starters_descriptors() {
    // under `make -j`, the hook inherits make's jobserver pipe, and make
    // waits for its end: a watcher holding it stalled the build. Here the
    // hook's shell holds its stdout pipe as fd 5 too; the test reads that
    // pipe to its end, which comes only when every holder has closed it.
    let dir = tempfile::tempdir().unwrap();
    let (src, obj) = hook_trees(dir.path());
    let mut child = hook_command(
        &src,
        &obj,
        r#"exec 5>&1; ks_manifest "$KFUNC_SCAN" .config "$1" >/dev/null"#,
        "1",
    )
    .env("KFUNC_SCAN_WATCH", "1")
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut sink);
        let _ = tx.send(());
    });
    let ended = rx.recv_timeout(Duration::from_secs(20)).is_ok();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let cache = obj.join(".kfunc-scan-cache");
    let bound = socket_bound(&cache);
    assert!(
        bound,
        "no watcher: {:?}",
        fs::read_to_string(cache.join("watch.log"))
    );
    cmd([
        "watch".as_ref(),
        "--stop".as_ref(),
        "--cache".as_ref(),
        cache.as_os_str(),
    ])
    .expect(0);
    assert!(
        ended,
        "the pipe stayed open after the hook ended: the watcher holds it"
    );
}

// -------------------------------------------- found by probing the memo

#[test]
fn a_link_whose_target_outside_the_tree_appears_is_seen() {
    // no change in the tree at all: the link was there, its target was not
    let f = Fixture::new();
    let outside = f._dir.path().join("outside.c");
    std::os::unix::fs::symlink(&outside, f.path("lib/linked.c")).unwrap();
    past_racy_window();
    let (before, _) = f.cached("first.json", &[]);
    let (_, c) = f.cached("again.json", &[]);
    assert_eq!(c.memo, "used (the walk found nothing changed)", "{c:?}");
    fs::write(&outside, DEFINES).unwrap();
    past_racy_window();
    let (after, c) = f.cached("after.json", &[]);
    assert_eq!(c.memo, "not used", "{c:?}");
    assert_ne!(after, before);
    assert_eq!(after, f.uncached("plain.json", &[]));
}

#[test]
fn a_wildcard_the_build_view_follows_is_seen_from_a_relative_tree() {
    // `core.o` is built in when a `.flag` file exists: a file the walk
    // never lists, found by a `$(wildcard)` over a directory; the tree
    // named relative to the working directory
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = hook_trees(dir.path());
    fs::write(
        src.join("kernel/Makefile"),
        "ifneq ($(wildcard $(src)/*.flag),)\nobj-y += core.o\nelse\nobj-m += core.o\nendif\n",
    )
    .unwrap();
    past_racy_window();
    let scan = |cached: bool| {
        let mut c = cmd(["src", "-o", "m.json", "--config", "src/.config"])
            .current_dir(dir.path())
            .env("KFUNC_SCAN_TIMING", "1");
        if cached {
            c = c.args(["--cache", "cache"]);
        }
        let err = c.expect(0).stderr();
        (
            fs::read_to_string(dir.path().join("m.json")).unwrap(),
            Cached::of(&err),
        )
    };
    let (module, _) = scan(true);
    let (again, c) = scan(true);
    assert_eq!(
        (&again, c.memo.as_str()),
        (&module, "used (the walk found nothing changed)")
    );
    fs::write(src.join("kernel/on.flag"), "").unwrap();
    past_racy_window();
    let (builtin, c) = scan(true);
    assert_eq!(c.memo, "not used", "{c:?}");
    assert_ne!(builtin, module, "core_a moves into vmlinux");
    assert_eq!(builtin, scan(false).0);
}

#[test]
fn fifos_in_place_of_the_cache_the_memo_or_the_config_are_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let mkfifo = |p: &Path| {
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let out = dir.path().join("m.json");
    // the cache and the memo
    for name in ["scan.cache", "scan.memo"] {
        let cache = dir.path().join(format!("cache-{name}"));
        fs::create_dir_all(&cache).unwrap();
        // a memo is read only beside a cache
        let (first, _) = (
            cmd([
                mini().as_os_str(),
                "-q".as_ref(),
                "--cache".as_ref(),
                cache.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ])
            .output(),
            (),
        );
        assert!(matches!(first.status.code(), Some(0 | 1)));
        let _ = fs::remove_file(cache.join(name));
        mkfifo(&cache.join(name));
        let r = run_limited([
            mini().as_os_str(),
            "-q".as_ref(),
            "--cache".as_ref(),
            cache.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert!(matches!(r.code, Some(0 | 1)), "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("not a regular file"),
            "{name}: {}",
            r.stderr
        );
    }
    // the .config, refused as without --cache
    let config = dir.path().join("fifo.config");
    mkfifo(&config);
    let cache = dir.path().join("cache-config");
    let (src, _) = hook_trees(dir.path());
    let r = run_limited([
        src.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--cache".as_ref(),
        cache.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
}

#[test]
fn the_watch_command_says_what_it_cannot_do() {
    let f = Fixture::new();
    let stop = || {
        cmd([
            "watch".as_ref(),
            "--stop".as_ref(),
            "--cache".as_ref(),
            f.cache.as_os_str(),
        ])
    };
    // none runs: said, exit 1
    let none = stop().expect(1).stderr();
    assert!(
        none.contains("no watcher serves this cache directory"),
        "{none}"
    );
    // not a directory: exit 2, named
    let file = f.path("lib/plain.c");
    let r = cmd([
        "watch".as_ref(),
        file.as_os_str(),
        "--cache".as_ref(),
        f.cache.as_os_str(),
    ])
    .expect(2);
    assert!(r.stderr().contains("not a directory"), "{}", r.stderr());
    // a second watcher on the same cache directory: exit 2, the lock named
    let w = Watcher::start(&f.tree, &f.cache);
    let r = cmd([
        "watch".as_ref(),
        f.tree.as_os_str(),
        "--cache".as_ref(),
        f.cache.as_os_str(),
    ])
    .expect(2);
    assert!(
        r.stderr().contains("watch.lock") && r.stderr().contains("another watcher"),
        "{}",
        r.stderr()
    );
    assert_eq!(w.stop(), Some(0));
    stop().expect(1);
}
