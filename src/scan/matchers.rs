//! The embedded queries (`queries/*.scm`) as code. Compiling them took
//! tree-sitter ~40 ms a scan (it analyses each pattern against every state
//! of the C grammar), and its query cursor ~1,700 instructions per node
//! visited, for patterns this simple; a walk of the tree testing each node
//! costs half that, and nothing to compile. An override (`--queries DIR`)
//! runs as a tree-sitter query still.
//!
//! Each matcher gives what its query gives: the same nodes, one match per
//! way the pattern matches (a declaration with two declarators, twice), in
//! document order. `tests::matchers_are_the_embedded_queries` compares the
//! two on the test tree and on tricky input; `tests/real_kernel.rs` on the
//! files of a kernel that hold sets.

use super::parse::{text, Captures};
use super::queries::{
    Compiled, FlagDefinesQuery, FunctionsQuery, IdListsQuery, IdSetsQuery, RegistrationsQuery,
    SetsQuery,
};
use std::ops::Range;
use tree_sitter::Node;

/// Running a query: its override as a tree-sitter query, or the embedded
/// query as code.
pub trait Run: Matcher + Compiled {
    /// Each match's captures, in document order: the override's query
    /// matches, or the embedded query's, found by its matcher. `within`: a
    /// byte range every match of the embedded query meets (see
    /// `extract::scope`).
    fn for_each_in<'t>(
        &self,
        root: Node<'t>,
        src: &[u8],
        within: Option<Range<usize>>,
        f: impl FnMut(&Captures<'_, 't>),
    ) where
        Self: Sized,
    {
        match self.compiled() {
            Some(q) => super::parse::for_each_match_in(q, root, src, within, f),
            None => for_each(self, root, src, within, f),
        }
    }
}

impl<Q: Matcher + Compiled> Run for Q {}

/// Where a matcher hands each match's captures, as (capture, node).
pub type Emit<'e, 't> = dyn FnMut(&[(u32, Node<'t>)]) + 'e;

/// A query the scanner embeds, as code.
pub trait Matcher {
    /// The matches whose outermost node is `n`, to `emit`.
    fn matches_at<'t>(&self, n: Node<'t>, src: &[u8], emit: &mut Emit<'_, 't>);
}

/// Each match of `m` under `root`, in document order. `within`: a byte
/// range every match meets; subtrees that do not meet it are not visited.
pub fn for_each<'t>(
    m: &impl Matcher,
    root: Node<'t>,
    src: &[u8],
    within: Option<Range<usize>>,
    mut f: impl FnMut(&Captures<'_, 't>),
) {
    let mut emit = |caps: &[(u32, Node<'t>)]| f(&Captures::new(caps));
    let mut c = root.walk();
    'walk: loop {
        let n = c.node();
        let meets = within
            .as_ref()
            .is_none_or(|r| n.start_byte() <= r.end && n.end_byte() >= r.start);
        if meets {
            m.matches_at(n, src, &mut emit);
            if c.goto_first_child() {
                continue;
            }
        }
        while !c.goto_next_sibling() {
            if !c.goto_parent() {
                break 'walk;
            }
        }
    }
}

/// The `field:` child of `n`, when it is of `kind`.
fn field<'t>(n: Node<'t>, name: &str, kind: &str) -> Option<Node<'t>> {
    n.child_by_field_name(name).filter(|c| c.kind() == kind)
}

/// Each `field:` child of `n` of `kind`, in order.
fn fields<'t>(n: Node<'t>, name: &str, kind: &str, mut f: impl FnMut(Node<'t>)) {
    let mut c = n.walk();
    for child in n.children_by_field_name(name, &mut c) {
        if child.kind() == kind {
            f(child);
        }
    }
}

/// `call_expression function: (identifier) arguments: (argument_list)`,
/// the identifier's text one of `names`.
fn call<'t>(n: Node<'t>, src: &[u8], names: &[&str]) -> Option<(Node<'t>, Node<'t>)> {
    if n.kind() != "call_expression" {
        return None;
    }
    let f = field(n, "function", "identifier")?;
    let args = field(n, "arguments", "argument_list")?;
    names.contains(&text(f, src).as_ref()).then_some((f, args))
}

/// `declaration type: (type_identifier)`, its text one of `names`.
fn declared_by<'t>(n: Node<'t>, src: &[u8], names: &[&str]) -> Option<Node<'t>> {
    if n.kind() != "declaration" {
        return None;
    }
    let t = field(n, "type", "type_identifier")?;
    names.contains(&text(t, src).as_ref()).then_some(t)
}

impl Matcher for FunctionsQuery {
    // (function_definition declarator: (_) @declarator body: (compound_statement)) @function
    fn matches_at<'t>(&self, n: Node<'t>, _: &[u8], emit: &mut Emit<'_, 't>) {
        if n.kind() != "function_definition" || field(n, "body", "compound_statement").is_none() {
            return;
        }
        if let Some(d) = n.child_by_field_name("declarator").filter(|d| d.is_named()) {
            emit(&[(self.function, n), (self.declarator, d)]);
        }
    }
}

impl Matcher for SetsQuery {
    // (declaration type: (type_identifier) @delimiter declarator: (identifier) @set_name
    //   (#match? @delimiter "^BTF_(KFUNCS|SET8)_(START|END)$"))
    // (call_expression function: (identifier) @entry_macro arguments: (argument_list) @entry_args
    //   (#eq? @entry_macro "BTF_ID_FLAGS"))
    fn matches_at<'t>(&self, n: Node<'t>, src: &[u8], emit: &mut Emit<'_, 't>) {
        const DELIMITERS: &[&str] = &[
            "BTF_KFUNCS_START",
            "BTF_KFUNCS_END",
            "BTF_SET8_START",
            "BTF_SET8_END",
        ];
        if let Some(t) = declared_by(n, src, DELIMITERS) {
            fields(n, "declarator", "identifier", |d| {
                emit(&[(self.delimiter, t), (self.set_name, d)])
            });
        } else if let Some((_, args)) = call(n, src, &[super::names::ENTRY_MACRO]) {
            emit(&[(self.entry_args, args)]);
        }
    }
}

impl Matcher for RegistrationsQuery {
    // (call_expression function: (identifier) @register_fn arguments: (argument_list) @register_args
    //   (#match? @register_fn "^register_btf_(kfunc|fmodret)_id_set$"))
    fn matches_at<'t>(&self, n: Node<'t>, src: &[u8], emit: &mut Emit<'_, 't>) {
        use super::names::{REGISTER_FMODRET_ID_SET, REGISTER_KFUNC_ID_SET};
        if let Some((f, args)) = call(n, src, &[REGISTER_KFUNC_ID_SET, REGISTER_FMODRET_ID_SET]) {
            emit(&[(self.register_fn, f), (self.register_args, args)]);
        }
    }
}

impl Matcher for IdSetsQuery {
    // (declaration type: (struct_specifier name: (type_identifier) @struct_name)
    //   declarator: (init_declarator declarator: (identifier) @id_set_var
    //                               value: (initializer_list) @id_set_init)
    //   (#eq? @struct_name "btf_kfunc_id_set"))
    fn matches_at<'t>(&self, n: Node<'t>, src: &[u8], emit: &mut Emit<'_, 't>) {
        if n.kind() != "declaration" {
            return;
        }
        let named = field(n, "type", "struct_specifier")
            .and_then(|t| field(t, "name", "type_identifier"))
            .is_some_and(|name| text(name, src) == super::names::ID_SET_STRUCT);
        if !named {
            return;
        }
        fields(n, "declarator", "init_declarator", |d| {
            if let (Some(var), Some(init)) = (
                field(d, "declarator", "identifier"),
                field(d, "value", "initializer_list"),
            ) {
                emit(&[(self.id_set_var, var), (self.id_set_init, init)]);
            }
        });
    }
}

impl Matcher for IdListsQuery {
    // (declaration type: (type_identifier) @list_macro declarator: (identifier) @list_name
    //   (#eq? @list_macro "BTF_ID_LIST"))
    // (call_expression function: (identifier) @id_macro
    //   arguments: (argument_list . (identifier) @id_kind . (identifier) @id_name .)
    //   (#eq? @id_macro "BTF_ID"))
    fn matches_at<'t>(&self, n: Node<'t>, src: &[u8], emit: &mut Emit<'_, 't>) {
        if declared_by(n, src, &["BTF_ID_LIST"]).is_some() {
            fields(n, "declarator", "identifier", |d| {
                emit(&[(self.list_name, d)])
            });
        } else if let Some((_, args)) = call(n, src, &["BTF_ID"]) {
            // anchored: the first and the last named children, and nothing
            // named between them
            let mut c = args.walk();
            let mut named = args.named_children(&mut c);
            if let (Some(kind), Some(name), None) = (named.next(), named.next(), named.next()) {
                if kind.kind() == "identifier" && name.kind() == "identifier" {
                    emit(&[(self.id_kind, kind), (self.id_name, name)]);
                }
            }
        }
    }
}

impl Matcher for FlagDefinesQuery {
    // (preproc_def name: (identifier) @flag_name value: (preproc_arg) @flag_value
    //   (#match? @flag_name "^KF_"))
    fn matches_at<'t>(&self, n: Node<'t>, src: &[u8], emit: &mut Emit<'_, 't>) {
        if n.kind() != "preproc_def" {
            return;
        }
        if let (Some(name), Some(value)) = (
            field(n, "name", "identifier"),
            field(n, "value", "preproc_arg"),
        ) {
            if text(name, src).starts_with("KF_") {
                emit(&[(self.flag_name, name), (self.flag_value, value)]);
            }
        }
    }
}

/// The comparison of the matchers with the queries they stand for.
mod check {
    use super::*;
    use crate::scan::parse::language;
    use crate::scan::queries::Queries;
    use crate::scan::{mask, parse};
    use tree_sitter::Query;

    /// One match: (capture, kind, bytes) of each capture read, by name.
    type Found = Vec<Vec<(String, String, (usize, usize))>>;

    /// Each match `run` hands over, as the captures named in `captures`.
    fn collect<'t>(
        names: &[&str],
        captures: &[&str],
        run: impl FnOnce(&mut dyn FnMut(&Captures<'_, 't>)),
    ) -> Found {
        let mut out = Vec::new();
        run(&mut |caps| {
            let mut m: Vec<_> = (0..names.len() as u32)
                .filter_map(|i| caps.get(i).map(|n| (names[i as usize], n)))
                .filter(|(name, _)| captures.contains(name))
                .map(|(name, n)| {
                    (
                        name.to_string(),
                        n.kind().to_string(),
                        (n.start_byte(), n.end_byte()),
                    )
                })
                .collect();
            m.sort();
            out.push(m);
        });
        out
    }

    fn by_query(text: &str, captures: &[&str], root: Node, src: &[u8]) -> Found {
        let Ok(q) = Query::new(&language(), text) else {
            return Vec::new();
        };
        collect(q.capture_names(), captures, |f| {
            parse::for_each_match_in(&q, root, src, None, f)
        })
    }

    fn by_matcher(m: &impl Matcher, captures: &[&str], root: Node, src: &[u8]) -> Found {
        collect(captures, captures, |f| for_each(m, root, src, None, f))
    }

    /// Every matcher against its query, compiled, on a file (masked and
    /// parsed as the scan does): how many matches they agree on, or the
    /// first query on which they differ. For the tests.
    #[doc(hidden)]
    pub fn compare_with_queries(original: &[u8]) -> Result<usize, String> {
        let src = mask::mask(original);
        let tree = parse::parse(&src).ok_or("not parsed")?;
        let root = tree.root_node();
        let q = Queries::load(None).map_err(|e| e.to_string())?;
        let mut n = 0;
        let mut differ = None;
        let mut check = |name: &str, a: Found, b: Found| {
            if a != b && differ.is_none() {
                differ = Some(format!("{name}: query {a:?}, matcher {b:?}"));
            }
            n += a.len();
        };
        macro_rules! each {
            ($($field:ident: $ty:ty),+) => {$(
                check(
                    stringify!($field),
                    by_query(<$ty>::EMBEDDED, <$ty>::CAPTURES, root, &src),
                    by_matcher(&q.$field, <$ty>::CAPTURES, root, &src),
                );
            )+};
        }
        each!(
            sets: SetsQuery,
            functions: FunctionsQuery,
            registrations: RegistrationsQuery,
            id_sets: IdSetsQuery,
            id_lists: IdListsQuery,
            flag_defines: FlagDefinesQuery
        );
        differ.map_or(Ok(n), Err)
    }
}
#[doc(hidden)]
pub use check::compare_with_queries;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::parse;

    fn agree(original: &[u8]) -> usize {
        compare_with_queries(original)
            .unwrap_or_else(|e| panic!("{e} on {}", String::from_utf8_lossy(original)))
    }

    #[test]
    fn matchers_are_the_embedded_queries() {
        let tricky = [
            "BTF_KFUNCS_START(a)\nBTF_ID_FLAGS(func, f, KF_A)\nBTF_ID_FLAGS(func, g)\nBTF_KFUNCS_END(a)\n",
            "BTF_SET8_START(s)\nBTF_SET8_END(s)\nBTF_KFUNCS_START a, b;\nBTF_KFUNCS_STARTX c;\n",
            "BTF_ID_LIST(l)\nBTF_ID(func, a)\nBTF_ID(func /* c */, b)\nBTF_ID(func, c, d)\nBTF_ID(func)\nBTF_ID(func, )\nBTF_ID(struct, x /* y */)\nBTF_ID(, z)\n",
            "static const struct btf_kfunc_id_set s = { .owner = THIS_MODULE, .set = &ids, .filter = f };\nstruct btf_kfunc_id_set t = {}, u = { .set = &v }, w;\nstruct btf_kfunc_id_setx q = { .set = &x };\n",
            "static int __init i(void)\n{\n\tint r = register_btf_kfunc_id_set(T, &s);\n\treturn r ?: register_btf_fmodret_id_set(&f);\n}\nint register_btf_kfunc_id_set(enum bpf_prog_type t, const struct btf_kfunc_id_set *s);\n",
            "int f(void)\n{\n}\nvoid *g(int a)\n{\n\tint h(void) { return 0; }\n}\nint k(void);\nstatic int (*p)(void)\n{\n}\nBPF_CALL_1(f, int, x)\n{\n\treturn register_btf_kfunc_id_set(1, 2);\n}\n",
            "#define KF_ACQUIRE (1 << 0)\n#define KF_RELEASE\n#define XKF_A 1\n#define KF_B(x) x\n#ifdef X\n#define KF_C 2\n#endif\n",
            "int f( {\nBTF_ID_FLAGS(func, f\nBTF_KFUNCS_END(x\n}} ;; int g(void) { register_btf_kfunc_id_set(\n",
        ];
        let mut n = 0;
        for t in tricky {
            n += agree(t.as_bytes());
        }
        for p in parse::mini_tree_sources() {
            n += agree(&std::fs::read(&p).unwrap());
        }
        assert!(n > 50, "{n} matches");
    }
}
