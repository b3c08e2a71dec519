// Times reading and validating one BTF in-process:
// `cargo run --release --example prof_btf -- FILE`.
use kfunc_scan::btf::{Blob, Btf};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: prof_btf FILE");
        std::process::exit(2);
    };
    let data = std::fs::read(&path).unwrap_or_default();
    let mut best = f64::MAX;
    for _ in 0..20 {
        let copy = data.clone();
        let t = Instant::now();
        let b = Btf::parse_blob(Blob::Owned(copy), None);
        best = best.min(t.elapsed().as_secs_f64());
        if let Err(e) = b {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let t = Instant::now();
    let r = std::fs::read(&path).map(|d| d.len()).unwrap_or(0);
    println!(
        "parse+validate best {:.2} ms; fs::read {:.2} ms ({r} bytes)",
        best * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
}
