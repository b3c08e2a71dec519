//! The manifest as a whole: its version, its top-level fields, and what
//! its consumers ask of all of it (the schema, JSON, the build view, the
//! callable kfuncs).

use crate::build_view::{BuildInfo, BuiltInto};
use crate::diagnostic::{Diagnostic, Severity};
use crate::kfunc::Kfunc;
use crate::read::{self, ManifestError};
use crate::set::{KfuncSet, SetKind};
use crate::FMODRET;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The manifest's `schema_version`: changed when a field's meaning does.
pub const SCHEMA_VERSION: u32 = 1;

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub generator: String,
    pub kernel_version: Option<String>,
    /// Every `KF_*` flag the tree's `include/linux/btf.h` defines.
    pub flag_values: BTreeMap<String, u64>,
    /// Struct names whose pointers the verifier supplies under KF_IMPLICIT_ARGS.
    pub implicit_arg_types: Vec<String>,
    /// Program type → the kfunc hook it calls through, from the tree's
    /// `bpf_prog_type_to_kfunc_hook()` (kernel/bpf/btf.c). A set registered for
    /// one program type serves every type of the same hook; one registered for
    /// BPF_PROG_TYPE_UNSPEC (the common hook) serves them all.
    #[serde(default)]
    pub kfunc_hooks: BTreeMap<String, String>,
    /// Every member of the tree's `enum bpf_prog_type`
    /// (`include/uapi/linux/bpf.h`) but `BPF_PROG_TYPE_UNSPEC`, in enum
    /// order: the types a set registered for the common hook serves (the
    /// kernel checks the common hook for every program).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prog_type_enum: Vec<String>,
    pub sets: Vec<KfuncSet>,
    pub kfuncs: Vec<Kfunc>,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default)]
    pub stats: ScanStats,
    /// The build this manifest describes (`--config`); absent for a
    /// source-tree manifest, whose `object` and `built` fields are then
    /// absent too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
}

/// How much of the tree was looked at; the same for the same tree.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScanStats {
    /// `.c` and `.h` files read.
    pub files_read: usize,
    /// Files that mention a kfunc construct, parsed in full.
    pub files_parsed: usize,
    /// Files parsed in a second look for set members defined without `__bpf_kfunc`.
    pub files_second_look: usize,
    /// ERROR and MISSING nodes tree-sitter left in the parsed files.
    pub parse_error_nodes: usize,
}

impl Manifest {
    /// The JSON Schema of the manifest, generated from these types.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Manifest);
        let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a manifest, untrusted input: one of another schema version is
    /// refused rather than misread (its fields may mean something else), and
    /// so is one whose names or text consumers could not safely put in
    /// paths, pages or C ([`read`]). Errors say where in `text`.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        read::from_json(text)
    }

    /// The manifest as JSON, pretty-printed, with a final line break.
    pub fn to_json(&self) -> String {
        // Serialising plain data structs into a String cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// How many of its diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// A set of kfuncs BPF programs call: registered for a program type (a set
    /// registered only for fmod_ret lists attach targets, not kfuncs), or,
    /// when its registration was not found, declared with BTF_KFUNCS_START.
    pub fn is_kfunc_set(set: &KfuncSet) -> bool {
        if set.registrations.is_empty() {
            set.kind == SetKind::Kfuncs
        } else {
            set.registrations.iter().any(|r| r.prog_type != FMODRET)
        }
    }

    /// What the build compiles, when the manifest has a build view: the
    /// sets it builds, their entries whose condition holds, and the kfuncs
    /// those entries list whose definition it builds. Unknowns are kept (not
    /// shown absent). Without a build view, the manifest as it is.
    pub fn built_only(&self) -> Manifest {
        let mut m = self.clone();
        if m.build.is_none() {
            return m;
        }
        m.sets.retain(|s| s.object != BuiltInto::NotBuilt);
        for s in &mut m.sets {
            s.entries.retain(|e| e.built != Some(false));
        }
        let listed: BTreeSet<String> = m
            .sets
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.name.clone()))
            .collect();
        m.kfuncs
            .retain(|k| k.object != BuiltInto::NotBuilt && listed.contains(&k.name));
        m
    }

    /// Kfuncs listed in a kfunc set (not fmod_ret targets, not helpers that
    /// only carry `__bpf_kfunc`), by name.
    pub fn callable_kfuncs(&self) -> Vec<&Kfunc> {
        let names: BTreeSet<&str> = self
            .sets
            .iter()
            .filter(|s| Self::is_kfunc_set(s))
            .flat_map(|s| s.entries.iter().map(|e| e.name.as_str()))
            .collect();
        self.kfuncs
            .iter()
            .filter(|k| names.contains(k.name.as_str()))
            .collect()
    }

    /// The kfunc of that name. A linear search: the manifest's arrays are
    /// not assumed to be in any order.
    pub fn kfunc(&self, name: &str) -> Option<&Kfunc> {
        self.kfuncs.iter().find(|k| k.name == name)
    }
}
