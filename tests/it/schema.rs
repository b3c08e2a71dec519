//! The committed JSON Schema is the one the manifest types generate, and
//! manifests round-trip through those types unchanged.

use crate::common;
use common::*;

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/manifest.schema.json"
    ))
    .unwrap();
    let out = run(&["schema"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "regenerate with: cargo run -- schema > schema/manifest.schema.json"
    );
}

#[test]
fn committed_history_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/history.schema.json"
    ))
    .unwrap();
    let out = run(&["schema", "--history"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "regenerate with: cargo run -- schema --history > schema/history.schema.json"
    );
}

#[test]
fn manifest_round_trips_through_its_types() {
    let out = run(&[mini().to_str().unwrap(), "-q"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let m = kfunc_scan::manifest::Manifest::from_json(&text).unwrap();
    assert_eq!(m.to_json(), text);
}
