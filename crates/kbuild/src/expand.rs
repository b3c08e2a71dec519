//! Make's expansion: `$(VAR)`, `${VAR}`, `$x`, substitution references
//! `$(VAR:a=b)`, and the built-in functions Kbuild makefiles use. What
//! cannot be evaluated here (`$(shell …)`, `$(file …)`) expands to nothing
//! with a partial taint naming it.
use super::makefile::{join, normalize, Flavor, Interp, LLine, MaybeTaint, Origin, Var};

/// An expansion's text and whether it is certain.
#[derive(Clone, Debug, Default)]
pub struct Exp {
    pub text: String,
    pub taint: MaybeTaint,
}

impl Exp {
    fn new(text: String) -> Exp {
        Exp { text, taint: None }
    }

    fn with(mut self, t: &MaybeTaint) -> Exp {
        self.taint = join(&self.taint, t);
        self
    }
}

/// Built-in functions and how many arguments they split into (the last
/// takes any further commas); 0 = as many as there are.
fn arity(f: &str) -> Option<usize> {
    Some(match f {
        "strip" | "sort" | "words" | "firstword" | "lastword" | "dir" | "notdir" | "suffix"
        | "basename" | "wildcard" | "realpath" | "abspath" | "shell" | "origin" | "flavor"
        | "value" | "eval" | "error" | "warning" | "info" => 1,
        "findstring" | "filter" | "filter-out" | "word" | "addsuffix" | "addprefix" | "join" => 2,
        "subst" | "patsubst" | "wordlist" | "foreach" | "if" | "let" => 3,
        "or" | "and" | "call" | "file" | "intcmp" | "guile" => 0,
        _ => return None,
    })
}

/// Index of the `)`/`}` closing the reference opened at `s[open]`.
fn matching(s: &[u8], open: usize) -> Option<usize> {
    let (o, c) = if s[open] == b'(' {
        (b'(', b')')
    } else {
        (b'{', b'}')
    };
    let mut depth = 0;
    for (i, &ch) in s.iter().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Splits function arguments at top-level commas, at most `n` (0: any).
fn split_args(s: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.bytes().enumerate() {
        match c {
            b'(' | b'{' => depth += 1,
            b')' | b'}' => depth -= 1,
            b',' if depth == 0 && (n == 0 || out.len() + 1 < n) => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Make's `%` pattern match: the stem, if `word` matches `pat`.
fn pattern_stem<'w>(pat: &str, word: &'w str) -> Option<&'w str> {
    match pat.split_once('%') {
        Some((pre, suf)) => word
            .strip_prefix(pre)
            .and_then(|r| r.strip_suffix(suf))
            .filter(|_| word.len() >= pre.len() + suf.len()),
        None => (pat == word).then_some(""),
    }
}

fn patsubst(pat: &str, rep: &str, text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| match pattern_stem(pat, w) {
            Some(stem) if pat.contains('%') => rep.replacen('%', stem, 1),
            Some(_) => rep.to_string(),
            None => w.to_string(),
        })
        .collect();
    words.join(" ")
}

fn words_join<'s>(it: impl Iterator<Item = &'s str>) -> String {
    it.collect::<Vec<_>>().join(" ")
}

impl Interp<'_, '_> {
    /// Expands `s`.
    pub fn expand(&mut self, s: &str) -> Exp {
        if !s.contains('$') {
            return Exp::new(s.to_string());
        }
        if self.depth > 200 {
            return Exp {
                text: String::new(),
                taint: Some(self.taint(
                    "expansion nests too deep (a variable referring to itself?)",
                    true,
                )),
            };
        }
        self.depth += 1;
        let b = s.as_bytes();
        let mut out = Exp::default();
        let mut i = 0;
        let mut lit = 0;
        while i < b.len() {
            if b[i] != b'$' {
                i += 1;
                continue;
            }
            out.text.push_str(&s[lit..i]);
            let Some(&next) = b.get(i + 1) else {
                i += 1;
                lit = i;
                break;
            };
            if next == b'(' || next == b'{' {
                let Some(end) = matching(b, i + 1) else {
                    out.taint = join(
                        &out.taint,
                        &Some(self.taint("unterminated variable reference", true)),
                    );
                    lit = b.len();
                    break;
                };
                let e = self.reference(&s[i + 2..end]);
                out.text.push_str(&e.text);
                out.taint = join(&out.taint, &e.taint);
                i = end + 1;
            } else if next == b'$' {
                out.text.push('$');
                i += 2;
            } else {
                let name = &s[i + 1..i + 1 + s[i + 1..].chars().next().map_or(1, char::len_utf8)];
                let e = self.var_value(name);
                out.text.push_str(&e.text);
                out.taint = join(&out.taint, &e.taint);
                i += 1 + name.len();
            }
            lit = i;
        }
        out.text.push_str(&s[lit.min(s.len())..]);
        self.depth -= 1;
        out
    }

    /// The inside of `$(…)`: a function call, a substitution reference or a
    /// variable.
    fn reference(&mut self, inner: &str) -> Exp {
        if let Some(sp) = inner.find([' ', '\t']) {
            let f = &inner[..sp];
            if let Some(n) = arity(f) {
                return self.function(f, inner[sp..].trim_start(), n);
            }
        }
        // `$(VAR:pat=rep)`: `pat` without `%` replaces a suffix.
        let b = inner.as_bytes();
        let mut depth = 0;
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'(' | b'{' => depth += 1,
                b')' | b'}' => depth -= 1,
                b':' if depth == 0 => {
                    if let Some(eq) = inner[i + 1..].find('=') {
                        let name = self.expand(&inner[..i]);
                        let v = self.var_value(name.text.trim()).with(&name.taint);
                        let pat = self.expand(&inner[i + 1..i + 1 + eq]);
                        let rep = self.expand(&inner[i + 2 + eq..]);
                        let (p, r) = if pat.text.contains('%') {
                            (pat.text.clone(), rep.text.clone())
                        } else {
                            (format!("%{}", pat.text), format!("%{}", rep.text))
                        };
                        return Exp::new(patsubst(&p, &r, &v.text))
                            .with(&v.taint)
                            .with(&pat.taint)
                            .with(&rep.taint);
                    }
                }
                _ => {}
            }
        }
        let name = self.expand(inner);
        self.var_value(name.text.trim()).with(&name.taint)
    }

    /// A variable's expanded value. Undefined is empty, as in Make: the
    /// makefiles that define what Kbuild needs are all read, and the
    /// configuration's unset symbols are exactly the undefined `CONFIG_`s.
    pub fn var_value(&mut self, name: &str) -> Exp {
        if let Some(v) = self.env.get(name).filter(|v| v.flavor == Flavor::Simple) {
            let (text, taint) = v.raw();
            return Exp { text, taint };
        }
        let Some(var) = self.env.get(name).cloned() else {
            return Exp::new(
                self.ctx
                    .config
                    .get(name)
                    .map(|s| s.raw.clone())
                    .unwrap_or_default(),
            );
        };
        let mut out = Exp::default();
        for seg in &var.segs {
            let e = match var.flavor {
                Flavor::Simple => Exp::new(seg.text.clone()),
                Flavor::Recursive => self.expand(&seg.text),
            };
            if !e.text.is_empty() {
                if !out.text.is_empty() {
                    out.text.push(' ');
                }
                out.text.push_str(&e.text);
            }
            out.taint = join(&out.taint, &join(&e.taint, &seg.taint));
        }
        out
    }

    fn unknown(&self, what: String) -> Exp {
        Exp {
            text: String::new(),
            taint: Some(self.taint(what, true)),
        }
    }

    fn function(&mut self, f: &str, args: &str, n: usize) -> Exp {
        let raw = split_args(args, n);
        let arg = |i: usize| raw.get(i).copied().unwrap_or("");
        match f {
            "if" => {
                let c = self.expand(arg(0));
                match &c.taint {
                    // Not knowing which, keep both: the union of words.
                    Some(_) => {
                        let a = self.expand(arg(1));
                        let b = self.expand(arg(2));
                        Exp::new(format!("{} {}", a.text, b.text)).with(&c.taint)
                    }
                    None if !c.text.trim().is_empty() => self.expand(arg(1)),
                    None => self.expand(arg(2)),
                }
            }
            "or" | "and" => self.or_and(f == "or", &raw),
            "foreach" => self.foreach(arg(0), arg(1), arg(2)),
            "call" => self.call(&raw),
            "eval" => self.eval_text(arg(0)),
            "value" => {
                let name = self.expand(arg(0));
                match self.var_raw(name.text.trim()) {
                    Some((t, taint)) => Exp::new(t).with(&taint).with(&name.taint),
                    None => Exp::default().with(&name.taint),
                }
            }
            "origin" | "flavor" => self.origin_flavor(f, arg(0)),
            "error" | "warning" | "info" => Exp::default(),
            "shell" | "file" | "let" | "intcmp" | "guile" => {
                let shown: String = args.chars().take(60).collect();
                self.unknown(format!(
                    "`$({f} {shown})` cannot be evaluated without running it"
                ))
            }
            _ => {
                let mut taint = None;
                let vals: Vec<String> = raw
                    .iter()
                    .map(|a| {
                        let e = self.expand(a);
                        taint = join(&taint, &e.taint);
                        e.text
                    })
                    .collect();
                let r = self.pure(f, &vals);
                r.with(&taint)
            }
        }
    }

    /// `$(eval …)`: the expansion read as makefile lines, at this line.
    fn eval_text(&mut self, arg: &str) -> Exp {
        let e = self.expand(arg);
        let file = self.file.clone();
        let line = self.line;
        let lines: Vec<LLine> = super::makefile::logical_lines(&e.text)
            .into_iter()
            .map(|mut l| {
                l.line = line;
                l
            })
            .collect();
        let saved = self.cond.clone();
        self.cond = join(&self.cond, &e.taint);
        self.run(file, &lines);
        self.cond = saved;
        Exp::default()
    }

    fn origin_flavor(&mut self, f: &str, arg: &str) -> Exp {
        let name = self.expand(arg);
        let v = self.env.get(name.text.trim());
        let cfg = self.ctx.config.get(name.text.trim()).is_some();
        let s = match (f, v) {
            ("origin", Some(v)) => match v.origin {
                Origin::File => "file",
                Origin::Environment => "environment",
                Origin::CommandLine => "command line",
                Origin::Override => "override",
            },
            ("flavor", Some(v)) if v.flavor == Flavor::Simple => "simple",
            ("flavor", Some(_)) => "recursive",
            ("origin", None) if cfg => "file",
            ("flavor", None) if cfg => "simple",
            _ => "undefined",
        };
        Exp::new(s.into()).with(&name.taint)
    }

    fn or_and(&mut self, or: bool, raw: &[&str]) -> Exp {
        let mut last = Exp::default();
        for a in raw {
            let e = self.expand(a);
            if e.taint.is_some() {
                return e;
            }
            let empty = e.text.trim().is_empty();
            if or && !empty {
                return e;
            }
            if !or && empty {
                return Exp::default();
            }
            last = e;
        }
        if or {
            Exp::default()
        } else {
            last
        }
    }

    fn foreach(&mut self, var: &str, list: &str, body: &str) -> Exp {
        let name = self.expand(var).text.trim().to_string();
        let list = self.expand(list);
        let saved = self.env.local.get(&name).cloned();
        let mut out = Vec::new();
        let mut taint = list.taint.clone();
        for w in list.text.split_whitespace() {
            self.env.set(&name, Var::simple(w, Origin::File));
            let e = self.expand(body);
            taint = join(&taint, &e.taint);
            if !e.text.trim().is_empty() {
                out.push(e.text);
            }
        }
        match saved {
            Some(v) => self.env.set(&name, v),
            None => {
                self.env.local.remove(&name);
            }
        }
        Exp::new(out.join(" ")).with(&taint)
    }

    /// `$(call name,a,b)`: `$(1)`, `$(2)`… bound while `name` expands.
    fn call(&mut self, raw: &[&str]) -> Exp {
        let name = self
            .expand(raw.first().copied().unwrap_or(""))
            .text
            .trim()
            .to_string();
        let mut taint = None;
        let mut args = Vec::new();
        for a in raw.iter().skip(1) {
            let e = self.expand(a);
            taint = join(&taint, &e.taint);
            args.push(e.text);
        }
        if let Some(n) = arity(&name) {
            // A built-in function called through `call`.
            let joined = args.join(",");
            return self.function(&name, &joined, n).with(&taint);
        }
        let mut saved = Vec::new();
        let count = args.len().max(9);
        for i in 0..=count {
            let key = i.to_string();
            saved.push(self.env.local.remove(&key));
            let v = if i == 0 {
                name.clone()
            } else {
                args.get(i - 1).cloned().unwrap_or_default()
            };
            self.env.set(&key, Var::simple(&v, Origin::File));
        }
        let r = self.var_value(&name);
        for (i, v) in saved.into_iter().enumerate() {
            let key = i.to_string();
            match v {
                Some(v) => self.env.set(&key, v),
                None => {
                    self.env.local.remove(&key);
                }
            }
        }
        r.with(&taint)
    }

    /// Functions of their expanded arguments alone.
    fn pure(&mut self, f: &str, a: &[String]) -> Exp {
        let arg = |i: usize| a.get(i).map_or("", String::as_str);
        let words = |i: usize| arg(i).split_whitespace();
        let text = match f {
            "subst" if !arg(0).is_empty() => arg(2).replace(arg(0), arg(1)),
            "subst" => arg(2).to_string(),
            "patsubst" => patsubst(arg(0).trim(), arg(1).trim(), arg(2)),
            "strip" => words_join(words(0)),
            "findstring" => (if arg(1).contains(arg(0)) { arg(0) } else { "" }).to_string(),
            "filter" | "filter-out" => {
                let pats: Vec<&str> = words(0).collect();
                let keep = f == "filter";
                words_join(
                    words(1).filter(|w| pats.iter().any(|p| pattern_stem(p, w).is_some()) == keep),
                )
            }
            "sort" => {
                let mut v: Vec<&str> = words(0).collect();
                v.sort_unstable();
                v.dedup();
                v.join(" ")
            }
            "word" | "wordlist" => {
                let n = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
                let (from, to, list) = if f == "word" {
                    (n(arg(0)), n(arg(0)), 1)
                } else {
                    (n(arg(0)), n(arg(1)), 2)
                };
                words_join(
                    words(list)
                        .enumerate()
                        .filter(|(i, _)| *i + 1 >= from.max(1) && *i < to)
                        .map(|(_, w)| w),
                )
            }
            "words" => words(0).count().to_string(),
            "firstword" => words(0).next().unwrap_or("").to_string(),
            "lastword" => words(0).last().unwrap_or("").to_string(),
            "dir" => words_join(words(0).map(|w| w.rfind('/').map_or("./", |i| &w[..=i]))),
            "notdir" => words_join(words(0).map(|w| w.rsplit('/').next().unwrap_or(w))),
            "suffix" | "basename" => suffix_basename(f == "suffix", arg(0)),
            "addsuffix" => words(1)
                .map(|w| format!("{w}{}", arg(0)))
                .collect::<Vec<_>>()
                .join(" "),
            "addprefix" => words(1)
                .map(|w| format!("{}{w}", arg(0)))
                .collect::<Vec<_>>()
                .join(" "),
            "join" => {
                let (x, y): (Vec<&str>, Vec<&str>) = (words(0).collect(), words(1).collect());
                (0..x.len().max(y.len()))
                    .map(|i| format!("{}{}", x.get(i).unwrap_or(&""), y.get(i).unwrap_or(&"")))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            "wildcard" => return self.wildcard(arg(0)),
            "realpath" | "abspath" => words_join(
                words(0)
                    .filter_map(|w| self.abspath(w, f == "realpath"))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
            _ => String::new(),
        };
        Exp::new(text)
    }

    /// An absolute path for `w` (relative to `CURDIR`, the tree's root);
    /// `realpath` also requires it to exist.
    fn abspath(&self, w: &str, must_exist: bool) -> Option<String> {
        let joined = if w.starts_with('/') {
            w.to_string()
        } else {
            format!("{}/{w}", self.ctx.root_abs)
        };
        let norm = format!("/{}", normalize(&joined)?);
        if must_exist {
            self.note_looked_at(&norm);
            return std::fs::canonicalize(&norm)
                .ok()
                .map(|p| p.display().to_string());
        }
        Some(norm)
    }

    /// Notes that the path `p` (absolute, or relative to the tree) was
    /// looked at: tree-relative in the log, or the log marked as having
    /// looked outside the tree.
    fn note_looked_at(&self, p: &str) {
        match self.ctx.tree_rel(p) {
            Some(rel) => self.ctx.looked_at.note(&rel),
            None => self.ctx.looked_at.note_outside(),
        }
    }

    /// `$(wildcard …)`: `*` and `?` in a path's last component; a pattern
    /// in a directory component is not followed (a taint says so).
    fn wildcard(&mut self, pats: &str) -> Exp {
        let mut out: Vec<String> = Vec::new();
        for p in pats.split_whitespace() {
            let (dir, file) = p.rsplit_once('/').unwrap_or(("", p));
            if dir.contains(['*', '?', '[']) || file.contains('[') {
                return self.unknown(format!("`$(wildcard {p})` is too complex to evaluate here"));
            }
            let base = if dir.is_empty() && p.starts_with('/') {
                "/"
            } else {
                dir
            };
            let rel_dir = self.ctx.tree_rel(base);
            let on_disk = match &rel_dir {
                Some(rel) => self.ctx.root.join(rel),
                None => std::path::PathBuf::from(base),
            };
            // noted tree-relative as found (the root may be a relative
            // path: `on_disk` is no path Make would name)
            let note = |name: Option<&str>| match (&rel_dir, name) {
                (None, _) => self.ctx.looked_at.note_outside(),
                (Some(d), None) => self.ctx.looked_at.note(d),
                (Some(d), Some(n)) if d.is_empty() => self.ctx.looked_at.note(n),
                (Some(d), Some(n)) => self.ctx.looked_at.note(&format!("{d}/{n}")),
            };
            if !file.contains(['*', '?']) {
                note(Some(file));
                if on_disk.join(file).exists() {
                    out.push(p.to_string());
                }
                continue;
            }
            // the directory's key changes with its entries
            note(None);
            let Ok(rd) = std::fs::read_dir(&on_disk) else {
                continue;
            };
            let mut found: Vec<String> = rd
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| glob(file.as_bytes(), n.as_bytes()) && !n.starts_with('.'))
                .map(|n| {
                    if p.contains('/') {
                        format!("{dir}/{n}")
                    } else {
                        n
                    }
                })
                .collect();
            found.sort();
            out.extend(found);
        }
        Exp::new(out.join(" "))
    }
}

/// `$(suffix …)` (the last `.x` of each word's file name, if any) or
/// `$(basename …)` (the word without it).
fn suffix_basename(suffix: bool, text: &str) -> String {
    let split = |w: &str| -> Option<usize> {
        let slash = w.rfind('/').map_or(0, |i| i + 1);
        w[slash..].rfind('.').map(|d| slash + d)
    };
    let words = text.split_whitespace();
    if suffix {
        words_join(words.filter_map(|w| split(w).map(|i| &w[i..])))
    } else {
        words_join(words.map(|w| &w[..split(w).unwrap_or(w.len())]))
    }
}

/// `*` and `?` matching.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Expands `s` in an environment of `vars` over an empty tree, for tests.
#[cfg(test)]
pub(crate) fn expand_for_test(vars: &[(&str, &str)], s: &str) -> Exp {
    let cfg = super::Config::parse("t", "CONFIG_Y=y\nCONFIG_M=m\n").0;
    let ctx = super::makefile::Ctx::new(std::path::Path::new("/nonexistent"), &cfg);
    let mut env = super::makefile::Env::default();
    for (k, v) in vars {
        env.set(
            k,
            Var {
                flavor: Flavor::Recursive,
                segs: vec![super::makefile::Seg {
                    text: (*v).into(),
                    taint: None,
                }],
                export: false,
                origin: Origin::File,
            },
        );
    }
    let mut i = Interp::new(&ctx, env);
    i.file = std::rc::Rc::from("test");
    i.expand(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(vars: &[(&str, &str)], s: &str) -> String {
        let e = expand_for_test(vars, s);
        assert!(e.taint.is_none(), "{s}: {:?}", e.taint);
        e.text
    }

    #[test]
    fn references() {
        let v = [
            ("a", "x y"),
            ("b", "$(a) z"),
            ("n", "a"),
            ("s", "foo.c bar.c"),
        ];
        assert_eq!(ex(&v, "$(a)"), "x y");
        assert_eq!(ex(&v, "${b}"), "x y z");
        assert_eq!(ex(&v, "$($(n))"), "x y");
        assert_eq!(ex(&v, "$(s:.c=.o)"), "foo.o bar.o");
        assert_eq!(ex(&v, "$(s:%.c=%.o)"), "foo.o bar.o");
        assert_eq!(ex(&v, "$$x$(undefined)"), "$x");
        assert_eq!(
            ex(&v, "obj-$(CONFIG_Y) obj-$(CONFIG_M) obj-$(CONFIG_UNSET)"),
            "obj-y obj-m obj-"
        );
    }

    #[test]
    fn functions() {
        let v = [("l", "a.o b/ c.o d/"), ("f", "$(1)-$(2)")];
        assert_eq!(ex(&v, "$(filter %/,$(l))"), "b/ d/");
        assert_eq!(ex(&v, "$(filter-out %/, $(l))"), "a.o c.o");
        assert_eq!(
            ex(&v, "$(patsubst %/,%/built-in.a,$(l))"),
            "a.o b/built-in.a c.o d/built-in.a"
        );
        assert_eq!(ex(&v, "$(subst m,y,$(CONFIG_M))"), "y");
        assert_eq!(ex(&v, "$(if $(CONFIG_Y),yes,no)"), "yes");
        assert_eq!(ex(&v, "$(if $(CONFIG_UNSET),yes,no)"), "no");
        assert_eq!(ex(&v, "$(or ,,b)"), "b");
        assert_eq!(ex(&v, "$(and a,,b)"), "");
        assert_eq!(ex(&v, "$(call f,x,y)"), "x-y");
        assert_eq!(ex(&v, "$(foreach w,a b,$(w).o)"), "a.o b.o");
        assert_eq!(ex(&v, "$(sort b a b)"), "a b");
        assert_eq!(ex(&v, "$(strip  a   b )"), "a b");
        assert_eq!(
            ex(&v, "$(words $(l)) $(firstword $(l)) $(lastword $(l))"),
            "4 a.o d/"
        );
        assert_eq!(ex(&v, "$(word 2,$(l))"), "b/");
        assert_eq!(ex(&v, "$(dir a/b.c c) $(notdir a/b.c)"), "a/ ./ b.c");
        assert_eq!(ex(&v, "$(basename a/b.c x) $(suffix a/b.c x)"), "a/b x .c");
        assert_eq!(
            ex(&v, "$(addprefix p/,a b) $(addsuffix .o,a b)"),
            "p/a p/b a.o b.o"
        );
        assert_eq!(ex(&v, "$(findstring y,xyz)"), "y");
        assert_eq!(
            ex(&v, "$(origin l) $(origin nope) $(flavor l)"),
            "file undefined recursive"
        );
        assert_eq!(ex(&v, "$(value f)"), "$(1)-$(2)");
    }

    #[test]
    fn shell_is_unknown_and_partial() {
        let e = expand_for_test(&[], "a $(shell uname -m) b");
        assert_eq!(e.text, "a  b");
        let t = e.taint.expect("tainted");
        assert!(t.partial && t.reason.contains("shell"), "{t:?}");
        // an unknown condition keeps both branches' words
        let e = expand_for_test(&[], "$(if $(shell x),a.o,b.o)");
        assert_eq!(e.text, "a.o b.o");
        assert!(e.taint.is_some());
    }
}
