//! The manifest's consumers: documentation pages, ebpf-docs YAML, the C
//! header (compiled for real with clang -target bpf) and the API diff.

use crate::common;
use common::*;
use kfunc_scan::diff::{diff, Change};
use kfunc_scan::manifest::Manifest;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// linux-mini's manifest (exit 1: the tree holds a broken set on purpose).
fn mini_manifest(dir: &Path) -> PathBuf {
    let m = dir.join("mini.json");
    cmd([
        mini().as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        m.as_os_str(),
    ])
    .expect(1);
    m
}

/// `body` compiles with clang for BPF after the header `h` and the few
/// typedefs a vmlinux.h would give (when clang is there).
fn compiles_for_bpf(dir: &Path, h: &str, body: &str) {
    if !have("clang") {
        return;
    }
    // the types come from here, not a vmlinux.h: said as the header asks
    let prelude = "#define KFUNC_SCAN_KERNEL_TYPES\ntypedef unsigned char u8; typedef unsigned int u32; typedef unsigned long long u64;\n";
    fs::write(dir.join("kfuncs.h"), h).unwrap();
    fs::write(
        dir.join("prog.c"),
        format!("{prelude}#include \"kfuncs.h\"\n{body}\n"),
    )
    .unwrap();
    clang_bpf(dir, &[]);
}

/// Compiles `dir/prog.c` for BPF into `dir/prog.o` with clang (`-O2
/// -Werror`, and `extra`); the test fails with clang's errors if it does not
/// compile.
fn clang_bpf(dir: &Path, extra: &[&str]) {
    let cc = Command::new("clang")
        .args([
            "-O2", "-Werror", "-target", "bpf", "-c", "prog.c", "-o", "prog.o",
        ])
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing(format!("{tool} is not installed"));
    }
    ok
}

#[test]
fn header_declares_what_bpf_programs_call() {
    let dir = tempfile::tempdir().unwrap();
    let m = mini_manifest(dir.path());
    let h = cmd(["header", "--manifest"]).arg(&m).expect(0).stdout();
    let decls: Vec<&str> = h.lines().filter(|l| l.starts_with("extern ")).collect();
    // worked out from testdata/linux-mini by hand: the reduced forms, the
    // generated _impl forms, the legacy _impl once, no fmod_ret target
    for want in [
        "extern void *bpf_obj_new(u64 local_type_id) __ksym __weak;",
        "extern void *bpf_obj_new_impl(u64 local_type_id, const struct btf_struct_meta *meta, struct bpf_prog_aux *aux) __ksym __weak;",
        "extern int bpf_wq_set_callback(struct bpf_wq *wq, int (*callback_fn)(void *map, int *key, void *value), unsigned int flags) __ksym __weak;",
        "extern int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (*callback_fn)(void *map, int *key, void *value), unsigned int flags, void *aux__ign) __ksym __weak;",
        "extern int bpf_mini_printk(int stream_id, const char *fmt__str, const void *args, u32 len__sz) __ksym __weak;",
        "extern u64 bpf_mini_two(u64 x) __ksym __weak;",
        "extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym __weak;",
        "extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym __weak;",
        "extern void truncated_kfunc(void) __ksym __weak;",
    ] {
        assert!(decls.contains(&want), "missing: {want}\n{h}");
    }
    assert_eq!(
        decls
            .iter()
            .filter(|d| d.contains(" bpf_wq_set_callback_impl("))
            .count(),
        1
    );
    assert!(
        !h.contains("update_socket_protocol"),
        "fmod_ret targets are not kfuncs"
    );
    assert!(h.contains("#ifndef KFUNC_SCAN_SKIP_bpf_obj_new\n"));
    assert!(h.contains("struct bpf_prog_aux;\n"));

    // compiles for BPF, with the few typedefs a vmlinux.h would give
    compiles_for_bpf(
        dir.path(),
        &h,
        "int f(struct task_struct *t) { struct task_struct *a = bpf_task_acquire(t); if (a) bpf_task_release(a); return bpf_mini_two(7) + !!bpf_obj_new(1); }",
    );
}

/// KF_ARENA_* flags put `__arena` on the pointers they name, as in the
/// selftests' declarations (`void __arena *bpf_arena_alloc_pages(void *map,
/// void __arena *addr, …)`), and the header defines the macro; clang takes
/// it for BPF.
#[test]
fn the_manifest_header_marks_arena_pointers() {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-arena");
    let h = cmd(["header".as_ref(), "--tree".as_ref(), tree.as_os_str()])
        .expect(0)
        .stdout();
    for want in [
        // KF_ARENA_RET | KF_ARENA_ARG2
        "extern void __arena *bpf_arena_alloc_pages(void *p__map, void __arena *addr__ign, u32 page_cnt, int node_id, u64 flags) __ksym __weak;",
        // KF_ARENA_ARG2 only
        "extern void bpf_arena_free_pages(void *p__map, void __arena *ptr__ign, u32 page_cnt) __ksym __weak;",
        // KF_ARENA_ARG1 on a struct pointer; RET and ARG1 together
        "extern u64 bpf_arena_hdr_len(struct arena_hdr __arena *hdr, u32 off) __ksym __weak;",
        "extern struct arena_hdr __arena *bpf_arena_hdr_next(struct arena_hdr __arena *hdr) __ksym __weak;",
        // no arena flag
        "extern u32 bpf_arena_page_size(void) __ksym __weak;",
        "#ifndef __arena\n#define __arena __attribute__((address_space(1)))\n#endif\n",
    ] {
        assert!(h.contains(want), "{want}\n{h}");
    }
    // a tree without arena flags gets no macro
    let dir = tempfile::tempdir().unwrap();
    let mini_h = cmd([
        "header".as_ref(),
        "--manifest".as_ref(),
        mini_manifest(dir.path()).as_os_str(),
    ])
    .expect(0)
    .stdout();
    assert!(!mini_h.contains("__arena"), "{mini_h}");
    compiles_for_bpf(
        dir.path(),
        &h,
        // the header's `__arena` is its declarations' only (undefined at its
        // end, so that bpf_arena_common.h may define its own): spelled out here
        "#define AS1 __attribute__((address_space(1)))\nint f(void *map) { void AS1 *p = bpf_arena_alloc_pages(map, (void AS1 *)0, 1, -1, 0); struct arena_hdr AS1 *h = p; return (int)bpf_arena_hdr_len(h, 0); }",
    );
}

/// The compile test the issue asks for: a BPF object including a vmlinux.h
/// that bpftool made from Debian's 6.12 BTF and the header made from the 6.12
/// source, calling a handful of kfuncs, built by clang -O2 -target bpf.
#[test]
fn header_compiles_against_a_real_vmlinux_h() {
    let Some(tree) = env_path("KFUNC_SCAN_LINUX", "the 6.12 tree") else {
        return;
    };
    let Some(btf) = shared_file("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    if !have("clang") || !have("bpftool") {
        return;
    }
    let inc = Path::new("/usr/include/bpf/bpf_helpers.h");
    if !inc.is_file() {
        missing("libbpf-dev's bpf_helpers.h is absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vmlinux = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(&btf)
        .args(["format", "c"])
        .output()
        .unwrap();
    assert!(vmlinux.status.success());
    fs::write(dir.path().join("vmlinux.h"), &vmlinux.stdout).unwrap();
    let h = dir.path().join("kfuncs.h");
    cmd(["header", "--tree"])
        .arg(&tree)
        .arg("-o")
        .arg(&h)
        .expect(0);
    fs::write(
        dir.path().join("prog.c"),
        r#"#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kfuncs.h"
char LICENSE[] SEC("license") = "GPL";
SEC("tp_btf/task_newtask")
int handle(u64 *ctx)
{
	struct task_struct *t = bpf_task_from_pid(1);
	struct bpf_cpumask *m;
	int n = 0;
	if (t) {
		struct task_struct *a = bpf_task_acquire(t);
		if (a)
			bpf_task_release(a);
		bpf_task_release(t);
	}
	m = bpf_cpumask_create();
	if (m) {
		bpf_cpumask_set_cpu(0, m);
		n = bpf_cpumask_weight((const struct cpumask *)m);
		bpf_cpumask_release(m);
	}
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return n;
}
"#,
    )
    .unwrap();
    clang_bpf(dir.path(), &["-g"]);
    let decls = fs::read_to_string(&h)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("extern "))
        .count();
    eprintln!("real 6.12 header: {decls} declarations; the BPF object compiles with -Werror");
}

fn links(page: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\]\(([^)#]+\.md)\)").unwrap();
    re.captures_iter(page).map(|c| c[1].to_string()).collect()
}

#[test]
fn docs_pages_link_both_ways_and_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let m = mini_manifest(dir.path());
    let out = dir.path().join("site");
    let docs = || cmd(["docs", "--manifest"]).arg(&m).arg("-o").arg(&out);
    docs().expect(0);

    // 21 of linux-mini's 22 defined kfuncs are in kfunc sets:
    // update_socket_protocol is an fmod_ret target
    let pages: BTreeSet<String> = fs::read_dir(out.join("kfuncs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        pages.len(),
        22 - 1, /* update_socket_protocol */
        "{pages:?}"
    );
    assert!(!pages.contains("update_socket_protocol.md"));

    let obj = fs::read_to_string(out.join("kfuncs/bpf_obj_new.md")).unwrap();
    assert!(
        obj.contains("```c\nvoid *bpf_obj_new(u64 local_type_id);\n```"),
        "{obj}"
    );
    assert!(obj.contains("The verifier supplies `meta`, `aux` (KF_IMPLICIT_ARGS)"));
    assert!(obj.contains("`void *bpf_obj_new_impl(u64 local_type_id, const struct btf_struct_meta *meta, struct bpf_prog_aux *aux)`"));
    assert!(obj.contains("- `KF_ACQUIRE`: Acquires a reference"));
    assert!(obj.contains("- `KF_RET_NULL`: May return NULL"));
    // registered for TRACING: LSM shares its hook in the tree's btf.c
    assert!(
        obj.contains("[BPF_PROG_TYPE_LSM](../program-types/BPF_PROG_TYPE_LSM.md)"),
        "{obj}"
    );
    assert!(obj.contains("[generic_btf_ids](../sets/generic_btf_ids.md)"));
    assert!(obj.contains("Allocate an object of a program-defined type."));
    let slice = fs::read_to_string(out.join("kfuncs/bpf_dynptr_slice.md")).unwrap();
    assert!(slice.contains("| `buffer__szk` | `u32` |  | `__szk`: a constant size"));
    // UNSPEC: every program type with a hook
    assert!(slice.contains("the common hook"));
    for t in [
        "BPF_PROG_TYPE_LSM",
        "BPF_PROG_TYPE_SYSCALL",
        "BPF_PROG_TYPE_XDP",
    ] {
        assert!(slice.contains(&format!("[{t}]")), "{t}");
    }

    // every link resolves, and kfunc pages are linked back from their indexes
    for entry in walk(&out) {
        let text = fs::read_to_string(&entry).unwrap();
        for l in links(&text) {
            let target = entry.parent().unwrap().join(&l);
            assert!(target.is_file(), "{} links to missing {l}", entry.display());
        }
    }
    let set_page = fs::read_to_string(out.join("sets/generic_btf_ids.md")).unwrap();
    assert!(set_page.contains("[bpf_obj_new](../kfuncs/bpf_obj_new.md)"));
    let lsm = fs::read_to_string(out.join("program-types/BPF_PROG_TYPE_LSM.md")).unwrap();
    assert!(lsm.contains("[bpf_obj_new](../kfuncs/bpf_obj_new.md)"));

    // deterministic, and stale pages go
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&out)
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    fs::write(
        out.join("kfuncs/gone_kfunc.md"),
        format!("{}\n# gone\n", kfunc_scan::docs::MARKER),
    )
    .unwrap();
    fs::write(out.join("kfuncs/handwritten.md"), "# mine\n").unwrap();
    let again = docs().expect(0).stderr();
    assert!(again.contains(", 1 stale page removed"), "{again}");
    assert!(!out.join("kfuncs/gone_kfunc.md").exists());
    assert!(
        out.join("kfuncs/handwritten.md").exists(),
        "pages not ours are left alone"
    );
    fs::remove_file(out.join("kfuncs/handwritten.md")).unwrap();
    let after: Vec<(PathBuf, Vec<u8>)> = walk(&out)
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before, after);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn ebpf_docs_yaml_has_their_shape() {
    let dir = tempfile::tempdir().unwrap();
    let m = mini_manifest(dir.path());
    let y = dir.path().join("kfuncs.yaml");
    cmd(["docs", "--format", "ebpf-docs", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&y)
        .expect(0);
    let text = fs::read_to_string(&y).unwrap();
    let want = "  generic_btf_ids:
    funcs:
      - name: bpf_task_acquire
        flags: [KF_ACQUIRE, KF_RCU, KF_RET_NULL]
      - name: bpf_task_release
        flags: [KF_RELEASE]
      - name: bpf_cgroup_acquire
        flags: [KF_ACQUIRE, KF_RCU, KF_RET_NULL]
      - name: bpf_obj_new
        flags: [KF_ACQUIRE, KF_RET_NULL, KF_IMPLICIT_ARGS]
    program_types:
      - name: BPF_PROG_TYPE_LSM
      - name: BPF_PROG_TYPE_SCHED_CLS
      - name: BPF_PROG_TYPE_TRACING
      - name: BPF_PROG_TYPE_XDP
";
    assert!(text.contains(want), "{text}");
    assert!(text.starts_with("# Generated by kfunc-scan"));
    assert!(text.contains("\nsets:\n"));
    assert!(text.contains("  common_btf_ids:\n"));
    assert!(text.contains("    program_types:\n      - name: BPF_PROG_TYPE_UNSPEC\n"));
    assert!(
        !text.contains("mini_fmodret_ids"),
        "fmod_ret target sets are not kfunc sets"
    );
}

/// A copy of linux-mini with known edits, to diff against the original.
fn edited_mini(dir: &Path) -> PathBuf {
    let copy = dir.join("linux-edited");
    let status = Command::new("cp")
        .arg("-r")
        .arg(mini())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let helpers = copy.join("kernel/bpf/helpers.c");
    let s = fs::read_to_string(&helpers).unwrap();
    let s = s
        // removed from its set: gone for BPF programs
        .replace("BTF_ID_FLAGS(func, bpf_task_release, KF_RELEASE)\n", "")
        // a flag added (breaking) and one lifted
        .replace(
            "BTF_ID_FLAGS(func, bpf_dynptr_slice, KF_RET_NULL)",
            "BTF_ID_FLAGS(func, bpf_dynptr_slice, KF_SLEEPABLE)",
        )
        // a parameter's type changed (breaking)
        .replace(
            "__bpf_kfunc int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)",
            "__bpf_kfunc int bpf_iter_num_new(struct bpf_iter_num *it, u64 start, int end)",
        )
        // a rename only (not breaking)
        .replace(
            "__bpf_kfunc void bpf_iter_num_destroy(struct bpf_iter_num *it)",
            "__bpf_kfunc void bpf_iter_num_destroy(struct bpf_iter_num *iter)",
        )
        // a new kfunc
        .replace(
            "BTF_KFUNCS_END(common_btf_ids)",
            "BTF_ID_FLAGS(func, bpf_brand_new)\nBTF_KFUNCS_END(common_btf_ids)",
        )
        + "\n__bpf_kfunc int bpf_brand_new(void) { return 0; }\n";
    fs::write(&helpers, s).unwrap();
    copy
}

#[test]
fn diff_reports_and_judges_changes() {
    let dir = tempfile::tempdir().unwrap();
    let old = mini_manifest(dir.path());
    let edited = edited_mini(dir.path());
    let new = dir.path().join("new.json");
    cmd([
        edited.as_os_str(),
        "-q".as_ref(),
        "-o".as_ref(),
        new.as_os_str(),
    ])
    .expect(1);
    let d = diff(&read_manifest(&old), &read_manifest(&new), false);
    assert_eq!(d.added, ["bpf_brand_new"]);
    assert_eq!(d.removed, ["bpf_task_release"]);
    let changed: Vec<&str> = d.changed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        changed,
        [
            "bpf_dynptr_slice",
            "bpf_iter_num_destroy",
            "bpf_iter_num_new"
        ]
    );
    let c = |n: &str| &d.changed.iter().find(|c| c.name == n).unwrap().changes[0];
    assert_eq!(
        c("bpf_dynptr_slice"),
        &Change::Flags {
            added: vec!["KF_SLEEPABLE".into()],
            removed: vec!["KF_RET_NULL".into()],
            breaking: true
        }
    );
    assert!(
        matches!(c("bpf_iter_num_new"), Change::Prototype { breaking: true, what, .. } if what == "parameter 1 type int → u64"),
        "{:?}",
        c("bpf_iter_num_new")
    );
    assert!(!c("bpf_iter_num_destroy").breaking());
    // removed + dynptr_slice + iter_num_new
    assert_eq!(d.breaking, 3);

    // the command: the same diff as JSON, the report, and the exit status
    let json_out = cmd(["diff", "--json"]).arg(&old).arg(&new).expect(0);
    assert_eq!(
        json(&json_out.0),
        serde_json::to_value(&d).unwrap(),
        "--json is the library's Diff"
    );
    let t = cmd(["diff"]).arg(&old).arg(&new).expect(0).stdout();
    assert_eq!(t, kfunc_scan::diff::report(&d));
    assert!(
        t.starts_with("kfuncs 7.0.3-mini → 7.0.3-mini: 1 added, 1 removed, 3 changed (3 breaking)"),
        "{t}"
    );
    assert!(t.contains("  - bpf_task_release"));
    cmd(["diff", "--fail-on-breaking"])
        .arg(&old)
        .arg(&new)
        .expect(1);
    cmd(["diff", "--fail-on-breaking"])
        .arg(&old)
        .arg(&old)
        .expect(0);
}

/// Debian's 6.1 and 6.12 trees: the diff's added and removed kfuncs are the
/// set differences of the two manifests' callable kfuncs outside tools/, and
/// known changes show up.
#[test]
fn diff_of_real_trees_6_1_to_6_12() {
    let Some(mo) = manifest_61() else {
        return;
    };
    let Some(mn) = manifest_612() else {
        return;
    };
    // both trees scan clean (exit 0: no error diagnostic)
    for m in [&mo, &mn] {
        assert_eq!(read_manifest(m).error_count(), 0, "{}", m.display());
    }
    let (om, nm) = (read_manifest(&mo), read_manifest(&mn));
    let names = |m: &Manifest| -> BTreeSet<String> {
        m.callable_kfuncs()
            .iter()
            .filter(|k| !k.is_selftest())
            .map(|k| k.name.clone())
            .collect()
    };
    let (o, n) = (names(&om), names(&nm));
    let d = diff(&om, &nm, false);
    let added: BTreeSet<String> = d.added.iter().cloned().collect();
    let removed: BTreeSet<String> = d.removed.iter().cloned().collect();
    assert_eq!(added, n.difference(&o).cloned().collect());
    assert_eq!(removed, o.difference(&n).cloned().collect());
    assert!(added.contains("bpf_task_acquire"));
    assert!(added.contains("bpf_iter_num_new"));
    // bbr_main gained parameters between 6.1 and 6.12
    let bbr = d
        .changed
        .iter()
        .find(|c| c.name == "bbr_main")
        .expect("bbr_main changed");
    assert!(
        matches!(bbr.changes[0], Change::Prototype { breaking: true, .. }),
        "{:?}",
        bbr.changes
    );
    eprintln!(
        "6.1 → 6.12: {} added, {} removed, {} changed, {} breaking",
        added.len(),
        removed.len(),
        d.changed.len(),
        d.breaking
    );
}
