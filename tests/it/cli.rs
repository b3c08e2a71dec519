//! The command line's contract: exit status, stdout/-o, atomic writes,
//! determinism across thread counts, `scan` as an alias.

use crate::common;
use common::*;
use std::fs;

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let one = cmd([mini()]).arg("--jobs").arg("1").expect(1).0.stdout;
    let many = cmd([mini()]).arg("--jobs").arg("8").expect(1).0.stdout;
    assert!(!one.is_empty());
    assert_eq!(one, many);
    let again = cmd(["scan"]).arg(mini()).arg("-j").arg("3").expect(1);
    assert_eq!(one, again.0.stdout);
}

#[test]
fn exit_status_zero_one_two() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Makefile"), "VERSION = 6\nPATCHLEVEL = 1\n").unwrap();
    fs::write(
        dir.path().join("a.c"),
        "__bpf_kfunc int a(void) { return 0; }\n",
    )
    .unwrap();
    cmd([dir.path()]).arg("-q").expect(0);
    cmd([mini()]).arg("-q").expect(1);
    let missing = cmd(["/no/such/tree"]).expect(2).stderr();
    assert!(
        missing.contains("/no/such/tree: error[no-tree]"),
        "{missing}"
    );
}

#[test]
fn writes_atomically_and_refuses_an_unwritable_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    fs::write(&out, "previous").unwrap();
    // the broken set, written in full anyway
    cmd([mini()]).arg("-q").arg("-o").arg(&out).expect(1);
    assert!(!read_manifest(&out).diagnostics.is_empty());
    // no temporary file left behind
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let bad = dir.path().join("no/such/dir/m.json");
    let r = cmd([mini()]).arg("-q").arg("-o").arg(&bad).expect(2);
    assert!(r.stderr().contains("error[output]"), "{}", r.stderr());
}

#[test]
fn exclude_and_queries_override() {
    // magic.c's deliberate table error remains: exit 1
    let v = cmd([mini()])
        .arg("--exclude")
        .arg("drivers/broken/**")
        .arg("-q")
        .expect(1)
        .manifest();
    let in_drivers = |f: &String| f.starts_with("drivers/");
    assert!(!v.kfuncs.iter().any(|k| in_drivers(&k.file)));
    assert!(!v.diagnostics.iter().any(|d| in_drivers(&d.file)));
    assert!(!v.sets.iter().any(|s| in_drivers(&s.file)));

    // a query override with a syntax error is reported with its place
    let q = tempfile::tempdir().unwrap();
    fs::write(
        q.path().join("sets.scm"),
        "(declaration\n  type: (type_identifier) @delimiter\n  (((\n",
    )
    .unwrap();
    let err = cmd([mini()])
        .arg("--queries")
        .arg(q.path())
        .expect(2)
        .stderr();
    assert!(
        err.contains("sets.scm:") && err.contains("error[query-syntax]"),
        "{err}"
    );
}

#[test]
fn a_query_override_missing_a_capture_names_the_file_and_the_capture() {
    let q = tempfile::tempdir().unwrap();
    // a valid query that no longer captures @set_name
    fs::write(
        q.path().join("sets.scm"),
        "(declaration type: (type_identifier) @delimiter declarator: (identifier) @name)\n(call_expression arguments: (argument_list) @entry_args)\n",
    )
    .unwrap();
    let err = cmd([mini()])
        .arg("--queries")
        .arg(q.path())
        .expect(2)
        .stderr();
    let file = q.path().join("sets.scm");
    assert_eq!(
        err.trim_end(),
        format!(
            "{}: error[query-capture]: the query must capture @set_name",
            file.display()
        )
    );
}

#[test]
fn implicit_type_option_adds_a_type() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Makefile"), "VERSION = 6\nPATCHLEVEL = 1\n").unwrap();
    fs::create_dir_all(dir.path().join("include/linux")).unwrap();
    fs::write(
        dir.path().join("include/linux/btf.h"),
        "#define KF_IMPLICIT_ARGS (1 << 16)\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("k.c"),
        "__bpf_kfunc int k(int a, struct my_ctx *c) { return a; }\nBTF_KFUNCS_START(ids)\nBTF_ID_FLAGS(func, k, KF_IMPLICIT_ARGS)\nBTF_KFUNCS_END(ids)\n",
    )
    .unwrap();
    // no implicit argument of a known type
    cmd([dir.path()]).arg("-q").expect(1);
    let with = cmd([dir.path()])
        .arg("-q")
        .arg("--implicit-type")
        .arg("my_ctx")
        .expect(0)
        .manifest();
    let k = with.kfunc_named("k").verifier_args.as_ref().unwrap();
    assert_eq!(k.omitted_params, [1]);
}

#[test]
fn a_manifest_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd([mini()]).arg("-q").expect(1).0;
    let text = String::from_utf8(out.stdout).unwrap().replacen(
        "\"schema_version\": 1",
        "\"schema_version\": 2",
        1,
    );
    let m = dir.path().join("m.json");
    fs::write(&m, text).unwrap();
    let err = cmd(["header", "--manifest"]).arg(&m).expect(2).stderr();
    assert!(
        err.contains("error[manifest]: schema_version 2 is not one this kfunc-scan reads (1)"),
        "{err}"
    );
    // and a broken one names its place
    fs::write(&m, "{\"schema_version\": 1,\n  \"sets\": [}").unwrap();
    let err = cmd(["diff"]).arg(&m).arg(&m).expect(2).stderr();
    assert!(err.contains("m.json:2:"), "{err}");
}

#[test]
fn a_directory_without_a_kernel_makefile_is_refused_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.c"),
        "__bpf_kfunc int a(void) { return 0; }\n",
    )
    .unwrap();
    let r = cmd([dir.path()]).expect(2);
    assert!(r.0.stdout.is_empty());
    let err = r.stderr();
    assert!(
        err.contains("error[no-kernel-tree]") && err.contains("--any-directory"),
        "{err}"
    );
    // a Makefile that is not the kernel's
    fs::write(dir.path().join("Makefile"), "all:\n\ttrue\n").unwrap();
    cmd([dir.path()]).expect(2);
    let m = cmd([dir.path()])
        .arg("--any-directory")
        .expect(0)
        .manifest();
    assert!(m.has_kfunc("a"));
}

/// Runs `c` and waits at most `secs` seconds for it.
fn status_within(mut c: std::process::Command, secs: u64) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = c
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st.code(), err);
        }
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn absurd_thread_counts_are_refused_at_once() {
    for jobs in ["100000", "1000"] {
        let mut c = std::process::Command::new(bin());
        c.arg(mini()).arg("--jobs").arg(jobs);
        let (code, err) = status_within(c, 10);
        assert_eq!(code, Some(2), "--jobs {jobs}: {err}");
        assert!(
            err.contains("--jobs") && err.contains("at most 64"),
            "{err}"
        );
    }
    // the largest allowed count runs
    cmd([mini()]).arg("-q").arg("--jobs").arg("64").expect(1);
    cmd([mini()]).arg("-q").arg("--jobs").arg("65").expect(2);
}

#[test]
fn help_says_what_jobs_0_means() {
    let help = cmd(["scan", "--help"]).expect(0).stdout();
    let jobs = help
        .split("--jobs")
        .nth(1)
        .and_then(|t| t.split("\n  -").next())
        .unwrap_or("");
    assert!(
        jobs.contains("0") && jobs.contains("one per core"),
        "{help}"
    );
    assert!(jobs.contains("at most 64"), "{help}");
}

#[test]
fn quiet_keeps_warnings_and_errors_and_drops_notes_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Makefile"), "VERSION = 6\nPATCHLEVEL = 1\n").unwrap();
    fs::create_dir_all(dir.path().join("include/linux")).unwrap();
    fs::write(
        dir.path().join("include/linux/btf.h"),
        "#define KF_A (1 << 0)\n",
    )
    .unwrap();
    // a warning (an entry outside any set) and a note (not UTF-8)
    fs::write(
        dir.path().join("w.c"),
        b"/* caf\xe9 */\n__bpf_kfunc int w(void) { return 0; }\nBTF_ID_FLAGS(func, w)\n".as_slice(),
    )
    .unwrap();
    let loud = cmd([dir.path()]).expect(0).stderr();
    assert!(loud.contains("warning[entry-outside-set]"), "{loud}");
    assert!(loud.contains("note[not-utf8]"), "{loud}");
    assert!(loud.contains("kfunc-scan: "), "{loud}");
    let quiet = cmd([dir.path()]).arg("-q").expect(0).stderr();
    assert!(quiet.contains("warning[entry-outside-set]"), "{quiet}");
    assert!(!quiet.contains("note["), "{quiet}");
    assert!(!quiet.contains("kfunc-scan: "), "{quiet}");
}

/// Only a closed pipe is quiet: standard output that fails otherwise (a
/// file past the process's file-size limit: EFBIG) is a write error, exit 2.
#[test]
fn a_stdout_that_cannot_be_written_is_an_error() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.json");
    let mut c = std::process::Command::new(bin());
    c.arg(mini())
        .arg("-q")
        .stdout(fs::File::create(&f).unwrap());
    // SAFETY: only async-signal-safe calls between fork and exec.
    #[allow(unsafe_code, reason = "pre_exec is unsafe in std's API")]
    unsafe {
        c.pre_exec(|| {
            // EFBIG instead of the signal that would end the process
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 1000,
                rlim_max: 1000,
            };
            match libc::setrlimit(libc::RLIMIT_FSIZE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-: error[write]: File too large"), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(fs::metadata(&f).unwrap().len(), 1000);
}

#[test]
fn a_closed_stdout_ends_the_scan_quietly() {
    // the reader of the pipe goes away before the manifest is written (as
    // `kfunc-scan linux/ | head -1` does once it has its line)
    let mut child = std::process::Command::new(bin())
        .arg(mini())
        .arg("-q")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("error[write]"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    // the status the scan would have had: linux-mini's deliberate errors
    assert_eq!(out.status.code(), Some(1), "{err}");

    // and through a shell pipe, with a reader that stops after one line
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' '{}' -q | head -c 1 >/dev/null",
            bin(),
            mini().display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&sh.stderr);
    assert!(!err.contains("error[write]"), "{err}");
}

/// The mini tree's clean manifest, written with `kernel_version` set to
/// `version` (the tree's own is 7.0.3-mini).
fn mini_manifest_of_version(dir: &std::path::Path, version: &str) -> std::path::PathBuf {
    let out = cmd([mini()])
        .args([
            "-q",
            "--exclude",
            "drivers/**",
            "--exclude",
            "net/mini/magic.c",
        ])
        .expect(0);
    let mut m = out.manifest();
    assert_eq!(m.kernel_version.as_deref(), Some("7.0.3-mini"));
    m.kernel_version = Some(version.to_string());
    let path = dir.join(format!("m-{version}.json"));
    fs::write(&path, m.to_json()).unwrap();
    path
}

#[test]
fn diff_warns_when_old_is_the_newer_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let old = mini_manifest_of_version(dir.path(), "6.1.0");
    let new = mini_manifest_of_version(dir.path(), "6.12.117");
    let rc = mini_manifest_of_version(dir.path(), "6.12.0-rc3");
    // in order: no word
    let fine = cmd(["diff"]).arg(&old).arg(&new).expect(0);
    assert!(
        !fine.stderr().contains("version-order"),
        "{}",
        fine.stderr()
    );
    let fine = cmd(["diff"]).arg(&rc).arg(&new).expect(0);
    assert!(
        !fine.stderr().contains("version-order"),
        "{}",
        fine.stderr()
    );
    // backwards: said, naming both files and versions; the diff still runs
    let back = cmd(["diff"]).arg(&new).arg(&old).expect(0);
    let e = back.stderr();
    assert!(
        e.contains(&format!(
            "{}: warning[version-order]: OLD is kernel 6.12.117, newer than NEW ({}: kernel 6.1.0)",
            new.display(),
            old.display()
        )),
        "{e}"
    );
    let back = cmd(["diff"]).arg(&new).arg(&rc).expect(0);
    assert!(back.stderr().contains("warning[version-order]"));
}

#[test]
fn docs_refuses_a_history_without_the_manifests_version() {
    let dir = tempfile::tempdir().unwrap();
    let v61 = mini_manifest_of_version(dir.path(), "6.1.0");
    let v612 = mini_manifest_of_version(dir.path(), "6.12.0");
    let debian = mini_manifest_of_version(dir.path(), "6.12.117");
    let other = mini_manifest_of_version(dir.path(), "6.6.0");
    let h = dir.path().join("h.json");
    cmd(["history"])
        .arg(&v61)
        .arg(&v612)
        .arg("-q")
        .arg("-o")
        .arg(&h)
        .expect(0);
    let site = dir.path().join("site");
    fs::create_dir(&site).unwrap();
    // a version of the history, or of its series (a distribution's stable
    // release against a history over tags)
    for m in [&v612, &debian, &v61] {
        cmd(["docs", "--manifest"])
            .arg(m)
            .arg("--history")
            .arg(&h)
            .arg("-o")
            .arg(&site)
            .expect(0);
    }
    // another version: refused before anything is written
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let r = cmd(["docs", "--manifest"])
        .arg(&other)
        .arg("--history")
        .arg(&h)
        .arg("-o")
        .arg(&empty)
        .expect(2);
    assert!(
        r.stderr().contains(&format!(
            "{}: error[history-version]: this history does not hold kernel 6.6.0",
            h.display()
        )) && r.stderr().contains("(it holds 6.1.0, 6.12.0)"),
        "{}",
        r.stderr()
    );
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);
    // the ebpf-docs YAML too
    let r = cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&other)
        .arg("--history")
        .arg(&h)
        .arg("-o")
        .arg(dir.path().join("k.yaml"))
        .expect(2);
    assert!(r.stderr().contains("error[history-version]"));
    assert!(!dir.path().join("k.yaml").exists());
}

#[test]
fn a_mistyped_command_is_not_scanned_as_a_tree() {
    for (words, typo, meant) in [
        (&["pach-btf"][..], "pach-btf", "patch-btf"),
        (&["avial"], "avial", "avail"),
        (&["hedaer"], "hedaer", "header"),
        // followed by options or words: clap's "unexpected argument" before
        (&["avial", "--prog-type", "xdp"], "avial", "avail"),
        (&["heder", "--manifest", "m.json"], "heder", "header"),
        (&["scna", "testdata"], "scna", "scan"),
    ] {
        let r = cmd(words).expect(2);
        assert!(
            r.stderr().contains(&format!(
                "error[usage]: `{typo}` is neither a command nor a directory; did you mean `kfunc-scan {meant}`?"
            )),
            "{}",
            r.stderr()
        );
        assert!(r.stdout().is_empty());
    }
    // a directory of that name is a tree, as before
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("avial");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("Makefile"), "VERSION = 6\nPATCHLEVEL = 1\n").unwrap();
    cmd(["avial", "-q"]).current_dir(dir.path()).expect(0);
}

/// The visible commands, as `--help` lists them.
fn commands_in_help() -> Vec<String> {
    let help = cmd(["--help"]).expect(0).stdout();
    let mut names = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line.starts_with("Commands:") {
            inside = true;
            continue;
        }
        if inside {
            match line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
            {
                Some(n) if n != "help" => names.push(n.to_string()),
                Some(_) => {}
                None => break,
            }
        }
    }
    names
}

#[test]
fn man_pages_cover_every_command_and_completions_load() {
    let names = commands_in_help();
    assert!(
        names.len() >= 12 && names.contains(&"patch-btf".to_string()),
        "{names:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let r = cmd(["manpages"]).arg(dir.path()).expect(0);
    assert!(
        r.stderr()
            .contains(&format!("{} pages written", names.len() + 1)),
        "{}",
        r.stderr()
    );
    let mut want: Vec<String> = names.iter().map(|n| format!("kfunc-scan-{n}.1")).collect();
    want.push("kfunc-scan.1".into());
    want.sort();
    let mut got: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, want);
    let page = fs::read_to_string(dir.path().join("kfunc-scan-patch-btf.1")).unwrap();
    assert!(page.starts_with(".ie"), "{}", &page[..80.min(page.len())]);
    assert!(page.contains(".TH kfunc-scan-patch-btf 1"), "{page}");
    assert!(page.contains("\\-\\-manifest"), "{page}");
    // the synopsis as it is typed, without a -V no subcommand takes
    let synopsis = page.split(".SH DESCRIPTION").next().unwrap_or_default();
    assert!(
        synopsis.contains("\\fBkfunc\\-scan patch\\-btf\\fR"),
        "{synopsis}"
    );
    assert!(!synopsis.contains("\\fB\\-V\\fR"), "{synopsis}");
    // not a directory: refused
    let r = cmd(["manpages"]).arg(dir.path().join("none")).expect(2);
    assert!(r.stderr().contains("error[usage]"));

    // bash loads the completion script and completes subcommands from it,
    // and a subcommand's options after it
    let script = cmd(["completions", "bash"]).expect(0).stdout();
    let complete = |words: &str| {
        let n = words.split(' ').count() - 1;
        let check = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("source /dev/stdin; complete -p kfunc-scan; COMP_WORDS=({words}); COMP_CWORD={n}; COMP_LINE='{words}'; COMP_POINT={}; _kfunc__scan kfunc-scan \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"", words.len()))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8_lossy(&check.stdout).into_owned()
    };
    let out = complete("kfunc-scan pa");
    assert!(out.contains("complete -o bashdefault"), "{out}");
    assert!(out.lines().any(|l| l == "patch-btf"), "{out}");
    let out = complete("kfunc-scan avail --pr");
    assert!(out.lines().any(|l| l == "--prog-type"), "{out}");
    // hidden commands are not offered
    let out = complete("kfunc-scan sy");
    assert!(!out.contains("synth-manifest"), "{out}");
    let out = complete("kfunc-scan btf-check --");
    assert!(out.lines().any(|l| l == "--help"), "{out}");
}

#[test]
fn docs_says_what_it_wrote_unless_quiet_and_diff_writes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let m = mini_manifest_of_version(dir.path(), "7.0.3-mini");
    let yaml = dir.path().join("k.yaml");
    let r = cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&yaml)
        .expect(0);
    // the counts, from the YAML read back by a YAML parser
    let docs = yaml_rust2::YamlLoader::load_from_str(&fs::read_to_string(&yaml).unwrap()).unwrap();
    let sets = docs[0]["sets"].as_hash().unwrap();
    let funcs: usize = sets
        .values()
        .map(|s| s["funcs"].as_vec().map_or(0, Vec::len))
        .sum();
    assert!(
        sets.len() > 1 && funcs > sets.len(),
        "{} {funcs}",
        sets.len()
    );
    assert_eq!(
        r.stderr().trim_end(),
        format!(
            "kfunc-scan docs: {} sets with {funcs} kfunc entries written to {}",
            sets.len(),
            yaml.display()
        )
    );
    let site = dir.path().join("site");
    fs::create_dir(&site).unwrap();
    let r = cmd(["docs", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&site)
        .expect(0);
    let pages = walk_count(&site);
    let documented = walk_count(&site.join("kfuncs"));
    let total = read_manifest(&m).kfuncs.len();
    let e = r.stderr();
    assert!(
        e.starts_with(&format!(
            "kfunc-scan docs: {pages} pages written to {}, 0 stale pages removed; {documented} kfuncs documented",
            site.display()
        )),
        "{e}"
    );
    // what the count leaves out is said, and adds up to the manifest's
    if documented < total {
        assert!(e.contains(&format!("(of the manifest's {total}: ")), "{e}");
    }
    for q in ["-q", "--quiet"] {
        let r = cmd(["docs", q, "--manifest"])
            .arg(&m)
            .arg("-o")
            .arg(&site)
            .expect(0);
        assert_eq!(r.stderr(), "");
        let r = cmd(["docs", q, "--format", "ebpf-docs", "--manifest"])
            .arg(&m)
            .arg("-o")
            .arg(&yaml)
            .expect(0);
        assert_eq!(r.stderr(), "");
    }

    let old = mini_manifest_of_version(dir.path(), "6.1.0");
    let out = dir.path().join("d.txt");
    let shown = cmd(["diff"]).arg(&old).arg(&m).expect(0).stdout();
    let r = cmd(["diff"])
        .arg(&old)
        .arg(&m)
        .arg("-o")
        .arg(&out)
        .expect(0);
    assert_eq!(r.stdout(), "");
    assert_eq!(fs::read_to_string(&out).unwrap(), shown);
    // -o is checked before anything is read
    let r = cmd(["diff", "/no/such.json", "/no/such.json", "-o"])
        .arg(dir.path().join("no/dir/d.txt"))
        .expect(2);
    assert!(r.stderr().contains("error[output]"), "{}", r.stderr());
}

/// Files under `dir`, at any depth.
fn walk_count(dir: &std::path::Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk_count(&p)
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn source_url_is_a_template_or_a_prefix_and_is_checked_first() {
    let dir = tempfile::tempdir().unwrap();
    let m = mini_manifest_of_version(dir.path(), "7.0.3-mini");
    let site = dir.path().join("site");
    fs::create_dir(&site).unwrap();
    let page_links = |url: &str| {
        cmd(["docs", "-q", "--source-url", url, "--manifest"])
            .arg(&m)
            .arg("-o")
            .arg(&site)
            .expect(0);
        let k = read_manifest(&m).kfuncs[0].clone();
        let page = fs::read_to_string(site.join(format!("kfuncs/{}.md", k.name))).unwrap();
        (page, k.file, k.line)
    };
    let (page, file, line) = page_links("https://example.org/src");
    assert!(
        page.contains(&format!("(https://example.org/src/{file}#L{line})")),
        "{page}"
    );
    let (page, file, line) = page_links("https://example.org/tree/{path}?h=v7#n{line}");
    assert!(
        page.contains(&format!("(https://example.org/tree/{file}?h=v7#n{line})")),
        "{page}"
    );
    for bad in [
        "example.org/src",
        "https://e.org/{file}",
        "https://e.org/\"x",
    ] {
        let r = cmd(["docs", "--source-url", bad, "--manifest"])
            .arg(&m)
            .arg("-o")
            .arg(dir.path().join("none"))
            .expect(2);
        assert!(
            r.stderr().contains("error[usage]: --source-url"),
            "{}",
            r.stderr()
        );
    }
}

#[test]
fn history_takes_its_versions_oldest_first_whatever_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let old = mini_manifest_of_version(dir.path(), "6.1.0");
    let new = mini_manifest_of_version(dir.path(), "6.12.0");
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    cmd(["history"])
        .arg(&old)
        .arg(&new)
        .arg("-o")
        .arg(&a)
        .expect(0);
    let r = cmd(["history"])
        .arg(&new)
        .arg(&old)
        .arg("-o")
        .arg(&b)
        .expect(0);
    assert!(
        r.stderr().contains("note[version-order]: the versions were not given oldest first; taken in the order of their kernel releases: 6.1.0, 6.12.0"),
        "{}",
        r.stderr()
    );
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    // quiet: no note, the same history
    let r = cmd(["history", "-q"])
        .arg(&new)
        .arg(&old)
        .arg("-o")
        .arg(&b)
        .expect(0);
    assert_eq!(r.stderr(), "");
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    // a version that is no kernel release cannot be placed: refused
    let odd = mini_manifest_of_version(dir.path(), "next-20260101");
    let r = cmd(["history"]).arg(&old).arg(&odd).expect(2);
    assert!(
        r.stderr().contains(
            "error[version-order]: `next-20260101` cannot be put in order among the others"
        ),
        "{}",
        r.stderr()
    );
}

#[test]
fn btf_check_tells_not_btf_from_a_rejected_btf() {
    let dir = tempfile::tempdir().unwrap();
    // a JSON file: not BTF, nothing to check: exit 2, as patch-btf says
    let json = dir.path().join("m.json");
    fs::write(&json, "{\"schema_version\": 1, \"kfuncs\": []}\n").unwrap();
    let r = cmd(["btf-check"]).arg(&json).expect(2);
    assert!(
        r.stderr().contains("error[btf]: not BTF: bad magic"),
        "{}",
        r.stderr()
    );
    let r = cmd(["patch-btf", "--manifest"])
        .arg(&json)
        .arg("--btf")
        .arg(&json)
        .arg("-o")
        .arg(dir.path().join("o.btf"))
        .output();
    assert_eq!(r.status.code(), Some(2));
    // a BTF header whose sections lie: a BTF with faults, rejected: exit 1
    let mut bad = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
    bad.extend([0u8; 4]); // type_off
    bad.extend(1000u32.to_le_bytes()); // type_len past the end
    bad.extend([0u8; 8]);
    let f = dir.path().join("bad.btf");
    fs::write(&f, &bad).unwrap();
    let r = cmd(["btf-check"]).arg(&f).expect(1);
    assert!(r.stderr().contains("error[btf]"), "{}", r.stderr());
}

/// A tree given to another command is scanned as `scan` scans it: links
/// not followed on one line naming the tree, one summary per tree naming
/// it; `-q` keeps only warnings and errors.
#[test]
fn commands_taking_a_tree_report_its_scan_as_scan_does() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("t");
    fs::create_dir_all(tree.join("d")).unwrap();
    fs::write(tree.join("Makefile"), "VERSION = 6\nPATCHLEVEL = 1\n").unwrap();
    fs::write(tree.join("a.c"), "__bpf_kfunc int a(void) { return 0; }\n").unwrap();
    fs::create_dir_all(tree.join("include/linux")).unwrap();
    fs::write(
        tree.join("include/linux/btf.h"),
        "#define KF_ACQUIRE (1 << 0)\n",
    )
    .unwrap();
    for l in ["l1", "l2", "l3"] {
        std::os::unix::fs::symlink("d", tree.join(l)).unwrap();
    }
    let r = cmd(["diff"]).arg(&tree).arg(&tree).expect(0);
    let e = r.stderr();
    let links = format!(
        "{}: note[symlink-not-followed]: 3 links to directories not followed",
        tree.display()
    );
    assert_eq!(e.matches(&links).count(), 2, "{e}");
    assert_eq!(e.matches("symlink-not-followed").count(), 2, "{e}");
    let summary = format!("kfunc-scan: {}: ", tree.display());
    assert_eq!(e.matches(&summary).count(), 2, "{e}");
    let r = cmd(["diff", "-q"]).arg(&tree).arg(&tree).expect(0);
    assert_eq!(r.stderr(), "");
    let site = dir.path().join("site");
    fs::create_dir(&site).unwrap();
    let r = cmd(["docs", "--tree"])
        .arg(&tree)
        .arg("-o")
        .arg(&site)
        .expect(0);
    assert_eq!(r.stderr().matches(&links).count(), 1, "{}", r.stderr());
    let r = cmd(["header", "-q", "--tree"]).arg(&tree).expect(0);
    assert_eq!(r.stderr(), "");
}
