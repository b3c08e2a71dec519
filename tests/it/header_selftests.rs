//! The kernel's own BPF selftests, built with kfunc-scan's headers in place
//! of their hand-written kfunc declarations: 30 programs of Linux 6.12's
//! `tools/testing/selftests/bpf/progs/`, compiled as its Makefile compiles
//! them (`clang -g -Wall -Werror -O2 --target=bpf -mcpu=v3`, the selftests'
//! include directories, the host's system directories `-idirafter`).
//!
//! The rule applied to the text of each program and of the selftests'
//! own headers (`progs/*.h`, `bpf/*.h`: `bpf_kfuncs.h`,
//! `bpf_experimental.h`, `bpf_arena_common.h`, … declare kfuncs too): every
//! top-level declaration ending in `__ksym` (with or without `extern`,
//! `__weak`) of a function the header under test declares is replaced by
//! blank lines; the first one in each file by `#include
//! "kfunc_scan_kfuncs.h"`, which includes the header(s). Declarations of
//! what the header does not declare (variables, the selftests' own
//! module's kfuncs) stay.
//!
//! Both headers are meant to compile, with different prerequisites:
//! - `header --btf` of Debian's 6.12 vmlinux and of its nf_conntrack, nf_nat
//!   and fou modules (`--base vmlinux.btf`), four headers included together:
//!   self-contained, so every program compiles, with or without vmlinux.h
//!   (several use uapi `<linux/bpf.h>` instead);
//! - `header --manifest` of a 6.12 scan: declarations only, after
//!   vmlinux.h. The programs that include vmlinux.h compile; those that do
//!   not stop at the header's one `#error`, which names vmlinux.h.
//!
//! Four programs declare kfuncs differently from the kernel on purpose,
//! and compile with the header only when those differences are warnings
//! (`DELIBERATE`): each fails without, and only with those diagnostics.
//!
//! Needs: `KFUNC_SCAN_LINUX` (the 6.12 tree), the shared data's
//! `linux-6.12.117/{vmlinux,nf_conntrack,nf_nat,fou}.btf`, clang, bpftool
//! and python3 (the tree's `scripts/bpf_doc.py` writes
//! `bpf_helper_defs.h`, as the selftests' build does). Without them the
//! test says `SKIPPED`.

use crate::common;

use common::{cmd, env_path, manifest_612, missing, shared_file};
use rayon::prelude::*;
use regex::Regex;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A selftest program, and why it is one of the 30.
struct Prog {
    file: &'static str,
    /// It includes vmlinux.h (directly or through a selftests header), so
    /// the manifest's header compiles in it too.
    vmlinux_h: bool,
    /// Its own declarations differ from the kernel's on purpose: the
    /// diagnostics that difference raises, made warnings for it.
    deliberate: Option<&'static [&'static str]>,
    #[allow(dead_code)]
    why: &'static str,
}

const fn p(file: &'static str, vmlinux_h: bool, why: &'static str) -> Prog {
    Prog {
        file,
        vmlinux_h,
        deliberate: None,
        why,
    }
}

/// `___local` flavours of the kernel's structs and enums (libbpf ignores
/// the suffix), and `struct nf_conn *` where the kernel has `struct
/// nf_conn___init *`: the programs declare the kfuncs with their own types.
const FLAVOURS: &[&str] = &["incompatible-pointer-types", "enum-conversion"];

const fn deliberate(file: &'static str, why: &'static str) -> Prog {
    Prog {
        file,
        vmlinux_h: true,
        deliberate: Some(FLAVOURS),
        why,
    }
}

const PROGRAMS: &[Prog] = &[
    p("verifier_arena.c", true, "arena kfuncs with __arena; bpf_arena_common.h defines __arena (empty before clang 18) after the header"),
    p("verifier_arena_large.c", true, "the same, with bpf_experimental.h's declarations stripped first"),
    p("arena_list.c", true, "arena allocation through bpf_arena_alloc.h"),
    p("test_parse_tcp_hdr_opt_dynptr.c", false, "uapi <linux/bpf.h>, <stdbool.h> and <linux/ipv6.h>, no vmlinux.h: __sk_buff, bool, in6_addr must not clash"),
    p("uprobe_multi_consumers.c", false, "uapi <linux/bpf.h> and stdbool, bpf_kfuncs.h's declarations"),
    p("kprobe_multi_session.c", false, "bpf_session_is_return without vmlinux.h (<stdbool.h>)"),
    p("trigger_bench.c", false, "uapi <linux/bpf.h>: __sk_buff and xdp_md must not be redefined"),
    p("test_tcp_custom_syncookie.c", true, "fills struct bpf_tcp_req_attrs and passes attrs__sz"),
    p("xdp_metadata.c", true, "XDP metadata kfuncs, enum xdp_rss_hash_type"),
    p("xdp_hw_metadata.c", true, "the same, with the VLAN tag kfunc"),
    p("tcp_ca_kfunc.c", true, "twenty TCP congestion-control kfuncs declared by hand"),
    p("bpf_cc_cubic.c", true, "TCP congestion-control kfuncs beside bpf_tracing_net.h"),
    p("bpf_dctcp.c", true, "tcp_reno_cong_avoid"),
    p("iters_task.c", true, "task, css and num iterators' state on the stack"),
    p("iters_css.c", true, "css iterator"),
    p("iters_task_vma.c", true, "task_vma iterator"),
    p("rbtree.c", true, "bpf_experimental.h's graph kfuncs: rb-tree"),
    p("linked_list.c", true, "bpf_experimental.h's graph kfuncs: lists"),
    p("refcounted_kptr.c", true, "refcounts, rb-tree and lists together"),
    p("test_cgroup1_hierarchy.c", true, "cgroup v1 kfuncs"),
    p("test_task_under_cgroup.c", true, "task and cgroup acquire/release"),
    p("sock_destroy_prog.c", true, "bpf_sock_destroy"),
    p("decap_sanity.c", true, "bpf_skb_set_fou_encap's neighbour: skb kfuncs of vmlinux"),
    p("ip_check_defrag.c", true, "bpf_dynptr_from_skb and bpf_dynptr_slice"),
    p("verifier_netfilter_ctx.c", true, "bpf_dynptr_from_skb from a netfilter program"),
    p("test_fsverity.c", true, "bpf_get_fsverity_digest, dynptrs"),
    deliberate("test_bpf_nf.c", "nf_conntrack and nf_nat kfuncs (module types after vmlinux.h: struct bpf_ct_opts, enum nf_nat_manip_type); declares them with struct bpf_ct_opts___local, enum nf_nat_manip_type___local and struct nf_conn * for nf_conn___init *"),
    deliberate("test_bpf_nf_fail.c", "nf_conntrack kfuncs; struct bpf_ct_opts___local"),
    deliberate("xdp_synproxy_kern.c", "bpf_xdp_ct_lookup with a struct bpf_sock_tuple it fills; struct bpf_ct_opts___local"),
    deliberate("test_tunnel_kern.c", "fou's bpf_skb_set_fou_encap; struct bpf_fou_encap___local"),
];

/// The program that passes a module's enum (nf_nat's `enum
/// nf_nat_manip_type`) to a kfunc by value.
const MODULE_ENUM_BY_VALUE: &str = "test_bpf_nf.c";

/// A kfunc declaration of the selftests: at the start of a line, a
/// function declarator (`name(…)`), `__ksym` after it, up to the `;`;
/// no braces, `#`, `=` or comment inside (so not a definition, a
/// directive or an initialised variable).
const DECLARATION: &str =
    r"(?m)^(?:extern\s+)?[A-Za-z_][^;{}#=/]*?\([^;{}#]*?\)[^;{}#(]*?__ksym[^;{}#]*;";

/// The name a declaration declares: the first identifier before a `(`.
fn declared_name(decl: &str) -> Option<&str> {
    let re = Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(").ok()?;
    re.captures(decl).and_then(|c| c.get(1)).map(|m| m.as_str())
}

/// Every function a header declares (`extern … name(…`).
fn header_names(text: &str) -> Vec<String> {
    let re = Regex::new(r"(?m)^extern [^;(]*?\b([A-Za-z_][A-Za-z0-9_]*)\(").expect("regex");
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// `text` with the declarations of `names` stripped (see the module's
/// comment); whether any was.
fn strip(text: &str, names: &[String]) -> (String, bool) {
    let re = Regex::new(DECLARATION).expect("regex");
    let mut first = true;
    let out = re.replace_all(text, |c: &regex::Captures| {
        let d = &c[0];
        if !declared_name(d).is_some_and(|n| names.iter().any(|k| k == n)) {
            return d.to_string();
        }
        let lines = "\n".repeat(d.matches('\n').count());
        let r = if first {
            format!(
                "#include \"kfunc_scan_kfuncs.h\" /* was: {} */{lines}",
                declared_name(d).unwrap_or("")
            )
        } else {
            format!("/* declared by kfunc-scan's header */{lines}")
        };
        first = false;
        r
    });
    (out.into_owned(), !first)
}

fn have(tools: &[&str]) -> bool {
    for t in tools {
        let ok = Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            missing(format!("{t} is not installed"));
            return false;
        }
    }
    true
}

fn run_ok(c: &mut Command) -> Vec<u8> {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The selftests Makefile's `get_sys_includes`: clang's own search
/// directories for the host, given to the BPF build `-idirafter`.
fn sys_includes() -> Vec<String> {
    let out = Command::new("clang")
        .args(["-v", "-E", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clang -v");
    let text = String::from_utf8_lossy(&out.stderr);
    let mut inside = false;
    let mut dirs = Vec::new();
    for l in text.lines() {
        if l.starts_with("#include <...> search starts here:") {
            inside = true;
        } else if l.starts_with("End of search list.") {
            break;
        } else if inside {
            dirs.push("-idirafter".to_string());
            dirs.push(l.trim().to_string());
        }
    }
    dirs
}

/// What every build shares: the selftests directory, the generated
/// include directory (vmlinux.h, `bpf/`), the host's directories.
struct Env {
    selftests: PathBuf,
    tree: PathBuf,
    include: PathBuf,
    sys: Vec<String>,
}

/// A copy of the selftests' headers and the 30 programs, stripped of the
/// declarations of `names`, with `kfunc_scan_kfuncs.h` including
/// `headers`, in `dir`.
fn stripped_copy(env: &Env, dir: &Path, names: &[String], headers: &[PathBuf]) {
    fs::create_dir_all(dir.join("progs")).expect("mkdir");
    for (from, to) in [
        (env.selftests.join("progs"), dir.join("progs")),
        (env.selftests.clone(), dir.to_path_buf()),
    ] {
        for e in fs::read_dir(&from).expect("read selftests") {
            let p = e.expect("entry").path();
            let is_h = p.extension().is_some_and(|x| x == "h");
            let wanted = is_h
                || PROGRAMS
                    .iter()
                    .any(|g| p.file_name().is_some_and(|n| n == g.file));
            if !wanted || !p.is_file() || (!is_h && from == env.selftests) {
                continue;
            }
            let text = fs::read_to_string(&p).expect("read");
            let (text, _) = strip(&text, names);
            fs::write(to.join(p.file_name().expect("name")), text).expect("write");
        }
    }
    let inc: String = headers
        .iter()
        .map(|h| format!("#include \"{}\"\n", h.display()))
        .collect();
    fs::write(dir.join("kfunc_scan_kfuncs.h"), inc).expect("write");
}

/// clang as the selftests Makefile runs it, on `dir/progs/FILE`; its
/// stderr when it fails.
fn compile(env: &Env, dir: &Path, file: &str, extra: &[String]) -> Result<(), String> {
    let out = Command::new("clang")
        .args([
            "-g",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
            "-mlittle-endian",
        ])
        .arg("-I")
        .arg(&env.include)
        .arg("-I")
        .arg(dir)
        .arg("-I")
        .arg(env.tree.join("tools/include/uapi"))
        .arg("-Wno-compare-distinct-pointer-types")
        .args(&env.sys)
        .args(extra)
        .args(["-O2", "--target=bpf", "-mcpu=v3", "-c"])
        .arg(dir.join("progs").join(file))
        .arg("-o")
        .arg(dir.join(file.replace(".c", ".o")))
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Whether `progs/file` in `dir`, or a selftests header it includes
/// (`#include "…"`), includes `kfunc_scan_kfuncs.h`.
fn includes_ours(dir: &Path, file: &str) -> bool {
    let ours = |p: &Path| fs::read_to_string(p).is_ok_and(|t| t.contains("kfunc_scan_kfuncs.h"));
    let prog = dir.join("progs").join(file);
    let text = fs::read_to_string(&prog).unwrap_or_default();
    let re = Regex::new(r#"(?m)^#include "([^"]+)""#).expect("regex");
    ours(&prog)
        || re
            .captures_iter(&text)
            .any(|c| ours(&dir.join("progs").join(&c[1])) || ours(&dir.join(&c[1])))
}

fn errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(" error: ")).collect()
}

fn no_warning(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|f| format!("-Wno-{f}")).collect()
}

/// Set up what both headers' builds need; None (said) when something is
/// missing.
fn setup(dir: &Path) -> Option<Env> {
    let tree = env_path("KFUNC_SCAN_LINUX", "the 6.12 tree")?;
    let selftests = tree.join("tools/testing/selftests/bpf");
    if !selftests.join("progs").is_dir() {
        missing(format!("{} has no selftests", tree.display()));
        return None;
    }
    if !have(&["clang", "bpftool", "python3"]) {
        return None;
    }
    let vmlinux = shared_file("linux-6.12.117/vmlinux.btf")?;
    let include = dir.join("include");
    fs::create_dir_all(include.join("bpf")).expect("mkdir");
    let mut c = Command::new("bpftool");
    c.args(["btf", "dump", "file"])
        .arg(&vmlinux)
        .args(["format", "c"]);
    fs::write(include.join("vmlinux.h"), run_ok(&mut c)).expect("write vmlinux.h");
    for e in fs::read_dir(tree.join("tools/lib/bpf")).expect("tools/lib/bpf") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "h") {
            fs::copy(&p, include.join("bpf").join(p.file_name().expect("name"))).expect("copy");
        }
    }
    let mut c = Command::new("python3");
    c.arg(tree.join("scripts/bpf_doc.py"))
        .args(["--header", "--file"])
        .arg(tree.join("include/uapi/linux/bpf.h"));
    fs::write(include.join("bpf/bpf_helper_defs.h"), run_ok(&mut c)).expect("write");
    Some(Env {
        selftests,
        tree,
        include,
        sys: sys_includes(),
    })
}

/// The 30 programs built in `dir` after [`stripped_copy`]; the failures,
/// with their errors.
fn build_all(
    env: &Env,
    dir: &Path,
    want_ok: impl Fn(&Prog) -> bool + Sync,
) -> Vec<(&'static str, String)> {
    PROGRAMS
        .par_iter()
        .filter(|g| want_ok(g))
        .filter_map(|g| {
            let extra = g.deliberate.map(no_warning).unwrap_or_default();
            compile(env, dir, g.file, &extra).err().map(|e| (g.file, e))
        })
        .collect()
}

fn report(what: &str, failed: &[(&str, String)], of: usize) {
    let text: String = failed
        .iter()
        .map(|(f, e)| format!("--- {f}\n{}\n", errors(e).join("\n")))
        .collect();
    assert!(
        failed.is_empty(),
        "{what}: {} of {of} selftest programs do not compile:\n{text}",
        failed.len()
    );
}

#[test]
fn thirty_selftests_build_on_the_btf_headers_in_place_of_their_declarations() {
    assert_eq!(PROGRAMS.len(), 30);
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(env) = setup(dir.path()) else { return };
    let Some(m) = manifest_612() else { return };
    let base = shared_file("linux-6.12.117/vmlinux.btf").expect("checked in setup");
    let mut headers = Vec::new();
    for module in ["vmlinux", "nf_conntrack", "nf_nat", "fou"] {
        let Some(btf) = shared_file(&format!("linux-6.12.117/{module}.btf")) else {
            return;
        };
        let out = dir.path().join(format!("kfuncs-{module}.h"));
        let mut c = cmd(["header", "--btf"]).arg(&btf).arg("--manifest").arg(&m);
        if module != "vmlinux" {
            c = c.arg("--base").arg(&base);
        }
        c.arg("-o").arg(&out).expect(0);
        headers.push(out);
    }
    let names: Vec<String> = headers
        .iter()
        .flat_map(|h| header_names(&fs::read_to_string(h).expect("read header")))
        .collect();
    // every module's header declares its kfuncs (one guard for all would
    // have left out all but the first)
    for k in [
        "bpf_task_acquire",
        "bpf_xdp_ct_lookup",
        "bpf_ct_set_nat_info",
        "bpf_skb_set_fou_encap",
    ] {
        assert!(names.iter().any(|n| n == k), "{k} is not declared");
    }
    let w = dir.path().join("btf");
    stripped_copy(&env, &w, &names, &headers);
    // the rule strips something from every program (or a header it includes)
    for g in PROGRAMS {
        assert!(includes_ours(&w, g.file), "{}: nothing stripped", g.file);
    }
    let failed = build_all(&env, &w, |_| true);
    report("header --btf", &failed, PROGRAMS.len());
    // the deliberate ones fail without their warnings, and only with them
    let deliberate: Vec<&Prog> = PROGRAMS.iter().filter(|g| g.deliberate.is_some()).collect();
    for g in deliberate {
        let e = compile(&env, &w, g.file, &["-ferror-limit=0".to_string()]).expect_err(g.file);
        let errs = errors(&e);
        let allowed = g.deliberate.unwrap_or_default();
        assert!(!errs.is_empty(), "{}: {e}", g.file);
        for l in errs {
            assert!(
                allowed
                    .iter()
                    .any(|f| l.contains(&format!("[-Werror,-W{f}]"))),
                "{}: an error its declarations do not explain: {l}",
                g.file
            );
        }
    }
}

#[test]
fn the_manifest_header_builds_after_vmlinux_h_and_says_so_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(env) = setup(dir.path()) else { return };
    let Some(m) = manifest_612() else { return };
    let h = dir.path().join("kfuncs-manifest.h");
    cmd(["header", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&h)
        .expect(0);
    let names = header_names(&fs::read_to_string(&h).expect("read header"));
    let w = dir.path().join("manifest");
    stripped_copy(&env, &w, &names, std::slice::from_ref(&h));
    // a manifest has no types: a module's enum a kfunc takes by value is
    // only declared (`enum nf_nat_manip_type;`), and vmlinux.h does not
    // have it (`header --btf` of the module does)
    let module_enum = |g: &Prog| g.file == MODULE_ENUM_BY_VALUE;
    let with = PROGRAMS
        .iter()
        .filter(|g| g.vmlinux_h && !module_enum(g))
        .count();
    let failed = build_all(&env, &w, |g| g.vmlinux_h && !module_enum(g));
    report("header --manifest after vmlinux.h", &failed, with);
    let g = PROGRAMS.iter().find(|g| module_enum(g)).expect("listed");
    let extra = g.deliberate.map(no_warning).unwrap_or_default();
    let e = compile(&env, &w, g.file, &extra).expect_err(g.file);
    for l in errors(&e) {
        assert!(
            l.contains("argument type 'enum nf_nat_manip_type' is incomplete"),
            "{}: {l}",
            g.file
        );
    }
    // without vmlinux.h: the one error that names it, first and alone
    // from the header (the program's own calls may follow)
    let without: Vec<&Prog> = PROGRAMS.iter().filter(|g| !g.vmlinux_h).collect();
    assert!(!without.is_empty());
    let results: Vec<(&str, Result<(), String>)> = without
        .par_iter()
        .map(|g| (g.file, compile(&env, &w, g.file, &[])))
        .collect();
    for (file, r) in results {
        if !includes_ours(&w, file) {
            // nothing of it is the manifest header's (trigger_bench.c's
            // kfunc is in no set a program may call it through)
            assert!(r.is_ok(), "{file}: {r:?}");
            continue;
        }
        let e = r.expect_err(file);
        let errs = errors(&e);
        assert!(
            errs.first().is_some_and(|l| l
                .contains("error: \"kfunc-scan's kfuncs header needs the kernel's types")
                && l.contains("include vmlinux.h before it")),
            "{file}: {e}"
        );
        let h_name = h.display().to_string();
        assert_eq!(
            errs.iter().filter(|l| l.starts_with(&h_name)).count(),
            1,
            "{file}: the header says more than its #error:\n{e}"
        );
    }
}
