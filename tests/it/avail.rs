//! `kfunc-scan avail` against independent reads of the same BTF
//! (`bpftool btf dump`'s raw listing), on the running kernel and on the
//! shared 6.12 and 6.18 BTFs; the 6.12 manifest comes from the tree in
//! KFUNC_SCAN_LINUX.

use crate::common;

use common::{cmd, manifest_612, missing, shared_file};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const SYS_BTF: &str = "/sys/kernel/btf";

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

/// FUNCs named by a whole-declaration `bpf_kfunc` decl tag, read from
/// `bpftool btf dump file F [base B]`'s raw text: (name, id).
fn tagged_by_bpftool(file: &Path, base: Option<&Path>) -> BTreeSet<String> {
    let mut c = Command::new("bpftool");
    c.args(["btf", "dump", "file"]).arg(file);
    if let Some(b) = base {
        c.arg("base").arg(b);
    }
    let out = c.output().expect("bpftool");
    assert!(out.status.success(), "bpftool btf dump {}", file.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut funcs = std::collections::HashMap::new();
    let mut tagged = Vec::new();
    for line in text.lines() {
        // [63511] FUNC 'bpf_arena_alloc_pages' type_id=63510 linkage=static
        // [63512] DECL_TAG 'bpf_kfunc' type_id=63511 component_idx=-1
        let mut w = line.split_whitespace();
        let (Some(id), Some(kind), Some(name)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        let id = id.trim_start_matches('[').trim_end_matches(']');
        let name = name.trim_matches('\'');
        match kind {
            "FUNC" => {
                funcs.insert(id.to_string(), name.to_string());
            }
            "DECL_TAG" if name == "bpf_kfunc" && line.ends_with("component_idx=-1") => {
                let target = line
                    .split("type_id=")
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .unwrap_or_default();
                tagged.push(target.to_string());
            }
            _ => {}
        }
    }
    tagged
        .iter()
        .filter_map(|t| funcs.get(t).cloned())
        .collect()
}

/// The directory of Debian 6.12's vmlinux and module BTFs (shared data),
/// or `None` after reporting it missing.
fn btf_dir_612() -> Option<String> {
    let vmlinux = shared_file("linux-6.12.117/vmlinux.btf")?;
    Some(
        vmlinux
            .parent()
            .expect("dir")
            .to_string_lossy()
            .into_owned(),
    )
}

fn avail_json(args: &[&str]) -> serde_json::Value {
    let r = cmd(["avail", "--format", "json", "-q"])
        .args(args)
        .expect(0);
    serde_json::from_str(&r.stdout()).expect("avail's JSON")
}

fn names_by_object(v: &serde_json::Value) -> BTreeSet<(String, String)> {
    v["kfuncs"]
        .as_array()
        .expect("kfuncs")
        .iter()
        .map(|k| {
            (
                k["object"].as_str().unwrap_or_default().to_string(),
                k["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn avail_lists_exactly_the_funcs_with_a_bpf_kfunc_tag_in_sys_kernel_btf() {
    let vmlinux = Path::new(SYS_BTF).join("vmlinux");
    if !vmlinux.is_file() {
        return missing("/sys/kernel/btf/vmlinux (a kernel with BTF)");
    }
    if !have("bpftool") {
        return;
    }
    let mut want: BTreeSet<(String, String)> = tagged_by_bpftool(&vmlinux, None)
        .into_iter()
        .map(|n| ("vmlinux".to_string(), n))
        .collect();
    let mut modules = 0;
    for e in std::fs::read_dir(SYS_BTF)
        .expect("read /sys/kernel/btf")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "vmlinux" {
            modules += 1;
            for f in tagged_by_bpftool(&e.path(), Some(&vmlinux)) {
                want.insert((name.clone(), f));
            }
        }
    }
    let v = avail_json(&[]);
    assert_eq!(names_by_object(&v), want, "{modules} modules loaded");
    assert!(want.len() > 100, "{} kfuncs", want.len());
    assert_eq!(v["found_by"], "decl_tags");
    let uname = Command::new("uname").arg("-r").output().expect("uname");
    assert_eq!(v["kernel"], String::from_utf8_lossy(&uname.stdout).trim());
    // the table: a header line and a line per kfunc
    let t = cmd(["avail", "-q"]).expect(0).stdout();
    assert_eq!(t.lines().count(), want.len() + 1);
    assert!(t.starts_with("KFUNC"));
}

#[test]
fn avail_on_the_6_18_btf_reads_its_tags_and_release() {
    let Some(vmlinux) = shared_file("linux-6.18/vmlinux.btf") else {
        return;
    };
    if !have("bpftool") {
        return;
    }
    let dir = vmlinux
        .parent()
        .expect("dir")
        .to_string_lossy()
        .into_owned();
    let v = avail_json(&["--btf-dir", &dir]);
    let want: BTreeSet<(String, String)> = tagged_by_bpftool(&vmlinux, None)
        .into_iter()
        .map(|n| ("vmlinux".into(), n))
        .collect();
    assert_eq!(names_by_object(&v), want);
    assert_eq!(want.len(), 203);
    let release = std::fs::read_to_string(vmlinux.with_file_name("RELEASE")).expect("RELEASE");
    assert_eq!(v["kernel"], release.trim());
    // address_space(1) tags become __arena
    let k = v["kfuncs"]
        .as_array()
        .and_then(|a| a.iter().find(|k| k["name"] == "bpf_arena_alloc_pages"))
        .expect("bpf_arena_alloc_pages");
    assert_eq!(
        k["prototype"],
        "void __arena *bpf_arena_alloc_pages(void *p__map, void __arena *addr__ign, u32 page_cnt, int node_id, u64 flags)"
    );
    assert!(k["flags"].is_null() && k["prototype_matches"].is_null());

    // -o: the same bytes in a file, the table whole (no terminal to fit);
    // a directory as the output is refused before the BTF is read
    let out = tempfile::tempdir().expect("tempdir");
    for format in ["json", "table"] {
        let stdout = cmd(["avail", "--btf-dir", &dir, "--format", format])
            .expect(0)
            .stdout();
        let file = out.path().join(format);
        cmd(["avail", "--btf-dir", &dir, "--format", format, "-o"])
            .arg(&file)
            .expect(0);
        assert_eq!(std::fs::read_to_string(&file).expect("written"), stdout);
    }
    let r = cmd(["avail", "--btf-dir", "/nonexistent", "-o"])
        .arg(out.path())
        .expect(2);
    assert!(r.stderr().contains("error[output]"), "{}", r.stderr());
}

#[test]
fn avail_on_the_6_12_btf_needs_a_manifest_and_takes_its_names() {
    let Some(dir) = btf_dir_612() else {
        return;
    };
    // old pahole: no decl tags, and nothing to tell kfuncs apart without a manifest
    let r = cmd(["avail", "--btf-dir", &dir]).expect(2);
    assert!(r.stderr().contains("error[no-decl-tags]"), "{}", r.stderr());
    assert!(r.stderr().contains("--manifest"), "{}", r.stderr());
    let Some(m) = manifest_612() else {
        return;
    };
    let m = m.to_string_lossy().into_owned();
    let v = avail_json(&["--btf-dir", &dir, "--manifest", &m]);
    assert_eq!(v["found_by"], "manifest");
    assert_eq!(v["kernel"], "6.12.117");
    let got = names_by_object(&v);
    let count = |o: &str| got.iter().filter(|(obj, _)| obj == o).count();
    assert_eq!(
        [
            count("vmlinux"),
            count("nf_conntrack"),
            count("nf_nat"),
            count("fou")
        ],
        // vmlinux: 126 before the X-macro set xdp_metadata_kfunc_ids was
        // expanded, and its 3 XDP metadata kfuncs
        [129, 10, 1, 2]
    );
    // its own source: every prototype is the BTF's
    for k in v["kfuncs"].as_array().expect("kfuncs") {
        assert_eq!(k["prototype_matches"], true, "{k}");
    }
    let k = v["kfuncs"]
        .as_array()
        .and_then(|a| a.iter().find(|k| k["name"] == "bpf_task_from_pid"))
        .expect("bpf_task_from_pid");
    assert_eq!(k["sleepable"], false);
    assert_eq!(k["flags"], serde_json::json!(["KF_ACQUIRE", "KF_RET_NULL"]));
    assert!(k["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("Find a struct task_struct")));
    let stderr = cmd(["avail", "--btf-dir", &dir, "--manifest", &m])
        .expect(0)
        .stderr();
    assert!(stderr.contains("no bpf_kfunc decl tags"), "{stderr}");
    // the count says what it leaves out of the manifest's, and adds up:
    // listed + left out = the manifest's kfuncs (read from its file)
    let total = std::fs::read(&m)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|j| j["kfuncs"].as_array().map(|a| a.len()))
        .expect("the manifest's kfuncs");
    let listed = v["kfuncs"].as_array().map_or(0, |a| a.len());
    let said = format!("(of the manifest's {total}: ");
    let at = stderr
        .find(&said)
        .unwrap_or_else(|| panic!("{said} in {stderr}"));
    let why = &stderr[at + said.len()..];
    let why = &why[..why.find(')').unwrap_or(why.len())];
    let left: usize = why
        .split(", ")
        .filter_map(|p| p.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(listed + left, total, "{stderr}");
}

#[test]
fn a_manifest_of_another_version_shows_as_prototypes_that_differ() {
    let (Some(vmlinux), Some(m)) = (shared_file("linux-6.18/vmlinux.btf"), manifest_612()) else {
        return;
    };
    let dir = vmlinux
        .parent()
        .expect("dir")
        .to_string_lossy()
        .into_owned();
    let m = m.to_string_lossy().into_owned();
    // another series: refused unless allowed, naming both versions
    let r = cmd(["avail", "--btf-dir", &dir, "--manifest", &m]).expect(2);
    assert!(
        r.stderr().contains("error[version-mismatch]")
            && r.stderr().contains("but the BTF is of Linux 6.18"),
        "{}",
        r.stderr()
    );
    let v = avail_json(&[
        "--btf-dir",
        &dir,
        "--manifest",
        &m,
        "--allow-version-mismatch",
    ]);
    let differ: BTreeSet<&str> = v["kfuncs"]
        .as_array()
        .expect("kfuncs")
        .iter()
        .filter(|k| k["prototype_matches"] == false)
        .filter_map(|k| k["name"].as_str())
        .collect();
    // 6.18 made bpf_path_d_path's path const, bpf_lookup_user_key's serial
    // signed, and renamed bpf_wq_set_callback_impl's last parameter
    assert_eq!(
        differ,
        BTreeSet::from([
            "bpf_lookup_user_key",
            "bpf_path_d_path",
            "bpf_wq_set_callback_impl"
        ])
    );
}

#[test]
fn prog_type_filters_and_the_scripting_form_answers_by_exit_status() {
    let Some(dir) = btf_dir_612() else {
        return;
    };
    // BTF alone cannot say which program types may call a kfunc
    let r = cmd(["avail", "--btf-dir", &dir, "--prog-type", "xdp"]).expect(2);
    assert!(r.stderr().contains("needs --manifest"), "{}", r.stderr());
    let Some(m) = manifest_612() else {
        return;
    };
    let m = m.to_string_lossy().into_owned();
    let base = ["avail", "--btf-dir", &dir, "--manifest", &m];
    let all = avail_json(&base[1..]);
    let xdp = avail_json(&[&base[1..], &["--prog-type", "xdp"]].concat());
    assert_eq!(xdp["prog_type"], "BPF_PROG_TYPE_XDP");
    let xdp_names = names_by_object(&xdp);
    let want: BTreeSet<(String, String)> = all["kfuncs"]
        .as_array()
        .expect("kfuncs")
        .iter()
        .filter(|k| {
            k["prog_types"]
                .as_array()
                .is_some_and(|p| p.iter().any(|t| t == "BPF_PROG_TYPE_XDP"))
        })
        .map(|k| {
            (
                k["object"].as_str().unwrap_or_default().into(),
                k["name"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(xdp_names, want);
    assert!(xdp_names.contains(&("nf_conntrack".into(), "bpf_xdp_ct_lookup".into())));
    assert!(
        !xdp_names.iter().any(|(_, n)| n == "bpf_lookup_user_key"),
        "sleepable, tracing only"
    );
    assert!(xdp_names.len() < all["kfuncs"].as_array().map_or(0, Vec::len));
    // is X available to Y: 0 yes, 1 no, 2 cannot tell
    cmd(base)
        .args(["--has", "bpf_task_from_pid", "--prog-type", "syscall"])
        .expect(0);
    cmd(base).args(["--has", "bpf_task_from_pid"]).expect(0);
    cmd(base)
        .args(["--has", "bpf_task_from_pid", "--prog-type", "socket_filter"])
        .expect(1);
    cmd(base).args(["--has", "no_such_kfunc"]).expect(1);
    let r = cmd(base).args(["--prog-type", "no_such_type"]).expect(2);
    assert!(
        r.stderr().contains("unknown program type"),
        "{}",
        r.stderr()
    );
}
