//! Times reading and validating one BTF (best of 30) with this crate alone,
//! which builds in seconds in release mode: `cargo run --release -p
//! kfunc-scan-btf --example time_parse -- FILE [BASE]`.
use kfunc_scan_btf::Btf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: time_parse FILE [BASE]");
        std::process::exit(2);
    };
    let base = args.next().map(|b| {
        let data = std::fs::read(&b).unwrap_or_default();
        Btf::parse(&data, None).unwrap_or_else(|e| {
            eprintln!("{b}: {e}");
            std::process::exit(1);
        })
    });
    let data = std::fs::read(&path).unwrap_or_default();
    let mut best = f64::MAX;
    for _ in 0..30 {
        let t = Instant::now();
        if let Err(e) = Btf::parse(&data, base.clone()) {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "parse+validate best {:.2} ms ({} bytes)",
        best * 1e3,
        data.len()
    );
}
