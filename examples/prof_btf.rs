// Times reading and validating one BTF in-process, and patching it when a
// manifest is given: `cargo run --release --example prof_btf -- FILE [MANIFEST]`.
use kfunc_scan::btf::{Blob, Btf};
use kfunc_scan::manifest::Manifest;
use kfunc_scan::patch::{patch, PatchOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: prof_btf FILE [MANIFEST]");
        std::process::exit(2);
    };
    let manifest = args.next().map(|m| {
        let text = std::fs::read_to_string(&m).unwrap_or_default();
        Manifest::from_json(&text).unwrap_or_else(|e| {
            eprintln!("{m}: {e}");
            std::process::exit(2);
        })
    });
    let data = std::fs::read(&path).unwrap_or_default();
    let (mut parse_best, mut patch_best) = (f64::MAX, f64::MAX);
    for _ in 0..30 {
        let copy = data.clone();
        let t = Instant::now();
        let mut b = match Btf::parse_blob(Blob::Owned(copy), None) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        parse_best = parse_best.min(t.elapsed().as_secs_f64());
        if let Some(m) = &manifest {
            let t = Instant::now();
            if let Err(e) = patch(&mut b, m, &PatchOptions::default()) {
                eprintln!("{e}");
                std::process::exit(1);
            }
            patch_best = patch_best.min(t.elapsed().as_secs_f64());
        }
    }
    print!("parse+validate best {:.2} ms", parse_best * 1e3);
    if manifest.is_some() {
        print!("; patch best {:.2} ms", patch_best * 1e3);
    }
    println!(" ({} bytes)", data.len());
}
