//! One answer per program type, whichever command asks: for every member
//! of the tree's `enum bpf_prog_type`, `avail --prog-type`, `header --btf
//! --prog-type` and the docs' program-type page list the same kfuncs
//! (issue 19). And a manifest is never used with another series' BTF
//! without saying so.
//!
//! How the three are reconciled: the docs list every kfunc a kfunc set of
//! the tree lists (with `--with-selftests`, the selftests' too, which
//! vmlinux carries: net/bpf/test_run.c); avail lists, of those, the ones
//! the BTF has as FUNCs (6.12's BTF has no decl tags, so avail takes the
//! manifest's kfuncs that are FUNCs of vmlinux or a module); `header
//! --btf vmlinux` the ones vmlinux has. So for each type T:
//! avail(T) = docs(T) ∩ avail's whole list, header(T) = docs(T) ∩ avail's
//! vmlinux kfuncs.

use crate::common;

use common::{cmd, manifest_61, manifest_612, shared_file};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The 6.12 BTF directory (vmlinux, three modules, a config naming
/// 6.12.117), or `None` after reporting it missing.
fn btf_dir_612() -> Option<PathBuf> {
    Some(
        shared_file("linux-6.12.117/vmlinux.btf")?
            .parent()?
            .to_path_buf(),
    )
}

fn avail_json(dir: &Path, m: &Path, extra: &[&str]) -> serde_json::Value {
    let out = cmd(["avail", "--format", "json", "-q", "--btf-dir"])
        .arg(dir)
        .arg("--manifest")
        .arg(m)
        .args(extra)
        .expect(0)
        .stdout();
    serde_json::from_str(&out).expect("avail's JSON")
}

fn names(v: &serde_json::Value, object: Option<&str>) -> BTreeSet<String> {
    v["kfuncs"]
        .as_array()
        .expect("kfuncs")
        .iter()
        .filter(|k| object.is_none_or(|o| k["object"] == o))
        .filter_map(|k| k["name"].as_str().map(str::to_string))
        .collect()
}

/// The functions a header declares: `extern … NAME(…) __weak __ksym;`.
fn externs(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|l| l.starts_with("extern ") && l.ends_with("__ksym;"))
        .filter_map(|l| {
            let head = &l[..l.find('(')?];
            let name = head.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'));
            name.into_iter().next().map(str::to_string)
        })
        .collect()
}

/// The kfuncs a docs program-type page lists (none when there is no page:
/// docs writes one per type with kfuncs).
fn docs_page(dir: &Path, t: &str) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(dir.join(format!("program-types/{t}.md"))) else {
        return BTreeSet::new();
    };
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("| [")?;
            let (name, tail) = rest.split_once(']')?;
            tail.starts_with("(../kfuncs/").then(|| name.to_string())
        })
        .collect()
}

fn prog_type_enum(m: &Path) -> Vec<String> {
    common::read_manifest(m).prog_type_enum
}

/// Asks every command about every program type of `m` against the 6.12
/// BTF; `extra` is what avail and header need beyond that.
fn one_answer_per_type(m: &Path, extra: &[&str]) -> usize {
    let Some(dir) = btf_dir_612() else {
        return 0;
    };
    let vmlinux = dir.join("vmlinux.btf");
    let docs = tempfile::tempdir().expect("tempdir");
    cmd(["docs", "--with-selftests", "-q", "--manifest"])
        .arg(m)
        .arg("-o")
        .arg(docs.path())
        .expect(0);
    let all = avail_json(&dir, m, extra);
    let everything = names(&all, None);
    let in_vmlinux = names(&all, Some("vmlinux"));
    let types = prog_type_enum(m);
    assert!(types.len() > 30, "{types:?}");
    assert!(!types.iter().any(|t| t == "BPF_PROG_TYPE_UNSPEC"));
    let mut with_kfuncs = 0;
    for t in &types {
        let short = t.trim_start_matches("BPF_PROG_TYPE_").to_ascii_lowercase();
        let v = avail_json(&dir, m, &[extra, &["--prog-type", &short]].concat());
        assert_eq!(v["prog_type"], t.as_str());
        let avail = names(&v, None);
        let header = cmd(["header", "--btf"])
            .arg(&vmlinux)
            .arg("--manifest")
            .arg(m)
            .args(["--prog-type", t])
            .args(extra)
            .expect(0)
            .stdout();
        let header = externs(&header);
        let page = docs_page(docs.path(), t);
        let want_avail: BTreeSet<String> = page.intersection(&everything).cloned().collect();
        let want_header: BTreeSet<String> = page.intersection(&in_vmlinux).cloned().collect();
        assert_eq!(
            avail, want_avail,
            "avail --prog-type {short} vs docs' page of {t}"
        );
        assert_eq!(
            header, want_header,
            "header --btf --prog-type {t} vs docs' page"
        );
        if !avail.is_empty() {
            with_kfuncs += 1;
        }
    }
    with_kfuncs
}

#[test]
fn every_command_gives_one_answer_per_program_type_of_6_12() {
    let Some(m) = manifest_612() else {
        return;
    };
    // every type may call the common hook's kfuncs (6.12 registers
    // generic_kfunc_set and others for UNSPEC)
    let types = one_answer_per_type(&m, &[]);
    if types > 0 {
        assert_eq!(types, prog_type_enum(&m).len());
    }
}

#[test]
fn every_command_gives_one_answer_per_program_type_of_6_1() {
    let Some(m) = manifest_61() else {
        return;
    };
    // no 6.1 BTF is at hand: the 6.12 one, told to go on
    one_answer_per_type(&m, &["--allow-version-mismatch"]);
}

#[test]
fn raw_tracepoint_and_types_without_a_hook_call_the_common_kfuncs() {
    let (Some(dir), Some(m)) = (btf_dir_612(), manifest_612()) else {
        return;
    };
    // the selftests' iters.c calls bpf_iter_num_* from SEC("raw_tp")
    for t in [
        "raw_tracepoint",
        "RAW_TRACEPOINT",
        "BPF_PROG_TYPE_RAW_TRACEPOINT",
        "sock_ops",
        "sk_msg",
        "flow_dissector",
        "ext",
    ] {
        let got = names(&avail_json(&dir, &m, &["--prog-type", t]), None);
        for k in [
            "bpf_iter_num_new",
            "bpf_iter_num_next",
            "bpf_iter_num_destroy",
            "bpf_cast_to_kern_ctx",
            "bpf_rcu_read_lock",
        ] {
            assert!(got.contains(k), "{t}: {k} missing from {got:?}");
        }
        // XDP's own kfuncs are not theirs
        assert!(!got.contains("bpf_dynptr_from_xdp"), "{t}");
    }
    let base = ["avail", "--btf-dir"];
    cmd(base)
        .arg(&dir)
        .arg("--manifest")
        .arg(&m)
        .args(["--has", "bpf_iter_num_new", "--prog-type", "raw_tracepoint"])
        .expect(0);
}

#[test]
fn a_misspelt_type_or_kfunc_gets_did_you_mean() {
    let (Some(dir), Some(m)) = (btf_dir_612(), manifest_612()) else {
        return;
    };
    let vmlinux = dir.join("vmlinux.btf");
    let r = cmd(["avail", "--btf-dir"])
        .arg(&dir)
        .arg("--manifest")
        .arg(&m)
        .args(["--prog-type", "sock_opts"])
        .expect(2);
    assert!(
        r.stderr()
            .contains("unknown program type sock_opts (BPF_PROG_TYPE_SOCK_OPTS)")
            && r.stderr().contains("did you mean BPF_PROG_TYPE_SOCK_OPS?"),
        "{}",
        r.stderr()
    );
    // UNSPEC is no program's type
    let r = cmd(["header", "--btf"])
        .arg(&vmlinux)
        .arg("--manifest")
        .arg(&m)
        .args(["--prog-type", "unspec"])
        .expect(2);
    assert!(r.stderr().contains("no program has it"), "{}", r.stderr());
    // --has: the answer on stdout, the hint on stderr, still 1
    let r = cmd(["avail", "--btf-dir"])
        .arg(&dir)
        .arg("--manifest")
        .arg(&m)
        .args(["--has", "bpf_task_from_pdi"])
        .expect(1);
    assert_eq!(r.stdout(), "bpf_task_from_pdi: not available\n");
    assert!(
        r.stderr().contains("did you mean bpf_task_from_pid?"),
        "{}",
        r.stderr()
    );
    // --kfuncs: each missing name with its nearest, with or without a manifest
    for with in [false, true] {
        let mut c = cmd(["header", "--btf"]).arg(&vmlinux);
        if with {
            c = c.arg("--manifest").arg(&m);
        }
        let r = c
            .args(["--kfuncs", "bpf_task_from_pdi,bpf_task_relaese"])
            .expect(2);
        assert!(
            r.stderr().contains(
                "bpf_task_from_pdi (did you mean bpf_task_from_pid?), bpf_task_relaese (did you mean bpf_task_release?)"
            ),
            "{}",
            r.stderr()
        );
    }
    // a blank after the comma is no part of the name
    let h = cmd(["header", "--btf"])
        .arg(&vmlinux)
        .args(["--kfuncs", "bpf_task_from_pid, bpf_task_release ,"])
        .expect(0)
        .stdout();
    assert_eq!(
        externs(&h),
        BTreeSet::from(["bpf_task_from_pid".into(), "bpf_task_release".into()])
    );
}

#[test]
fn a_manifest_of_another_series_is_refused_unless_allowed() {
    let (Some(dir), Some(m61), Some(m612)) = (btf_dir_612(), manifest_61(), manifest_612()) else {
        return;
    };
    let vmlinux = dir.join("vmlinux.btf");
    let v61 = common::read_manifest(&m61)
        .kernel_version
        .expect("6.1's version");
    assert!(v61.starts_with("6.1."), "{v61}");
    let said = |s: &str| {
        s.contains("error[version-mismatch]")
            && s.contains(&format!(
                "the manifest is of Linux {v61} but the BTF is of Linux 6.12.117"
            ))
    };
    // avail: refused, with --has too (2: cannot tell)
    for extra in [&[][..], &["--has", "bpf_task_from_pid"][..]] {
        let r = cmd(["avail", "--btf-dir"])
            .arg(&dir)
            .arg("--manifest")
            .arg(&m61)
            .args(extra)
            .expect(2);
        assert!(said(&r.stderr()), "{}", r.stderr());
        assert_eq!(r.stdout(), "");
    }
    // header --btf: the release from the config beside the BTF
    let r = cmd(["header", "--btf"])
        .arg(&vmlinux)
        .arg("--manifest")
        .arg(&m61)
        .expect(2);
    assert!(said(&r.stderr()), "{}", r.stderr());
    assert_eq!(r.stdout(), "");
    // allowed: written, with a warning naming both
    let r = cmd(["header", "--btf"])
        .arg(&vmlinux)
        .arg("--manifest")
        .arg(&m61)
        .arg("--allow-version-mismatch")
        .expect(0);
    assert!(r.stderr().contains("warning[version]"), "{}", r.stderr());
    assert!(
        r.stderr().contains(&format!("Linux {v61}")),
        "{}",
        r.stderr()
    );
    assert!(!externs(&r.stdout()).is_empty());
    let r = cmd(["avail", "--btf-dir"])
        .arg(&dir)
        .arg("--manifest")
        .arg(&m61)
        .arg("--allow-version-mismatch")
        .expect(0);
    assert!(r.stderr().contains("warning[version]"), "{}", r.stderr());
    // one series (6.12.118's manifest, 6.12.117's BTF): nothing said
    let r = cmd(["header", "--btf"])
        .arg(&vmlinux)
        .arg("--manifest")
        .arg(&m612)
        .args(["--kfuncs", "bpf_task_from_pid"])
        .expect(0);
    assert_eq!(r.stderr(), "");
    // a BTF with no release beside it: said to be unchecked, written
    let bare = tempfile::tempdir().expect("tempdir");
    let copy = bare.path().join("vmlinux.btf");
    std::fs::copy(&vmlinux, &copy).expect("copy");
    let r = cmd(["header", "--btf"])
        .arg(&copy)
        .arg("--manifest")
        .arg(&m61)
        .expect(0);
    assert!(
        r.stderr().contains("warning[version]")
            && r.stderr().contains("does not name its kernel's release"),
        "{}",
        r.stderr()
    );
}
