//! The manifest fuzzer's corpus (fuzz/corpus/manifest_consumers), replayed
//! under `cargo test` with the properties the fuzz target checks: the reader
//! and every consumer run without panicking, docs stay in their directory,
//! the header holds no directive of the manifest's, and the regression
//! inputs (a path as a kfunc name, a newline in one, a kfunc defined twice)
//! stay refused.

use kfunc_scan::manifest::Manifest;
use std::path::Path;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/manifest_consumers");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// What the fuzz target checks of one accepted manifest.
fn consumers_hold(name: &str, m: &Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let pages = kfunc_scan::docs::markdown(m, Some("https://example.org/linux/"));
    kfunc_scan::docs::write_pages(&site, &pages).unwrap_or_else(|e| panic!("{name}: {e}"));
    for e in std::fs::read_dir(dir.path()).unwrap() {
        assert_eq!(e.unwrap().path(), site, "{name}: a file outside the output");
    }
    let _ = kfunc_scan::docs::ebpf_docs_yaml(m);
    for with_selftests in [false, true] {
        let opts = kfunc_scan::header::HeaderOptions { with_selftests };
        let h = kfunc_scan::header::header(m, &opts);
        for l in h.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                kfunc_scan::header::OWN_DIRECTIVES
                    .iter()
                    .any(|d| l.starts_with(d)),
                "{name}: {l}"
            );
        }
        let d = kfunc_scan::diff::diff(m, m, with_selftests);
        assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty());
        let _ = kfunc_scan::diff::report(&kfunc_scan::diff::diff(
            &Manifest::default(),
            m,
            with_selftests,
        ));
    }
}

#[test]
fn manifest_consumers_corpus() {
    let files = corpus();
    assert!(files.len() >= 5, "the corpus is kept in the repository");
    let mut accepted = 0;
    for (name, data) in &files {
        let Ok(text) = std::str::from_utf8(data) else {
            continue;
        };
        match Manifest::from_json(text) {
            Ok(m) => {
                assert!(!name.starts_with("regression-"), "{name} was accepted");
                accepted += 1;
                consumers_hold(name, &m);
            }
            Err(e) => assert!(e.line() > 0, "{name}: {e} has no place"),
        }
    }
    assert!(accepted >= 2, "linux-mini's manifests are accepted");
    eprintln!("{} corpus files, {accepted} accepted", files.len());
}
