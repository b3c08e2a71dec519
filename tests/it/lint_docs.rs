//! `kfunc-scan lint-docs`: a curated kfuncs.yaml with planted mistakes
//! (testdata/ebpf-docs/planted.yaml) against a manifest built in code, each
//! mistake found at its line; exit statuses through the binary; and, with
//! real data, ebpf-docs' own file against the 6.12 tree.

use crate::common;
use crate::manifest_fixture;
use common::*;
use kfunc_scan::lint::{self, Finding, Kind, LintOptions, Report};
use kfunc_scan::manifest::{Diagnostic, Manifest, Severity};
use manifest_fixture::*;
use std::path::{Path, PathBuf};

const PLANTED: &str = "testdata/ebpf-docs/planted.yaml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The tree the planted file is checked against: Linux 6.12's shape in
/// small.
fn manifest() -> Manifest {
    let mut fx = Fx::new()
        .set(
            "generic_btf_ids",
            &[
                "BPF_PROG_TYPE_TRACING",
                "BPF_PROG_TYPE_CGROUP_SKB",
                "BPF_PROG_TYPE_SYSCALL",
            ],
            &[
                ("bpf_list_push_front_impl", &[]),
                ("bpf_task_acquire", &["KF_ACQUIRE", "KF_RCU", "KF_RET_NULL"]),
                ("bpf_task_release", &["KF_RELEASE"]),
            ],
        )
        .set(
            "key_sig_kfunc_set",
            &["BPF_PROG_TYPE_TRACING"],
            &[("bpf_key_put", &["KF_RELEASE"])],
        )
        .set(
            "bpf_fs_kfunc_set_ids",
            &["BPF_PROG_TYPE_LSM"],
            &[("bpf_get_file_xattr", &["KF_SLEEPABLE", "KF_TRUSTED_ARGS"])],
        )
        .filter(
            "bpf_fs_kfunc_set_ids",
            "bpf_fs_kfuncs_filter",
            Some(allows(Some(&["BPF_PROG_TYPE_LSM"]), None)),
        )
        .set(
            "fsverity_set_ids",
            &["BPF_PROG_TYPE_LSM"],
            &[("bpf_get_fsverity_digest", &[])],
        )
        .filter("fsverity_set_ids", "bpf_get_fsverity_digest_filter", None)
        .set(
            "bpf_sk_iter_kfunc_ids",
            &["BPF_PROG_TYPE_TRACING"],
            &[("bpf_sock_destroy", &[])],
        )
        .filter(
            "bpf_sk_iter_kfunc_ids",
            "tracing_iter_filter",
            Some(allows(None, Some(&["BPF_TRACE_ITER"]))),
        )
        .set(
            "kprobe_multi_kfunc_set_ids",
            &["BPF_PROG_TYPE_KPROBE"],
            &[("bpf_session_cookie", &[])],
        )
        .filter(
            "kprobe_multi_kfunc_set_ids",
            "bpf_kprobe_multi_filter",
            Some(allows(None, Some(&["BPF_TRACE_KPROBE_SESSION"]))),
        )
        .set(
            "xdp_metadata_kfunc_ids",
            &["BPF_PROG_TYPE_XDP"],
            &[("bpf_xdp_metadata_rx_hash", &["KF_TRUSTED_ARGS"])],
        )
        .set(
            "bpf_kfunc_check_set_sock_addr",
            &["BPF_PROG_TYPE_CGROUP_SOCK_ADDR"],
            &[("bpf_sock_addr_set_sun_path", &[])],
        )
        .set(
            "common_btf_ids",
            &["BPF_PROG_TYPE_UNSPEC"],
            &[("bpf_rcu_read_lock", &[])],
        );
    for n in [
        "bpf_list_push_front_impl",
        "bpf_task_acquire",
        "bpf_task_release",
        "bpf_key_put",
        "bpf_get_file_xattr",
        "bpf_xdp_metadata_rx_hash",
        "bpf_sock_addr_set_sun_path",
        "bpf_rcu_read_lock",
        "bpf_get_fsverity_digest",
        "bpf_sock_destroy",
        "bpf_session_cookie",
    ] {
        fx = fx.def(kfunc(n));
    }
    let mut m = fx.build();
    m.kernel_version = Some("6.12.117".into());
    for (t, h) in [
        ("BPF_PROG_TYPE_TRACEPOINT", "BTF_KFUNC_HOOK_TRACING"),
        ("BPF_PROG_TYPE_SYSCALL", "BTF_KFUNC_HOOK_SYSCALL"),
        ("BPF_PROG_TYPE_CGROUP_SKB", "BTF_KFUNC_HOOK_CGROUP"),
        ("BPF_PROG_TYPE_CGROUP_SOCK_ADDR", "BTF_KFUNC_HOOK_CGROUP"),
        ("BPF_PROG_TYPE_UNSPEC", "BTF_KFUNC_HOOK_COMMON"),
    ] {
        m.kfunc_hooks.insert(t.into(), h.into());
    }
    for (i, f) in [
        "KF_ACQUIRE",
        "KF_RELEASE",
        "KF_RET_NULL",
        "KF_TRUSTED_ARGS",
        "KF_SLEEPABLE",
        "KF_RCU",
    ]
    .into_iter()
    .enumerate()
    {
        m.flag_values.insert(f.into(), 1 << i);
    }
    m
}

fn planted() -> (String, Report) {
    let text = std::fs::read_to_string(root().join(PLANTED)).unwrap();
    let file = lint::read(&text).unwrap();
    let report = lint::lint(&file, &manifest(), LintOptions::default());
    (text, report)
}

fn at<'r>(r: &'r Report, code: &str, line: u32) -> Vec<&'r Finding> {
    r.findings
        .iter()
        .filter(|f| f.code == code && f.pos.line == line)
        .collect()
}

#[test]
fn every_planted_mistake_is_found_at_its_line() {
    let (text, r) = planted();
    let rendered: Vec<String> = r
        .findings
        .iter()
        .map(|f| f.diagnostic("planted.yaml").render())
        .collect();
    let all = rendered.join("\n");
    // each `# lint-CODE` comment names a finding on its line
    let mut planted = 0;
    for (i, l) in text.lines().enumerate() {
        let Some((_, c)) = l.split_once("# lint-") else {
            continue;
        };
        if l.trim_start().starts_with('#') {
            continue;
        }
        let code = format!("lint-{}", c.split([' ', ':']).next().unwrap());
        let line = i as u32 + 1;
        assert!(
            !at(&r, &code, line).is_empty(),
            "{code} at line {line}:\n{all}"
        );
        planted += 1;
    }
    assert_eq!(planted, 16);
    // what is missing is reported at the set's name (line 5)
    let missing: Vec<&str> = at(&r, "lint-missing-prog-type", 5)
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(missing.len(), 3, "{all}");
    for t in [
        "BPF_PROG_TYPE_SYSCALL",
        "BPF_PROG_TYPE_CGROUP_SKB",
        "BPF_PROG_TYPE_CGROUP_SOCK_ADDR",
    ] {
        assert!(missing.iter().any(|m| m.contains(t)), "{t}: {all}");
    }
    assert!(
        at(&r, "lint-missing-func", 5)[0]
            .message
            .contains("bpf_task_release"),
        "{all}"
    );
    // compiler style, with the column of the value
    assert!(all.contains("planted.yaml:8:15: warning[lint-duplicate-func]: `bpf_list_push_front_impl` is listed twice"), "{all}");
    assert!(
        all.contains("planted.yaml:33:9: warning[lint-attach-type]"),
        "{all}"
    );
    assert!(
        all.contains("planted.yaml:27:29: note[lint-unknown-flag]"),
        "{all}"
    );
    // and a second one on fsverity_set_ids' line; nothing else: an entry
    // outside its since/until is not compared
    assert_eq!(r.findings.len(), planted + 5, "{all}");
    let until = text
        .lines()
        .position(|l| l.contains("# until 6.6"))
        .unwrap() as u32
        + 1;
    assert!(at(&r, "lint-extra-prog-type", until).is_empty(), "{all}");
    assert_eq!(r.count(Kind::VersionDifference), 4, "{all}");
    assert_eq!(r.count(Kind::Unverifiable), 3, "{all}");
}

#[test]
fn a_set_the_scanner_read_in_part_is_unverifiable_not_wrong() {
    // the XDP-metadata set before the scanner expands its X-macro
    let mut m = manifest();
    let set = m
        .sets
        .iter_mut()
        .find(|s| s.name == "xdp_metadata_kfunc_ids")
        .unwrap();
    set.entries.clear();
    let (file, line) = (set.file.clone(), set.line + 1);
    m.diagnostics.push(Diagnostic::new(
        Severity::Warning,
        "unrecognised-set-line",
        &file,
        line,
        1,
        "a macro",
    ));
    let text = std::fs::read_to_string(root().join(PLANTED)).unwrap();
    let r = lint::lint(&lint::read(&text).unwrap(), &m, LintOptions::default());
    let line = text
        .lines()
        .position(|l| l.contains("- name: bpf_xdp_metadata_rx_hash"))
        .unwrap() as u32
        + 1;
    let f = at(&r, "lint-extra-func", line);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, Kind::Unverifiable);
}

fn write_manifest(dir: &Path) -> PathBuf {
    let p = dir.join("m.json");
    std::fs::write(&p, manifest().to_json()).unwrap();
    p
}

#[test]
fn exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let m = write_manifest(dir.path());
    // disagreements: 1, each on stderr
    let out = cmd(["lint-docs", PLANTED, "--manifest"]).arg(&m).expect(1);
    let err = out.stderr();
    assert!(
        err.contains("testdata/ebpf-docs/planted.yaml:8:15: warning[lint-duplicate-func]"),
        "{err}"
    );
    assert!(
        err.contains("14 disagreements, 4 version differences, 3 unverifiable"),
        "{err}"
    );
    // -q: the disagreements alone (14 lines), no notes, no summary
    let quiet = cmd(["lint-docs", "-q", PLANTED, "--manifest"])
        .arg(&m)
        .expect(1)
        .stderr();
    let lines: Vec<&str> = err.lines().collect();
    let wanted: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.contains(": note[") && !l.starts_with("kfunc-scan lint-docs:"))
        .collect();
    assert_eq!(quiet.lines().collect::<Vec<_>>(), wanted);
    assert_eq!(lines.len() - wanted.len(), 4 + 3 + 1, "{err}");
    // version differences alone: 0
    let only = dir.path().join("only.yaml");
    std::fs::write(
        &only,
        "sets:\n  old_kfunc_ids:\n    funcs:\n      - name: bpf_gone\n",
    )
    .unwrap();
    let mut small = manifest();
    small.sets.clear();
    let sm = dir.path().join("small.json");
    std::fs::write(&sm, small.to_json()).unwrap();
    cmd([
        "lint-docs".as_ref(),
        only.as_os_str(),
        "--manifest".as_ref(),
        sm.as_os_str(),
    ])
    .expect(0);
    // unusable input: 2, with the position
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "sets:\n  s:\n    program_types:\n      - BPF_PROG_TYPE_XDP\n",
    )
    .unwrap();
    let out = cmd([
        "lint-docs".as_ref(),
        bad.as_os_str(),
        "--manifest".as_ref(),
        m.as_os_str(),
    ])
    .expect(2);
    let err = out.stderr();
    assert!(err.contains("bad.yaml:4:9: error[lint-yaml]"), "{err}");
    cmd([
        "lint-docs".as_ref(),
        dir.path().join("absent.yaml").as_os_str(),
        "--manifest".as_ref(),
        m.as_os_str(),
    ])
    .expect(2);
}

/// ebpf-docs' file (curated for ~7.0) against the 6.12 tree: the findings
/// verified by hand against the 6.12 sources.
#[test]
fn ebpf_docs_current_data_against_6_12() {
    let Some(yaml) = shared_file("ebpf-docs/kfuncs.yaml") else {
        return;
    };
    let Some(tree) = env_path("KFUNC_SCAN_LINUX", "the 6.12 tree") else {
        return;
    };
    let out = cmd([
        "lint-docs".as_ref(),
        yaml.as_os_str(),
        "--tree".as_ref(),
        tree.as_os_str(),
    ])
    .expect(1);
    let err = out.stderr();
    let has = |code: &str, words: &[&str]| {
        err.lines()
            .any(|l| l.contains(&format!("[{code}]")) && words.iter().all(|w| l.contains(w)))
    };
    assert!(
        has("lint-duplicate-func", &["`bpf_list_push_front`"]),
        "{err}"
    );
    assert!(
        has(
            "lint-duplicate-prog-type",
            &["BPF_PROG_TYPE_CGROUP_SOCK_ADDR"]
        ),
        "{err}"
    );
    for t in [
        "SYSCALL",
        "CGROUP_SKB",
        "CGROUP_SOCK_ADDR",
        "CGROUP_SOCK`",
        "CGROUP_SYSCTL",
        "CGROUP_SOCKOPT",
        "CGROUP_DEVICE",
    ] {
        assert!(
            has("lint-missing-prog-type", &["`generic_btf_ids`", t]),
            "{t}\n{err}"
        );
    }
    assert!(
        has(
            "lint-missing-prog-type",
            &["`cpumask_kfunc_btf_ids`", "BPF_PROG_TYPE_SYSCALL"]
        ),
        "{err}"
    );
    // the LSM-only sets: their filters allow LSM only, not the other types
    // of the TRACING hook LSM shares
    for (set, filter) in [
        ("bpf_fs_kfunc_set_ids", "bpf_fs_kfuncs_filter"),
        ("fsverity_set_ids", "bpf_get_fsverity_digest_filter"),
    ] {
        for t in ["TRACING`", "TRACEPOINT`", "PERF_EVENT`"] {
            assert!(
                has(
                    "lint-filtered-prog-type",
                    &[
                        "warning",
                        set,
                        filter,
                        t,
                        "allows only program type `BPF_PROG_TYPE_LSM`"
                    ]
                ),
                "{set} {t}\n{err}"
            );
        }
    }
    // every filter of 6.12 is read: nothing is left unverifiable
    assert!(err.contains(", 0 unverifiable"), "{err}");
    assert!(
        has(
            "lint-attach-type",
            &[
                "warning",
                "`key_sig_kfunc_set` has no filter",
                "BPF_TRACE_ITER"
            ]
        ),
        "{err}"
    );
    // the XDP-metadata kfuncs (an X-macro set): KF_TRUSTED_ARGS missing
    let xdp = [
        "bpf_xdp_metadata_rx_timestamp",
        "bpf_xdp_metadata_rx_hash",
        "bpf_xdp_metadata_rx_vlan_tag",
    ];
    for k in xdp {
        assert!(has("lint-flags", &[k, "KF_TRUSTED_ARGS"]), "{k}\n{err}");
    }
}

/// A set of the tree the file lacks is said renamed to the first of the
/// file's unknown sets listing one of its functions (looked up by function,
/// not searched: a file of many sets is checked in linear time); the
/// unknown sets say where their functions are now.
#[test]
fn renamed_and_stale_sets_point_at_each_other() {
    let m = Fx::new()
        .set(
            "new_ids",
            &["BPF_PROG_TYPE_TRACING"],
            &[("bpf_a", &[]), ("bpf_b", &[])],
        )
        .set("other_ids", &["BPF_PROG_TYPE_TRACING"], &[("bpf_c", &[])])
        .build();
    let text = "sets:\n  unrelated_ids:\n    funcs:\n      - name: bpf_zz\n  old_ids:\n    funcs:\n      - name: bpf_b\n  older_ids:\n    funcs:\n      - name: bpf_a\n  other_ids:\n    funcs:\n      - name: bpf_c\n    program_types:\n      - name: BPF_PROG_TYPE_TRACING\n";
    let r = lint::lint(&lint::read(text).unwrap(), &m, LintOptions::default());
    let renamed: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.code == "lint-renamed-set")
        .collect();
    assert_eq!(renamed.len(), 1, "{:?}", r.findings);
    assert!(
        renamed[0]
            .message
            .contains("`old_ids` (line 5) lists its functions"),
        "{}",
        renamed[0].message
    );
    let stale = at(&r, "lint-stale-set", 8);
    assert_eq!(stale.len(), 1, "{:?}", r.findings);
    assert!(
        stale[0].message.ends_with("its functions are in `new_ids`"),
        "{}",
        stale[0].message
    );
    let unrelated = &at(&r, "lint-stale-set", 2)[0].message;
    assert!(
        unrelated.contains("does not exist in") && !unrelated.contains("its functions"),
        "{unrelated}"
    );
}
