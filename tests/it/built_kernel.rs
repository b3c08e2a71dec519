//! Ground truth from a built kernel: the kfunc sets of Debian's
//! linux-image-6.12.117+deb12-amd64 as vmlinux and its modules hold them,
//! read by `common::btf_ids` from `.BTF_ids` and `.BTF`, without the scanner.
//! `scripts/fetch-built-kernel.sh` fetches them; KFUNC_SCAN_BUILT_KERNEL is
//! the folder it prints. The reader is checked against what binutils' `nm`
//! and `bpftool` see and against values worked out by hand from the 6.12
//! source; then the scanner's manifest of that source
//! (KFUNC_SCAN_LINUX) is checked against it.
//!
//! `cargo test --test built_kernel -- --ignored --nocapture dump` prints the
//! ground truth as JSON (`KFUNC_SCAN_DUMP=FILE` writes it to FILE instead).

use crate::common;
use common::btf_ids::{self, BuiltSet};
use common::*;
use kfunc_scan::manifest::{Manifest, SetKind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The folder `scripts/fetch-built-kernel.sh` printed.
fn built() -> Option<PathBuf> {
    let dir = env_path(
        "KFUNC_SCAN_BUILT_KERNEL",
        "the folder scripts/fetch-built-kernel.sh prints",
    )?;
    if dir.join(".complete").is_file() {
        Some(dir)
    } else {
        missing(format!(
            "{} is not a complete folder of scripts/fetch-built-kernel.sh",
            dir.display()
        ));
        None
    }
}

fn sets(dir: &Path) -> &'static [BuiltSet] {
    static S: OnceLock<Vec<BuiltSet>> = OnceLock::new();
    S.get_or_init(|| btf_ids::read_built_kernel(dir).unwrap_or_else(|e| panic!("{e}")))
}

/// The figures below are those of this build; the script fetches others on
/// request, and only the independent checks hold for them.
const REFERENCE: &str = "linux-image-6.12.117+deb12-amd64-dbg_6.12.117-1~deb12u1_amd64.deb";

fn is_reference(dir: &Path) -> bool {
    let package = std::fs::read_to_string(dir.join(".package")).unwrap_or_default();
    let yes = package.lines().any(|l| l == REFERENCE);
    if !yes {
        eprintln!("NOTE: not {REFERENCE}: the figures of that build are not checked");
    }
    yes
}

/// `tool ARGS…`'s stdout, or `None` after reporting the tool missing.
fn tool(tool: &str, args: &[&std::ffi::OsStr]) -> Option<String> {
    match Command::new(tool).args(args).output() {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{tool} {args:?}: {}\n{}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            missing(format!("{tool} (Debian: apt-get install {tool})"));
            None
        }
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}

/// vmlinux, then each module, as (object name, path).
fn objects(dir: &Path) -> Vec<(String, PathBuf)> {
    let (vmlinux, modules) = btf_ids::objects(dir).unwrap();
    std::iter::once(("vmlinux".to_string(), vmlinux))
        .chain(modules.into_iter().map(|m| (btf_ids::module_name(&m), m)))
        .collect()
}

fn of_object<'a>(sets: &'a [BuiltSet], object: &'a str) -> impl Iterator<Item = &'a BuiltSet> {
    sets.iter().filter(move |s| s.object == object)
}

fn set<'a>(sets: &'a [BuiltSet], object: &str, name: &str) -> &'a BuiltSet {
    sets.iter()
        .find(|s| s.object == object && s.name == name)
        .unwrap_or_else(|| panic!("no set {object}/{name}"))
}

fn flags_of(set: &BuiltSet, entry: &str) -> u32 {
    set.entries
        .iter()
        .find(|e| e.name == entry)
        .unwrap_or_else(|| panic!("no {entry} in {}/{}", set.object, set.name))
        .flags
}

#[test]
fn the_reference_build_holds_164_entries_in_31_sets() {
    let Some(dir) = built() else { return };
    if !is_reference(&dir) {
        return;
    }
    let sets = sets(&dir);
    let mut per_object: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in sets {
        let o = per_object.entry(&s.object).or_default();
        o.0 += 1;
        o.1 += s.entries.len();
    }
    let expected: BTreeMap<&str, (usize, usize)> = [
        ("vmlinux", (24, 134)),
        ("fou", (1, 2)),
        ("nf_conntrack", (1, 10)),
        ("nf_flow_table", (1, 1)),
        ("nf_nat", (1, 1)),
        ("tcp_bbr", (1, 8)),
        ("tcp_dctcp", (1, 6)),
        ("xfrm_interface", (1, 2)),
    ]
    .into();
    assert_eq!(per_object, expected, "(sets, entries) per object");
    assert_eq!(sets.len(), 31);
    assert_eq!(sets.iter().map(|s| s.entries.len()).sum::<usize>(), 164);
}

/// Hand-checked against the 6.12 source: the entries' flags as written, with
/// the bits of its include/linux/btf.h (KF_ACQUIRE 1, KF_RELEASE 2,
/// KF_RET_NULL 4, KF_TRUSTED_ARGS 16, KF_SLEEPABLE 32, KF_RCU 128,
/// KF_ITER_NEW 256).
#[test]
fn spot_values_worked_out_by_hand() {
    let Some(dir) = built() else { return };
    if !is_reference(&dir) {
        return;
    }
    let sets = sets(&dir);
    // net/netfilter/nf_conntrack_bpf.c
    let ct = set(sets, "nf_conntrack", "nf_ct_kfunc_set");
    assert!(ct.kfuncs);
    assert_eq!(ct.flags, btf_ids::BTF_SET8_KFUNCS);
    assert_eq!(flags_of(ct, "bpf_ct_insert_entry"), 1 | 2 | 4);
    assert_eq!(flags_of(ct, "bpf_xdp_ct_alloc"), 1 | 4);
    assert_eq!(flags_of(ct, "bpf_ct_release"), 2);
    assert_eq!(flags_of(ct, "bpf_ct_set_timeout"), 16);
    // kernel/bpf/arena.c
    let arena = set(sets, "vmlinux", "arena_kfuncs");
    assert_eq!(flags_of(arena, "bpf_arena_alloc_pages"), 16 | 32);
    assert_eq!(flags_of(arena, "bpf_arena_free_pages"), 16 | 32);
    // kernel/bpf/helpers.c
    let generic = set(sets, "vmlinux", "generic_btf_ids");
    assert_eq!(flags_of(generic, "bpf_task_acquire"), 1 | 128 | 4);
    assert_eq!(flags_of(generic, "bpf_obj_drop_impl"), 2);
    assert_eq!(flags_of(generic, "bpf_throw"), 0);
    let common = set(sets, "vmlinux", "common_btf_ids");
    assert_eq!(flags_of(common, "bpf_iter_num_new"), 256);
    assert_eq!(flags_of(common, "bpf_dynptr_slice"), 4);
    // net/core/xdp.c: the X-macro set
    let xdp = set(sets, "vmlinux", "xdp_metadata_kfunc_ids");
    let names: BTreeSet<&str> = xdp.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "bpf_xdp_metadata_rx_hash",
            "bpf_xdp_metadata_rx_timestamp",
            "bpf_xdp_metadata_rx_vlan_tag"
        ])
    );
    assert!(xdp.entries.iter().all(|e| e.flags == 16));
    // net/mptcp/bpf.c: the one plain set8 (fmod_ret); net/bpf/test_run.c's
    // fmod_ret set is declared with BTF_KFUNCS_START
    let mptcp = set(sets, "vmlinux", "bpf_mptcp_fmodret_ids");
    assert!(!mptcp.kfuncs);
    assert_eq!(mptcp.flags, 0);
    assert_eq!(flags_of(mptcp, "update_socket_protocol"), 0);
    assert!(set(sets, "vmlinux", "bpf_test_modify_return_ids").kfuncs);
    let plain: Vec<&str> = sets
        .iter()
        .filter(|s| !s.kfuncs)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(plain, ["bpf_mptcp_fmodret_ids"]);
}

/// One `nm -S` line's symbol, when it is a `.BTF_ids` one: `__BTF_ID__set8__NAME`
/// or an entry `__BTF_ID__KIND__NAME__COUNTER`.
enum IdSymbol {
    Set { name: String, size: u64 },
    Entry { name: String },
}

/// `nm -S`: ADDR [SIZE] TYPE NAME per symbol.
fn nm_symbols(path: &Path) -> Option<Vec<(u64, IdSymbol)>> {
    let out = tool("nm", &["-S".as_ref(), path.as_os_str()])?;
    let mut syms = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (addr, size, sym) = match f[..] {
            [a, s, _, n] => (a, Some(s), n),
            [a, _, n] => (a, None, n),
            _ => continue,
        };
        let Some(rest) = sym.strip_prefix("__BTF_ID__") else {
            continue;
        };
        let addr = u64::from_str_radix(addr, 16).unwrap();
        let (kind, rest) = rest.split_once("__").unwrap();
        let s = if kind == "set8" {
            let size = u64::from_str_radix(size.expect("a set8 symbol has a size"), 16).unwrap();
            IdSymbol::Set {
                name: rest.to_string(),
                size,
            }
        } else if kind == "set" {
            continue;
        } else {
            // NAME__COUNTER: the counter is digits, the name may hold `__`
            let (name, counter) = rest.rsplit_once("__").unwrap();
            assert!(counter.bytes().all(|b| b.is_ascii_digit()), "{sym}");
            IdSymbol::Entry {
                name: name.to_string(),
            }
        };
        syms.push((addr, s));
    }
    Some(syms)
}

/// The symbol table alone tells each set, its count (btf_ids.h sizes the set
/// symbol over its header and pairs) and its members' names (the symbols of
/// the pairs inside it, one per `BTF_ID_FLAGS`). resolve_btfids sorted the
/// pairs by ID afterwards, so names are compared as multisets; the reader's
/// come from the IDs through `.BTF`.
#[test]
fn sets_counts_and_names_agree_with_nm() {
    let Some(dir) = built() else { return };
    let sets = sets(&dir);
    for (object, path) in objects(&dir) {
        let Some(syms) = nm_symbols(&path) else {
            return;
        };
        let mut from_nm: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (addr, s) in &syms {
            let IdSymbol::Set { name, size } = s else {
                continue;
            };
            assert_eq!(size % 8, 0, "{object}/{name}: size {size}");
            let pairs = addr + 8..addr + size;
            let mut members: Vec<String> = syms
                .iter()
                .filter_map(|(a, s)| match s {
                    IdSymbol::Entry { name } if pairs.contains(a) => {
                        assert_eq!((a - pairs.start) % 8, 0, "{object}/{name} at {a:#x}");
                        Some(name.clone())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(
                members.len() as u64,
                size / 8 - 1,
                "{object}/{name}: entry symbols vs size"
            );
            members.sort();
            assert!(from_nm.insert(name.clone(), members).is_none());
        }
        let from_reader: BTreeMap<String, Vec<String>> = of_object(sets, &object)
            .map(|s| {
                let mut names: Vec<String> = s.entries.iter().map(|e| e.name.clone()).collect();
                names.sort();
                (s.name.clone(), names)
            })
            .collect();
        assert!(!from_nm.is_empty(), "{object}: no set");
        assert_eq!(from_reader, from_nm, "{object}");
    }
}

/// `bpftool btf dump` of each object (a module on vmlinux's) names every
/// entry's ID as the reader does, and each is a function.
#[test]
fn ids_name_the_same_functions_in_bpftool() {
    let Some(dir) = built() else { return };
    let sets = sets(&dir);
    let vmlinux = dir.join("vmlinux");
    for (object, path) in objects(&dir) {
        let mut args: Vec<&std::ffi::OsStr> = Vec::new();
        if object != "vmlinux" {
            args.extend(["-B".as_ref(), vmlinux.as_os_str()]);
        }
        args.extend([
            "btf".as_ref(),
            "dump".as_ref(),
            "file".as_ref(),
            path.as_os_str(),
        ]);
        let Some(dump) = tool("bpftool", &args) else {
            return;
        };
        // [ID] KIND 'NAME' …
        let mut types: BTreeMap<u32, (&str, &str)> = BTreeMap::new();
        for line in dump.lines() {
            let Some((id, rest)) = line.strip_prefix('[').and_then(|l| l.split_once("] ")) else {
                continue;
            };
            let Some((kind, rest)) = rest.split_once(" '") else {
                continue;
            };
            let name = rest.split_once('\'').map_or("", |(n, _)| n);
            types.insert(id.parse().unwrap(), (kind, name));
        }
        for s in of_object(sets, &object) {
            for e in &s.entries {
                assert_eq!(
                    types.get(&e.btf_id),
                    Some(&("FUNC", e.name.as_str())),
                    "{object}/{}: ID {}",
                    s.name,
                    e.btf_id
                );
            }
        }
    }
}

/// The config the objects were built with came along, and it builds BTF.
#[test]
fn the_config_came_along() {
    let Some(dir) = built() else { return };
    let config = std::fs::read_to_string(dir.join("config")).unwrap();
    for line in ["CONFIG_DEBUG_INFO_BTF=y", "CONFIG_DEBUG_INFO_BTF_MODULES=y"] {
        assert!(config.lines().any(|l| l == line), "no {line}");
    }
}

fn tree() -> Option<PathBuf> {
    env_path(
        "KFUNC_SCAN_LINUX",
        "the 6.12 tree (scripts/fetch-linux.sh 6.12 prints it)",
    )
}

fn manifest(tree: &Path) -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    M.get_or_init(|| cmd([tree.as_os_str(), "-q".as_ref()]).expect(0).manifest())
}

/// The built sets against the manifest of their source: each set is there
/// with the same kind, each entry the manifest has is there with the same
/// flag value; `missing` collects the built entries it lacks, by name.
fn compare(built: &[BuiltSet], manifest: &Manifest) -> Vec<String> {
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for b in built {
        let kind = if b.kfuncs {
            SetKind::Kfuncs
        } else {
            SetKind::Set8
        };
        let candidates: Vec<_> = manifest.sets.iter().filter(|s| s.name == b.name).collect();
        // a set name may be static in several files: the one holding most of
        // the built entries
        let Some(m) = candidates.iter().max_by_key(|s| {
            b.entries
                .iter()
                .filter(|e| s.entries.iter().any(|m| m.name == e.name))
                .count()
        }) else {
            differ.push(format!(
                "{}/{}: no such set in the manifest",
                b.object, b.name
            ));
            continue;
        };
        if m.kind != kind {
            differ.push(format!(
                "{}/{}: kind {:?} built, {:?} in {}",
                b.object, b.name, kind, m.kind, m.file
            ));
        }
        for e in &b.entries {
            match m.entries.iter().find(|m| m.name == e.name) {
                None => missing.push(format!("{}/{}: {}", b.object, b.name, e.name)),
                Some(me) if me.flags_value != Some(u64::from(e.flags)) => differ.push(format!(
                    "{}/{}: {} has flags {:#x} built, {:?} ({:?}) in {}",
                    b.object, b.name, e.name, e.flags, me.flags_value, me.flags, m.file
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        differ.is_empty(),
        "the manifest disagrees with the build:\n{}",
        differ.join("\n")
    );
    missing
}

#[test]
fn every_built_set_is_scanned_with_its_kind_and_flag_values() {
    let (Some(dir), Some(tree)) = (built(), tree()) else {
        return;
    };
    let missing = compare(sets(&dir), manifest(&tree));
    if !missing.is_empty() {
        eprintln!(
            "built entries the manifest lacks (every_built_entry_is_scanned):\n{}",
            missing.join("\n")
        );
    }
}

#[test]
fn every_built_entry_is_scanned() {
    let (Some(dir), Some(tree)) = (built(), tree()) else {
        return;
    };
    let missing = compare(sets(&dir), manifest(&tree));
    assert!(
        missing.is_empty(),
        "built entries the manifest lacks:\n{}",
        missing.join("\n")
    );
}

/// The ground truth as JSON: counts per object, then every set. On stdout
/// (among libtest's lines), or into the file KFUNC_SCAN_DUMP names.
#[test]
#[ignore = "prints the ground truth: cargo test --test built_kernel -- --ignored --nocapture dump"]
fn dump() {
    let Some(dir) = built() else { return };
    let sets = sets(&dir);
    let mut objects = serde_json::Map::new();
    for s in sets {
        let o = objects
            .entry(s.object.clone())
            .or_insert_with(|| serde_json::json!({"sets": 0, "entries": 0}));
        o["sets"] = (o["sets"].as_u64().unwrap() + 1).into();
        o["entries"] = (o["entries"].as_u64().unwrap() + s.entries.len() as u64).into();
    }
    let package = std::fs::read_to_string(dir.join(".package")).unwrap_or_default();
    let out = serde_json::json!({
        "packages": package.lines().collect::<Vec<_>>(),
        "sets": sets.len(),
        "entries": sets.iter().map(|s| s.entries.len()).sum::<usize>(),
        "objects": objects,
        "built_sets": sets,
    });
    let text = serde_json::to_string_pretty(&out).unwrap() + "\n";
    match std::env::var_os("KFUNC_SCAN_DUMP") {
        Some(file) => std::fs::write(&file, text).unwrap(),
        None => print!("{text}"),
    }
}

/// The manifest of the tree with the build's own `.config`.
fn config_manifest(tree: &Path, dir: &Path) -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    M.get_or_init(|| {
        cmd([tree.as_os_str(), "-q".as_ref(), "--config".as_ref()])
            .arg(dir.join("config"))
            .expect(0)
            .manifest()
    })
}

/// (object, set) → (kind is kfuncs, entry → flag value), as a build holds it.
type BuildSets = BTreeMap<(String, String), (bool, BTreeMap<String, u64>)>;

fn build_view_of(m: &Manifest) -> BuildSets {
    let mut out = BuildSets::new();
    for s in &m.sets {
        let Some(object) = s.object.object() else {
            continue;
        };
        let entries = s
            .entries
            .iter()
            .filter(|e| e.built == Some(true))
            .map(|e| (e.name.clone(), e.flags_value.unwrap_or(u64::MAX)))
            .collect();
        let key = (object.to_string(), s.name.clone());
        out.insert(key, (s.kind == SetKind::Kfuncs, entries));
    }
    out
}

fn ground_truth(built: &[BuiltSet]) -> BuildSets {
    built
        .iter()
        .map(|b| {
            let entries = b
                .entries
                .iter()
                .map(|e| (e.name.clone(), u64::from(e.flags)))
                .collect();
            ((b.object.clone(), b.name.clone()), (b.kfuncs, entries))
        })
        .collect()
}

/// What the `--config` manifest says of the build against what the build
/// holds: sets by object and name with their kind, entries with their flag
/// values. Returns the differences, and apart the built entries the
/// manifest lacks altogether.
fn compare_build_view(truth: &BuildSets, view: &BuildSets) -> (Vec<String>, Vec<String>) {
    let (mut differ, mut lacks) = (Vec::new(), Vec::new());
    for (key, (kfuncs, entries)) in truth {
        let Some((vk, ventries)) = view.get(key) else {
            differ.push(format!("{}/{}: built, not in the build view", key.0, key.1));
            continue;
        };
        if vk != kfuncs {
            differ.push(format!("{}/{}: kind differs", key.0, key.1));
        }
        for (name, flags) in entries {
            match ventries.get(name) {
                None => lacks.push(format!("{}/{}: {name}", key.0, key.1)),
                Some(v) if v != flags => differ.push(format!(
                    "{}/{}: {name} flags {flags:#x} built, {v:#x} in the view",
                    key.0, key.1
                )),
                Some(_) => {}
            }
        }
        for name in ventries.keys().filter(|n| !entries.contains_key(*n)) {
            differ.push(format!(
                "{}/{}: {name} in the view, not built",
                key.0, key.1
            ));
        }
    }
    for key in view.keys().filter(|k| !truth.contains_key(*k)) {
        differ.push(format!("{}/{}: in the view, not built", key.0, key.1));
    }
    (differ, lacks)
}

#[test]
fn the_config_build_view_places_every_set_in_its_object_and_nothing_extra() {
    let (Some(dir), Some(tree)) = (built(), tree()) else {
        return;
    };
    let m = config_manifest(&tree, &dir);
    let build = m.build.as_ref().expect("the manifest names its build");
    assert!(build.config.ends_with("config") && build.config_hash.starts_with("fnv1a64:"));
    let (truth, view) = (ground_truth(sets(&dir)), build_view_of(m));
    let (differ, lacks) = compare_build_view(&truth, &view);
    assert!(
        differ.is_empty(),
        "the build view disagrees:\n{}",
        differ.join("\n")
    );
    if !lacks.is_empty() {
        eprintln!("built entries the manifest lacks:\n{}", lacks.join("\n"));
    }
    if is_reference(&dir) {
        assert_eq!(view.len(), 31);
        let in_vmlinux = view.keys().filter(|(o, _)| o == "vmlinux").count();
        assert_eq!(in_vmlinux, 24);
    }
}

#[test]
fn the_config_build_view_equals_the_built_kernel() {
    let (Some(dir), Some(tree)) = (built(), tree()) else {
        return;
    };
    let (truth, view) = (
        ground_truth(sets(&dir)),
        build_view_of(config_manifest(&tree, &dir)),
    );
    let (differ, lacks) = compare_build_view(&truth, &view);
    assert!(
        differ.is_empty() && lacks.is_empty(),
        "the build view disagrees:\n{}\nlacks:\n{}",
        differ.join("\n"),
        lacks.join("\n")
    );
    let entries: usize = view.values().map(|(_, e)| e.len()).sum();
    if is_reference(&dir) {
        assert_eq!(entries, 164);
    }
}
