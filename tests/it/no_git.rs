//! A build without the `git` feature (`cargo build --no-default-features`)
//! has no repository reader: `history --git` says so, exit 2 (could not
//! run), before it reads anything. Runs only in such a build:
//! `cargo test --no-default-features --test it no_git::`.
#![cfg(not(feature = "git"))]

use std::process::Command;

#[test]
fn history_git_says_it_was_built_without_git() {
    // a real repository: the refusal must not depend on what is there
    let dir = tempfile::tempdir().unwrap();
    let git = Command::new("git")
        .args(["init", "-q"])
        .arg(dir.path())
        .status();
    assert!(git.is_ok_and(|s| s.success()));
    let out = Command::new(env!("CARGO_BIN_EXE_kfunc-scan"))
        .arg("history")
        .arg("--git")
        .arg(dir.path())
        .args(["v6.1", "v6.12"])
        .arg("-o")
        .arg(dir.path().join("history.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "{}: error[no-git]: this kfunc-scan was built without git (cargo feature `git`): `history --git` cannot read a repository; give manifests instead, or install a build with the feature",
            dir.path().display()
        )
    );
    assert!(out.stdout.is_empty());
    // nothing written: refused before the work
    assert!(!dir.path().join("history.json").exists());
}
