// Times the stages of scanning one file: `cargo run --release --example prof_file -- FILE`.
use kfunc_scan::scan::{extract, mask, parse, queries::Queries};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: prof_file FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let q = match Queries::load(None) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let t = Instant::now();
    let masked = mask::mask(&bytes);
    let t_mask = t.elapsed();
    let blank = masked.iter().filter(|&&b| b == b' ').count();
    let t = Instant::now();
    let Some(tree) = parse::parse(&masked) else {
        eprintln!("parse failed");
        std::process::exit(1);
    };
    let t_parse = t.elapsed();
    let t = Instant::now();
    let rec = extract::extract(&path, &bytes, &masked, &tree, &q);
    let t_extract = t.elapsed();
    println!(
        "mask {t_mask:?} parse {t_parse:?} extract {t_extract:?}; {} of {} bytes blank; {} functions, {} error nodes",
        blank,
        bytes.len(),
        rec.functions.len(),
        rec.error_nodes
    );
}
