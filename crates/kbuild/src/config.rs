//! A kernel `.config`: which symbols are set, and to what.
//!
//! Kconfig writes `CONFIG_X=y`, `=m`, `="string"`, decimal and `0x` hex
//! numbers, and `# CONFIG_X is not set` for an unset bool/tristate. A symbol
//! absent from the file is unset too (that is how `include/config/auto.conf`
//! and `autoconf.h` treat it), so "unset" needs no entry.
use super::{Diagnostic, KbuildError};
use rustc_hash::FxHashMap;
use std::path::Path;
use std::sync::Arc;

/// A set symbol's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `=y`: built in.
    Yes,
    /// `=m`: a module.
    Module,
    /// `="…"`, unescaped.
    Str(String),
    /// A decimal number.
    Num(i64),
    /// A `0x` number.
    Hex(u64),
}

/// One set symbol: its value and its text as written after `=`, which is
/// what Make sees through `auto.conf` (strings keep their quotes there) and
/// what `autoconf.h` defines (so `IS_BUILTIN` of a number is true only when
/// the text is exactly `1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Its value.
    pub value: Value,
    /// Its text as written after `=`.
    pub raw: String,
    /// The line that set it (the last, when set twice), 1-based.
    pub line: u32,
}

/// A kernel configuration: the symbols a `.config` sets.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file name it was read from (as given), for the manifest to name.
    pub file: String,
    /// FNV-1a 64 of the file's bytes: stable across runs and platforms, no
    /// dependency, and enough to tell two configurations apart (it is not a
    /// security boundary).
    pub hash: u64,
    /// Shared: a build view keeps a copy, and a kernel's config holds
    /// thousands of symbols.
    /// Hashed: Make looks up every `$(CONFIG_…)` it meets; [`Config::symbols`]
    /// sorts.
    symbols: Arc<FxHashMap<String, Setting>>,
}

impl Config {
    /// Reads and parses a `.config`. An unreadable file is an error, and so
    /// is one that cannot be a `.config`, checked before it is parsed: not
    /// a regular file (a FIFO would hang the read), over
    /// [`MAX_CONFIG_SIZE`], binary (NUL bytes or not UTF-8: a BTF or an
    /// object given by mistake), or without a single `CONFIG_` line. Bad
    /// lines of a real one are diagnostics.
    pub fn load(path: &Path) -> Result<(Config, Vec<Diagnostic>), KbuildError> {
        let text = read_config_text(path)?;
        let (config, diags) = Config::parse(&path.display().to_string(), &text);
        let mentions = text.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("CONFIG_") || t.trim_start_matches(['#', ' ']).starts_with("CONFIG_")
        });
        if !mentions {
            return Err(KbuildError::NotAConfig {
                path: path.to_path_buf(),
                why: "no line sets or unsets a CONFIG_ symbol (make one with `make defconfig`, or give the build's `.config`)".into(),
            });
        }
        Ok((config, diags))
    }

    /// Parses `.config` text; `file` names it in diagnostics.
    pub fn parse(file: &str, text: &str) -> (Config, Vec<Diagnostic>) {
        let mut symbols = FxHashMap::default();
        let mut diags = Vec::new();
        let mut syntax_errors = 0usize;
        for (i, line) in text.lines().enumerate() {
            let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
            match parse_line(line) {
                Ok(Line::Nothing) => {}
                Ok(Line::Unset(name)) => {
                    symbols.remove(name);
                }
                Ok(Line::Set(name, value)) => {
                    let setting = Setting {
                        value,
                        raw: line[name.len() + 1..].trim().to_string(),
                        line: lineno,
                    };
                    if let Some(old) = symbols.insert(name.to_string(), setting) {
                        diags.push(Diagnostic::warning(
                            file,
                            lineno,
                            1,
                            "config-duplicate",
                            format!("{name} is set again (first at line {}); the later value wins, as Kconfig does", old.line),
                        ));
                    }
                }
                Err(_) if syntax_errors >= MAX_SYNTAX_ERRORS => syntax_errors += 1,
                Err(msg) => {
                    syntax_errors += 1;
                    diags.push(Diagnostic::error(file, lineno, 1, "config-syntax", msg));
                }
            }
        }
        if syntax_errors > MAX_SYNTAX_ERRORS {
            diags.push(Diagnostic::error(
                file,
                0,
                0,
                "config-syntax",
                format!(
                    "{} more lines are not `CONFIG_X=value` nor comments (the first {MAX_SYNTAX_ERRORS} are shown)",
                    syntax_errors - MAX_SYNTAX_ERRORS
                ),
            ));
        }
        let cfg = Config {
            file: file.to_string(),
            hash: fnv1a64(text.as_bytes()),
            symbols: Arc::new(symbols),
        };
        (cfg, diags)
    }

    /// Symbol `name` (with its `CONFIG_` prefix), when set.
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.symbols.get(name)
    }

    /// The value of symbol `name` (with its `CONFIG_` prefix), when set.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.symbols.get(name).map(|s| &s.value)
    }

    /// Every set symbol, sorted.
    pub fn symbols(&self) -> impl Iterator<Item = (&str, &Setting)> {
        let mut all: Vec<(&str, &Setting)> =
            self.symbols.iter().map(|(k, v)| (k.as_str(), v)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all.into_iter()
    }

    /// How many symbols are set.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Whether no symbol is set.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The hash as the manifest writes it.
    pub fn hash_hex(&self) -> String {
        format!("fnv1a64:{:016x}", self.hash)
    }
}

/// The hash [`Config::hash_hex`] gives the `.config` of these bytes.
pub fn hash_hex_of(text: &[u8]) -> String {
    format!("fnv1a64:{:016x}", fnv1a64(text))
}

impl Config {}

/// The largest `.config` read: Debian's 6.12 amd64 configuration is
/// 280 KB; a file sixty times larger is not one.
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// `config-syntax` errors shown per file; the rest are counted in one
/// more: a file that is not a `.config` at all is refused before parsing,
/// and a damaged one needs only its first errors to be seen.
pub const MAX_SYNTAX_ERRORS: usize = 20;

/// The text of a `.config`, refused when it cannot be one (see
/// [`Config::load`]).
fn read_config_text(path: &Path) -> Result<String, KbuildError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_err = |source| KbuildError::Read {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |why: String| KbuildError::NotAConfig {
        path: path.to_path_buf(),
        why,
    };
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer; it is refused below by its type.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(refuse(format!(
            "{} bytes, over the {} MiB a configuration may take",
            meta.len(),
            MAX_CONFIG_SIZE >> 20
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(refuse(format!(
            "over the {} MiB a configuration may take",
            MAX_CONFIG_SIZE >> 20
        )));
    }
    if bytes.contains(&0) {
        return Err(refuse(
            "binary data (NUL bytes): a BTF or object file given by mistake?".into(),
        ));
    }
    // a string value in another encoding does not make it binary
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

enum Line<'a> {
    Nothing,
    Unset(&'a str),
    Set(&'a str, Value),
}

fn parse_line(line: &str) -> Result<Line<'_>, String> {
    let t = line.trim();
    if t.is_empty() {
        return Ok(Line::Nothing);
    }
    if let Some(rest) = t.strip_prefix('#') {
        // `# CONFIG_X is not set`; any other comment is just a comment.
        let rest = rest.trim();
        if let Some(name) = rest.strip_suffix(" is not set") {
            if is_symbol(name) {
                return Ok(Line::Unset(name));
            }
        }
        return Ok(Line::Nothing);
    }
    let Some((name, raw)) = t.split_once('=') else {
        return Err(format!("`{t}` is neither `CONFIG_X=value` nor a comment"));
    };
    if !is_symbol(name) {
        return Err(format!("`{name}` is not a CONFIG_ symbol name"));
    }
    let value =
        match raw.trim() {
            "y" => Value::Yes,
            "m" => Value::Module,
            // Kconfig reads `=n` as unset; it never writes it.
            "n" => return Ok(Line::Unset(name)),
            v if v.starts_with('"') => Value::Str(unquote(v).ok_or_else(|| {
                format!("{name}: the string {v} is not closed or has a bad escape")
            })?),
            v => number(v)
                .ok_or_else(|| format!("{name}: `{v}` is not y, m, a quoted string or a number"))?,
        };
    Ok(Line::Set(name, value))
}

fn is_symbol(name: &str) -> bool {
    name.strip_prefix("CONFIG_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// `"…"` with Kconfig's escapes (`\"` and `\\`).
fn unquote(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn number(v: &str) -> Option<Value> {
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(Value::Hex);
    }
    v.parse::<i64>().ok().map(Value::Num)
}

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_kind() {
        let text = "# comment\n\nCONFIG_A=y\nCONFIG_B=m\nCONFIG_S=\"a \\\"q\\\" \\\\ b\"\nCONFIG_N=-12\nCONFIG_H=0x1F\n# CONFIG_U is not set\nCONFIG_E=\"\"\n";
        let (c, d) = Config::parse(".config", text);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.value("CONFIG_A"), Some(&Value::Yes));
        assert_eq!(c.value("CONFIG_B"), Some(&Value::Module));
        assert_eq!(
            c.value("CONFIG_S"),
            Some(&Value::Str("a \"q\" \\ b".into()))
        );
        assert_eq!(c.value("CONFIG_N"), Some(&Value::Num(-12)));
        assert_eq!(c.value("CONFIG_H"), Some(&Value::Hex(31)));
        assert_eq!(c.get("CONFIG_H").map(|s| s.raw.as_str()), Some("0x1F"));
        assert_eq!(c.value("CONFIG_E"), Some(&Value::Str(String::new())));
        assert_eq!(c.value("CONFIG_U"), None);
        assert_eq!(c.len(), 6);
    }

    #[test]
    fn not_set_after_set_unsets() {
        let (c, d) = Config::parse("c", "CONFIG_A=y\n# CONFIG_A is not set\nCONFIG_B=n\n");
        assert!(d.is_empty());
        assert!(c.is_empty());
    }

    #[test]
    fn malformed_lines_are_diagnostics_with_lines() {
        let (c, d) = Config::parse(
            "my.config",
            "CONFIG_A=y\nnonsense\nFOO=y\nCONFIG_B=\"open\nCONFIG_C=maybe\nCONFIG_D=y\nCONFIG_D=m\n",
        );
        let got: Vec<(u32, &str)> = d.iter().map(|d| (d.line, d.code.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "config-syntax"),
                (3, "config-syntax"),
                (4, "config-syntax"),
                (5, "config-syntax"),
                (7, "config-duplicate")
            ]
        );
        assert!(d.iter().all(|d| d.file == "my.config"));
        assert_eq!(c.value("CONFIG_A"), Some(&Value::Yes));
        assert_eq!(c.value("CONFIG_D"), Some(&Value::Module));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn hash_is_fnv1a64() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let (c, _) = Config::parse("x", "a");
        assert_eq!(c.hash_hex(), "fnv1a64:af63dc4c8601ec8c");
    }
}
