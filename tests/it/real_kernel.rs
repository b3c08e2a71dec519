//! The scanner on a real kernel tree (Debian's linux-source-6.12, fetched by
//! `scripts/fetch-linux.sh`; `.ci/run` sets KFUNC_SCAN_LINUX to it), checked
//! against figures worked out independently by a plain line-by-line text scan
//! of the same files. Without KFUNC_SCAN_LINUX the tests say so and skip.

use crate::common;
use common::*;
use kfunc_scan::manifest::{Manifest, SetEntry};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn tree() -> Option<PathBuf> {
    let p = env_path(
        "KFUNC_SCAN_LINUX",
        "a kernel tree (scripts/fetch-linux.sh prints one) to run the real-kernel checks",
    )?;
    if p.join("Makefile").is_file() {
        Some(p)
    } else {
        missing(format!("KFUNC_SCAN_LINUX={} has no Makefile", p.display()));
        None
    }
}

fn manifest(tree: &Path) -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    M.get_or_init(|| cmd([tree]).arg("-q").expect(0).manifest())
}

/// What a plain text scan sees: sets as (file, name, kind) with their
/// entries as (name, flags text); `__bpf_kfunc` definitions; registrations.
/// (name, flags as written when the entry is complete on its line)
type TextEntry = (String, Option<String>);
/// (file, set name)
type SetKey = (String, String);

#[derive(Default)]
struct TextScan {
    /// set → (kind, entries)
    sets: BTreeMap<SetKey, (String, Vec<TextEntry>)>,
    /// (file, line) of every written entry
    entry_lines: BTreeSet<(String, u32)>,
    attr_functions: BTreeSet<String>,
    registrations: usize,
}

fn text_scan(root: &Path) -> TextScan {
    let start = Regex::new(r"^BTF_(KFUNCS|SET8)_START\((\w+)\)").unwrap();
    let end = Regex::new(r"^BTF_(KFUNCS|SET8)_END\((\w+)\)").unwrap();
    let entry =
        Regex::new(r"^BTF_ID_FLAGS\(func,\s*(\w+)\s*(?:,\s*(.*?)\s*)?(\))?\s*;?\s*$").unwrap();
    let attr = Regex::new(r"^__bpf_kfunc\s").unwrap();
    let name = Regex::new(r"(\w+)\s*\(").unwrap();
    let register = Regex::new(r"\bregister_btf_(kfunc|fmodret)_id_set\s*\(\s*[&A-Z]").unwrap();
    let mut out = TextScan::default();
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .build();
    for e in walker.flatten() {
        let p = e.path();
        if !e.file_type().is_some_and(|t| t.is_file())
            || !matches!(p.extension().and_then(|x| x.to_str()), Some("c" | "h"))
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        if !(text.contains("BTF_")
            || text.contains("__bpf_kfunc")
            || text.contains("register_btf_"))
        {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let mut open: Option<(String, String, Vec<TextEntry>)> = None;
        for (i, line) in lines.iter().enumerate() {
            if let Some(c) = start.captures(line) {
                open = Some((c[2].to_string(), c[1].to_lowercase(), Vec::new()));
            } else if end.is_match(line) {
                if let Some((n, k, es)) = open.take() {
                    out.sets.insert((rel.clone(), n), (k, es));
                }
            } else if let (Some(c), Some(o)) = (entry.captures(line), open.as_mut()) {
                // flags only for an entry complete on its line
                let flags = c
                    .get(3)
                    .map(|_| c.get(2).map_or(String::new(), |f| f.as_str().to_string()));
                o.2.push((c[1].to_string(), flags));
                out.entry_lines.insert((rel.clone(), i as u32 + 1));
            }
            if attr.is_match(line) {
                let joined = lines[i..lines.len().min(i + 4)].join(" ");
                let after = joined.trim_start_matches("__bpf_kfunc");
                if let Some(c) = name.captures(after) {
                    out.attr_functions.insert(c[1].to_string());
                }
            }
            let code = line.trim_start();
            if !code.starts_with('*') && !code.starts_with("/*") && !code.starts_with("//") {
                out.registrations += register.find_iter(line).count();
            }
        }
    }
    out
}

#[test]
fn every_set_and_entry_matches_a_plain_text_scan() {
    let Some(root) = tree() else { return };
    let m = manifest(&root);
    let text = text_scan(&root);
    type Entries = Vec<(String, Vec<String>)>;
    let mut got: BTreeMap<SetKey, (String, Entries)> = BTreeMap::new();
    let mut expanded = 0;
    for s in &m.sets {
        // entries expanded from a macro used in the body (6.12's
        // xdp_metadata_kfunc_ids) stand at the line of the use, which the
        // text scan does not read; built_kernel.rs checks them
        let (written, from_macros): (Vec<&SetEntry>, Vec<&SetEntry>) = s
            .entries
            .iter()
            .partition(|e| text.entry_lines.contains(&(s.file.clone(), e.line)));
        for e in &from_macros {
            assert!(
                s.end_line
                    .is_some_and(|end| s.line < e.line && e.line < end),
                "{} in {}: line {} outside the set",
                e.name,
                s.name,
                e.line
            );
        }
        expanded += from_macros.len();
        let entries = written
            .iter()
            .map(|e| (e.name.clone(), e.flags.clone()))
            .collect();
        let kind = serde_json::to_value(s.kind).unwrap();
        let kind = kind.as_str().unwrap().to_string();
        got.insert((s.file.clone(), s.name.clone()), (kind, entries));
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        text.sets.keys().collect::<Vec<_>>(),
        "the same sets"
    );
    let mut entries = 0;
    for (key, (kind, want)) in &text.sets {
        let (gkind, have) = &got[key];
        assert_eq!(gkind, kind, "{key:?}: kind");
        let names: Vec<&String> = have.iter().map(|e| &e.0).collect();
        let want_names: Vec<&String> = want.iter().map(|e| &e.0).collect();
        assert_eq!(names, want_names, "{key:?}: entries in source order");
        for ((n, flags_text), (_, flags)) in want.iter().zip(have) {
            if let Some(ft) = flags_text {
                let want_flags: Vec<String> = ft
                    .split('|')
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty() && f != "0")
                    .collect();
                assert_eq!(&want_flags, flags, "{key:?} {n}: flags as written");
            }
        }
        entries += want.len();
    }
    eprintln!(
        "real tree: {} sets, {} entries, agreeing with the text scan; {} more expanded from macros",
        text.sets.len(),
        entries,
        expanded
    );
}

#[test]
fn every_kfunc_has_a_definition_or_a_reason_and_every_flag_resolves() {
    let Some(root) = tree() else { return };
    let m = manifest(&root);
    let explained: BTreeSet<&str> = m
        .diagnostics
        .iter()
        .filter(|d| d.code == "missing-definition")
        .map(|d| d.message.split('`').nth(1).unwrap_or(""))
        .collect();
    let mut n = 0;
    for s in &m.sets {
        for e in &s.entries {
            let name = e.name.as_str();
            assert!(
                m.has_kfunc(name) || explained.contains(name),
                "{name} in {} has neither a definition nor a diagnostic",
                s.name
            );
            assert!(
                e.flags_value.is_some(),
                "{name}: flags {:?} unresolved",
                e.flags
            );
            n += 1;
        }
    }
    assert!(!m.codes().contains(&"unknown-flag"));
    eprintln!("real tree: {n} entries, all defined or explained, all flags resolved");
}

#[test]
fn every_bpf_kfunc_definition_is_found() {
    let Some(root) = tree() else { return };
    let m = manifest(&root);
    let text = text_scan(&root);
    let found: BTreeSet<String> = m
        .kfuncs
        .iter()
        .filter(|k| k.bpf_kfunc_attr)
        .map(|k| k.name.clone())
        .collect();
    assert_eq!(found, text.attr_functions);
    eprintln!(
        "real tree: {} functions defined with __bpf_kfunc",
        found.len()
    );
}

#[test]
fn every_registration_call_is_resolved() {
    let Some(root) = tree() else { return };
    let m = manifest(&root);
    let text = text_scan(&root);
    let resolved: usize = m.sets.iter().map(|s| s.registrations.len()).sum();
    let unresolved = m
        .codes()
        .iter()
        .filter(|c| **c == "unresolved-registration")
        .count();
    assert_eq!(resolved + unresolved, text.registrations);
    assert_eq!(unresolved, 0);
    eprintln!("real tree: {resolved} registration calls, all resolved to a set");
}

#[test]
fn spot_checks_of_flags_and_prototypes() {
    let Some(root) = tree() else { return };
    let m = manifest(&root);
    let entry = |n: &str| -> &SetEntry {
        m.sets
            .iter()
            .flat_map(|s| &s.entries)
            .find(|e| e.name == n)
            .unwrap_or_else(|| panic!("no entry `{n}`"))
    };
    // KF_ACQUIRE | KF_RET_NULL | KF_RELEASE, from the tree's btf.h
    assert_eq!(entry("bpf_ct_insert_entry").flags_value, Some(7));
    assert_eq!(
        entry("crash_kexec").condition.as_deref(),
        Some("defined(CONFIG_CRASH_DUMP)")
    );
    let params = &m.kfunc_named("bpf_wq_set_callback_impl").params;
    assert_eq!(params.len(), 4);
    assert_eq!(
        (
            params[3].name.as_str(),
            params[3].ty.as_str(),
            params[3].annotation.as_deref()
        ),
        ("aux__ign", "void *", Some("__ign"))
    );
    assert_eq!(params[1].ty, "int (*)(void *map, int *key, void *value)");
    assert_eq!(
        m.kfunc_named("bpf_task_acquire").return_type,
        "struct task_struct *"
    );
    let d = m.kfunc_named("bpf_dynptr_slice");
    assert_eq!(d.params[3].annotation.as_deref(), Some("__szk"));
    assert_eq!(d.prog_types, ["BPF_PROG_TYPE_UNSPEC"]);
    assert_eq!(m.flag_values["KF_RCU_PROTECTED"], 1 << 11);
    assert!(m.kernel_version.as_deref().unwrap().starts_with("6.12."));
}

#[test]
fn output_is_identical_with_one_thread() {
    let Some(root) = tree() else { return };
    let m = manifest(&root);
    let one = cmd([&root]).arg("-q").arg("--jobs").arg("1").expect(0);
    assert_eq!(&one.manifest(), m);
    let again = cmd([&root]).arg("-q").expect(0);
    assert_eq!(one.0.stdout, again.0.stdout, "byte-identical");
}

/// The files holding the sets and the kfuncs' definitions.
fn source_files(m: &Manifest) -> BTreeSet<&str> {
    m.sets
        .iter()
        .map(|s| s.file.as_str())
        .chain(m.kfuncs.iter().map(|k| k.file.as_str()))
        .collect()
}

/// The parser leaves long runs of blanks out of what tree-sitter reads
/// (`parse::code_ranges`); on the files that hold the sets and the kfuncs
/// the trees are the whole text's, node for node.
#[test]
fn leaving_blanks_out_of_the_parse_changes_no_node() {
    use kfunc_scan::scan::{mask, parse};
    let Some(root) = tree() else { return };
    let files = source_files(manifest(&root));
    let mut gaps = 0;
    for f in &files {
        let masked = mask::mask(&std::fs::read(root.join(f)).unwrap());
        gaps += parse::compare_with_whole_parse(&masked).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    eprintln!("{} files, {gaps} runs of blanks left out", files.len());
    assert!(gaps > files.len(), "{gaps} runs in {} files", files.len());
}

/// The queries run on the project's engine (`scan::pattern`); on the files
/// that hold the sets and the kfuncs, and a few large ones of the tree, it
/// finds what tree-sitter's own engine finds, query by query.
#[test]
fn the_engine_finds_what_tree_sitters_finds() {
    use kfunc_scan::scan::pattern::compare_with_tree_sitter;
    use kfunc_scan::scan::queries::Queries;
    let Some(root) = tree() else { return };
    let mut files = source_files(manifest(&root));
    files.extend([
        "include/linux/btf.h",
        "net/socket.c",
        "kernel/bpf/verifier.c",
    ]);
    let mut n = 0;
    for f in &files {
        let Ok(bytes) = std::fs::read(root.join(f)) else {
            continue;
        };
        n += compare_with_tree_sitter(&bytes, &Queries::EMBEDDED)
            .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    eprintln!("{} files, {n} matches", files.len());
    assert!(n > 1000, "{n} matches");
}
