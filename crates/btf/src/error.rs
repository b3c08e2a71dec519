//! The crate's errors: reading a blob (`ReadError`) apart from editing one
//! (`EditError`).

use super::MAX_TYPE_ID;

/// Why a blob is not valid BTF: what is wrong, and where.
#[allow(
    missing_docs,
    reason = "each variant is documented by its #[error] message, which names its fields"
)]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("{len} bytes is too short for a BTF header")]
    TooShort { len: usize },
    /// The bytes found are not said: the file may be anything (a link to a
    /// secret, say), and two of its bytes in a message would be its content.
    #[error("not BTF: bad magic (BTF starts with 0xeb9f)")]
    BadMagic,
    #[error("unsupported BTF version {0}")]
    BadVersion(u8),
    #[error("header length {hdr_len} is not within 24..={len}")]
    BadHeaderLen { hdr_len: u32, len: usize },
    #[error("{what} section (offset {off}, {size} bytes) lies outside the {avail} bytes after the header")]
    SectionOutOfBounds {
        what: &'static str,
        off: u32,
        size: u32,
        avail: usize,
    },
    #[error("{what} is not 4-byte aligned ({value})")]
    Misaligned { what: &'static str, value: u32 },
    #[error("the type and string sections overlap")]
    Overlap,
    #[error("the string section does not end with a NUL byte")]
    StringsNotTerminated,
    #[error("the string section of a base BTF must start with a NUL byte")]
    StringsNoLeadingNul,
    #[error("this looks like split BTF (a module's): its string section does not start with a NUL byte, as a base BTF's does; it must be read on top of its base BTF")]
    LooksSplit,
    #[error("a base BTF was given, but this BTF is not split (its string section starts with a NUL byte, as a base BTF's does)")]
    NotSplit,
    #[error("type [{id}] names string offset {off}, inside a string")]
    NameInsideString { id: u32, off: u32 },
    #[error("the base BTF does not match this split BTF: {0}")]
    WrongBase(Box<ReadError>),
    #[error("type [{id}] at byte {at} of the type section is truncated")]
    TruncatedType { id: u32, at: usize },
    #[error("type [{id}] at byte {at} of the type section has unknown kind {kind}")]
    UnknownKind { id: u32, kind: u32, at: usize },
    #[error("type [{id}] names string offset {off}, past the strings' end {end}")]
    StringOutOfRange { id: u32, off: u32, end: u32 },
    #[error("type [{at}] refers to type [{id}], which does not exist")]
    TypeIdOutOfRange { id: u32, at: u32 },
    #[error("type [{at}] ({kind}) must refer to a {want}, not to type [{id}]")]
    WrongTarget {
        at: u32,
        kind: &'static str,
        want: &'static str,
        id: u32,
    },
    #[error("decl tag [{at}] has component index {idx}, out of range for type [{target}]")]
    BadComponent { at: u32, idx: i32, target: u32 },
    #[error("types [{id}] … form a reference cycle")]
    Cycle { id: u32 },
    #[error("more types than BTF can number (type IDs stop at {MAX_TYPE_ID:#x})")]
    TooManyTypes,
    #[error("FUNC [{id}] has linkage {linkage}: only 0 (static), 1 (global) and 2 (extern) exist")]
    BadLinkage { id: u32, linkage: u16 },
    #[error("the base BTF is big-endian and this one little-endian, or the reverse")]
    BaseEndian,
    /// A name the kernel's loader refuses ("Invalid name"); `name` is shown
    /// escaped and cut (`names::shown`).
    #[error("type [{id}] ({kind}): its {what} \"{name}\" is not {rule}, so the kernel refuses it (\"Invalid name\")")]
    InvalidName {
        id: u32,
        kind: &'static str,
        what: &'static str,
        name: String,
        rule: &'static str,
        /// The name's string offset.
        off: u32,
    },
}

impl ReadError {
    /// On a split BTF, a reference or string offset that does not fit says
    /// first that the base does not match.
    /// As `on_base`, for a split BTF whose own strings start at
    /// `own_strings`: a name of the base's strings that the kernel would
    /// refuse says first that the base does not match (the name lands
    /// inside another string); a name of its own is its own fault.
    pub(crate) fn on_base_strings(self, own_strings: Option<u32>) -> ReadError {
        match (self, own_strings) {
            (e @ ReadError::InvalidName { off, .. }, Some(own)) if off < own => {
                ReadError::WrongBase(Box::new(e))
            }
            (e, own) => e.on_base(own.is_some()),
        }
    }

    pub(crate) fn on_base(self, on_base: bool) -> ReadError {
        use ReadError::*;
        match self {
            StringOutOfRange { .. }
            | TypeIdOutOfRange { .. }
            | WrongTarget { .. }
            | BadComponent { .. }
            | NameInsideString { .. }
                if on_base =>
            {
                WrongBase(Box::new(self))
            }
            other => other,
        }
    }
}

/// Why an edit (an appended type or string, a repointed FUNC) is refused.
/// A refused edit changes nothing.
#[allow(
    missing_docs,
    reason = "each variant is documented by its #[error] message, which names its fields"
)]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("more types than BTF can number (type IDs stop at {MAX_TYPE_ID:#x})")]
    TooManyTypes,
    #[error("type [{id}] is not a FUNC of this BTF: only those can be repointed")]
    NotEditable { id: u32 },
    #[error("a FUNC cannot have linkage {0}: only 0 (static), 1 (global) and 2 (extern) exist")]
    BadLinkage(u16),
    #[error("{kind} with {words} words of kind-specific data, not {want}")]
    BadRecord {
        kind: &'static str,
        words: usize,
        want: usize,
    },
    #[error("a BTF string cannot contain a NUL byte: {0:?}")]
    NulInString(String),
}
