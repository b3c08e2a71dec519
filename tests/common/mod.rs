#![allow(dead_code)]
pub mod fixture;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kfunc-scan")
}

pub fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-mini")
}

pub fn run(args: &[&str]) -> Output {
    match Command::new(bin()).args(args).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run {}: {e}", bin()),
    }
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
