//! A `.c` that is not an object but is `#include`d by one (the scheduler's
//! `build_policy.c` includes `ext.c`, `rt.c`, …) is built where its includer
//! is, when the preprocessor conditions around the `#include` hold.
use super::cond::CondError;
use super::walk::BuildView;
use super::Fate;

type R = Result<bool, CondError>;

fn and(a: &R, b: &R) -> R {
    match (a, b) {
        (Ok(false), _) | (_, Ok(false)) => Ok(false),
        (Ok(true), Ok(true)) => Ok(true),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    }
}

fn or(a: &R, b: &R) -> R {
    match (a, b) {
        (Ok(true), _) | (_, Ok(true)) => Ok(true),
        (Ok(false), Ok(false)) => Ok(false),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    }
}

impl BuildView {
    /// The fate `rel` gets from the objects of its directory that include
    /// it; `None` when none does.
    pub(super) fn included_fate(&self, rel: &str) -> Option<Fate> {
        let (dir, name) = rel.rsplit_once('/')?;
        if !name.ends_with(".c") {
            return None;
        }
        let prefix = format!("{dir}/");
        let mut unknown = None;
        // Sorted, for a deterministic answer when several include it.
        let mut includers: Vec<(&String, &Fate)> = self
            .objects
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
            .collect();
        includers.sort();
        for (obj, fate) in includers {
            let src = format!("{}.c", obj.trim_end_matches(".o"));
            self.looked_at.note(&src);
            let Ok(bytes) = std::fs::read(self.root.join(&src)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let needle = format!("\"{name}\"");
            if !text.contains(&needle) {
                continue;
            }
            let linkage = fate.linkage();
            for site in include_sites(&text, &needle, &|c| self.eval(c, linkage)) {
                match site {
                    Ok(true) => return Some(fate.clone()),
                    Ok(false) => {}
                    Err(e) => {
                        unknown.get_or_insert_with(|| {
                            Fate::Unknown(format!(
                                "{src}: `#include {needle}` is under a condition that cannot be evaluated: {e}"
                            ))
                        });
                    }
                }
            }
            if let Fate::Unknown(r) = fate {
                unknown.get_or_insert_with(|| Fate::Unknown(r.clone()));
            }
        }
        unknown
    }
}

/// One open `#if`.
struct Frame {
    cur: R,
    seen: R,
}

/// For each `#include <needle>` line (`needle` with its quotes), whether
/// the conditions around it hold.
fn include_sites(text: &str, needle: &str, eval: &dyn Fn(&str) -> R) -> Vec<R> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut out = Vec::new();
    for line in directives(text) {
        let body = line.trim_start_matches('#').trim_start();
        let (kw, rest) = body
            .split_once(|c: char| c.is_whitespace() || c == '(' || c == '!')
            .map_or((body, ""), |(k, _)| (k, body[k.len()..].trim()));
        match kw {
            "if" | "ifdef" | "ifndef" => {
                let c = match kw {
                    "if" => eval(rest),
                    "ifdef" => eval(&format!("defined({rest})")),
                    _ => eval(&format!("!defined({rest})")),
                };
                frames.push(Frame {
                    seen: c.clone(),
                    cur: c,
                });
            }
            "elif" | "elifdef" | "elifndef" | "else" => {
                let Some(f) = frames.last_mut() else { continue };
                let c = match kw {
                    "elif" => eval(rest),
                    "elifdef" => eval(&format!("defined({rest})")),
                    "elifndef" => eval(&format!("!defined({rest})")),
                    _ => Ok(true),
                };
                let not_seen = f.seen.clone().map(|s| !s);
                f.cur = and(&c, &not_seen);
                f.seen = or(&f.seen, &c);
            }
            "endif" => {
                frames.pop();
            }
            "include" if rest == needle => {
                // Not try_fold: an unknown frame must not hide a false one.
                let mut all: R = Ok(true);
                for f in &frames {
                    all = and(&all, &f.cur);
                }
                out.push(all);
            }
            _ => {}
        }
    }
    out
}

/// Preprocessor directive lines, continuations joined and comments removed.
fn directives(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_comment = false;
    let mut cur: Option<String> = None;
    for raw in text.lines() {
        let mut line = String::with_capacity(raw.len());
        let mut rest = raw;
        loop {
            if in_comment {
                match rest.find("*/") {
                    Some(i) => {
                        rest = &rest[i + 2..];
                        in_comment = false;
                        line.push(' ');
                    }
                    None => break,
                }
            } else {
                let bc = rest.find("/*");
                let lc = rest.find("//");
                match (bc, lc) {
                    (Some(b), l) if l.is_none_or(|l| b < l) => {
                        line.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_comment = true;
                    }
                    (_, Some(l)) => {
                        line.push_str(&rest[..l]);
                        break;
                    }
                    _ => {
                        line.push_str(rest);
                        break;
                    }
                }
            }
        }
        let cont = line.trim_end().ends_with('\\');
        let piece = line.trim_end().trim_end_matches('\\').to_string();
        match cur.as_mut() {
            Some(c) => {
                c.push(' ');
                c.push_str(&piece);
            }
            None if piece.trim_start().starts_with('#') => cur = Some(piece.trim().to_string()),
            None => continue,
        }
        if !cont {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cond, Config, Linkage};

    #[test]
    fn conditions_around_includes() {
        let c = Config::parse("t", "CONFIG_A=y\n").0;
        let ev = |s: &str| cond::eval(s, &c, Linkage::Vmlinux);
        let src = "#include \"x.c\"\n#ifdef CONFIG_A\n# include \"x.c\"\n#else\n#include \"x.c\"\n#endif\n/* #include \"x.c\" */\n#if defined(CONFIG_B) || \\\n  defined(CONFIG_A)\n#include \"x.c\" // c\n#elif 1\n#include \"x.c\"\n#endif\n#if FOO\n#include \"x.c\"\n#endif\n";
        let got = include_sites(src, "\"x.c\"", &ev);
        assert_eq!(got.len(), 6);
        assert_eq!(
            got[..5],
            [Ok(true), Ok(true), Ok(false), Ok(true), Ok(false)]
        );
        assert!(got[5].is_err());
    }
}
