//! A diagnostic of the scan, kept in the manifest and shown compiler-style.

use crate::term;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    /// As the JSON and the terminal spell it (`error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic of `severity` named `code` at `file`:`line`:`col`.
    pub fn new(
        severity: Severity,
        code: &str,
        file: &str,
        line: u32,
        col: u32,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            file: file.to_string(),
            line,
            col,
            message: message.into(),
        }
    }

    /// Compiler style: `path:line:col: error[code]: message`; a diagnostic
    /// about a whole file or directory (line 0) is `path: note[code]: …`.
    /// One line for the terminal: the path, code and message carry names
    /// from outside, shown through [`term::escape`].
    pub fn render(&self) -> String {
        let file = term::escape(&self.file);
        let code = term::escape(&self.code);
        let message = term::escape(&self.message);
        if self.line == 0 {
            return format!("{file}: {}[{code}]: {message}", self.severity.as_str());
        }
        format!(
            "{file}:{}:{}: {}[{code}]: {message}",
            self.line,
            self.col,
            self.severity.as_str()
        )
    }
}
