//! The `test-support` feature: `synth` and the scan's comparisons with
//! tree-sitter are for the tests (which enable the feature through the
//! package's dev-dependency on itself) and are not in the library a plain
//! build makes. Checked with cargo itself: the library is checked without
//! the feature and with it, and each one's metadata (the public items and
//! their docs) is read for the test-only items.

use std::path::PathBuf;
use std::process::Command;

/// The library's metadata file from `cargo check --lib --bins` with
/// `features` (besides the defaults), and cargo's warnings for this package.
fn check_lib(features: &[&str]) -> (Vec<u8>, Vec<String>) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "check",
        "--quiet",
        "--lib",
        "--bins",
        "--message-format=json",
    ]);
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo check {features:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut rmeta, mut warnings) = (None, Vec::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(m) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        // this package's lib and bin (the other workspace crates are under crates/)
        let ours = m["target"]["src_path"]
            .as_str()
            .is_some_and(|p| p.starts_with(concat!(env!("CARGO_MANIFEST_DIR"), "/src/")));
        match m["reason"].as_str() {
            Some("compiler-artifact")
                if m["target"]["name"] == "kfunc_scan" && m["target"]["kind"][0] == "lib" =>
            {
                let files = m["filenames"].as_array().into_iter().flatten();
                rmeta = files
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".rmeta"))
                    .map(PathBuf::from);
            }
            Some("compiler-message") if ours && m["message"]["level"] == "warning" => {
                warnings.push(
                    m["message"]["rendered"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            _ => {}
        }
    }
    let rmeta = rmeta.expect("cargo names the library's metadata");
    (std::fs::read(&rmeta).unwrap(), warnings)
}

/// Texts only the test-only items carry: `synth`'s function (its module is
/// left out whole, its items unnamed) and the two comparisons' docs (a
/// left-out item's name stays in the metadata, for the compiler's "this
/// item is behind a cfg" hint; its docs do not).
const TEST_ONLY: [&str; 3] = [
    "manifest_from_btf",
    "runs of blanks were left out",
    "This engine against tree-sitter",
];

fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_plain_library_has_no_test_hooks_and_builds_without_warnings() {
    let (plain, warnings) = check_lib(&[]);
    assert!(warnings.is_empty(), "{}", warnings.join("\n"));
    for t in TEST_ONLY {
        assert!(
            !holds(&plain, t),
            "{t:?} is in the library built without test-support"
        );
    }
    // the probe is not vacuous: with the feature, each is there
    let (with, warnings) = check_lib(&["test-support"]);
    assert!(warnings.is_empty(), "{}", warnings.join("\n"));
    for t in TEST_ONLY {
        assert!(
            holds(&with, t),
            "{t:?} is not in the library built with test-support"
        );
    }
}
