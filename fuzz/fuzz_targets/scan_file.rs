//! One source file through the scanner's mask, parse and extract: never
//! panics, and the mask keeps the length and the line breaks.
#![no_main]
use kfunc_scan::scan::{extract, mask, parse, queries::Queries};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static Q: OnceLock<Queries> = OnceLock::new();
    let q = Q.get_or_init(|| Queries::load(None).expect("queries"));
    let masked = mask::mask(data);
    assert_eq!(masked.len(), data.len());
    let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    assert_eq!(lines(&masked), lines(data));
    if let Some(tree) = parse::parse(&masked) {
        let _ = extract::extract("fuzz.c", data, &masked, &tree, q);
    }
});
