//! The command line's commands, one module a family: what each parses from
//! the arguments and how it runs. `main.rs` only dispatches.

pub mod avail;
pub mod btf;
pub mod check;
pub mod docs;
pub mod history;
pub mod manual;
pub mod publish;
pub mod scan;
pub mod watch;

use kfunc_scan::manifest::{term, Manifest};
use kfunc_scan::output::{check_distinct, is_closed_pipe, Destination, Output};
use std::path::Path;
use std::process::ExitCode;

/// How a command that ran to its end turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report: exit 0.
    Clean,
    /// It ran, and found what the user asked to hear about (error
    /// diagnostics, breaking changes, a BTF the kernel rejects): exit 1.
    /// Outputs were written in full.
    Findings,
}

/// Why a command stopped early. Each message is already compiler-style
/// (`path:line:col: error[code]: …`).
#[derive(Debug)]
pub enum CliError {
    /// The input was read and refused (an edit the BTF contradicts, a BTF
    /// the validator rejects): exit 1, nothing written.
    Refused(Vec<String>),
    /// The tool could not do its job (unreadable input, unwritable output,
    /// bad arguments): exit 2.
    CannotRun(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::CannotRun(message)
    }
}

/// Checks every output a command will write, before any work is done: each
/// can be written (its directory exists and is writable; only a regular
/// file would be replaced) and no two name the same file.
pub fn check_outputs(paths: &[&Path]) -> Result<Vec<Output>, CliError> {
    let outputs = paths
        .iter()
        .map(|p| Output::check(p).map_err(|e| format!("{}: error[output]: {e}", term::path(p))))
        .collect::<Result<Vec<_>, _>>()?;
    let all: Vec<&Output> = outputs.iter().collect();
    check_distinct(&all).map_err(|e| format!("error[output]: {e}"))?;
    Ok(outputs)
}

/// Writes `bytes` to a checked output. A closed standard output (`| head
/// -1`) is not an error: the program ends quietly, as other Unix tools do.
pub fn write_output(out: &Output, bytes: &[u8]) -> Result<(), CliError> {
    match out.write(bytes) {
        Err(e) if out.destination == Destination::Stdout && is_closed_pipe(&e) => Ok(()),
        Err(e) => Err(format!("{}: error[write]: {e}", term::path(&out.requested)).into()),
        Ok(()) => Ok(()),
    }
}

/// The one place a command's result becomes an exit status (0 clean, 1
/// findings or refused, 2 could not run) and its error is printed.
pub fn finish(result: Result<Outcome, CliError>) -> ExitCode {
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(CliError::Refused(lines)) => {
            for l in lines {
                eprintln!("{}", term::escape_lines(&l));
            }
            ExitCode::from(1)
        }
        Err(CliError::CannotRun(msg)) => {
            eprintln!("{}", term::escape_lines(&msg));
            ExitCode::from(2)
        }
    }
}

/// A manifest file, or the error to print (compiler style).
pub fn read_manifest_file(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: error[read]: {e}", term::path(path)))?;
    Manifest::from_json(&text).map_err(|e| {
        format!(
            "{}:{}:{}: error[manifest]: {e}",
            term::path(path),
            e.line(),
            e.column()
        )
    })
}
