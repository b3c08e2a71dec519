//! The build view on real trees with Debian's 6.12.117 configuration,
//! against what Debian actually built: the `.ko` files of its
//! linux-image-…-unsigned package, and the files holding kfunc sets whose
//! fate was worked out by hand from their Makefile lines and the config.
//!
//! Data: KFUNC_SCAN_LINUX (6.12 tree), KFUNC_SCAN_LINUX_OLD (6.1 tree),
//! ../shared/data/linux-6.12.117/config, and for the module cross-check the
//! package in KFUNC_SCAN_DEBS (default ~/.cache/kfunc-scan/debs) read with
//! `dpkg-deb`.
use crate::common;
use kfunc_scan::kbuild::{BuildView, Config, Diagnostic, Fate, Severity};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn config() -> Option<Config> {
    let path = common::shared_file("linux-6.12.117/config")?;
    let (cfg, diags) = Config::load(&path).expect("config readable");
    assert!(
        diags.is_empty(),
        "Debian's config parses cleanly: {diags:?}"
    );
    Some(cfg)
}

fn load(tree: &Path, cfg: &Config) -> (BuildView, Vec<Diagnostic>, Duration) {
    let t = Instant::now();
    let (view, diags) = BuildView::load(tree, cfg, "x86_64");
    (view, diags, t.elapsed())
}

fn summary(name: &str, view: &BuildView, diags: &[Diagnostic], took: Duration) {
    let count = |s| diags.iter().filter(|d| d.severity == s).count();
    eprintln!(
        "{name}: {} directories, {} makefiles, {} objects, {} modules in {took:?}; diagnostics: {} errors, {} warnings",
        view.dirs().count(),
        view.makefiles_read(),
        view.objects().len(),
        view.modules().len(),
        count(Severity::Error),
        count(Severity::Warning),
    );
    for d in diags {
        eprintln!(
            "  {}:{}: {:?}[{}]: {}",
            d.file, d.line, d.severity, d.code, d.message
        );
    }
}

/// The files of 6.12 holding kfunc sets (`grep -rlE
/// 'BTF_KFUNCS_START|BTF_SET8_START' --include=*.c`, plus net/mptcp/bpf.c
/// that the scanner finds through a macro), with their fate under Debian's
/// config, read by hand from each Makefile line and the config values.
const KFUNC_FILES: &[(&str, Option<&str>)] = &[
    // obj-$(CONFIG_HID_BPF) += hid_bpf.o; HID_BPF is not set
    ("drivers/hid/bpf/hid_bpf_dispatch.c", None),
    ("fs/bpf_fs_kfuncs.c", Some("vmlinux")),  // BPF_LSM=y
    ("fs/verity/measure.c", Some("vmlinux")), // FS_VERITY=y
    ("kernel/bpf/arena.c", Some("vmlinux")),
    ("kernel/bpf/cpumask.c", Some("vmlinux")),
    ("kernel/bpf/crypto.c", Some("vmlinux")),
    ("kernel/bpf/helpers.c", Some("vmlinux")),
    ("kernel/bpf/map_iter.c", Some("vmlinux")),
    ("kernel/cgroup/rstat.c", Some("vmlinux")),
    // #include'd by build_policy.c under CONFIG_SCHED_CLASS_EXT, not set
    ("kernel/sched/ext.c", None),
    ("kernel/trace/bpf_trace.c", Some("vmlinux")), // BPF_EVENTS=y
    ("net/bpf/test_run.c", Some("vmlinux")),
    ("net/core/filter.c", Some("vmlinux")),
    ("net/core/xdp.c", Some("vmlinux")),
    ("net/ipv4/bpf_tcp_ca.c", Some("vmlinux")),
    ("net/ipv4/fou_bpf.c", Some("fou")), // fou-y := … fou_bpf.o; NET_FOU=m
    ("net/ipv4/tcp_bbr.c", Some("tcp_bbr")), // TCP_CONG_BBR=m
    ("net/ipv4/tcp_cubic.c", Some("vmlinux")), // TCP_CONG_CUBIC=y
    ("net/ipv4/tcp_dctcp.c", Some("tcp_dctcp")), // TCP_CONG_DCTCP=m
    ("net/mptcp/bpf.c", Some("vmlinux")),
    // nf_conntrack-$(CONFIG_DEBUG_INFO_BTF) += nf_conntrack_bpf.o; NF_CONNTRACK=m
    ("net/netfilter/nf_conntrack_bpf.c", Some("nf_conntrack")),
    ("net/netfilter/nf_flow_table_bpf.c", Some("nf_flow_table")),
    ("net/netfilter/nf_nat_bpf.c", Some("nf_nat")),
    ("net/xfrm/xfrm_interface_bpf.c", Some("xfrm_interface")), // XFRM_INTERFACE=m
    ("net/xfrm/xfrm_state_bpf.c", Some("vmlinux")),            // XFRM=y, DEBUG_INFO_BTF=y
    (
        "tools/testing/selftests/bpf/bpf_test_modorder_x/bpf_test_modorder_x.c",
        None,
    ),
    (
        "tools/testing/selftests/bpf/bpf_test_modorder_y/bpf_test_modorder_y.c",
        None,
    ),
    (
        "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c",
        None,
    ),
];

#[test]
fn kfunc_files_on_6_12() {
    let Some(tree) = common::env_path("KFUNC_SCAN_LINUX", "the 6.12 tree") else {
        return;
    };
    let Some(cfg) = config() else { return };
    let (view, diags, mut took) = load(&tree, &cfg);
    // The best of a few loads: this machine's other work only adds to it.
    for _ in 0..4 {
        took = took.min(load(&tree, &cfg).2);
    }
    summary("6.12", &view, &diags, took);
    let mut wrong = Vec::new();
    for (file, want) in KFUNC_FILES {
        let got = view.object_of(file);
        let want_fate = match want {
            None => Fate::NotBuilt,
            Some("vmlinux") => Fate::Vmlinux,
            Some(m) => Fate::Module((*m).to_string()),
        };
        if got != want_fate {
            wrong.push(format!("{file}: {got:?}, expected {want_fate:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let modules: BTreeSet<String> = KFUNC_FILES
        .iter()
        .filter_map(|(f, _)| match view.object_of(f) {
            Fate::Module(m) => Some(m),
            _ => None,
        })
        .collect();
    let seven = [
        "fou",
        "nf_conntrack",
        "nf_flow_table",
        "nf_nat",
        "tcp_bbr",
        "tcp_dctcp",
        "xfrm_interface",
    ];
    assert_eq!(modules, seven.iter().map(|s| s.to_string()).collect());
    assert!(
        diags.iter().all(|d| d.severity != Severity::Error),
        "no errors on 6.12"
    );
}

/// The `.ko` files (tree-relative, without `.ko.xz`) in Debian's package.
fn debian_modules() -> Option<BTreeSet<String>> {
    let dir = match std::env::var_os("KFUNC_SCAN_DEBS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/kfunc-scan/debs"),
    };
    let deb = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.to_string_lossy()
                .contains("linux-image-6.12.117+deb12-amd64-unsigned_")
        })
    });
    let Some(deb) = deb else {
        common::missing(format!(
            "Debian's linux-image-6.12.117+deb12-amd64-unsigned package in {}",
            dir.display()
        ));
        return None;
    };
    let out = match std::process::Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            common::missing("dpkg-deb, to list the package");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| l.split_once("/kernel/").map(|(_, p)| p))
            .filter_map(|p| p.strip_suffix(".ko.xz").or_else(|| p.strip_suffix(".ko")))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn modules_agree_with_debian_6_12() {
    let Some(tree) = common::env_path("KFUNC_SCAN_LINUX", "the 6.12 tree") else {
        return;
    };
    let Some(cfg) = config() else { return };
    let Some(debian) = debian_modules() else {
        return;
    };
    let (view, _, _) = load(&tree, &cfg);
    let ours: BTreeMap<&str, &Option<String>> = view
        .modules()
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let both = debian
        .iter()
        .filter(|m| ours.contains_key(m.as_str()))
        .count();
    let only_debian: Vec<&String> = debian
        .iter()
        .filter(|m| !ours.contains_key(m.as_str()))
        .collect();
    let only_ours: Vec<&&str> = ours.keys().filter(|m| !debian.contains(**m)).collect();
    let unknown = ours.values().filter(|v| v.is_some()).count();
    // Single-file modules: the .c beside the .ko's path must map to it.
    let (mut single, mut single_ok) = (0, 0);
    for m in &debian {
        let c = format!("{m}.c");
        if tree.join(&c).is_file() {
            single += 1;
            let name = m.rsplit('/').next().unwrap_or(m);
            if view.object_of(&c) == Fate::Module(name.to_string()) {
                single_ok += 1;
            } else {
                eprintln!("  {c}: {:?}", view.object_of(&c));
            }
        }
    }
    eprintln!(
        "Debian built {} modules; we find {} ({} uncertain): {both} agree, {} only Debian's, {} only ours; \
         single-file modules: {single_ok}/{single} map their .c to the module",
        debian.len(),
        ours.len(),
        unknown,
        only_debian.len(),
        only_ours.len()
    );
    for m in only_debian.iter().take(40) {
        eprintln!("  only Debian: {m}");
    }
    for m in only_ours.iter().take(40) {
        eprintln!("  only ours: {m}");
    }
    assert!(
        both * 100 >= debian.len() * 99,
        "at least 99% of Debian's modules found"
    );
    assert!(only_ours.len() * 100 <= debian.len(), "at most 1% extra");
    assert!(single_ok * 100 >= single * 99);
}

#[test]
fn smoke_6_1() {
    let Some(tree) = common::env_path("KFUNC_SCAN_LINUX_OLD", "the 6.1 tree") else {
        return;
    };
    let Some(cfg) = config() else { return };
    let (view, diags, took) = load(&tree, &cfg);
    summary("6.1", &view, &diags, took);
    assert!(view.dirs().count() > 100, "the walk went down the tree");
    assert_eq!(view.object_of("net/core/filter.c"), Fate::Vmlinux);
    assert_eq!(
        view.object_of("net/ipv4/tcp_bbr.c"),
        Fate::Module("tcp_bbr".into())
    );
}
