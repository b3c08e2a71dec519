//! `kfunc-scan header --btf`, checked by its real clients: clang builds a
//! BPF program against it alone (no vmlinux.h) and the running kernel loads
//! it through libbpf (bpftool prog load), which refuses an extern whose
//! prototype does not match the kernel's; its prototypes equal those
//! bpftool writes; it builds for every kfunc of the shared 6.12 and 6.18
//! BTFs, with the layouts the BTF records.

use crate::common;

use common::{cmd, manifest_612, missing, shared_file};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEVEN: &str = "bpf_task_from_pid,bpf_task_release,bpf_rcu_read_lock,bpf_rcu_read_unlock,bpf_iter_num_new,bpf_iter_num_next,bpf_iter_num_destroy";
const RUNNING: &str = "/sys/kernel/btf/vmlinux";

fn program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bpf/kfuncs_syscall.bpf.c")
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

fn run_ok(c: &mut Command) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// clang -O2 -g -target bpf, with `-D`s and include directories.
fn build_bpf(dir: &Path, defines: &[&str], obj: &str) -> PathBuf {
    let out = dir.join(obj);
    let mut c = Command::new("clang");
    c.args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-c"])
        .arg("-I")
        .arg(dir)
        // <linux/types.h>'s <asm/types.h> lives in the multiarch directory
        .args(["-idirafter", "/usr/include/x86_64-linux-gnu"])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg(program())
        .arg("-o")
        .arg(&out);
    run_ok(&mut c);
    out
}

fn header(args: &[&str], out: &Path) {
    cmd(["header"]).args(args).arg("-o").arg(out).expect(0);
}

/// bpftool prog load OBJ into bpffs, then unpinned (the program goes with it).
fn load(obj: &Path, name: &str) -> Result<(), String> {
    let pin =
        PathBuf::from("/sys/fs/bpf").join(format!("kfunc_scan_{name}_{}", std::process::id()));
    let out = Command::new("bpftool")
        .args(["prog", "load"])
        .arg(obj)
        .arg(&pin)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&pin);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn is_root() -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        missing("root (to load BPF programs)");
    }
    root
}

#[test]
fn a_program_built_on_the_header_alone_loads_into_the_running_kernel() {
    if !Path::new(RUNNING).is_file() {
        return missing("/sys/kernel/btf/vmlinux (a kernel with BTF)");
    }
    if !have(&["clang", "bpftool"]) || !is_root() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let h = dir.path().join("kfuncs.h");
    header(&["--btf", RUNNING, "--kfuncs", SEVEN], &h);
    let text = std::fs::read_to_string(&h).expect("header");
    // self-contained: the iterator's state in full, task_struct empty-bodied
    assert!(
        text.contains("struct bpf_iter_num {\n\t__u64 __opaque[1];\n};"),
        "{text}"
    );
    assert!(text.contains("struct task_struct {};"), "{text}");
    assert_eq!(text.matches("__weak __ksym;").count(), 7);
    let obj = build_bpf(dir.path(), &["KFUNCS_H=\"kfuncs.h\""], "alone.o");
    load(&obj, "alone").unwrap_or_else(|e| panic!("bpftool prog load refused it:\n{e}"));
    // no larger than 2% of bpftool's vmlinux.h for the same kernel
    let vmlinux_h =
        run_ok(Command::new("bpftool").args(["btf", "dump", "file", RUNNING, "format", "c"]));
    assert!(
        text.len() * 50 <= vmlinux_h.len(),
        "{} bytes against vmlinux.h's {}",
        text.len(),
        vmlinux_h.len()
    );
}

#[test]
fn forward_declarations_alone_are_what_libbpf_refuses() {
    // why pointer-only structs have an empty body: the same program with
    // `struct task_struct;` instead does not load
    if !Path::new(RUNNING).is_file() {
        return missing("/sys/kernel/btf/vmlinux (a kernel with BTF)");
    }
    if !have(&["clang", "bpftool"]) || !is_root() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let h = dir.path().join("kfuncs.h");
    header(&["--btf", RUNNING, "--kfuncs", SEVEN], &h);
    let text = std::fs::read_to_string(&h).expect("header");
    std::fs::write(&h, text.replace("struct task_struct {};", "")).expect("write");
    let obj = build_bpf(dir.path(), &["KFUNCS_H=\"kfuncs.h\""], "fwd.o");
    let e = load(&obj, "fwd").expect_err("libbpf accepted a FWD for a STRUCT");
    assert!(e.contains("incompatible"), "{e}");
}

#[test]
fn after_vmlinux_h_the_header_keeps_only_its_declarations() {
    if !Path::new(RUNNING).is_file() {
        return missing("/sys/kernel/btf/vmlinux (a kernel with BTF)");
    }
    if !have(&["clang", "bpftool"]) || !is_root() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let vmlinux_h =
        run_ok(Command::new("bpftool").args(["btf", "dump", "file", RUNNING, "format", "c"]));
    std::fs::write(dir.path().join("vmlinux.h"), vmlinux_h).expect("write");
    header(&["--btf", RUNNING], &dir.path().join("kfuncs.h"));
    let defs = ["WITH_VMLINUX_H", "KFUNCS_H=\"kfuncs.h\""];
    let obj = build_bpf(dir.path(), &defs, "with_vmlinux.o");
    load(&obj, "vmlinux").unwrap_or_else(|e| panic!("bpftool prog load refused it:\n{e}"));
}

#[test]
fn the_same_program_builds_on_the_6_12_manifest_header_and_vmlinux_h() {
    let Some(btf) = shared_file("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    if !have(&["clang", "bpftool"]) {
        return;
    }
    let Some(m) = manifest_612() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Command::new("bpftool");
    c.args(["btf", "dump", "file"])
        .arg(&btf)
        .args(["format", "c"]);
    std::fs::write(dir.path().join("vmlinux.h"), run_ok(&mut c)).expect("write");
    header(
        &["--manifest", &m.to_string_lossy()],
        &dir.path().join("m612.h"),
    );
    build_bpf(
        dir.path(),
        &["WITH_VMLINUX_H", "KFUNCS_H=\"m612.h\""],
        "m612.o",
    );
}

/// What bpftool 7.5 and later write for each kfunc at the end of `btf dump
/// … format c` (`dump_btf_kfuncs`): every type dumped first (settling the
/// names as vmlinux.h has them), then `extern <decl> __weak __ksym;` through
/// libbpf's `btf_dump__emit_type_decl`, for each FUNC a `bpf_kfunc` tag
/// names or (a BTF without tags) each FUNC named after the files.
const BPFTOOL_KFUNCS_C: &str = r#"
#include <bpf/btf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
static int quiet = 1;
static void print(void *ctx, const char *fmt, va_list args) { if (!quiet) vprintf(fmt, args); }
static int named(const char *n, int argc, char **argv)
{ for (int i = 3; i < argc; i++) if (!strcmp(n, argv[i])) return 1; return 0; }
int main(int argc, char **argv)
{
	struct btf *base = NULL, *btf;
	struct btf_dump *d;
	LIBBPF_OPTS(btf_dump_emit_type_decl_opts, opts);
	int n, i;
	if (argc < 3) return 2;
	if (strcmp(argv[2], "-") && !(base = btf__parse(argv[2], NULL))) return 2;
	if (!(btf = btf__parse_split(argv[1], base))) return 2;
	if (!(d = btf_dump__new(btf, print, NULL, NULL))) return 2;
	n = btf__type_cnt(btf);
	for (i = 1; i < n; i++) if (btf_dump__dump_type(d, i)) return 2;
	quiet = 0;
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		if (argc > 3) {
			if (!btf_is_func(t) || !named(btf__name_by_offset(btf, t->name_off), argc, argv)) continue;
		} else {
			if (!btf_is_decl_tag(t) || btf_decl_tag(t)->component_idx != -1) continue;
			if (strcmp(btf__name_by_offset(btf, t->name_off), "bpf_kfunc")) continue;
			t = btf__type_by_id(btf, t->type);
			if (!btf_is_func(t)) continue;
		}
		opts.field_name = btf__name_by_offset(btf, t->name_off);
		printf("extern ");
		if (btf_dump__emit_type_decl(d, t->type, &opts)) return 2;
		printf(" __weak __ksym;\n");
	}
	return 0;
}
"#;

fn bpftool_kfuncs_tool(dir: &Path) -> PathBuf {
    let src = dir.join("bpftool_kfuncs.c");
    std::fs::write(&src, BPFTOOL_KFUNCS_C).expect("write");
    let exe = dir.join("bpftool_kfuncs");
    run_ok(
        Command::new("clang")
            .arg("-O1")
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .arg("-lbpf"),
    );
    exe
}

/// One spelling for both sides: our `__arena` is the macro for
/// `__attribute__((address_space(1)))`; libbpf before 1.5/1.6 (Debian's
/// 1.1) wrote `f()` for a prototype without parameters and a kind-flag type
/// tag as `btf_type_tag("…")`, where bpftool's kfunc dump (7.5 on) writes
/// `f(void)` and `__attribute__((address_space(1)))`.
fn normalise(lines: &str) -> Vec<String> {
    let mut v: Vec<String> = lines
        .lines()
        .filter(|l| l.starts_with("extern "))
        .map(|l| {
            l.replace("__arena", "__attribute__((address_space(1)))")
                .replace("btf_type_tag(\"address_space(1)\")", "address_space(1)")
                .replace("() __weak __ksym;", "(void) __weak __ksym;")
        })
        .collect();
    v.sort();
    v
}

fn compare_with_bpftool(
    tool: &Path,
    btf: &Path,
    base: Option<&Path>,
    args: &[&str],
    names: &[String],
) -> usize {
    let mut c = Command::new(tool);
    c.arg(btf)
        .arg(base.map_or(Path::new("-"), |b| b))
        .args(names);
    let theirs = normalise(&run_ok(&mut c));
    let mut h = cmd(["header", "--btf"]).arg(btf);
    if let Some(b) = base {
        h = h.arg("--base").arg(b);
    }
    let ours = normalise(&h.args(args).expect(0).stdout());
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs, "{}", btf.display());
    ours.len()
}

#[test]
fn prototypes_equal_bpftool_s() {
    if !have(&["clang"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tool = bpftool_kfuncs_tool(dir.path());
    if Path::new(RUNNING).is_file() {
        assert!(compare_with_bpftool(&tool, Path::new(RUNNING), None, &[], &[]) > 100);
    } else {
        missing("/sys/kernel/btf/vmlinux (a kernel with BTF)");
    }
    if let Some(b) = shared_file("linux-6.18/vmlinux.btf") {
        assert_eq!(compare_with_bpftool(&tool, &b, None, &[], &[]), 203);
    }
    let (Some(v612), Some(m)) = (shared_file("linux-6.12.117/vmlinux.btf"), manifest_612()) else {
        return;
    };
    // no decl tags: the manifest names the kfuncs (the same names for both)
    let m = m.to_string_lossy().into_owned();
    for (file, base, count) in [
        ("vmlinux.btf", None, 129), // 126 + the 3 X-macro XDP metadata kfuncs
        ("nf_conntrack.btf", Some(v612.as_path()), 10),
        ("nf_nat.btf", Some(v612.as_path()), 1),
        ("fou.btf", Some(v612.as_path()), 2),
    ] {
        let btf = v612.with_file_name(file);
        let names: Vec<String> = cmd(["header", "--btf"])
            .arg(&btf)
            .args(
                base.map(|b| vec!["--base".as_ref(), b.as_os_str()])
                    .unwrap_or_default(),
            )
            .args(["--manifest", &m])
            .expect(0)
            .stdout()
            .lines()
            .filter(|l| l.starts_with("extern "))
            .filter_map(|l| {
                l.split('(')
                    .next()?
                    .rsplit([' ', '*'])
                    .next()
                    .map(str::to_string)
            })
            .collect();
        let got = compare_with_bpftool(&tool, &btf, base, &["--manifest", &m], &names);
        assert_eq!(got, count, "{file}");
    }
}

/// `_Static_assert`s of every fully defined struct's size and alignment
/// against the BTF.
fn layout_asserts(header: &str, btf: &kfunc_scan::btf::Btf) -> String {
    use kfunc_scan::btf::Kind;
    let mut out = String::new();
    for l in header.lines() {
        let Some(name) = l.strip_prefix("struct ").and_then(|r| r.strip_suffix(" {")) else {
            continue;
        };
        let t = (1..btf.end_id())
            .filter_map(|id| btf.get(id))
            .find(|t| t.kind() == Kind::Struct && btf.name(t) == name && t.vlen() > 0)
            .unwrap_or_else(|| panic!("struct {name} not in the BTF"));
        let size = t.size().unwrap_or(0);
        let align = kfunc_scan::btf::c::align_of(btf, t.id()).expect("align");
        out.push_str(&format!(
            "_Static_assert(sizeof(struct {name}) == {size}, \"{name} size\");\n\
             _Static_assert(_Alignof(struct {name}) == {align}, \"{name} alignment\");\n"
        ));
    }
    out
}

#[test]
fn headers_for_every_kfunc_build_with_the_btf_s_layouts() {
    if !have(&["clang"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut inputs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for f in ["linux-6.18/vmlinux.btf"] {
        if let Some(p) = shared_file(f) {
            inputs.push((p, vec![]));
        }
    }
    if Path::new(RUNNING).is_file() {
        inputs.push((RUNNING.into(), vec![]));
    }
    if let (Some(v), Some(m)) = (shared_file("linux-6.12.117/vmlinux.btf"), manifest_612()) {
        let m = m.to_string_lossy().into_owned();
        inputs.push((v.clone(), vec!["--manifest".into(), m.clone()]));
        for module in ["nf_conntrack.btf", "nf_nat.btf", "fou.btf"] {
            let args = vec![
                "--base".into(),
                v.to_string_lossy().into_owned(),
                "--manifest".into(),
                m.clone(),
            ];
            inputs.push((v.with_file_name(module), args));
        }
    }
    for (i, (btf, args)) in inputs.iter().enumerate() {
        let h = dir.path().join(format!("h{i}.h"));
        header(
            &[
                &["--btf", &btf.to_string_lossy()][..],
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
            &h,
        );
        let text = std::fs::read_to_string(&h).expect("header");
        let data = std::fs::read(btf).expect("btf");
        let base = args.iter().position(|a| a == "--base").map(|i| {
            kfunc_scan::btf::Btf::parse(&std::fs::read(&args[i + 1]).expect("base"), None)
                .expect("base")
        });
        let parsed = kfunc_scan::btf::Btf::parse(&data, base).expect("btf");
        let c = dir.path().join(format!("c{i}.c"));
        std::fs::write(
            &c,
            format!("#include \"h{i}.h\"\n{}", layout_asserts(&text, &parsed)),
        )
        .expect("write");
        let mut cc = Command::new("clang");
        cc.args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-c"])
            .arg(&c)
            .arg("-o")
            .arg(dir.path().join(format!("c{i}.o")));
        run_ok(&mut cc);
    }
}

#[test]
fn arena_pointers_are_written_as_arena() {
    let (Some(v618), Some(v612)) = (
        shared_file("linux-6.18/vmlinux.btf"),
        shared_file("linux-6.12.117/vmlinux.btf"),
    ) else {
        return;
    };
    let want = "extern void __arena *bpf_arena_alloc_pages(void *p__map, void __arena *addr__ign, u32 page_cnt, int node_id, u64 flags) __weak __ksym;";
    // from the BTF's address_space(1) type tags
    let h = cmd(["header", "--btf"])
        .arg(&v618)
        .args(["--kfuncs", "bpf_arena_alloc_pages"])
        .expect(0)
        .stdout();
    assert!(h.contains(want), "{h}");
    assert!(
        h.contains("#ifndef __arena\n#define __arena __attribute__((address_space(1)))\n#endif"),
        "{h}"
    );
    // from the manifest's flags, on a BTF without the tags (6.12's pahole)
    let Some(m) = manifest_612() else {
        return;
    };
    let mut man = common::read_manifest(&m);
    let k = man
        .kfuncs
        .iter_mut()
        .find(|k| k.name == "bpf_arena_alloc_pages")
        .expect("kfunc");
    k.flags
        .extend(["KF_ARENA_RET".to_string(), "KF_ARENA_ARG2".to_string()]);
    let dir = tempfile::tempdir().expect("tempdir");
    let flagged = dir.path().join("m.json");
    std::fs::write(&flagged, man.to_json()).expect("write");
    let plain = cmd(["header", "--btf"])
        .arg(&v612)
        .args(["--kfuncs", "bpf_arena_alloc_pages"])
        .expect(0)
        .stdout();
    assert!(
        plain.contains("extern void *bpf_arena_alloc_pages(void *p__map, void *addr__ign,"),
        "{plain}"
    );
    let h = cmd(["header", "--btf"])
        .arg(&v612)
        .args(["--kfuncs", "bpf_arena_alloc_pages", "--manifest"])
        .arg(&flagged)
        .expect(0)
        .stdout();
    assert!(h.contains(want), "{h}");
}

#[test]
fn the_header_s_selection_errors_name_what_is_missing() {
    let Some(v612) = shared_file("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    let v = v612.to_string_lossy().into_owned();
    // no tags, nothing naming the kfuncs
    let r = cmd(["header", "--btf", &v]).expect(2);
    assert!(r.stderr().contains("error[no-decl-tags]"), "{}", r.stderr());
    // program types need a manifest
    let r = cmd(["header", "--btf", &v, "--prog-type", "xdp"]).expect(2);
    assert!(r.stderr().contains("needs --manifest"), "{}", r.stderr());
    // a name that is no FUNC
    let r = cmd([
        "header",
        "--btf",
        &v,
        "--kfuncs",
        "bpf_task_from_pid,no_such_kfunc",
    ])
    .expect(2);
    assert!(
        r.stderr().contains("no_such_kfunc") && !r.stderr().contains("bpf_task_from_pid"),
        "{}",
        r.stderr()
    );
    if let Some(v618) = shared_file("linux-6.18/vmlinux.btf") {
        // a FUNC that is not a kfunc, in a BTF with tags
        let r = cmd(["header", "--btf"])
            .arg(&v618)
            .args(["--kfuncs", "schedule"])
            .expect(2);
        assert!(r.stderr().contains("not a kfunc"), "{}", r.stderr());
    }
    let Some(m) = manifest_612() else {
        return;
    };
    let h = cmd([
        "header",
        "--btf",
        &v,
        "--manifest",
        &m.to_string_lossy(),
        "--prog-type",
        "xdp",
    ])
    .expect(0)
    .stdout();
    assert!(
        h.contains(" *bpf_xdp_get_xfrm_state(") || h.contains("bpf_dynptr_from_xdp("),
        "{h}"
    );
    assert!(!h.contains("bpf_lookup_user_key("), "{h}");
}

/// clang -fsyntax-only -Wall -Werror -target bpf of `prog` in `dir`, with
/// the multiarch directory for `<asm/types.h>`; clang's errors if not.
fn syntax_ok(dir: &Path, prog: &str) -> Result<(), String> {
    std::fs::write(dir.join("prog.c"), prog).expect("write");
    let out = Command::new("clang")
        .args(["-fsyntax-only", "-Wall", "-Werror", "-target", "bpf"])
        .arg("-I")
        .arg(dir)
        .args(["-idirafter", "/usr/include/x86_64-linux-gnu"])
        .arg(dir.join("prog.c"))
        .output()
        .expect("clang");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The structs a program fills and passes with their size (the parameter
/// after them is `…__sz`) have their bodies, also when the program has
/// uapi `<linux/bpf.h>` (whose `__sk_buff` and `bpf_sock_tuple` the
/// header must not define again) or `<stdbool.h>` (`bool` a macro); on
/// main `struct bpf_crypto_params {}` was empty (sizeof 0, no members) and
/// `struct __sk_buff {}` a redefinition.
#[test]
fn structs_passed_with_their_size_are_complete_and_uapi_ones_are_not_redefined() {
    let Some(v612) = shared_file("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    if !have(&["clang"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    header(
        &[
            "--btf",
            &v612.to_string_lossy(),
            "--kfuncs",
            "bpf_crypto_ctx_create,bpf_sk_assign_tcp_reqsk,bpf_xdp_get_xfrm_state,bpf_session_is_return",
        ],
        &dir.path().join("kfuncs.h"),
    );
    let h = std::fs::read_to_string(dir.path().join("kfuncs.h")).expect("read");
    for s in [
        "bpf_crypto_params",
        "bpf_tcp_req_attrs",
        "bpf_xfrm_state_opts",
    ] {
        assert!(h.contains(&format!("struct {s} {{\n")), "{s}:\n{h}");
    }
    // taken behind a pointer with no size after it: still an empty body
    assert!(h.contains("struct bpf_crypto_ctx {};"), "{h}");
    let body = r#"
int f(struct __sk_buff *skb, struct sock *sk, struct xdp_md *x)
{
	struct bpf_crypto_params p = { .type = "skcipher", .key_len = 16 };
	struct bpf_tcp_req_attrs a = { .mss = 1460 };
	struct bpf_xfrm_state_opts o = { .netns_id = -1 };
	int err = 0;
	struct bpf_crypto_ctx *c = bpf_crypto_ctx_create(&p, sizeof(p), &err);
	bool r = bpf_session_is_return();
	return !!c + r + bpf_sk_assign_tcp_reqsk(skb, sk, &a, sizeof(a)) +
	       !!bpf_xdp_get_xfrm_state(x, &o, sizeof(o));
}
"#;
    // alone, then after uapi linux/bpf.h and stdbool.h
    syntax_ok(dir.path(), &format!("#include \"kfuncs.h\"\n{body}"))
        .unwrap_or_else(|e| panic!("{e}\n{h}"));
    syntax_ok(
        dir.path(),
        &format!("#include <linux/bpf.h>\n#include <stdbool.h>\n#include \"kfuncs.h\"\n{body}"),
    )
    .unwrap_or_else(|e| panic!("{e}\n{h}"));
}

/// A module's header after vmlinux.h still has the module's types (on
/// main they were inside `#ifndef __VMLINUX_H__`: "use of undeclared
/// identifier 'NF_NAT_MANIP_SRC'"); the headers of vmlinux and of two
/// modules included together, with or without vmlinux.h, each declare
/// their kfuncs (on main they shared one include guard) and define each
/// shared type once.
#[test]
fn module_headers_keep_their_types_after_vmlinux_h_and_go_together() {
    let files: Vec<Option<PathBuf>> = ["vmlinux", "nf_conntrack", "nf_nat"]
        .iter()
        .map(|m| shared_file(&format!("linux-6.12.117/{m}.btf")))
        .collect();
    let [Some(v), Some(ct), Some(nat)] = &files[..] else {
        return;
    };
    if !have(&["clang", "bpftool"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let v_s = v.to_string_lossy().into_owned();
    header(
        &[
            "--btf",
            &v_s,
            "--kfuncs",
            "bpf_task_from_pid,bpf_task_release",
        ],
        &d.join("k-vmlinux.h"),
    );
    header(
        &[
            "--btf",
            &ct.to_string_lossy(),
            "--base",
            &v_s,
            "--kfuncs",
            "bpf_xdp_ct_alloc,bpf_ct_insert_entry,bpf_ct_release",
        ],
        &d.join("k-ct.h"),
    );
    header(
        &[
            "--btf",
            &nat.to_string_lossy(),
            "--base",
            &v_s,
            "--kfuncs",
            "bpf_ct_set_nat_info",
        ],
        &d.join("k-nat.h"),
    );
    let mut c = Command::new("bpftool");
    c.args(["btf", "dump", "file"]).arg(v).args(["format", "c"]);
    std::fs::write(d.join("vmlinux.h"), run_ok(&mut c)).expect("write");
    let body = r#"
#include "k-vmlinux.h"
#include "k-ct.h"
#include "k-nat.h"
#include "k-ct.h"
int f(struct xdp_md *x, union nf_inet_addr *a)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts o = { .netns_id = -1, .l4proto = 6 };
	struct nf_conn___init *ni = bpf_xdp_ct_alloc(x, &t, sizeof(t.ipv4), &o, sizeof(o));
	struct task_struct *p = bpf_task_from_pid(1);
	if (p)
		bpf_task_release(p);
	if (!ni)
		return 0;
	bpf_ct_set_nat_info(ni, a, 80, NF_NAT_MANIP_SRC);
	bpf_ct_release(bpf_ct_insert_entry(ni));
	return NF_NAT_MANIP_DST;
}
"#;
    let h = || {
        ["k-vmlinux.h", "k-ct.h", "k-nat.h"]
            .map(|f| std::fs::read_to_string(d.join(f)).expect("read"))
            .join("\n")
    };
    syntax_ok(d, &format!("#include \"vmlinux.h\"\n{body}"))
        .unwrap_or_else(|e| panic!("{e}\n{}", h()));
    syntax_ok(d, body).unwrap_or_else(|e| panic!("{e}\n{}", h()));
}

/// `__arena` is the header's for its own declarations: a later
/// definition (bpf_arena_common.h's, empty on a clang without
/// address-space casts) is no redefinition; one made before is kept.
#[test]
fn the_header_s_arena_macro_does_not_outlive_it() {
    let Some(v618) = shared_file("linux-6.18/vmlinux.btf") else {
        return;
    };
    if !have(&["clang"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    header(
        &[
            "--btf",
            &v618.to_string_lossy(),
            "--kfuncs",
            "bpf_arena_alloc_pages",
        ],
        &dir.path().join("kfuncs.h"),
    );
    let h = std::fs::read_to_string(dir.path().join("kfuncs.h")).expect("read");
    syntax_ok(
        dir.path(),
        "#include \"kfuncs.h\"\n#ifdef __arena\n#error still defined\n#endif\n#define __arena\nvoid *f(void *m) { return (void *)bpf_arena_alloc_pages(m, 0, 1, -1, 0); }\n",
    )
    .unwrap_or_else(|e| panic!("{e}\n{h}"));
    // defined first (empty, as bpf_arena_common.h on clang 14): used, kept
    syntax_ok(
        dir.path(),
        "#define __arena\n#include \"kfuncs.h\"\nvoid __arena *f(void *m) { void *p = bpf_arena_alloc_pages(m, (void *)0, 1, -1, 0); return p; }\n",
    )
    .unwrap_or_else(|e| panic!("{e}\n{h}"));
}

/// The manifest's header without vmlinux.h (nor `KFUNC_SCAN_KERNEL_TYPES`):
/// one error, which names vmlinux.h, instead of one per unknown type (on
/// main: "unknown type name 'u32'", once per declaration using it).
#[test]
fn the_manifest_header_names_vmlinux_h_when_the_types_are_missing() {
    if !have(&["clang"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let h = cmd([
        "header".as_ref(),
        "--tree".as_ref(),
        common::mini().as_os_str(),
    ])
    .output();
    std::fs::write(dir.path().join("kfuncs.h"), &h.stdout).expect("write");
    let e = syntax_ok(dir.path(), "#include \"kfuncs.h\"\nint x;\n").expect_err("compiled");
    let errors: Vec<&str> = e.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 1, "{e}");
    assert!(e.contains("\n1 error generated."), "{e}");
    assert!(
        errors[0].contains("error: \"kfunc-scan's kfuncs header needs the kernel's types")
            && errors[0].contains("include vmlinux.h before it"),
        "{e}"
    );
    // said to have them: no error
    syntax_ok(
        dir.path(),
        "#define KFUNC_SCAN_KERNEL_TYPES\ntypedef unsigned char u8; typedef unsigned int u32; typedef unsigned long long u64;\n#include \"kfuncs.h\"\nint x;\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
