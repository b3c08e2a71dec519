//! `kfunc-scan history`, over a git repository this test builds with the
//! `git` command from edited copies of `testdata/linux-implicit-old` and
//! `-new`, and over manifests:
//!
//! | tag   | tree                    | common_btf_ids lists                  | registered for |
//! | ----- | ----------------------- | ------------------------------------- | -------------- |
//! | v6.1  | implicit-old            | bpf_wq_set_callback_impl, bpf_wq_start | UNSPEC        |
//! | v6.6  | implicit-new            | bpf_wq_set_callback, bpf_wq_start      | UNSPEC        |
//! | v6.12 | implicit-old, edited    | bpf_wq_set_callback_impl, bpf_wq_start | XDP           |
//!
//! The trees have no hook table (no kernel/bpf/btf.c): UNSPEC stays
//! UNSPEC, XDP stays XDP. Each tag's top Makefile says its version.

use crate::common;
use common::*;
use kfunc_scan::manifest::history::{History, Named, Span};
use std::path::{Path, PathBuf};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), dest).unwrap();
        } else if ft.is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A copy of a testdata tree with each `(file, from, to)` replacement made
/// (each must apply).
fn edited(dir: &Path, from: &str, edits: &[(&str, &str, &str)]) -> PathBuf {
    copy_dir(&testdata(from), dir);
    for (file, a, b) in edits {
        let p = dir.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(a), "{file}: no `{a}`");
        std::fs::write(&p, text.replace(a, b)).unwrap();
    }
    dir.to_path_buf()
}

/// The three trees of the table above, in `dir`.
fn trees(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let version = |v: &str, p: &str| {
        let mk = format!("VERSION = {v}\nPATCHLEVEL = {p}\nSUBLEVEL = 0\nEXTRAVERSION =\n");
        mk
    };
    let v61 = version("6", "1");
    let v66 = version("6", "6");
    let v612 = version("6", "12");
    let old_mk = "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION = -implicit-old\n";
    let new_mk = "VERSION = 7\nPATCHLEVEL = 0\nSUBLEVEL = 0\nEXTRAVERSION = -implicit-new\n";
    vec![
        (
            "v6.1",
            edited(
                &dir.join("t61"),
                "linux-implicit-old",
                &[("Makefile", old_mk, &v61)],
            ),
        ),
        (
            "v6.6",
            edited(
                &dir.join("t66"),
                "linux-implicit-new",
                &[("Makefile", new_mk, &v66)],
            ),
        ),
        (
            "v6.12",
            edited(
                &dir.join("t612"),
                "linux-implicit-old",
                &[
                    ("Makefile", old_mk, &v612),
                    (
                        "kernel/bpf/helpers.c",
                        "register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC",
                        "register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP",
                    ),
                ],
            ),
        ),
    ]
}

/// A repository at `dir/repo` with a commit and a tag per tree, each
/// commit's files exactly its tree's; the tags' commit ids.
fn repo(dir: &Path, trees: &[(&'static str, PathBuf)]) -> (PathBuf, Vec<String>) {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "."]);
    let commits = trees
        .iter()
        .map(|(tag, tree)| commit_tree(&repo, tree, tag))
        .collect();
    (repo, commits)
}

/// Commits to the work tree `repo` exactly the files of `tree`, tagged
/// `tag`; the commit's id.
fn commit_tree(repo: &Path, tree: &Path, tag: &str) -> String {
    for e in std::fs::read_dir(repo).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".git" {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            } else {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    copy_dir(tree, repo);
    git(repo, &["add", "-A", "-f", "."]);
    git(repo, &["commit", "-q", "-m", tag]);
    git(repo, &["tag", tag]);
    git(repo, &["rev-parse", &format!("{tag}^{{commit}}")])
}

/// The manifest kept in `cache` for the tree of `tag` in `repo`.
fn kept_for(cache: &Path, repo: &Path, tag: &str) -> PathBuf {
    let tree_id = git(repo, &["rev-parse", &format!("{tag}^{{tree}}")]);
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&tree_id)
        })
        .unwrap_or_else(|| panic!("no manifest kept for {tag}'s tree {tree_id}"))
}

/// Runs `history --git REPO TAG` keeping manifests in `cache` (exiting
/// with `code`); the manifest kept for the tag's tree.
fn kept_manifest(repo: &Path, tag: &str, cache: &Path, code: i32) -> PathBuf {
    cmd(["history", "-q", "--cache-dir"])
        .arg(cache)
        .arg("--git")
        .arg(repo)
        .args([tag, "-o"])
        .arg(cache.with_extension("history.json"))
        .expect(code);
    let mut kept = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path());
    let first = kept.next().expect("a manifest kept");
    assert!(kept.next().is_none(), "one tree, one manifest");
    first
}

fn read_history(path: &Path) -> History {
    History::from_json(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A span as `(since, until, missing_in)` version names.
type When<'a> = (&'a str, Option<&'a str>, Vec<&'a str>);

fn when(s: &Span) -> When<'_> {
    (
        s.since.version.as_str(),
        s.until.as_ref().map(|u| u.version.as_str()),
        s.missing_in.iter().map(String::as_str).collect(),
    )
}

fn names(items: &[Named]) -> Vec<(&str, When<'_>)> {
    items
        .iter()
        .map(|n| (n.name.as_str(), when(&n.span)))
        .collect()
}

const UNSPEC: &str = "BPF_PROG_TYPE_UNSPEC";
const XDP: &str = "BPF_PROG_TYPE_XDP";

/// The spans the table gives, by version name (`v6.1`… for tags).
fn check_spans(h: &History, v: [&str; 3]) {
    let [v61, v66, v612] = v;
    let names_of: Vec<&str> = h.kfuncs.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        names_of,
        [
            "bpf_wq_set_callback",
            "bpf_wq_set_callback_impl",
            "bpf_wq_start"
        ]
    );
    let cb = h.kfunc("bpf_wq_set_callback").unwrap();
    assert_eq!(when(&cb.span), (v66, Some(v612), vec![]));
    assert_eq!(
        names(&cb.sets),
        [("common_btf_ids", (v66, Some(v612), vec![]))]
    );
    assert_eq!(names(&cb.prog_types), [(UNSPEC, (v66, Some(v612), vec![]))]);

    // gone in 6.6, back in 6.12: one span with a hole
    let imp = h.kfunc("bpf_wq_set_callback_impl").unwrap();
    assert_eq!(when(&imp.span), (v61, None, vec![v66]));
    assert_eq!(
        names(&imp.sets),
        [("common_btf_ids", (v61, None, vec![v66]))]
    );
    assert_eq!(
        names(&imp.prog_types),
        [
            (UNSPEC, (v61, Some(v66), vec![])),
            (XDP, (v612, None, vec![]))
        ]
    );

    let start = h.kfunc("bpf_wq_start").unwrap();
    assert_eq!(when(&start.span), (v61, None, vec![]));
    assert_eq!(
        names(&start.prog_types),
        [
            (UNSPEC, (v61, Some(v612), vec![])),
            (XDP, (v612, None, vec![]))
        ]
    );

    assert_eq!(h.sets.len(), 1);
    let set = h.set("common_btf_ids").unwrap();
    assert_eq!(when(&set.span), (v61, None, vec![]));
    assert_eq!(
        names(&set.prog_types),
        [
            (UNSPEC, (v61, Some(v612), vec![])),
            (XDP, (v612, None, vec![]))
        ]
    );
}

#[test]
fn since_and_until_from_a_repositorys_tags() {
    let dir = tempfile::tempdir().unwrap();
    let trees = trees(dir.path());
    let (repo, commits) = repo(dir.path(), &trees);
    let out = dir.path().join("history.json");
    let run = cmd(["history", "--no-cache", "--git"])
        .arg(&repo)
        .args(["v6.1", "v6.6", "v6.12", "-o"])
        .arg(&out)
        .expect(0);
    let h = read_history(&out);
    let versions: Vec<(&str, Option<&str>, Option<&str>)> = h
        .versions
        .iter()
        .map(|v| {
            (
                v.version.as_str(),
                v.commit.as_deref(),
                v.kernel_version.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("v6.1", Some(commits[0].as_str()), Some("6.1")),
            ("v6.6", Some(commits[1].as_str()), Some("6.6")),
            ("v6.12", Some(commits[2].as_str()), Some("6.12")),
        ]
    );
    check_spans(&h, ["v6.1", "v6.6", "v6.12"]);
    // each since / until carries its version's commit
    let cb = h.kfunc("bpf_wq_set_callback").unwrap();
    assert_eq!(cb.span.since.commit.as_deref(), Some(commits[1].as_str()));
    let until = cb.span.until.as_ref().unwrap();
    assert_eq!(until.commit.as_deref(), Some(commits[2].as_str()));

    // two C files a tree (helpers.c, include/linux/btf.h): btf.h is the
    // same blob in all three, read once; helpers.c differs in each
    let err = run.stderr();
    for (tag, read, reused) in [("v6.1", 2, 0), ("v6.6", 1, 1), ("v6.12", 1, 1)] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("kfunc-scan history: {tag} (")))
            .unwrap_or_else(|| panic!("no line for {tag}:\n{err}"));
        assert!(
            line.ends_with(&format!(
                "scanned, {read} files read from the object database, {reused} as this run had already read them"
            )),
            "{line}"
        );
    }
    assert!(
        err.contains("3 versions, v6.1 to v6.12: 2 kfuncs then, 2 now (0 added, 0 gone)"),
        "{err}"
    );

    // the same bytes with one thread; the scan's timing lines on stderr
    // meanwhile (the scan's threads write there while the command runs)
    let one = dir.path().join("one.json");
    let err = cmd(["history", "-q", "--no-cache", "--jobs", "1", "--git"])
        .arg(&repo)
        .args(["v6.1", "v6.6", "v6.12", "-o"])
        .arg(&one)
        .env("KFUNC_SCAN_TIMING", "1")
        .expect(0)
        .stderr();
    assert_eq!(err.matches("timing: resolve at").count(), 3, "{err}");
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&out).unwrap());

    // packed, the blobs that differ from tag to tag deltas of one another:
    // the same history, and the same account of what was read for which tag
    pack(&repo);
    let deltas = packed_objects(&repo)
        .into_iter()
        .flat_map(|(_, objects)| objects)
        .filter(|o| o.kind == "blob" && o.base.is_some())
        .count();
    assert!(deltas >= 2, "{deltas} delta blobs");
    let packed = dir.path().join("packed.json");
    let err_packed = cmd(["history", "--no-cache", "--git"])
        .arg(&repo)
        .args(["v6.1", "v6.6", "v6.12", "-o"])
        .arg(&packed)
        .expect(0)
        .stderr();
    assert_eq!(
        std::fs::read(&packed).unwrap(),
        std::fs::read(&out).unwrap()
    );
    let err_loose = run.stderr();
    assert_eq!(read_lines(&err_packed).len(), 3, "{err_packed}");
    assert_eq!(
        read_lines(&err_packed),
        read_lines(&err_loose),
        "{err_packed}"
    );
}

#[test]
fn the_same_history_from_the_manifests_in_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (tag, tree) in trees(dir.path()) {
        let m = dir.path().join(format!("{tag}.json"));
        scan_into(&tree, &m);
        files.push(m);
    }
    let out = dir.path().join("history.json");
    cmd(["history", "-q"])
        .args(&files)
        .arg("-o")
        .arg(&out)
        .expect(0);
    let h = read_history(&out);
    // versions named by the manifests' kernel versions, with no commit
    assert!(h
        .versions
        .iter()
        .all(|v| v.commit.is_none() && v.kernel_version.as_deref() == Some(&v.version[..])));
    check_spans(&h, ["6.1", "6.6", "6.12"]);
    assert_eq!(h.kfunc("bpf_wq_start").unwrap().span.since.commit, None);
}

#[test]
fn each_tree_is_scanned_once_then_taken_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let trees = trees(dir.path());
    let (repo, _) = repo(dir.path(), &trees);
    let xdg = dir.path().join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    let run = |out: &Path, extra: &[&str]| {
        cmd(["history", "--git"])
            .arg(&repo)
            .args(["v6.1", "v6.12", "-o"])
            .arg(out)
            .args(extra)
            .env("XDG_CACHE_HOME", &xdg)
            .expect(0)
            .stderr()
    };
    let (first, second) = (dir.path().join("1.json"), dir.path().join("2.json"));
    let err = run(&first, &[]);
    assert_eq!(err.matches("scanned, ").count(), 2, "{err}");
    // one manifest per tree, under $XDG_CACHE_HOME
    let cache = xdg.join("kfunc-scan/history");
    let mut kept: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    // the second run reads no blob: both manifests come from the cache
    let err = run(&second, &[]);
    assert_eq!(err.matches(": from the cache (").count(), 2, "{err}");
    assert!(!err.contains("scanned"), "{err}");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    // each kept manifest is the plain scan of its tree
    for (tag, tree) in [&trees[0], &trees[2]] {
        let file = kept_for(&cache, &repo, tag);
        let plain = cmd([tree.as_os_str(), "-q".as_ref()]).expect(0).stdout();
        assert_eq!(std::fs::read_to_string(file).unwrap(), plain, "{tag}");
    }
    // a kept manifest that does not read is made again, and replaced
    std::fs::write(&kept[0], "{").unwrap();
    let err = run(&second, &[]);
    assert_eq!(err.matches("scanned, ").count(), 1, "{err}");
    assert_ne!(std::fs::read_to_string(&kept[0]).unwrap(), "{");
    // --no-cache neither reads nor writes it; --cache-dir moves it
    let err = run(&second, &["--no-cache"]);
    assert_eq!(err.matches("scanned, ").count(), 2, "{err}");
    let elsewhere = dir.path().join("elsewhere");
    run(&second, &["--cache-dir", elsewhere.to_str().unwrap()]);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 2);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}

#[test]
fn a_tree_read_from_git_gives_its_checkouts_manifest() {
    // linux-mini, with what a walk must treat as the filesystem walk does:
    // hidden directories, links to files, to directories, dangling, looping
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_dir(&mini(), &tree);
    std::fs::create_dir_all(tree.join(".hidden")).unwrap();
    std::fs::copy(tree.join("kernel/bpf/helpers.c"), tree.join(".hidden/h.c")).unwrap();
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    for (target, link) in [
        ("../kernel/bpf/helpers.c", "sub/link.c"),
        ("../kernel", "sub/dirlink"),
        ("nowhere.c", "sub/dangling.c"),
        ("loop.h", "sub/loop.h"),
        ("../../include/linux/btf.h", "sub/outside.h"),
        ("./../kernel//bpf/./helpers.c", "sub/dotted.c"),
        ("../kernel/bpf/helpers.c", "sub/notc.txt"),
        ("nowhere", "sub/dangling.txt"),
    ] {
        std::os::unix::fs::symlink(target, tree.join(link)).unwrap();
    }
    // 40 links to a file, the most a path lookup follows; then 41
    for (name, links) in [("forty", 40), ("forty-one", 41)] {
        for i in 0..links {
            let target = match i + 1 == links {
                true => "../kernel/bpf/helpers.c".to_string(),
                false => format!("{name}-{}.h", i + 1),
            };
            std::os::unix::fs::symlink(target, tree.join(format!("sub/{name}-{i}.h"))).unwrap();
        }
    }
    let (repo, _) = repo(dir.path(), &[("t", tree.clone())]);
    let plain = cmd([tree.as_os_str(), "-q".as_ref()]).expect(1).stdout();
    // the objects loose (read one by one), then packed (read ahead)
    let kept = kept_manifest(&repo, "t", &dir.path().join("loose"), 1);
    assert_eq!(std::fs::read_to_string(kept).unwrap(), plain);
    pack(&repo);
    let kept = kept_manifest(&repo, "t", &dir.path().join("packed"), 1);
    assert_eq!(std::fs::read_to_string(kept).unwrap(), plain);
    for (file, code) in [
        ("sub/dirlink", "symlink-not-followed"),
        ("sub/dangling.c", "read-error"),
        ("sub/loop.h", "read-error"),
        ("sub/forty-one-0.h", "read-error"),
    ] {
        assert!(
            plain.contains(&format!(
                "\"code\": \"{code}\",\n      \"file\": \"{file}\""
            )),
            "{file}: {code}"
        );
    }
    assert!(plain.contains("\"file\": \"sub/link.c\""));
    assert!(plain.contains("\"file\": \"sub/dotted.c\""));
    assert!(plain.contains("\"file\": \"sub/forty-0.h\""));
    assert!(!plain.contains(".hidden"));
    assert!(!plain.contains(".txt"));
}

#[test]
fn docs_and_yaml_carry_since() {
    let dir = tempfile::tempdir().unwrap();
    let trees = trees(dir.path());
    let (repo, commits) = repo(dir.path(), &trees);
    let h = dir.path().join("history.json");
    cmd(["history", "-q", "--no-cache", "--git"])
        .arg(&repo)
        .args(["v6.1", "v6.6", "v6.12", "-o"])
        .arg(&h)
        .expect(0);
    let manifest = |i: usize| {
        let m = dir.path().join(format!("m{i}.json"));
        scan_into(&trees[i].1, &m);
        m
    };
    let (m66, m612) = (manifest(1), manifest(2));

    // v6.6's pages: bpf_wq_set_callback came with v6.6 and went with v6.12
    for (format, page) in [
        ("markdown", "kfuncs/bpf_wq_set_callback.md"),
        ("html", "kfuncs/bpf_wq_set_callback.html"),
    ] {
        let site = dir.path().join(format);
        cmd(["docs", "--format", format, "--manifest"])
            .arg(&m66)
            .arg("--history")
            .arg(&h)
            .arg("-o")
            .arg(&site)
            .expect(0);
        let text = std::fs::read_to_string(site.join(page)).unwrap();
        let want = format!(
            "Since v6.6 (commit {}). Gone in v6.12 (commit {}).",
            &commits[1][..12],
            &commits[2][..12]
        );
        assert!(text.contains(&want), "{format}: {text}");
        let start =
            std::fs::read_to_string(site.join(page.replace("set_callback", "start"))).unwrap();
        assert!(
            start.contains("Since v6.1 or earlier (the oldest version compared)."),
            "{start}"
        );
    }

    // v6.12's YAML: XDP since v6.12; UNSPEC, gone in v6.12, kept with its until
    let yaml = dir.path().join("kfuncs.yaml");
    cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&m612)
        .arg("--history")
        .arg(&h)
        .arg("-o")
        .arg(&yaml)
        .expect(0);
    let text = std::fs::read_to_string(&yaml).unwrap();
    let want = format!(
        "    program_types:\n      - name: BPF_PROG_TYPE_UNSPEC\n        until:\n          version: \"v6.12\"\n          commit: \"{c}\"\n      - name: BPF_PROG_TYPE_XDP\n        since:\n          version: \"v6.12\"\n          commit: \"{c}\"\n",
        c = commits[2]
    );
    assert!(text.contains(&want), "{text}");
    // in ebpf-docs' shape, and lint-docs agrees with v6.12's manifest:
    // the type gone by v6.12 is not compared
    let file = kfunc_scan::lint::read(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let since = file.sets[0].program_types[1].since.as_ref().unwrap();
    assert_eq!(
        (since.version.as_str(), since.commit.as_str()),
        ("v6.12", commits[2].as_str())
    );
    cmd(["lint-docs"])
        .arg(&yaml)
        .arg("--manifest")
        .arg(&m612)
        .expect(0);

    // without a history, the YAML carries neither
    cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&m612)
        .arg("-o")
        .arg(&yaml)
        .expect(0);
    let plain = std::fs::read_to_string(&yaml).unwrap();
    assert!(
        !plain.contains("since") && !plain.contains("UNSPEC"),
        "{plain}"
    );
}

#[test]
fn unusable_inputs_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let trees = trees(dir.path());
    let (repo, _) = repo(dir.path(), &trees[..1]);
    let out = dir.path().join("h.json");
    let refused = |c: Cmd, want: &str| {
        let err = c.arg("-o").arg(&out).expect(2).stderr();
        assert!(err.contains(want), "want `{want}`:\n{err}");
    };
    // not a repository
    refused(
        cmd(["history", "--no-cache", "--git"])
            .arg(dir.path())
            .arg("v6.1"),
        "error[not-a-repository]",
    );
    // a tag the repository lacks, named before any tree is read
    refused(
        cmd(["history", "--no-cache", "--git"])
            .arg(&repo)
            .args(["v6.1", "v9.9"]),
        "error[no-such-revision]: no tag, branch or commit named `v9.9`",
    );
    // the same version twice
    refused(
        cmd(["history", "--no-cache", "--git"])
            .arg(&repo)
            .args(["v6.1", "v6.1"]),
        "error[duplicate-version]: version `v6.1` is given twice",
    );
    // manifests: not one, none with a version, a scan option
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1}").unwrap();
    refused(cmd(["history"]).arg(&bad), "error[manifest]");
    let m = dir.path().join("m.json");
    let text = cmd([trees[0].1.as_os_str(), "-q".as_ref()])
        .expect(0)
        .stdout();
    std::fs::write(
        &m,
        text.replace("\"kernel_version\": \"6.1\"", "\"kernel_version\": null"),
    )
    .unwrap();
    refused(cmd(["history"]).arg(&m), "error[no-version]");
    refused(cmd(["history", "--exclude", "x"]).arg(&m), "are for --git");
    // a history docs cannot trust
    let h = dir.path().join("h-bad.json");
    std::fs::write(&h, "{\"history_version\": 7}").unwrap();
    let err = cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&m)
        .arg("--history")
        .arg(&h)
        .arg("-o")
        .arg(dir.path().join("k.yaml"))
        .expect(2)
        .stderr();
    assert!(err.contains("error[history]: history_version 7"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_macro_list_edited_in_a_header_alone_gives_each_tag_its_own_entries() {
    // kernel/bpf/xm.c is the same blob in both tags; the list it expands,
    // in include/net/xm.h, names another kfunc in the second: what a scan
    // made of xm.c for the first tag must not serve the second.
    let dir = tempfile::tempdir().unwrap();
    let one = edited(&dir.path().join("one"), "linux-xmacro", &[]);
    let two = edited(
        &dir.path().join("two"),
        "linux-xmacro",
        &[("include/net/xm.h", "xm_list_one,", "xm_list_uno,")],
    );
    // the headers where `#include <net/xm.h>` finds them second, after the
    // include/net/xm.h that is not there
    for tree in [&one, &two] {
        std::fs::create_dir_all(tree.join("include/uapi")).unwrap();
        std::fs::rename(tree.join("include/net"), tree.join("include/uapi/net")).unwrap();
    }
    let (repo, _) = repo(dir.path(), &[("one", one.clone()), ("two", two.clone())]);
    pack(&repo);
    let cache = dir.path().join("cache");
    cmd(["history", "-q", "--cache-dir"])
        .arg(&cache)
        .arg("--git")
        .arg(&repo)
        .args(["one", "two", "-o"])
        .arg(dir.path().join("h.json"))
        .expect(0);
    for (tag, tree, uno) in [("one", &one, false), ("two", &two, true)] {
        let kept = kept_for(&cache, &repo, tag);
        let kept = std::fs::read_to_string(kept).unwrap();
        let plain = cmd([tree.as_os_str(), "-q".as_ref()]).expect(0).stdout();
        assert_eq!(kept, plain, "{tag}");
        assert_eq!(kept.contains("\"name\": \"xm_list_uno\""), uno, "{tag}");
    }
}

#[test]
fn a_damaged_blob_in_a_pack_is_a_read_error_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_dir(&mini(), &tree);
    let (repo, _) = repo(dir.path(), &[("t", tree.clone())]);
    pack(&repo);
    let helpers = git(&repo, &["rev-parse", "t:kernel/bpf/helpers.c"]);
    let (pack_path, objects) = packed_objects(&repo).remove(0);
    let entry = objects.iter().find(|o| o.id == helpers).unwrap();
    let mut bytes = std::fs::read(&pack_path).unwrap();
    bytes[(entry.offset + entry.size_in_pack / 2) as usize] ^= 0x55;
    let mut perms = std::fs::metadata(&pack_path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack_path, perms).unwrap();
    std::fs::write(&pack_path, bytes).unwrap();

    let run = cmd(["history", "--no-cache", "--git"])
        .arg(&repo)
        .args(["t", "-o"])
        .arg(dir.path().join("h.json"))
        .expect(1);
    let err = run.stderr();
    let line = err
        .lines()
        .find(|l| l.starts_with("t:kernel/bpf/helpers.c:"))
        .unwrap_or_else(|| panic!("no error for helpers.c:\n{err}"));
    assert!(line.contains("error[read-error]: cannot read"), "{line}");
    assert!(!err.contains("panicked"), "{err}");
    // helpers.c, unread ahead, read (and failed) by the walk: still read
    assert_eq!(
        read_lines(&err),
        [format!(
            "t (commit {}, tree {}): scanned, 9 files read from the object database, 0 as this run had already read them",
            &git(&repo, &["rev-parse", "t^{commit}"])[..12],
            &git(&repo, &["rev-parse", "t^{tree}"])[..12],
        )]
    );
}

/// The lines saying what was read for each tag (stderr of a run without
/// `-q`), from the tag on.
fn read_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| l.starts_with("kfunc-scan history: ") && l.contains(" (commit "))
        .map(|l| l.trim_start_matches("kfunc-scan history: "))
        .collect()
}

#[test]
fn loose_and_packed_objects_any_threads_give_the_same_history_and_counts() {
    // a: linux-mini; b: helpers.c moved (a blob of a at another path);
    // c: a's tree under another name; d: helpers.c edited. a and b in one
    // pack, d in a second, e (sock.c edited) loose.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    copy_dir(&mini(), &a);
    let b = dir.path().join("b");
    copy_dir(&mini(), &b);
    std::fs::rename(b.join("kernel/bpf/helpers.c"), b.join("kernel/bpf/moved.c")).unwrap();
    let d = edited(
        &dir.path().join("d"),
        "linux-mini",
        &[(
            "kernel/bpf/helpers.c",
            "BTF_KFUNCS_START",
            "/* d */\nBTF_KFUNCS_START",
        )],
    );
    let e = edited(
        &dir.path().join("e"),
        "linux-mini",
        &[(
            "net/core/sock.c",
            "__weak noinline",
            "/* e */\n__weak noinline",
        )],
    );
    let (repo, _) = repo(dir.path(), &[("a", a.clone()), ("b", b.clone())]);
    pack(&repo);
    commit_tree(&repo, &d, "d");
    // the loose objects into a second pack
    git(&repo, &["repack", "-d", "-q"]);
    commit_tree(&repo, &e, "e");
    git(&repo, &["tag", "c", "a"]);
    assert_eq!(packed_objects(&repo).len(), 2);

    let tags = ["a", "b", "c", "d", "e"];
    let run = |jobs: &str, out: &Path| {
        cmd(["history", "--no-cache", "--jobs", jobs, "--git"])
            .arg(&repo)
            .args(tags)
            .arg("-o")
            .arg(out)
            .expect(1)
            .stderr()
    };
    let (one, three) = (dir.path().join("1.json"), dir.path().join("3.json"));
    let (err_one, err_three) = (run("1", &one), run("3", &three));
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&three).unwrap());
    assert_eq!(read_lines(&err_one), read_lines(&err_three), "{err_three}");
    let lines = read_lines(&err_one);
    assert_eq!(lines.len(), 5, "{err_one}");
    assert!(lines[2].starts_with("c (commit "), "{}", lines[2]);
    assert!(lines[2].ends_with("): the same tree as a"), "{lines:#?}");
    // a reads all its files; b's moved helpers.c is a's blob, parsed again
    // at its path but not read again; d and e read the one file they change
    let files = |l: &str| -> (usize, usize) {
        let words: Vec<&str> = l
            .rsplit("): scanned, ")
            .next()
            .unwrap()
            .split(' ')
            .collect();
        (words[0].parse().unwrap(), words[7].parse().unwrap())
    };
    let (a_read, a_reused) = files(lines[0]);
    assert_eq!(a_reused, 0, "{}", lines[0]);
    assert_eq!(files(lines[1]), (0, a_read), "{}", lines[1]);
    assert_eq!(files(lines[3]), (1, a_read - 1), "{}", lines[3]);
    assert_eq!(files(lines[4]), (1, a_read - 1), "{}", lines[4]);

    // each tag's manifest is its tree's plain scan
    let cache = dir.path().join("cache");
    cmd(["history", "-q", "--cache-dir"])
        .arg(&cache)
        .arg("--git")
        .arg(&repo)
        .args(tags)
        .arg("-o")
        .arg(dir.path().join("h.json"))
        .expect(1);
    for (tag, tree) in [("a", &a), ("b", &b), ("d", &d), ("e", &e)] {
        let kept = kept_for(&cache, &repo, tag);
        let plain = cmd([tree.as_os_str(), "-q".as_ref()]).expect(1).stdout();
        assert_eq!(std::fs::read_to_string(kept).unwrap(), plain, "{tag}");
    }
}

#[test]
fn a_blob_over_the_size_limit_is_the_error_the_plain_scan_gives() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_dir(&mini(), &tree);
    // one byte over the limit (64 MiB), of lines that pack small
    let line = "/* a generated table, of no kfunc */\n";
    let mut big = line.repeat((64 << 20) / line.len() + 1);
    big.truncate((64 << 20) + 1);
    std::fs::write(tree.join("kernel/big.h"), big).unwrap();
    let (repo, _) = repo(dir.path(), &[("t", tree.clone())]);
    pack(&repo);
    let kept = kept_manifest(&repo, "t", &dir.path().join("cache"), 1);
    let plain = cmd([tree.as_os_str(), "-q".as_ref()]).expect(1).stdout();
    assert!(
        plain.contains("\"code\": \"file-too-large\",\n      \"file\": \"kernel/big.h\""),
        "the plain scan says the file is too large"
    );
    assert_eq!(std::fs::read_to_string(kept).unwrap(), plain);
}

/// The 6.12 tree (`KFUNC_SCAN_LINUX`) committed to a repository: the
/// manifest `history --git` keeps for its tree is the plain scan's, byte
/// for byte (the tree's links to files and directories included). About a
/// minute, most of it `git add`; `scripts/bench-history.sh` checks the 6.1
/// tree too, from a packed repository.
#[test]
fn a_real_trees_manifest_read_from_git_is_its_plain_scan() {
    let Some(plain) = manifest_612() else { return };
    let Some(tree) = std::env::var_os("KFUNC_SCAN_LINUX").map(PathBuf::from) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("linux.git");
    let repo_arg = repo.to_str().unwrap();
    let tree_arg = tree.to_str().unwrap();
    git(dir.path(), &["init", "-q", "--bare", repo_arg]);
    let with = ["--git-dir", repo_arg, "--work-tree", tree_arg];
    // every file, ignored or not; fast compression: the objects are read once
    git(
        &tree,
        &[
            &with[..],
            &["-c", "core.looseCompression=1", "add", "-A", "-f", "."],
        ]
        .concat(),
    );
    git(
        &tree,
        &[&with[..], &["commit", "-q", "-m", "6.12"]].concat(),
    );
    git(dir.path(), &["--git-dir", repo_arg, "tag", "v6.12"]);
    let kept = kept_manifest(&repo, "v6.12", &dir.path().join("cache"), 0);
    assert!(
        std::fs::read(&kept).unwrap() == std::fs::read(&plain).unwrap(),
        "{} differs from {}",
        kept.display(),
        plain.display()
    );
}
