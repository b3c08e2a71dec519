//! Evaluating a C preprocessor condition (`#if` expression) against a
//! `.config`, as `include/generated/autoconf.h` and
//! `include/linux/kconfig.h` define it:
//!
//! - `=y` defines `CONFIG_X` as `1`; `=m` defines `CONFIG_X_MODULE` as `1`
//!   and not `CONFIG_X`; a string or number defines `CONFIG_X` as its text;
//!   an unset symbol defines nothing (so it is `0` in an expression, as in C).
//! - `IS_BUILTIN(X)`: `X` is defined as exactly `1`; `IS_MODULE(X)`:
//!   `IS_BUILTIN(X_MODULE)`; `IS_ENABLED`: either; `IS_REACHABLE(X)`:
//!   builtin, or module when the file is itself compiled into a module
//!   (`MODULE` defined), hence the [`Linkage`] context.
//!
//! Anything else the configuration does not decide (`__BIG_ENDIAN`,
//! `BITS_PER_LONG`, a function-like macro, `MODULE` without a context) is an
//! error naming it, never a silent `0`; except where `&&`, `||` or `?:`
//! make it irrelevant (`0 && X` is `0` whatever `X` is).
use super::config::{Config, Value};

/// Whether the file being compiled is part of vmlinux or of a module: what
/// `MODULE` (and so `IS_REACHABLE`) depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// Built into vmlinux: `MODULE` is not defined.
    Vmlinux,
    /// Built into a module: `MODULE` is defined.
    Module,
    /// Not known (the file is not built, or its fate is unknown).
    Unknown,
}

/// Why a condition's value is not known: never guessed as `0`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CondError {
    /// An identifier that is not `CONFIG_…` (a macro of the source, which
    /// only compiling would expand).
    #[error("`{0}` is not a configuration symbol; its value is unknown without compiling")]
    UnknownIdentifier(String),
    /// A function-like macro other than `IS_ENABLED` and its kin.
    #[error("`{0}(…)` is a macro this evaluator does not know")]
    UnknownMacro(String),
    /// `MODULE` or `IS_REACHABLE` in a file whose linkage is not known.
    #[error("`{0}` depends on whether the file is built into a module, which is not known here")]
    NoLinkage(String),
    /// A string-valued symbol used as a number.
    #[error("`{0}` is a string; it cannot be used in an `#if` expression")]
    StringValue(String),
    /// `/ 0` or `% 0`, as the preprocessor refuses it.
    #[error("division by zero")]
    DivisionByZero,
    /// Not an expression.
    #[error("syntax error at column {col}: {msg}")]
    Syntax {
        /// Where, 1-based.
        col: usize,
        /// What was expected.
        msg: String,
    },
}

/// Evaluates `cond` (an `#if` expression) for a build with `config`, in a
/// file linked as `linkage`.
pub fn eval(cond: &str, config: &Config, linkage: Linkage) -> Result<bool, CondError> {
    let toks = lex(cond)?;
    let mut p = Parser {
        toks,
        pos: 0,
        env: Env { config, linkage },
    };
    let v = p.ternary()?;
    if let Some(t) = p.toks.get(p.pos) {
        return Err(CondError::Syntax {
            col: t.col,
            msg: format!("unexpected `{}`", t.text()),
        });
    }
    v.map(|n| n != 0)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i64),
    Ident(String),
    Op(&'static str),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    col: usize,
}

impl Token {
    fn text(&self) -> String {
        match &self.tok {
            Tok::Num(n) => n.to_string(),
            Tok::Ident(s) => s.clone(),
            Tok::Op(o) => (*o).to_string(),
        }
    }
}

// Longest first, so `<<` is not read as two `<`.
const OPS: &[&str] = &[
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "(", ")", "!", "~", "+", "-", "*", "/", "%",
    "<", ">", "&", "^", "|", "?", ":", ",",
];

fn lex(s: &str) -> Result<Vec<Token>, CondError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let col = i + 1;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Num(int_literal(&s[start..i], col)?),
                col,
            });
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(s[start..i].to_string()),
                col,
            });
        } else if c == b'\'' {
            let (v, len) = char_literal(&s[i..], col)?;
            out.push(Token {
                tok: Tok::Num(v),
                col,
            });
            i += len;
        } else if let Some(op) = OPS.iter().find(|op| s[i..].starts_with(**op)) {
            out.push(Token {
                tok: Tok::Op(op),
                col,
            });
            i += op.len();
        } else {
            return Err(CondError::Syntax {
                col,
                msg: format!(
                    "unexpected character `{}`",
                    &s[i..].chars().next().unwrap_or('?')
                ),
            });
        }
    }
    Ok(out)
}

/// A C integer literal: decimal, `0x` hex, `0` octal, `0b` binary, with
/// `u`/`l` suffixes (signedness is not modelled: values are `i64`).
fn int_literal(t: &str, col: usize) -> Result<i64, CondError> {
    let body = t.trim_end_matches(['u', 'U', 'l', 'L']);
    let parsed = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        u64::from_str_radix(b, 2)
    } else if body.len() > 1 && body.starts_with('0') {
        u64::from_str_radix(&body[1..], 8)
    } else {
        body.parse::<u64>()
    };
    parsed.map(|v| v as i64).map_err(|_| CondError::Syntax {
        col,
        msg: format!("`{t}` is not an integer literal"),
    })
}

/// `'a'`, `'\n'`, `'\0'`, `'\x41'`: its value and length in bytes.
fn char_literal(s: &str, col: usize) -> Result<(i64, usize), CondError> {
    let bad = || CondError::Syntax {
        col,
        msg: "bad character literal".into(),
    };
    let end = s[1..].find('\'').ok_or_else(bad)? + 1;
    let body = &s[1..end];
    let v = match body.as_bytes() {
        [c] if *c != b'\\' => i64::from(*c),
        [b'\\', b'n'] => 10,
        [b'\\', b't'] => 9,
        [b'\\', b'r'] => 13,
        [b'\\', b'\\'] => 92,
        [b'\\', b'\''] => 39,
        [b'\\', b'x', hex @ ..] => {
            i64::from_str_radix(std::str::from_utf8(hex).map_err(|_| bad())?, 16)
                .map_err(|_| bad())?
        }
        [b'\\', oct @ ..] if !oct.is_empty() && oct.iter().all(|c| (b'0'..=b'7').contains(c)) => {
            i64::from_str_radix(std::str::from_utf8(oct).map_err(|_| bad())?, 8)
                .map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    Ok((v, end + 1))
}

struct Env<'a> {
    config: &'a Config,
    linkage: Linkage,
}

/// What a macro name is defined as.
enum Def {
    Undefined,
    Text(String),
}

impl Env<'_> {
    /// The definition `autoconf.h` (or `-DMODULE`) gives `name`, or an error
    /// when it is not ours to know.
    fn lookup(&self, name: &str) -> Result<Def, CondError> {
        if name == "MODULE" {
            return match self.linkage {
                Linkage::Module => Ok(Def::Text("1".into())),
                Linkage::Vmlinux => Ok(Def::Undefined),
                Linkage::Unknown => Err(CondError::NoLinkage(name.into())),
            };
        }
        if !name.starts_with("CONFIG_") {
            return Err(CondError::UnknownIdentifier(name.into()));
        }
        if let Some(base) = name.strip_suffix("_MODULE") {
            if self.config.value(base) == Some(&Value::Module) {
                return Ok(Def::Text("1".into()));
            }
        }
        Ok(match self.config.get(name) {
            None => Def::Undefined,
            Some(s) => match &s.value {
                Value::Yes => Def::Text("1".into()),
                Value::Module => Def::Undefined,
                _ => Def::Text(s.raw.clone()),
            },
        })
    }

    fn defined(&self, name: &str) -> Result<bool, CondError> {
        Ok(matches!(self.lookup(name)?, Def::Text(_)))
    }

    /// An identifier's value in an expression.
    fn value(&self, name: &str) -> Result<i64, CondError> {
        match self.lookup(name)? {
            Def::Undefined => Ok(0),
            Def::Text(t) if t.starts_with('"') => Err(CondError::StringValue(name.into())),
            Def::Text(t) => int_literal(t.trim_start_matches('-'), 0).map(|v| {
                if t.starts_with('-') {
                    v.wrapping_neg()
                } else {
                    v
                }
            }),
        }
    }

    /// `IS_BUILTIN`: defined as exactly `1` (kconfig.h's `__is_defined`).
    fn builtin(&self, name: &str) -> Result<bool, CondError> {
        Ok(matches!(self.lookup(name)?, Def::Text(t) if t == "1"))
    }

    fn kconfig_macro(&self, mac: &str, arg: &str) -> Result<i64, CondError> {
        let module = || self.builtin(&format!("{arg}_MODULE"));
        let r = match mac {
            "IS_BUILTIN" => self.builtin(arg)?,
            "IS_MODULE" => module()?,
            "IS_ENABLED" => self.builtin(arg)? || module()?,
            "IS_REACHABLE" => {
                self.builtin(arg)?
                    || (module()?
                        && self
                            .defined("MODULE")
                            .map_err(|_| CondError::NoLinkage(format!("IS_REACHABLE({arg})")))?)
            }
            _ => return Err(CondError::UnknownMacro(mac.into())),
        };
        Ok(i64::from(r))
    }
}

type Val = Result<i64, CondError>;

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    env: Env<'a>,
}

/// Binary operators by C precedence level, loosest first (after `?:`).
const LEVELS: &[&[&str]] = &[
    &["||"],
    &["&&"],
    &["|"],
    &["^"],
    &["&"],
    &["==", "!="],
    &["<", ">", "<=", ">="],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Parser<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Token {
                tok: Tok::Op(o), ..
            }) => Some(o),
            _ => None,
        }
    }

    fn col(&self) -> usize {
        self.toks
            .get(self.pos)
            .map_or_else(|| self.toks.last().map_or(1, |t| t.col + 1), |t| t.col)
    }

    fn syntax(&self, msg: impl Into<String>) -> CondError {
        CondError::Syntax {
            col: self.col(),
            msg: msg.into(),
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), CondError> {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(format!("expected `{op}`")))
        }
    }

    fn ternary(&mut self) -> Result<Val, CondError> {
        let c = self.binary(0)?;
        if self.peek_op() != Some("?") {
            return Ok(c);
        }
        self.pos += 1;
        let a = self.ternary()?;
        self.expect(":")?;
        let b = self.ternary()?;
        Ok(match c {
            Ok(c) => {
                if c != 0 {
                    a
                } else {
                    b
                }
            }
            // Unknown condition: fine if both arms agree.
            Err(e) => match (a, b) {
                (Ok(x), Ok(y)) if x == y => Ok(x),
                _ => Err(e),
            },
        })
    }

    fn binary(&mut self, level: usize) -> Result<Val, CondError> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut l = self.binary(level + 1)?;
        while let Some(op) = self.peek_op().filter(|o| LEVELS[level].contains(o)) {
            self.pos += 1;
            let r = self.binary(level + 1)?;
            l = apply(op, l, r);
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Val, CondError> {
        if let Some(op @ ("!" | "~" | "-" | "+")) = self.peek_op() {
            self.pos += 1;
            let v = self.unary()?;
            return Ok(v.map(|v| match op {
                "!" => i64::from(v == 0),
                "~" => !v,
                "-" => v.wrapping_neg(),
                _ => v,
            }));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Val, CondError> {
        let Some(t) = self.toks.get(self.pos).cloned() else {
            return Err(self.syntax("expression expected"));
        };
        self.pos += 1;
        match t.tok {
            Tok::Num(n) => Ok(Ok(n)),
            Tok::Op("(") => {
                let v = self.ternary()?;
                self.expect(")")?;
                Ok(v)
            }
            Tok::Op(o) => {
                self.pos -= 1;
                Err(self.syntax(format!("unexpected `{o}`")))
            }
            Tok::Ident(name) if name == "defined" => {
                let paren = self.peek_op() == Some("(");
                if paren {
                    self.pos += 1;
                }
                let arg = self.ident()?;
                if paren {
                    self.expect(")")?;
                }
                Ok(self.env.defined(&arg).map(i64::from))
            }
            Tok::Ident(name) if self.peek_op() == Some("(") => self.call(name),
            Tok::Ident(name) => Ok(self.env.value(&name)),
        }
    }

    fn ident(&mut self) -> Result<String, CondError> {
        match self.toks.get(self.pos) {
            Some(Token {
                tok: Tok::Ident(s), ..
            }) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.syntax("identifier expected")),
        }
    }

    /// `NAME(…)`: the kconfig.h macros take one identifier; any other
    /// function-like macro is unknown (its arguments are still parsed, so a
    /// syntax error is reported as such).
    fn call(&mut self, name: String) -> Result<Val, CondError> {
        self.pos += 1; // (
        if matches!(
            name.as_str(),
            "IS_BUILTIN" | "IS_MODULE" | "IS_ENABLED" | "IS_REACHABLE"
        ) {
            let arg = self.ident()?;
            self.expect(")")?;
            return Ok(self.env.kconfig_macro(&name, &arg));
        }
        let mut depth = 1;
        while depth > 0 {
            match self.peek_op() {
                Some("(") => depth += 1,
                Some(")") => depth -= 1,
                _ if self.pos >= self.toks.len() => return Err(self.syntax("`)` expected")),
                _ => {}
            }
            self.pos += 1;
        }
        Ok(Err(CondError::UnknownMacro(name)))
    }
}

/// A binary operator on values that may be unknown. `&&` and `||` are
/// decided by either side alone when that side decides them.
fn apply(op: &str, l: Val, r: Val) -> Val {
    match op {
        "&&" => match (l, r) {
            (Ok(0), _) | (_, Ok(0)) => Ok(0),
            (Ok(_), Ok(_)) => Ok(1),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        "||" => match (l, r) {
            (Ok(a), _) if a != 0 => Ok(1),
            (_, Ok(b)) if b != 0 => Ok(1),
            (Ok(_), Ok(_)) => Ok(0),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        _ => {
            let (a, b) = (l?, r?);
            Ok(match op {
                "|" => a | b,
                "^" => a ^ b,
                "&" => a & b,
                "==" => i64::from(a == b),
                "!=" => i64::from(a != b),
                "<" => i64::from(a < b),
                ">" => i64::from(a > b),
                "<=" => i64::from(a <= b),
                ">=" => i64::from(a >= b),
                "<<" => a.wrapping_shl(b as u32),
                ">>" => a.wrapping_shr(b as u32),
                "+" => a.wrapping_add(b),
                "-" => a.wrapping_sub(b),
                "*" => a.wrapping_mul(b),
                "/" | "%" if b == 0 => return Err(CondError::DivisionByZero),
                "/" => a.wrapping_div(b),
                _ => a.wrapping_rem(b),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::parse(
            "t",
            "CONFIG_Y=y\nCONFIG_M=m\nCONFIG_N=5\nCONFIG_ONE=1\nCONFIG_H=0x10\nCONFIG_S=\"s\"\nCONFIG_NEG=-3\n",
        )
        .0
    }

    fn ev(s: &str) -> Result<bool, CondError> {
        eval(s, &cfg(), Linkage::Vmlinux)
    }

    #[test]
    fn defined_follows_autoconf_h() {
        assert_eq!(ev("defined(CONFIG_Y)"), Ok(true));
        assert_eq!(ev("defined CONFIG_Y"), Ok(true));
        // =m defines CONFIG_M_MODULE, not CONFIG_M
        assert_eq!(ev("defined(CONFIG_M)"), Ok(false));
        assert_eq!(ev("defined(CONFIG_M_MODULE)"), Ok(true));
        assert_eq!(ev("defined(CONFIG_Y_MODULE)"), Ok(false));
        assert_eq!(ev("defined(CONFIG_UNSET)"), Ok(false));
        assert_eq!(ev("defined(CONFIG_S)"), Ok(true));
        assert_eq!(ev("!defined(CONFIG_UNSET)"), Ok(true));
    }

    #[test]
    fn kconfig_h_macros() {
        assert_eq!(ev("IS_ENABLED(CONFIG_Y)"), Ok(true));
        assert_eq!(ev("IS_ENABLED(CONFIG_M)"), Ok(true));
        assert_eq!(ev("IS_ENABLED(CONFIG_UNSET)"), Ok(false));
        assert_eq!(ev("IS_BUILTIN(CONFIG_Y)"), Ok(true));
        assert_eq!(ev("IS_BUILTIN(CONFIG_M)"), Ok(false));
        assert_eq!(ev("IS_MODULE(CONFIG_M)"), Ok(true));
        assert_eq!(ev("IS_MODULE(CONFIG_Y)"), Ok(false));
        // a number is "builtin" only when its text is exactly 1
        assert_eq!(ev("IS_BUILTIN(CONFIG_ONE)"), Ok(true));
        assert_eq!(ev("IS_ENABLED(CONFIG_N)"), Ok(false));
    }

    #[test]
    fn reachable_depends_on_linkage() {
        let c = cfg();
        assert_eq!(
            eval("IS_REACHABLE(CONFIG_Y)", &c, Linkage::Vmlinux),
            Ok(true)
        );
        assert_eq!(
            eval("IS_REACHABLE(CONFIG_M)", &c, Linkage::Vmlinux),
            Ok(false)
        );
        assert_eq!(
            eval("IS_REACHABLE(CONFIG_M)", &c, Linkage::Module),
            Ok(true)
        );
        assert_eq!(
            eval("IS_REACHABLE(CONFIG_UNSET)", &c, Linkage::Module),
            Ok(false)
        );
        assert!(matches!(
            eval("IS_REACHABLE(CONFIG_M)", &c, Linkage::Unknown),
            Err(CondError::NoLinkage(_))
        ));
        // =y is reachable whatever the linkage
        assert_eq!(
            eval("IS_REACHABLE(CONFIG_Y)", &c, Linkage::Unknown),
            Ok(true)
        );
        assert_eq!(eval("defined(MODULE)", &c, Linkage::Module), Ok(true));
        assert_eq!(eval("defined(MODULE)", &c, Linkage::Vmlinux), Ok(false));
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert_eq!(ev("CONFIG_N > 3"), Ok(true));
        assert_eq!(ev("CONFIG_N == 5 && CONFIG_H == 16"), Ok(true));
        assert_eq!(ev("CONFIG_UNSET == 0"), Ok(true));
        assert_eq!(ev("CONFIG_NEG < 0"), Ok(true));
        assert_eq!(ev("1 + 2 * 3 == 7"), Ok(true));
        assert_eq!(ev("(1 + 2) * 3 == 9"), Ok(true));
        assert_eq!(ev("1 << 4 == 16"), Ok(true));
        assert_eq!(ev("10 / 3 == 3 && 10 % 3 == 1"), Ok(true));
        assert_eq!(ev("1 || 0 && 0"), Ok(true)); // && binds tighter
        assert_eq!(ev("CONFIG_Y ? 2 : 0"), Ok(true));
        assert_eq!(ev("0x10 == 16 && 010 == 8 && 4UL == 4"), Ok(true));
        assert_eq!(ev("'A' == 65"), Ok(true));
        assert_eq!(ev("~0 == -1"), Ok(true));
        assert_eq!(ev("1 / 0"), Err(CondError::DivisionByZero));
    }

    #[test]
    fn scanner_style_conditions() {
        let c = Config::parse(
            "t",
            "CONFIG_BPF_WQ=y\nCONFIG_MMU=y\nCONFIG_BPF_WQ_LEGACY=y\nCONFIG_NET=y\nCONFIG_INET=y\n",
        )
        .0;
        let e = |s| eval(s, &c, Linkage::Vmlinux);
        assert_eq!(
            e("!(IS_ENABLED(CONFIG_BPF_WQ) && defined(CONFIG_MMU)) && defined(CONFIG_BPF_WQ_LEGACY)"),
            Ok(false)
        );
        assert_eq!(
            e("IS_ENABLED(CONFIG_NET) && defined(CONFIG_INET)"),
            Ok(true)
        );
        assert_eq!(e("IS_BUILTIN(CONFIG_MMU) || IS_MODULE(CONFIG_Z)"), Ok(true));
    }

    #[test]
    fn unknowns_are_errors_naming_them() {
        assert_eq!(
            ev("defined(__BIG_ENDIAN)"),
            Err(CondError::UnknownIdentifier("__BIG_ENDIAN".into()))
        );
        assert_eq!(
            ev("BITS_PER_LONG == 64"),
            Err(CondError::UnknownIdentifier("BITS_PER_LONG".into()))
        );
        assert_eq!(
            ev("__has_attribute(foo) && 1"),
            Err(CondError::UnknownMacro("__has_attribute".into()))
        );
        assert_eq!(
            ev("CONFIG_S == 1"),
            Err(CondError::StringValue("CONFIG_S".into()))
        );
        let msg = ev("BITS_PER_LONG == 64").unwrap_err().to_string();
        assert!(msg.contains("BITS_PER_LONG"), "{msg}");
    }

    #[test]
    fn short_circuit_makes_unknowns_irrelevant() {
        assert_eq!(
            ev("defined(CONFIG_UNSET) && BITS_PER_LONG == 64"),
            Ok(false)
        );
        assert_eq!(
            ev("BITS_PER_LONG == 64 && defined(CONFIG_UNSET)"),
            Ok(false)
        );
        assert_eq!(ev("defined(CONFIG_Y) || defined(__BIG_ENDIAN)"), Ok(true));
        assert!(ev("defined(CONFIG_Y) && defined(__BIG_ENDIAN)").is_err());
        assert_eq!(ev("X ? 1 : 1"), Ok(true));
    }

    #[test]
    fn syntax_errors() {
        for s in [
            "",
            "(1",
            "1 +",
            "defined(",
            "1 2",
            "@",
            "IS_ENABLED(1)",
            "foo(1",
        ] {
            assert!(
                matches!(ev(s), Err(CondError::Syntax { .. })),
                "{s}: {:?}",
                ev(s)
            );
        }
    }
}
