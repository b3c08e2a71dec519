//! A manifest is untrusted input: it is validated once, when read, with
//! `path:line:col` errors, and no consumer writes outside its output, puts
//! a line of the manifest's choosing into the header, or depends on the
//! order of the manifest's arrays. The publishing commands given a tree
//! report the scan's diagnostics and refuse what is not a kernel tree.

use crate::common;
use crate::manifest_fixture;
use common::*;
use kfunc_scan::manifest::Manifest;
use manifest_fixture::*;
use std::fs;
use std::path::{Path, PathBuf};

fn mini_json() -> String {
    cmd([mini().as_os_str(), "-q".as_ref()]).expect(1).stdout()
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the text"));
    text[..at].lines().count() + usize::from(text[..at].ends_with('\n'))
}

/// linux-mini's manifest with kfunc `from` (definition and set entries) renamed.
fn renamed(from: &str, to: &str) -> String {
    let mut m = Manifest::from_json(&mini_json()).unwrap();
    for k in m.kfuncs.iter_mut().filter(|k| k.name == from) {
        k.name = to.into();
    }
    for e in m.sets.iter_mut().flat_map(|s| s.entries.iter_mut()) {
        if e.name == from {
            e.name = to.into();
        }
    }
    m.to_json()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_kfunc_name_that_is_a_path_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let text = renamed("bpf_task_acquire", "../../PWNED");
    let m = write(dir.path(), "m.json", &text);
    let site = dir.path().join("out/site");
    let err = cmd(["docs", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&site)
        .expect(2)
        .stderr();
    let line = line_of(&text, "\"name\": \"../../PWNED\"");
    assert!(
        err.contains(&format!("m.json:{line}:")) && err.contains("not a C identifier"),
        "{err}"
    );
    assert!(!dir.path().join("out/PWNED.md").exists());
    assert!(!site.exists(), "nothing is written from a refused manifest");
    assert_eq!(files(dir.path()), [m]);
}

#[test]
fn a_name_with_a_newline_never_reaches_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let text = renamed(
        "bpf_task_acquire",
        "x(void);\n#include \"/etc/passwd\"\nint y",
    );
    let m = write(dir.path(), "m.json", &text);
    let r = cmd(["header", "--manifest"]).arg(&m).expect(2);
    assert!(!r.stdout().contains("#include"), "{}", r.stdout());
    assert!(r.stderr().contains("error[manifest]"), "{}", r.stderr());
}

#[test]
fn text_that_would_close_a_header_comment_is_refused() {
    let mut m = Manifest::from_json(&mini_json()).unwrap();
    m.kfuncs[0].condition = Some("defined(X) */ int evil; /*".into());
    let e = Manifest::from_json(&m.to_json()).unwrap_err();
    assert!(e.to_string().contains("condition"), "{e}");
    let mut m = Manifest::from_json(&mini_json()).unwrap();
    m.kfuncs[0].params.push(kfunc_scan::manifest::Param {
        name: "x".into(),
        ty: "int) { system(\"reboot\"); } int f(int".into(),
        annotation: None,
    });
    assert!(Manifest::from_json(&m.to_json()).is_err());
}

#[test]
fn duplicate_kfunc_names_are_refused_at_the_second() {
    let mut m = Manifest::from_json(&mini_json()).unwrap();
    let mut twin = m.kfuncs[3].clone();
    twin.line += 1000;
    let name = twin.name.clone();
    m.kfuncs.insert(4, twin);
    let text = m.to_json();
    let e = Manifest::from_json(&text).unwrap_err();
    let first = line_of(&text, &format!("\"name\": \"{name}\",\n      \"file\""));
    assert!(e.line() > first, "{e}: the second one, after line {first}");
    assert!(
        e.to_string()
            .contains(&format!("`{name}` is defined twice")),
        "{e}"
    );
}

#[test]
fn schema_version_errors_point_at_the_field() {
    let text = mini_json().replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
    let e = Manifest::from_json(&text).unwrap_err();
    assert_eq!(
        (e.line(), e.column()),
        (line_of(&text, "\"schema_version\""), 21),
        "{e}"
    );
    assert!(e
        .to_string()
        .contains("schema_version 2 is not one this kfunc-scan reads (1)"));
}

#[test]
fn every_identifier_field_is_checked() {
    // each a place a name goes into a path, the header or the YAML
    type Edit = Box<dyn Fn(&mut Manifest)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("sets[0].name", Box::new(|m| m.sets[0].name = "a/b".into())),
        (
            "entries",
            Box::new(|m| m.sets[0].entries[0].name = "a b".into()),
        ),
        (
            "prog_type",
            Box::new(|m| m.sets[0].registrations[0].prog_type = "../x".into()),
        ),
        (
            "prog_types",
            Box::new(|m| m.kfuncs[0].prog_types.push("..".into())),
        ),
        (
            "kfunc_hooks",
            Box::new(|m| {
                m.kfunc_hooks
                    .insert("BPF_PROG_TYPE_../../x".into(), "H".into());
            }),
        ),
        (
            "flags",
            Box::new(|m| m.kfuncs[0].flags.push("KF_X\n".into())),
        ),
        (
            "params",
            Box::new(|m| {
                m.kfuncs[0].params.push(kfunc_scan::manifest::Param {
                    name: "p;".into(),
                    ty: "int".into(),
                    annotation: None,
                })
            }),
        ),
    ];
    let base = Manifest::from_json(&mini_json()).unwrap();
    for (what, edit) in edits {
        let mut m = base.clone();
        edit(&mut m);
        let e = Manifest::from_json(&m.to_json());
        assert!(e.is_err(), "{what}: accepted");
        let e = e.unwrap_err();
        assert!(e.line() > 1, "{what}: {e}");
    }
}

#[test]
fn consumers_do_not_depend_on_array_order() {
    let m = Manifest::from_json(&mini_json()).unwrap();
    let mut shuffled = m.clone();
    shuffled.kfuncs.reverse();
    shuffled.sets.reverse();
    for s in &mut shuffled.sets {
        s.registrations.reverse();
    }
    let shuffled = Manifest::from_json(&shuffled.to_json()).unwrap();
    let (a, b) = (
        kfunc_scan::docs::markdown(&m, None),
        kfunc_scan::docs::markdown(&shuffled, None),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (page, text) in &a {
        assert_eq!(text, &b[page], "{page}");
    }
    assert_eq!(
        kfunc_scan::docs::ebpf_docs_yaml(&m),
        kfunc_scan::docs::ebpf_docs_yaml(&shuffled)
    );
    let opts = kfunc_scan::header::HeaderOptions::default();
    assert_eq!(
        kfunc_scan::header::header(&m, &opts),
        kfunc_scan::header::header(&shuffled, &opts)
    );
    let d = kfunc_scan::diff::diff(&m, &shuffled, true);
    assert!(
        d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty(),
        "{d:?}"
    );
}

#[test]
fn a_fixture_manifest_is_valid() {
    let m = Fx::new()
        .set("s", &["BPF_PROG_TYPE_XDP"], &[("k", &["KF_RCU"])])
        .def(kfunc("k"))
        .build();
    assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
}

// ---- the publishing commands

#[test]
fn docs_output_must_be_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), "m.json", &mini_json());
    let file = write(dir.path(), "site.md", "mine\n");
    let err = cmd(["docs", "--manifest"])
        .arg(&m)
        .arg("-o")
        .arg(&file)
        .expect(2)
        .stderr();
    assert!(err.contains("-o must be a directory"), "{err}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine\n");
}

#[test]
fn publishing_from_a_tree_reports_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    // linux-mini holds a broken set: its errors, and exit status 1
    let r = cmd(["header", "--tree"]).arg(mini()).expect(1);
    assert!(r.stderr().contains("error["), "{}", r.stderr());
    assert!(
        r.stdout().contains("extern "),
        "the header is still written"
    );
    let site = dir.path().join("site");
    let r = cmd(["docs", "--tree"])
        .arg(mini())
        .arg("-o")
        .arg(&site)
        .expect(1);
    assert!(r.stderr().contains("error["), "{}", r.stderr());
    assert!(site.join("index.md").is_file());
    let r = cmd(["diff"]).arg(mini()).arg(mini()).expect(1);
    assert!(r.stderr().contains("error["), "{}", r.stderr());
    // a manifest file: its diagnostics were reported when it was made
    let m = write(dir.path(), "m.json", &mini_json());
    cmd(["diff"]).arg(&m).arg(&m).expect(0);
}

#[test]
fn an_empty_directory_is_not_a_kernel_tree() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let m = write(dir.path(), "m.json", &mini_json());
    let err = cmd(["diff"]).arg(&empty).arg(&m).expect(2).stderr();
    assert!(err.contains("not a kernel tree"), "{err}");
    let err = cmd(["header", "--tree"]).arg(&empty).expect(2).stderr();
    assert!(err.contains("not a kernel tree"), "{err}");
    let site = dir.path().join("site");
    cmd(["docs", "--tree"])
        .arg(&empty)
        .arg("-o")
        .arg(&site)
        .expect(2);
    assert!(!site.exists());
}

#[test]
fn pages_are_never_written_outside_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    for bad in ["../escape.md", "/tmp/abs.md", "kfuncs/../../escape.md", ""] {
        let pages = [
            ("index.md".to_string(), "x".to_string()),
            (bad.to_string(), "x".to_string()),
        ]
        .into_iter()
        .collect();
        assert!(
            kfunc_scan::docs::write_pages(&site, &pages).is_err(),
            "{bad}"
        );
    }
    assert!(!site.exists() && !dir.path().join("escape.md").exists());
}
