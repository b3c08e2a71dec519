//! The BTF reader, writer and patcher on real kernel BTF from ../shared/data
//! (Debian 6.12.117 vmlinux and three split module BTFs; a 6.18 vmlinux),
//! checked by `bpftool btf dump` and by the running kernel (BPF_BTF_LOAD).
//! Each test says so and skips when its data or tool is absent.

use crate::common;
use common::*;
use kfunc_scan::btf::{kernel, Btf, Kind};
use kfunc_scan::manifest::SetKind;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(rel: &str) -> Option<PathBuf> {
    shared_file(rel)
}

fn kernel_accepts(btf: &Btf, what: &str) {
    match kernel::load(&kernel::standalone(btf)) {
        Ok(()) => eprintln!("{what}: accepted by the running kernel"),
        Err(kernel::LoadError::Unavailable(why)) => missing(format!(
            "the kernel's check of {what} (BPF_BTF_LOAD needs root): {why}"
        )),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// `bpftool btf dump` as type ID → its lines; None when bpftool is absent.
fn dump(file: &Path, base: Option<&Path>) -> Option<BTreeMap<u32, String>> {
    let mut cmd = Command::new("bpftool");
    if let Some(b) = base {
        cmd.arg("-B").arg(b);
    }
    let out = match cmd.args(["btf", "dump", "file"]).arg(file).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => panic!("bpftool failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            missing(format!("bpftool (Debian package bpftool): {e}"));
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut types = BTreeMap::new();
    let mut cur: Option<(u32, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            if let Some((id, s)) = cur.take() {
                types.insert(id, s);
            }
            let id: u32 = rest
                .split(']')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("type id");
            cur = Some((id, line.to_string()));
        } else if let Some((_, s)) = cur.as_mut() {
            s.push('\n');
            s.push_str(line);
        }
    }
    if let Some((id, s)) = cur {
        types.insert(id, s);
    }
    Some(types)
}

#[test]
fn every_real_blob_round_trips_byte_for_byte() {
    let Some(vmlinux) = data("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    let raw = fs::read(&vmlinux).unwrap();
    let base = Btf::parse(&raw, None).unwrap();
    assert_eq!(base.to_bytes(), raw);
    assert_eq!(base.end_id() - 1, 112768);
    for m in ["nf_conntrack", "nf_nat", "fou"] {
        let Some(p) = data(&format!("linux-6.12.117/{m}.btf")) else {
            return;
        };
        let split_raw = fs::read(p).unwrap();
        let split = Btf::parse(&split_raw, Some(base.clone())).unwrap();
        assert_eq!(
            split.first_id(),
            112769,
            "{m}: split IDs continue the base's"
        );
        assert_eq!(split.to_bytes(), split_raw, "{m}");
    }
    let Some(v618) = data("linux-6.18/vmlinux.btf") else {
        return;
    };
    let raw = fs::read(v618).unwrap();
    let b = Btf::parse(&raw, None).unwrap();
    assert_eq!(b.to_bytes(), raw);
    let tags = b.own_types().filter(|t| t.kind() == Kind::DeclTag).count();
    assert_eq!(
        tags, 205,
        "203 bpf_kfunc + 2 bpf_fastcall, as bpftool counts them"
    );
}

#[test]
fn patched_6_18_is_accepted_and_dumps_as_the_input_plus_the_new_types() {
    let Some(input) = data("linux-6.18/vmlinux.btf") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    let out = run(&["synth-manifest", "--btf", input.to_str().unwrap()]);
    assert!(out.status.success());
    fs::write(&manifest, &out.stdout).unwrap();
    let patched = dir.path().join("p.btf");
    let rep = patch_btf(
        dir.path(),
        &[
            "--manifest",
            manifest.to_str().unwrap(),
            "--btf",
            input.to_str().unwrap(),
            "-o",
            patched.to_str().unwrap(),
        ],
    );
    let pairs = rep["pairs_added"].as_array().unwrap();
    assert_eq!(
        pairs.len(),
        128,
        "bpf_kfunc FUNCs whose last parameter is a pointer"
    );

    let btf = Btf::parse(&fs::read(&patched).unwrap(), None).unwrap();
    kernel_accepts(&btf, "patched 6.18 vmlinux");

    let (Some(before), Some(after)) = (dump(&input, None), dump(&patched, None)) else {
        return;
    };
    let repointed: BTreeMap<u64, &serde_json::Value> = pairs
        .iter()
        .map(|p| (p["func_id"].as_u64().unwrap(), p))
        .collect();
    let type_id = regex::Regex::new(r"type_id=\d+").unwrap();
    for (id, text) in &before {
        let now = &after[id];
        match repointed.get(&u64::from(*id)) {
            None => assert_eq!(now, text, "type [{id}] unchanged"),
            Some(p) => {
                let want = type_id
                    .replace(text, format!("type_id={}", p["proto_id"]).as_str())
                    .into_owned();
                assert_eq!(now, &want, "only the prototype of [{id}] changes");
            }
        }
    }
    // the new types are exactly the impls, their tag copies and the protos
    let new: Vec<&String> = after
        .range(before.len() as u32 + 1..)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        new.len() as u64,
        rep["types_after"].as_u64().unwrap() - rep["types_before"].as_u64().unwrap()
    );
    for p in pairs {
        let imp = &after[&(p["impl_id"].as_u64().unwrap() as u32)];
        let func = &before[&(p["func_id"].as_u64().unwrap() as u32)];
        // same prototype and linkage as foo had
        let tail = func.split_once("' ").unwrap().1;
        assert_eq!(
            imp,
            &format!(
                "[{}] FUNC '{}' {}",
                p["impl_id"],
                p["impl_name"].as_str().unwrap(),
                tail
            )
        );
        // the reduced prototype: foo's minus its last parameter
        let old_proto_id: u32 = tail
            .trim_start_matches("type_id=")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let old = &before[&old_proto_id];
        let new_proto = &after[&(p["proto_id"].as_u64().unwrap() as u32)];
        let old_lines: Vec<&str> = old.lines().collect();
        let new_lines: Vec<&str> = new_proto.lines().collect();
        assert_eq!(new_lines.len(), old_lines.len() - 1, "{new_proto} vs {old}");
        assert_eq!(new_lines[1..], old_lines[1..old_lines.len() - 1]);
    }
    let copies = new
        .iter()
        .filter(|s| s.contains("DECL_TAG 'bpf_fastcall'"))
        .count();
    assert!(
        new.iter().all(|s| !s.contains("DECL_TAG 'bpf_kfunc'")),
        "no bpf_kfunc on _impl"
    );
    eprintln!(
        "6.18: {} pairs, {} new types, {copies} bpf_fastcall copies",
        pairs.len(),
        new.len()
    );
}

/// `patch-btf` with `args`, writing its report in `dir`; the report.
fn patch_btf(dir: &Path, args: &[&str]) -> serde_json::Value {
    let rep = dir.join("report.json");
    let mut all = vec!["patch-btf"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--report", rep.to_str().unwrap()]);
    let r = run(&all);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    serde_json::from_str(&fs::read_to_string(&rep).unwrap()).unwrap()
}

/// The manifest of the tree in `var` (the 6.12 or the 6.1 one), in `dir`.
fn scan_manifest(dir: &Path, var: &str) -> Option<PathBuf> {
    let tree = env_path(var, "a kernel tree (scripts/fetch-linux.sh)")?;
    let m = dir.join(format!("{var}.json"));
    let r = run(&[
        Path::new(&tree).to_str().unwrap(),
        "-q",
        "-o",
        m.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    Some(m)
}

#[test]
fn decl_tags_from_source_on_6_12_vmlinux_and_a_split_module() {
    let Some(vmlinux) = data("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    let Some(conntrack) = data("linux-6.12.117/nf_conntrack.btf") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(manifest) = scan_manifest(dir.path(), "KFUNC_SCAN_LINUX") else {
        return;
    };
    let m = manifest.to_str().unwrap();
    let out = dir.path().join("v.btf");
    let report = patch_btf(
        dir.path(),
        &[
            "--manifest",
            m,
            "--btf",
            vmlinux.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--add-decl-tags",
        ],
    );
    let added = report["decl_tags_added"].as_array().unwrap();
    let btf = Btf::parse(&fs::read(&out).unwrap(), None).unwrap();
    kernel_accepts(&btf, "6.12 vmlinux with decl tags");
    // one bpf_kfunc tag per kfunc-set member present in vmlinux; none before
    let tagged: Vec<String> = btf
        .own_types()
        .filter(|t| t.kind() == Kind::DeclTag && btf.name(t) == "bpf_kfunc")
        .map(|t| btf.name(&btf.get(t.target().unwrap()).unwrap()).to_string())
        .collect();
    assert_eq!(tagged.len(), added.len());
    for k in [
        "bpf_task_acquire",
        "bpf_obj_new_impl",
        "bpf_dynptr_slice",
        "bpf_iter_num_new",
        "crash_kexec",
    ] {
        assert!(tagged.iter().any(|t| t == k), "{k} tagged");
    }
    // module kfuncs are not in vmlinux: reported missing, not tagged
    assert!(report["missing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "bpf_ct_insert_entry"));
    if let (Some(before), Some(after)) = (dump(&vmlinux, None), dump(&out, None)) {
        for (id, text) in &before {
            assert_eq!(&after[id], text);
        }
        assert_eq!(after.len() - before.len(), added.len());
    }
    eprintln!(
        "6.12 vmlinux: {} bpf_kfunc tags added from source",
        added.len()
    );

    // the split module on its base: its own kfuncs get tags, IDs continue
    let mout = dir.path().join("ct.btf");
    let report = patch_btf(
        dir.path(),
        &[
            "--manifest",
            m,
            "--btf",
            conntrack.to_str().unwrap(),
            "--base",
            vmlinux.to_str().unwrap(),
            "-o",
            mout.to_str().unwrap(),
            "--add-decl-tags",
        ],
    );
    let base = Btf::parse(&fs::read(&vmlinux).unwrap(), None).unwrap();
    let split_before = Btf::parse(&fs::read(&conntrack).unwrap(), Some(base.clone())).unwrap();
    let split = Btf::parse(&fs::read(&mout).unwrap(), Some(base)).unwrap();
    let added = report["decl_tags_added"].as_array().unwrap();
    assert!(added.iter().any(|t| t["target"] == "bpf_ct_insert_entry"));
    assert_eq!(
        added[0]["id"].as_u64().unwrap(),
        u64::from(split_before.end_id()),
        "new IDs follow the split's last"
    );
    kernel_accepts(&split, "nf_conntrack split BTF on its base, with decl tags");
    if let (Some(before), Some(after)) = (
        dump(&conntrack, Some(&vmlinux)),
        dump(&mout, Some(&vmlinux)),
    ) {
        for (id, text) in &before {
            assert_eq!(&after[id], text);
        }
        assert_eq!(after.len() - before.len(), added.len());
    }
    eprintln!("nf_conntrack: {} decl tags added", added.len());
}

#[test]
fn elf_objects_are_read_and_written() {
    let Some(conntrack) = data("linux-6.12.117/nf_conntrack.btf") else {
        return;
    };
    let Some(vmlinux) = data("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    // a relocatable object with a .BTF section, like a .ko
    let mut obj = object::write::Object::new(
        object::BinaryFormat::Elf,
        object::Architecture::X86_64,
        object::Endianness::Little,
    );
    let text = obj.add_section(Vec::new(), b".text".to_vec(), object::SectionKind::Text);
    obj.append_section_data(text, &[0xc3], 1);
    let sec = obj.add_section(Vec::new(), b".BTF".to_vec(), object::SectionKind::Metadata);
    obj.append_section_data(sec, &fs::read(&conntrack).unwrap(), 4);
    let dir = tempfile::tempdir().unwrap();
    let ko = dir.path().join("nf_conntrack.ko");
    fs::write(&ko, obj.write().unwrap()).unwrap();
    let synth = run(&["synth-manifest", "--btf", vmlinux.to_str().unwrap()]);
    let m = dir.path().join("m.json");
    fs::write(&m, &synth.stdout).unwrap();
    let out = dir.path().join("out.ko");
    // nothing of the synthetic vmlinux manifest is in the module: a no-op patch
    let r = run(&[
        "patch-btf",
        "--manifest",
        m.to_str().unwrap(),
        "--btf",
        ko.to_str().unwrap(),
        "--base",
        vmlinux.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let written = fs::read(&out).unwrap();
    assert_eq!(
        kfunc_scan::btf::elf::read_btf(&written).unwrap(),
        fs::read(&conntrack).unwrap()
    );
    // --in-place on the object
    let r = run(&[
        "patch-btf",
        "--manifest",
        m.to_str().unwrap(),
        "--btf",
        out.to_str().unwrap(),
        "--base",
        vmlinux.to_str().unwrap(),
        "--in-place",
        "-q",
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    kernel_verdict_accepts(cmd([
        "btf-check",
        out.to_str().unwrap(),
        "--base",
        vmlinux.to_str().unwrap(),
    ]));
}

/// `btf-check` accepted the file: exit 0, or, where the kernel cannot be
/// asked (not root), exit 2 after the file was read and found valid here.
fn kernel_verdict_accepts(c: Cmd) {
    let out = c.output();
    let err = stderr(&out);
    match out.status.code() {
        Some(0) => {}
        Some(2) if err.contains("valid BTF here, but the kernel cannot be asked") => missing(
            format!("the kernel's check (BPF_BTF_LOAD needs root): {err}"),
        ),
        code => panic!("btf-check: exit {code:?}; stderr:\n{err}"),
    }
}

/// The string search done beside validation finds, for a split BTF, every
/// copy in base and split of each wanted name: checked against a plain
/// split of both string sections, worked out here without the crate.
#[test]
fn strings_found_while_reading_a_split_btf_are_every_copy() {
    let (Some(base_path), Some(split_path)) = (
        data("linux-6.12.117/vmlinux.btf"),
        data("linux-6.12.117/nf_conntrack.btf"),
    ) else {
        return;
    };
    let base_bytes = fs::read(&base_path).unwrap();
    let split_bytes = fs::read(&split_path).unwrap();
    // string sections from the raw headers: (offset, length) after the header
    let strings = |b: &[u8]| {
        let w = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
        let (hdr, off, len) = (w(4), w(16), w(20));
        b[hdr + off..hdr + off + len].to_vec()
    };
    let (s_base, s_split) = (strings(&base_bytes), strings(&split_bytes));
    let mut naive: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let wanted = [
        "bpf_ct_insert_entry", // a kfunc of the module
        "nf_conn",             // a struct name: in the base, maybe the split too
        "bpf_kfunc",           // absent from this old-pahole BTF
        "int",
        "not a string of either",
    ];
    let mut at = 0u32;
    for part in [&s_base, &s_split] {
        for s in part.split(|&c| c == 0) {
            if let Some(w) = wanted.iter().find(|w| w.as_bytes() == s) {
                naive.entry(w).or_default().push(at);
            }
            at += s.len() as u32 + 1;
        }
        at -= 1; // a section's last NUL starts no string
    }
    let base = Btf::parse(&base_bytes, None).unwrap();
    let (split, found) = Btf::parse_blob_beside(
        kfunc_scan::btf::Blob::Owned(split_bytes.clone()),
        Some(base),
        |strings| strings.find(&wanted),
    )
    .unwrap();
    let found: BTreeMap<&str, Vec<u32>> =
        found.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    assert_eq!(found, naive);
    // "int" is a base string, the kfunc's name the module's own
    let base_end = s_base.len() as u32;
    assert!(found["int"].first().is_some_and(|&o| o < base_end));
    assert!(found["bpf_ct_insert_entry"].iter().all(|&o| o >= base_end));
    assert!(!found["bpf_ct_insert_entry"].is_empty());
    assert!(!found.contains_key("bpf_kfunc"));
    for (w, offs) in &found {
        for &o in offs {
            assert_eq!(split.str_at(o), Some(w.as_bytes()), "{w} at {o}");
        }
    }
    assert_eq!(split.string_offsets(&wanted).len(), found.len());
}

/// A split BTF needs its own base: without one it is said to look split,
/// a base given for a BTF that is not split is refused (the old reader
/// shifted every ID by the base's count and btf-check accepted that), and a
/// base of another kernel is said not to match.
#[test]
fn split_and_base_mistakes_are_named() {
    let (Some(v612), Some(v618), Some(ct)) = (
        data("linux-6.12.117/vmlinux.btf"),
        data("linux-6.18/vmlinux.btf"),
        data("linux-6.12.117/nf_conntrack.btf"),
    ) else {
        return;
    };
    let err = cmd(["btf-check"]).arg(&ct).expect(1).stderr();
    assert!(
        err.contains("error[btf]: this looks like split BTF"),
        "{err}"
    );
    assert!(err.contains("pass its base with --base"), "{err}");

    let err = cmd(["btf-check"])
        .arg(&v612)
        .arg("--base")
        .arg(&v612)
        .expect(1)
        .stderr();
    assert!(
        err.contains("error[btf]: a base BTF was given, but this BTF is not split"),
        "{err}"
    );
    assert!(err.contains("leave out --base"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let synth = cmd(["synth-manifest", "--btf"]).arg(&v618).expect(0);
    fs::write(&m, &synth.0.stdout).unwrap();
    let out = dir.path().join("never.btf");
    let err = cmd(["patch-btf", "--manifest"])
        .arg(&m)
        .arg("--btf")
        .arg(&v618)
        .arg("--base")
        .arg(&v612)
        .arg("-o")
        .arg(&out)
        .expect(2)
        .stderr();
    assert!(err.contains("is not split"), "{err}");
    assert!(!out.exists());

    for module in ["nf_conntrack", "nf_nat", "fou"] {
        let Some(p) = data(&format!("linux-6.12.117/{module}.btf")) else {
            return;
        };
        let err = cmd(["btf-check"])
            .arg(&p)
            .arg("--base")
            .arg(&v618)
            .expect(1)
            .stderr();
        assert!(
            err.contains("error[btf]: the base BTF does not match this split BTF"),
            "{module}: {err}"
        );
    }
}

/// The running kernel's BTF is read (sysfs refuses a private writable
/// mapping, even to root: the old reader failed with `Permission denied`).
#[test]
fn the_running_kernels_btf_is_read() {
    let sys = Path::new("/sys/kernel/btf/vmlinux");
    if !sys.is_file() {
        missing("/sys/kernel/btf/vmlinux (a kernel with CONFIG_DEBUG_INFO_BTF)");
        return;
    }
    kernel_verdict_accepts(cmd(["btf-check"]).arg(sys));
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let synth = cmd(["synth-manifest", "--btf"]).arg(sys).expect(0);
    fs::write(&m, &synth.0.stdout).unwrap();
    let out = dir.path().join("vmlinux.patched");
    cmd(["patch-btf", "--manifest"])
        .arg(&m)
        .arg("--btf")
        .arg(sys)
        .arg("-o")
        .arg(&out)
        .arg("-q")
        .expect(0);
    let before = Btf::parse(&fs::read(sys).unwrap(), None).unwrap();
    let after = Btf::parse(&fs::read(&out).unwrap(), None).unwrap();
    assert!(after.end_id() >= before.end_id());
}

/// `--add-decl-tags` checks prototypes as the pair edits do: the 6.12
/// manifest with bpf_verify_pkcs7_signature's parameters as 6.1 named them
/// is refused (the old patcher tagged it). The 6.1 manifest itself tags
/// nothing: 6.1 declares its sets with BTF_SET8_START, which carry no
/// BTF_SET8_KFUNCS flag, so pahole tags none of them either.
#[test]
fn decl_tags_from_a_stale_manifest_are_refused() {
    let Some(vmlinux) = data("linux-6.12.117/vmlinux.btf") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (Some(m61), Some(m612)) = (
        scan_manifest(dir.path(), "KFUNC_SCAN_LINUX_OLD"),
        scan_manifest(dir.path(), "KFUNC_SCAN_LINUX"),
    ) else {
        return;
    };
    let old = read_manifest(&m61);
    assert!(old.sets.iter().all(|s| s.kind == SetKind::Set8));
    let out = dir.path().join("v.btf");
    let rep = patch_btf(
        dir.path(),
        &[
            "--add-decl-tags",
            // 6.1's manifest on 6.12's BTF: refused without it
            "--allow-version-mismatch",
            "--manifest",
            m61.to_str().unwrap(),
            "--btf",
            vmlinux.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(rep["decl_tags_added"].as_array().unwrap().len(), 0);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&vmlinux).unwrap());

    let mut stale = read_manifest(&m612);
    let k = stale
        .kfuncs
        .iter_mut()
        .find(|k| k.name == "bpf_verify_pkcs7_signature")
        .unwrap();
    k.params[0].name = "data_ptr".into();
    k.params[1].name = "sig_ptr".into();
    let stale_path = dir.path().join("stale.json");
    fs::write(&stale_path, stale.to_json()).unwrap();
    let never = dir.path().join("never.btf");
    let err = cmd(["patch-btf", "--add-decl-tags", "--manifest"])
        .arg(&stale_path)
        .arg("--btf")
        .arg(&vmlinux)
        .arg("-o")
        .arg(&never)
        .expect(1)
        .stderr();
    assert!(
        err.contains("error[refused]: bpf_verify_pkcs7_signature: the BTF's prototype (data_p, sig_p, trusted_keyring) disagrees with the source's (data_ptr, sig_ptr, trusted_keyring)"),
        "{err}"
    );
    assert!(err.contains("nothing written"), "{err}");
    assert!(!never.exists());
}
