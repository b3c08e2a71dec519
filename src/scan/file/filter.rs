//! Reads a kfunc set's `.filter` callback into what it lets through.
//!
//! A filter is `int f(const struct bpf_prog *prog, u32 kfunc_id)`: 0 lets
//! the call through, anything else refuses it. The body is read as a small
//! program of `if`s and `return`s over a handful of facts (atoms):
//! `prog->type == X`, `prog->expected_attach_type == Y`,
//! `btf_id_set8_contains(&set, kfunc_id)`, calls to one-line helpers of the
//! same file (`is_kprobe_session(prog)`, inlined), and anything else as an
//! opaque condition. The condition for returning 0 is then evaluated for
//! every combination of the atoms' values, the filter's own set taken as
//! holding the kfunc (the filter is asked about that set's kfuncs), and
//! the answer is kept when it splits into program types × attach types ×
//! required conditions; otherwise the filter is "unread", with the reason.

use super::parse::{pos, text};
use crate::conventions::{FILTER_ATTACH_TYPE_FIELD, FILTER_PROG_TYPE_FIELD, FILTER_SET_CHECK};
use crate::scan::records::{Allowed, RawFilter, Reading};
use std::collections::BTreeSet;
use tree_sitter::Node;

/// The most opaque conditions a filter may combine: 2^n cases are tried.
const MAX_OPAQUE: usize = 4;
/// The most cases (program types × attach types × opaque values) tried.
const MAX_CASES: usize = 1 << 14;
/// How deep one-line helpers are inlined.
const MAX_INLINE: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    ProgType(String),
    AttachType(String),
    InSet(String),
    Opaque(String),
}

#[derive(Debug, Clone)]
enum Cond {
    Const(bool),
    Atom(usize),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

fn and(a: Cond, b: Cond) -> Cond {
    match (&a, &b) {
        (Cond::Const(false), _) | (_, Cond::Const(false)) => Cond::Const(false),
        (Cond::Const(true), _) => b,
        (_, Cond::Const(true)) => a,
        _ => Cond::And(Box::new(a), Box::new(b)),
    }
}

fn or(a: Cond, b: Cond) -> Cond {
    match (&a, &b) {
        (Cond::Const(true), _) | (_, Cond::Const(true)) => Cond::Const(true),
        (Cond::Const(false), _) => b,
        (_, Cond::Const(false)) => a,
        _ => Cond::Or(Box::new(a), Box::new(b)),
    }
}

fn not(a: Cond) -> Cond {
    match a {
        Cond::Const(v) => Cond::Const(!v),
        Cond::Not(inner) => *inner,
        other => Cond::Not(Box::new(other)),
    }
}

/// The function definitions of a file, by name, looking inside `#if`s.
pub(crate) fn definitions<'t>(root: Node<'t>, src: &[u8]) -> Vec<(String, Node<'t>)> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let mut c = n.walk();
        for child in n.named_children(&mut c) {
            match child.kind() {
                "function_definition" => {
                    if let Some(name) = function_name(child, src) {
                        out.push((name, child));
                    }
                }
                k if k.starts_with("preproc_") => stack.push(child),
                _ => {}
            }
        }
    }
    out
}

fn function_declarator(def: Node) -> Option<Node> {
    let mut d = def.child_by_field_name("declarator")?;
    while d.kind() != "function_declarator" {
        d = d.child_by_field_name("declarator")?;
    }
    Some(d)
}

fn function_name(def: Node, src: &[u8]) -> Option<String> {
    let name = function_declarator(def)?.child_by_field_name("declarator")?;
    (name.kind() == "identifier").then(|| text(name, src).into_owned())
}

/// The names of a definition's parameters, in order.
fn param_names(def: Node, src: &[u8]) -> Vec<String> {
    let Some(params) = function_declarator(def).and_then(|d| d.child_by_field_name("parameters"))
    else {
        return Vec::new();
    };
    let mut c = params.walk();
    params
        .named_children(&mut c)
        .filter(|p| p.kind() == "parameter_declaration")
        .filter_map(|p| {
            let mut d = p.child_by_field_name("declarator")?;
            while d.kind() != "identifier" {
                d = d.child_by_field_name("declarator")?;
            }
            Some(text(d, src).into_owned())
        })
        .collect()
}

/// Reads filter `name` of the set `own_set`, among the file's `defs`.
pub(crate) fn read(name: &str, own_set: &str, defs: &[(String, Node)], src: &[u8]) -> RawFilter {
    let Some(def) = defs.iter().find(|(n, _)| n == name).map(|(_, d)| *d) else {
        return RawFilter {
            name: name.to_string(),
            at: None,
            reading: Reading::Unread("its definition is not in this file".into()),
        };
    };
    let at = function_declarator(def)
        .and_then(|d| d.child_by_field_name("declarator"))
        .map(pos);
    let reading = match size_check(def).and_then(|()| Reader::new(defs, src).read(def, own_set)) {
        Ok(r) => r,
        Err(why) => Reading::Unread(why),
    };
    RawFilter {
        name: name.to_string(),
        at,
        reading,
    }
}

/// The most nodes, and the deepest nesting, a filter read may have: the
/// kernel's are a dozen lines; the reading recurses over the body and
/// builds a condition as deep as its `return`s are many, so a bound keeps
/// any input from exhausting the stack.
const MAX_NODES: usize = 4000;
const MAX_NESTING: usize = 64;

/// Whether `def` is small enough to read (an iterative walk).
fn size_check(def: Node) -> Result<(), String> {
    let mut cursor = def.walk();
    let (mut nodes, mut depth) = (0usize, 0usize);
    loop {
        nodes += 1;
        if nodes > MAX_NODES || depth > MAX_NESTING {
            return Err(format!(
                "it is larger than kfunc-scan reads (over {MAX_NODES} nodes or {MAX_NESTING} levels)"
            ));
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() || depth <= 1 {
                return Ok(());
            }
            depth -= 1;
        }
    }
}

struct Reader<'a, 't> {
    defs: &'a [(String, Node<'t>)],
    src: &'a [u8],
    atoms: Vec<Atom>,
    /// The condition under which a `return 0` was reached so far.
    allow: Cond,
}

/// The names a filter's (or an inlined helper's) parameters go by.
#[derive(Clone)]
struct Scope {
    prog: String,
    kfunc_id: Option<String>,
    depth: u32,
}

impl<'a, 't> Reader<'a, 't> {
    fn new(defs: &'a [(String, Node<'t>)], src: &'a [u8]) -> Self {
        Reader {
            defs,
            src,
            atoms: Vec::new(),
            allow: Cond::Const(false),
        }
    }

    fn read(mut self, def: Node, own_set: &str) -> Result<Reading, String> {
        let [prog, kfunc_id] = param_names(def, self.src)
            .try_into()
            .map_err(|_| "it does not take (prog, kfunc_id)")?;
        let scope = Scope {
            prog,
            kfunc_id: Some(kfunc_id),
            depth: 0,
        };
        let body = def.child_by_field_name("body").ok_or("it has no body")?;
        let falls_off = self.statement(body, Cond::Const(true), &scope)?;
        self.tabulate(&falls_off, own_set)
    }

    fn atom(&mut self, a: Atom) -> Cond {
        let i = match self.atoms.iter().position(|x| *x == a) {
            Some(i) => i,
            None => {
                self.atoms.push(a);
                self.atoms.len() - 1
            }
        };
        Cond::Atom(i)
    }

    fn where_(&self, n: Node) -> String {
        let first = text(n, self.src);
        let first = first.lines().next().unwrap_or_default().trim().to_string();
        format!("`{first}` (line {}) is not read", pos(n).0)
    }

    /// Runs a statement reached under `reach`; the condition under which
    /// control leaves it other than by `return`.
    fn statement(&mut self, n: Node, reach: Cond, s: &Scope) -> Result<Cond, String> {
        match n.kind() {
            "compound_statement" => {
                let mut reach = reach;
                let mut c = n.walk();
                for child in n.named_children(&mut c) {
                    reach = self.statement(child, reach, s)?;
                }
                Ok(reach)
            }
            "comment" => Ok(reach),
            "expression_statement" if n.named_child_count() == 0 => Ok(reach),
            "if_statement" => {
                let test = n
                    .child_by_field_name("condition")
                    .ok_or_else(|| self.where_(n))?;
                let c = self.condition(test, s);
                let then = n
                    .child_by_field_name("consequence")
                    .ok_or_else(|| self.where_(n))?;
                let after_then = self.statement(then, and(reach.clone(), c.clone()), s)?;
                let otherwise = and(reach, not(c));
                let after_else = match n.child_by_field_name("alternative") {
                    Some(alt) => {
                        let body = alt.named_child(0).ok_or_else(|| self.where_(alt))?;
                        self.statement(body, otherwise, s)?
                    }
                    None => otherwise,
                };
                Ok(or(after_then, after_else))
            }
            "return_statement" => {
                let value = n.named_child(0).ok_or_else(|| self.where_(n))?;
                let zero = self.returns_zero(value, s)?;
                self.allow = or(self.allow.clone(), and(reach, zero));
                Ok(Cond::Const(false))
            }
            _ => Err(self.where_(n)),
        }
    }

    /// When a returned value is 0.
    fn returns_zero(&mut self, v: Node, s: &Scope) -> Result<Cond, String> {
        match v.kind() {
            "parenthesized_expression" => {
                let inner = v.named_child(0).ok_or_else(|| self.where_(v))?;
                self.returns_zero(inner, s)
            }
            "number_literal" => parse_int(&text(v, self.src))
                .map(|n| Cond::Const(n == 0))
                .ok_or_else(|| self.where_(v)),
            // -EACCES, -EPERM: an error number, never 0
            "unary_expression" if operator(v, self.src) == "-" => Ok(Cond::Const(false)),
            "identifier" if is_errno(&text(v, self.src)) => Ok(Cond::Const(false)),
            "conditional_expression" => {
                let (Some(c), Some(a), Some(b)) = (
                    v.child_by_field_name("condition"),
                    v.child_by_field_name("consequence"),
                    v.child_by_field_name("alternative"),
                ) else {
                    return Err(self.where_(v));
                };
                let c = self.condition(c, s);
                let a = self.returns_zero(a, s)?;
                let b = self.returns_zero(b, s)?;
                Ok(or(and(c.clone(), a), and(not(c), b)))
            }
            _ => Err(self.where_(v)),
        }
    }

    /// An expression taken as a truth value.
    fn condition(&mut self, e: Node, s: &Scope) -> Cond {
        match e.kind() {
            "parenthesized_expression" | "condition_clause" => match e.named_child(0) {
                Some(inner) => self.condition(inner, s),
                None => self.opaque(e),
            },
            "unary_expression" if operator(e, self.src) == "!" => {
                match e.child_by_field_name("argument") {
                    Some(a) => not(self.condition(a, s)),
                    None => self.opaque(e),
                }
            }
            "binary_expression" => self.binary(e, s),
            "number_literal" => match parse_int(&text(e, self.src)) {
                Some(n) => Cond::Const(n != 0),
                None => self.opaque(e),
            },
            "true" => Cond::Const(true),
            "false" => Cond::Const(false),
            "call_expression" => self.call(e, s),
            _ => self.opaque(e),
        }
    }

    fn binary(&mut self, e: Node, s: &Scope) -> Cond {
        let (Some(l), Some(r)) = (
            e.child_by_field_name("left"),
            e.child_by_field_name("right"),
        ) else {
            return self.opaque(e);
        };
        match operator(e, self.src).as_str() {
            "&&" => and(self.condition(l, s), self.condition(r, s)),
            "||" => or(self.condition(l, s), self.condition(r, s)),
            op @ ("==" | "!=") => {
                let fact = self
                    .comparison(l, r, s)
                    .or_else(|| self.comparison(r, l, s));
                match fact {
                    Some(a) => {
                        let c = self.atom(a);
                        if op == "==" {
                            c
                        } else {
                            not(c)
                        }
                    }
                    None => self.opaque(e),
                }
            }
            _ => self.opaque(e),
        }
    }

    /// `prog->type == X` or `prog->expected_attach_type == X`.
    fn comparison(&self, field: Node, value: Node, s: &Scope) -> Option<Atom> {
        if field.kind() != "field_expression" || value.kind() != "identifier" {
            return None;
        }
        let arg = field.child_by_field_name("argument")?;
        let name = field.child_by_field_name("field")?;
        if text(arg, self.src) != s.prog.as_str() {
            return None;
        }
        let value = text(value, self.src).into_owned();
        match text(name, self.src).as_ref() {
            FILTER_PROG_TYPE_FIELD => Some(Atom::ProgType(value)),
            FILTER_ATTACH_TYPE_FIELD => Some(Atom::AttachType(value)),
            _ => None,
        }
    }

    fn call(&mut self, e: Node, s: &Scope) -> Cond {
        let (Some(f), Some(args)) = (
            e.child_by_field_name("function"),
            e.child_by_field_name("arguments"),
        ) else {
            return self.opaque(e);
        };
        let mut c = args.walk();
        let args: Vec<Node> = args
            .named_children(&mut c)
            .filter(|a| a.kind() != "comment")
            .collect();
        let fname = text(f, self.src).into_owned();
        if fname == FILTER_SET_CHECK && args.len() == 2 {
            let is_id = s
                .kfunc_id
                .as_deref()
                .is_some_and(|id| text(args[1], self.src) == id);
            let set = args[0]
                .child_by_field_name("argument")
                .filter(|_| args[0].kind() == "pointer_expression")
                .map(|a| text(a, self.src).into_owned());
            if let (true, Some(set)) = (is_id, set) {
                return self.atom(Atom::InSet(set));
            }
        }
        if let [arg] = args.as_slice() {
            if text(*arg, self.src) == s.prog.as_str() && s.depth < MAX_INLINE {
                if let Some(c) = self.inline(&fname, s) {
                    return c;
                }
            }
        }
        self.opaque(e)
    }

    /// A helper of the file taking only the program, whose body is one
    /// `return EXPR;`: EXPR, read with its parameter as the program.
    fn inline(&mut self, fname: &str, s: &Scope) -> Option<Cond> {
        let def = self.defs.iter().find(|(n, _)| n == fname)?.1;
        let params = param_names(def, self.src);
        let [param] = params.as_slice() else {
            return None;
        };
        let body = def.child_by_field_name("body")?;
        let mut c = body.walk();
        let stmts: Vec<Node> = body
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment")
            .collect();
        let [ret] = stmts.as_slice() else {
            return None;
        };
        if ret.kind() != "return_statement" {
            return None;
        }
        let value = ret.named_child(0)?;
        let inner = Scope {
            prog: param.clone(),
            kfunc_id: None,
            depth: s.depth + 1,
        };
        Some(self.condition(value, &inner))
    }

    fn opaque(&mut self, e: Node) -> Cond {
        let t = text(e, self.src);
        let t: Vec<&str> = t.split_whitespace().collect();
        self.atom(Atom::Opaque(t.join(" ")))
    }

    /// Evaluates the allow condition for every case and splits the answer.
    fn tabulate(&self, falls_off: &Cond, own_set: &str) -> Result<Reading, String> {
        let mut types: Vec<Option<&str>> = vec![None];
        let mut attaches: Vec<Option<&str>> = vec![None];
        let mut opaque: Vec<usize> = Vec::new();
        let mut guarded = false;
        for (i, a) in self.atoms.iter().enumerate() {
            match a {
                Atom::ProgType(t) if !types.contains(&Some(t.as_str())) => types.push(Some(t)),
                Atom::AttachType(t) if !attaches.contains(&Some(t.as_str())) => {
                    attaches.push(Some(t))
                }
                Atom::InSet(set) if set == own_set => guarded = true,
                Atom::InSet(_) | Atom::Opaque(_) => opaque.push(i),
                _ => {}
            }
        }
        if opaque.len() > MAX_OPAQUE {
            return Err(format!(
                "it combines more than {MAX_OPAQUE} conditions kfunc-scan does not evaluate"
            ));
        }
        if (types.len() * attaches.len()) << opaque.len() > MAX_CASES {
            return Err(format!("it tells more than {MAX_CASES} cases apart"));
        }
        let mut allowed: BTreeSet<(usize, usize, usize)> = BTreeSet::new();
        for (ti, t) in types.iter().enumerate() {
            for (ai, a) in attaches.iter().enumerate() {
                for bits in 0..1usize << opaque.len() {
                    let value = |i: usize| match &self.atoms[i] {
                        Atom::ProgType(x) => Some(x.as_str()) == *t,
                        Atom::AttachType(x) => Some(x.as_str()) == *a,
                        Atom::InSet(set) if set == own_set => true,
                        _ => opaque
                            .iter()
                            .position(|&o| o == i)
                            .is_some_and(|k| bits >> k & 1 == 1),
                    };
                    if eval(falls_off, &value) {
                        return Err("it may end without returning".into());
                    }
                    if eval(&self.allow, &value) {
                        allowed.insert((ti, ai, bits));
                    }
                }
            }
        }
        let ts: BTreeSet<usize> = allowed.iter().map(|x| x.0).collect();
        let as_: BTreeSet<usize> = allowed.iter().map(|x| x.1).collect();
        let bs: BTreeSet<usize> = allowed.iter().map(|x| x.2).collect();
        if allowed.len() != ts.len() * as_.len() * bs.len() {
            return Err("what it allows of program types, attach types and other conditions depends on one another".into());
        }
        let requires = self.required(&opaque, &bs)?;
        Ok(Reading::Read {
            prog_types: split(&types, &ts),
            attach_types: split(&attaches, &as_),
            requires,
            guarded,
        })
    }

    /// The opaque conditions fixed in every allowed case.
    fn required(&self, opaque: &[usize], cases: &BTreeSet<usize>) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut free = 1usize;
        for (k, &i) in opaque.iter().enumerate() {
            let values: BTreeSet<bool> = cases.iter().map(|b| b >> k & 1 == 1).collect();
            let what = match &self.atoms[i] {
                Atom::InSet(set) => format!("{FILTER_SET_CHECK}(&{set}, …)"),
                Atom::Opaque(t) => t.clone(),
                _ => continue,
            };
            match (values.contains(&true), values.contains(&false)) {
                (true, true) => free *= 2,
                (true, false) => out.push(what),
                (false, true) => out.push(format!("!({what})")),
                (false, false) => {}
            }
        }
        if !cases.is_empty() && cases.len() != free {
            return Err(
                "it allows only some combinations of conditions kfunc-scan does not evaluate"
                    .into(),
            );
        }
        Ok(out)
    }
}

/// The allowed values of one field: `None` in `values` stands for every
/// value not named.
fn split(values: &[Option<&str>], allowed: &BTreeSet<usize>) -> Allowed {
    let named = |pick: &dyn Fn(usize) -> bool| -> Vec<String> {
        values
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(*i))
            .filter_map(|(_, v)| v.map(str::to_string))
            .collect()
    };
    if !allowed.contains(&0) {
        Allowed::Only(named(&|i| allowed.contains(&i)))
    } else if allowed.len() == values.len() {
        Allowed::Any
    } else {
        Allowed::Except(named(&|i| !allowed.contains(&i)))
    }
}

fn eval(c: &Cond, value: &dyn Fn(usize) -> bool) -> bool {
    match c {
        Cond::Const(v) => *v,
        Cond::Atom(i) => value(*i),
        Cond::Not(a) => !eval(a, value),
        Cond::And(a, b) => eval(a, value) && eval(b, value),
        Cond::Or(a, b) => eval(a, value) || eval(b, value),
    }
}

fn operator(n: Node, src: &[u8]) -> String {
    n.child_by_field_name("operator")
        .map(|o| text(o, src).into_owned())
        .unwrap_or_default()
}

fn parse_int(t: &str) -> Option<i64> {
    let t = t.trim_end_matches(['u', 'U', 'l', 'L']);
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// `EACCES`, `EPERM`: error numbers are positive macros named E….
fn is_errno(t: &str) -> bool {
    t.len() > 1
        && t.starts_with('E')
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::file::parse::parse;

    /// Reads filter `f` of set `own` in `src`.
    fn reading(src: &str) -> Reading {
        let tree = parse(src.as_bytes()).expect("parses");
        let defs = definitions(tree.root_node(), src.as_bytes());
        read("f", "own", &defs, src.as_bytes()).reading
    }

    fn only(v: &[&str]) -> Allowed {
        Allowed::Only(v.iter().map(|s| s.to_string()).collect())
    }

    fn read_as(prog_types: Allowed, attach_types: Allowed, requires: &[&str]) -> Reading {
        Reading::Read {
            prog_types,
            attach_types,
            requires: requires.iter().map(|s| s.to_string()).collect(),
            guarded: true,
        }
    }

    #[test]
    fn program_type_only_when_the_kfunc_is_ours() {
        // fs/bpf_fs_kfuncs.c, 6.12
        let src = "static int f(const struct bpf_prog *prog, u32 kfunc_id)\n{\n\
            \tif (!btf_id_set8_contains(&own, kfunc_id) ||\n\t    prog->type == BPF_PROG_TYPE_LSM)\n\
            \t\treturn 0;\n\treturn -EACCES;\n}\n";
        assert_eq!(
            reading(src),
            read_as(only(&["BPF_PROG_TYPE_LSM"]), Allowed::Any, &[])
        );
    }

    #[test]
    fn a_ternary_return() {
        // fs/verity/measure.c, 6.12
        let src = "static int f(const struct bpf_prog *prog, u32 kfunc_id)\n{\n\
            \tif (!btf_id_set8_contains(&own, kfunc_id))\n\t\treturn 0;\n\n\
            \t/* Only allow to attach from LSM hooks, to avoid recursion */\n\
            \treturn prog->type != BPF_PROG_TYPE_LSM ? -EACCES : 0;\n}\n";
        assert_eq!(
            reading(src),
            read_as(only(&["BPF_PROG_TYPE_LSM"]), Allowed::Any, &[])
        );
    }

    #[test]
    fn an_attach_type() {
        // net/core/filter.c, 6.12
        let src = "static int f(const struct bpf_prog *prog, u32 kfunc_id)\n{\n\
            \tif (btf_id_set8_contains(&own, kfunc_id) &&\n\
            \t    prog->expected_attach_type != BPF_TRACE_ITER)\n\t\treturn -EACCES;\n\treturn 0;\n}\n";
        assert_eq!(
            reading(src),
            read_as(Allowed::Any, only(&["BPF_TRACE_ITER"]), &[])
        );
    }

    #[test]
    fn a_one_line_helper_is_inlined() {
        // kernel/trace/bpf_trace.c, 6.12
        let src = "static inline bool is_kprobe_session(const struct bpf_prog *prog)\n{\n\
            \treturn prog->expected_attach_type == BPF_TRACE_KPROBE_SESSION;\n}\n\
            static int f(const struct bpf_prog *prog, u32 kfunc_id)\n{\n\
            \tif (!btf_id_set8_contains(&own, kfunc_id))\n\t\treturn 0;\n\n\
            \tif (!is_kprobe_session(prog))\n\t\treturn -EACCES;\n\n\treturn 0;\n}\n";
        assert_eq!(
            reading(src),
            read_as(Allowed::Any, only(&["BPF_TRACE_KPROBE_SESSION"]), &[])
        );
    }

    #[test]
    fn an_unknown_call_is_a_requirement() {
        let src = "static int f(const struct bpf_prog *p, u32 id)\n{\n\
            \tif (btf_id_set8_contains(&own, id) && !capable(CAP_BPF))\n\t\treturn -EPERM;\n\
            \treturn 0;\n}\n";
        assert_eq!(
            reading(src),
            read_as(Allowed::Any, Allowed::Any, &["capable(CAP_BPF)"])
        );
    }

    #[test]
    fn all_but_some_types() {
        let src = "static int f(const struct bpf_prog *prog, u32 id)\n{\n\
            \tif (btf_id_set8_contains(&own, id) && (prog->type == BPF_PROG_TYPE_XDP || prog->type == BPF_PROG_TYPE_KPROBE))\n\
            \t\treturn -EACCES;\n\treturn 0;\n}\n";
        let Reading::Read { prog_types, .. } = reading(src) else {
            panic!("not read")
        };
        assert_eq!(
            prog_types,
            Allowed::Except(vec![
                "BPF_PROG_TYPE_XDP".into(),
                "BPF_PROG_TYPE_KPROBE".into()
            ])
        );
    }

    #[test]
    fn no_guard_is_said() {
        let src = "static int f(const struct bpf_prog *prog, u32 id)\n{\n\
            \treturn prog->type == BPF_PROG_TYPE_LSM ? 0 : -EACCES;\n}\n";
        let Reading::Read {
            guarded,
            prog_types,
            ..
        } = reading(src)
        else {
            panic!("not read")
        };
        assert!(!guarded);
        assert_eq!(prog_types, only(&["BPF_PROG_TYPE_LSM"]));
    }

    #[test]
    fn a_filter_too_deep_or_too_long_is_not_read() {
        let deep = format!(
            "static int f(const struct bpf_prog *prog, u32 id)\n{{\n\treturn {}0{};\n}}\n",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert!(matches!(reading(&deep), Reading::Unread(w) if w.contains("larger than")));
        let long = format!(
            "static int f(const struct bpf_prog *prog, u32 id)\n{{\n{}\treturn -EACCES;\n}}\n",
            "\tif (prog->type == BPF_PROG_TYPE_LSM)\n\t\treturn 0;\n".repeat(3000)
        );
        assert!(matches!(reading(&long), Reading::Unread(w) if w.contains("larger than")));
        // a real one is well within
        let ok = "static int f(const struct bpf_prog *prog, u32 id)\n{\n\
            \tif (prog->type == BPF_PROG_TYPE_LSM)\n\t\treturn 0;\n\treturn -EACCES;\n}\n";
        assert!(matches!(reading(ok), Reading::Read { .. }));
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        let local = "static int f(const struct bpf_prog *prog, u32 id)\n{\n\
            \tint ret = 0;\n\treturn ret;\n}\n";
        assert!(
            matches!(reading(local), Reading::Unread(w) if w.contains("`int ret = 0;` (line 3)"))
        );
        let falls_off = "static int f(const struct bpf_prog *prog, u32 id)\n{\n\
            \tif (prog->type == BPF_PROG_TYPE_LSM)\n\t\treturn 0;\n}\n";
        assert_eq!(
            reading(falls_off),
            Reading::Unread("it may end without returning".into())
        );
        let mixed = "static int f(const struct bpf_prog *prog, u32 id)\n{\n\
            \tif (prog->type == BPF_PROG_TYPE_LSM || prog->expected_attach_type == BPF_TRACE_ITER)\n\
            \t\treturn 0;\n\treturn -EACCES;\n}\n";
        assert!(
            matches!(reading(mixed), Reading::Unread(w) if w.contains("depends on one another"))
        );
        assert_eq!(
            reading("int g(void) { return 0; }\n"),
            Reading::Unread("its definition is not in this file".into())
        );
    }
}
