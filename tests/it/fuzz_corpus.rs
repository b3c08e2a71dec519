//! The fuzzers' corpora (fuzz/corpus/*), replayed under `cargo test` with the
//! same properties the fuzz targets check, so that what fuzzing found stays
//! found without a fuzzer.

use kfunc_scan::btf::{Btf, Endian, NewType};
use kfunc_scan::scan::{extract, mask, parse, queries::Queries};
use std::path::Path;

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn base() -> Btf {
    let mut b = Btf::empty(Endian::Little);
    let name = b.add_string("int").unwrap();
    b.add_type(&NewType::int(name, 4, true)).unwrap();
    Btf::parse(&b.to_bytes(), None).unwrap()
}

#[test]
fn btf_read_corpus() {
    let files = corpus("btf_read");
    assert!(files.len() > 10, "the corpus is kept in the repository");
    let mut accepted = 0;
    for (name, data) in &files {
        if let Ok(btf) = Btf::parse(data, None) {
            accepted += 1;
            let out = btf.to_bytes();
            let again = Btf::parse(&out, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(again.to_bytes(), out, "{name}");
        }
        if let Ok(split) = Btf::parse(data, Some(base())) {
            let out = split.to_bytes();
            let again = Btf::parse(&out, Some(base())).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(again.to_bytes(), out, "{name}");
        }
    }
    eprintln!("{} corpus files, {accepted} valid BTF", files.len());
}

#[test]
fn scan_file_corpus() {
    let q = Queries::load(None).unwrap();
    for (name, data) in corpus("scan_file") {
        let masked = mask::mask(&data);
        assert_eq!(masked.len(), data.len(), "{name}");
        let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
        assert_eq!(lines(&masked), lines(&data), "{name}");
        if let Some(tree) = parse::parse(&masked) {
            let _ = extract::extract("fuzz.c", &data, &masked, &tree, &q);
        }
    }
}
