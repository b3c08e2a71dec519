//! The command line's commands, one module a family: what each parses from
//! the arguments and how it runs. `main.rs` only dispatches.

pub mod btf;
pub mod publish;
pub mod scan;

use kfunc_scan::manifest::Manifest;
use std::path::Path;

/// A manifest file, or the error to print (compiler style).
pub fn read_manifest_file(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: error[read]: {e}", path.display()))?;
    Manifest::from_json(&text).map_err(|e| {
        format!(
            "{}:{}:{}: error[manifest]: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}
