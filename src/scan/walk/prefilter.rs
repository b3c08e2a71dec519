//! The prefilter: which files are worth parsing. A file is kept when it
//! mentions a kfunc construct (`NEEDLES`; the weak ones only when used as
//! a call or an initialiser); of the others, the functions they define in
//! kernel style are noted ([`name_hash`]) for the second look.

use crate::scan::names;
use aho_corasick::{packed, AhoCorasick, Match};

/// Words whose presence makes a file worth parsing.
// what the patterns stand for, checked by the tests
#[cfg(test)]
pub(crate) const NEEDLES: &[&str] = &[
    names::ENTRY_MACRO,
    names::BPF_KFUNC_ATTR,
    "BTF_KFUNCS_START",
    "BTF_SET8_START",
    names::REGISTER_KFUNC_ID_SET,
    names::REGISTER_FMODRET_ID_SET,
    names::ID_SET_STRUCT,
    names::MAGIC_TABLE,
];

/// Needles that name a use site rather than a
/// construct: a file matching only these is parsed only when `weak_confirmed`
/// finds a registration call or an id-set initialiser in it. The kernel's own
/// `kernel/bpf/btf.c` (the definition) and `verifier.c` (a mention) are the
/// largest files that would otherwise be parsed for nothing.
// what the patterns stand for, checked by the tests
#[cfg(test)]
pub(crate) const WEAK: &[&str] = &[
    names::REGISTER_KFUNC_ID_SET,
    names::REGISTER_FMODRET_ID_SET,
    names::ID_SET_STRUCT,
];

/// What the prefilter searches for, in one pass over each file: the
/// [`NEEDLES`], each by a part that is rarer at the start (the searcher
/// checks every place where a pattern's first bytes occur, and `register`
/// is everywhere), then [`DEF_LINE`]. `register_btf_kfunc_id_set` holds
/// `btf_kfunc_id_set`, and a weak needle is as good as another: the files
/// kept are the same.
const PATTERNS: &[&str] = &[
    names::ENTRY_MACRO,
    names::BPF_KFUNC_ATTR,
    "BTF_KFUNCS_START",
    "BTF_SET8_START",
    "btf_fmodret_id_set",
    names::ID_SET_STRUCT,
    names::MAGIC_TABLE,
    DEF_LINE,
];

/// Which patterns are weak needles.
const WEAK_PATTERNS: &[&str] = &["btf_fmodret_id_set", names::ID_SET_STRUCT];

/// The end of a function's head in kernel style: `)` and the body's `{`
/// alone in column 0 on the next line. The walk notes the name before it in
/// the files it does not parse, so that the second look finds a definition
/// by a lookup instead of reading the tree again.
pub(crate) const DEF_LINE: &str = ")\n{";

/// The hash of a function name in [`WalkOutput::definitions`].
pub(crate) fn name_hash(name: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

/// Whether a file the needles matched holds something the queries extract.
#[cfg(test)]
pub(crate) fn worth_parsing(ac: &Needles, bytes: &[u8]) -> bool {
    prefilter(ac, bytes, &mut Vec::new())
}

/// One pass over a file: whether it is worth parsing, and the name hashes of
/// the functions it defines in kernel style, into `defs`.
pub(super) fn prefilter(ac: &Needles, bytes: &[u8], defs: &mut Vec<u64>) -> bool {
    let (mut strong, mut weak) = (false, false);
    ac.for_each(bytes, |m| match PATTERNS[m.pattern().as_usize()] {
        DEF_LINE => defs.extend(def_name(bytes, m.start()).map(name_hash)),
        p if WEAK_PATTERNS.contains(&p) => weak = true,
        _ => strong = true,
    });
    strong || (weak && weak_confirmed(bytes))
}

/// The name of the function whose head ends with the `)` at `close`: the
/// identifier before the matching `(`, past attributes such as
/// `__must_hold(x)` that may follow the parameters.
///
/// This runs for every kernel-style definition of the tree (~700,000 on
/// 6.12): the scans back go by table, not by character class.
fn def_name(b: &[u8], mut close: usize) -> Option<&[u8]> {
    for _ in 0..4 {
        let open = opening_paren(b, close)?;
        let end = b[..open]
            .iter()
            .rposition(|&c| !BLANK[c as usize])
            .map_or(0, |p| p + 1);
        let start = b[..end]
            .iter()
            .rposition(|&c| !IDENT[c as usize])
            .map_or(0, |p| p + 1);
        let name = &b[start..end];
        let is_attribute = name.starts_with(b"__")
            && crate::scan::file::mask::CALL_ATTRIBUTES
                .iter()
                .any(|a| a.as_bytes() == name);
        if !is_attribute {
            return (!name.is_empty() && !name[0].is_ascii_digit()).then_some(name);
        }
        close = b[..start].iter().rposition(|&c| !BLANK[c as usize])?;
        if b[close] != b')' {
            return None;
        }
    }
    None
}

/// `u8::is_ascii_whitespace`, by table.
const BLANK: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_whitespace();
        i += 1;
    }
    t
};

/// Bytes of identifiers (ASCII letters, digits, `_`), by table.
const IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric() || i as u8 == b'_';
        i += 1;
    }
    t
};

/// The `(` matching the `)` at `close`, looking back at most 4096 bytes and
/// not past a `;` (then it is no parameter list). Jumps from parenthesis to
/// parenthesis: this runs for every function of the tree.
fn opening_paren(b: &[u8], close: usize) -> Option<usize> {
    debug_assert_eq!(b[close], b')');
    let from = close.saturating_sub(4096);
    // the `)` at `close` itself
    let mut depth = 1usize;
    let mut end = close;
    while let Some(p) = memchr::memrchr3(b'(', b')', b';', &b[from..end]) {
        let i = from + p;
        match b[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => return None,
        }
        end = i;
    }
    None
}

/// A registration call (`register_btf_kfunc_id_set(` followed by an argument,
/// not a parameter declaration nor `)`), or a `btf_kfunc_id_set` variable
/// with an initialiser.
fn weak_confirmed(bytes: &[u8]) -> bool {
    static RE: std::sync::OnceLock<(regex::bytes::Regex, regex::bytes::Regex)> =
        std::sync::OnceLock::new();
    let (call, init) = RE.get_or_init(|| {
        // Constant patterns: they compile or the tests fail.
        (
            regex::bytes::Regex::new(r"\bregister_btf_(?:kfunc|fmodret)_id_set\s*\(\s*")
                .expect("constant regex"),
            regex::bytes::Regex::new(r"\bbtf_kfunc_id_set\s+[A-Za-z_]\w*\s*=")
                .expect("constant regex"),
        )
    });
    if init.is_match(bytes) {
        return true;
    }
    call.find_iter(bytes).any(|m| {
        let rest = &bytes[m.end()..];
        let word: &[u8] = {
            let n = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            &rest[..n]
        };
        match rest.first() {
            Some(b'&') | Some(b'(') => true,
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                !matches!(word, b"const" | b"enum" | b"struct" | b"void")
            }
            _ => false,
        }
    })
}

/// The prefilter's searcher for [`PATTERNS`].
pub(crate) enum Needles {
    /// aho-corasick's SIMD multi-literal searcher (Teddy), used directly.
    Packed(packed::Searcher),
    /// Where Teddy is not available (no SIMD the crate uses).
    Automaton(AhoCorasick),
}

impl Needles {
    /// Each leftmost-first, non-overlapping match in `hay`, in order.
    fn for_each(&self, hay: &[u8], f: impl FnMut(Match)) {
        match self {
            Needles::Packed(s) => s.find_iter(hay).for_each(f),
            Needles::Automaton(a) => a.find_iter(hay).for_each(f),
        }
    }
}

pub(crate) fn needles() -> Needles {
    // Teddy directly: through `AhoCorasick` each of the ~700,000 matches
    // (one per kernel-style definition) went through the automaton's
    // prefilter plumbing, and without `DEF_LINE` the automaton would pick a
    // rare-byte prefilter, slower here than Teddy (measured on 6.12's files:
    // 0.17 ns/byte through the automaton, 0.15 directly). Teddy keeps
    // leftmost-first semantics as the automaton's, so the matches are the same.
    let teddy = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(PATTERNS)
        .build();
    match teddy {
        Some(s) => Needles::Packed(s),
        // Leftmost-first semantics let aho-corasick use Teddy as its
        // prefilter where it can; the needles are constants: building
        // cannot fail.
        None => Needles::Automaton(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(PATTERNS)
                .expect("constant needles"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_needles_need_a_call_or_an_initialiser() {
        let ac = needles();
        let yes = |s: &str| worth_parsing(&ac, s.as_bytes());
        // definitions, declarations, mentions: nothing to extract
        assert!(!yes("int register_btf_kfunc_id_set(enum bpf_prog_type t,\n const struct btf_kfunc_id_set *s)\n{ return 0; }"));
        assert!(!yes(
            "int register_btf_fmodret_id_set(const struct btf_kfunc_id_set *kset);"
        ));
        assert!(!yes(
            "EXPORT_SYMBOL_GPL(register_btf_kfunc_id_set);\n/* see register_btf_kfunc_id_set() */"
        ));
        assert!(!yes("static bool f(const struct btf_kfunc_id_set *s);"));
        // calls and initialisers
        assert!(yes(
            "ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &set);"
        ));
        assert!(yes("return register_btf_fmodret_id_set(&set);"));
        assert!(yes("r = register_btf_kfunc_id_set(types[i], sets[i]);"));
        assert!(yes(
            "static const struct btf_kfunc_id_set s = { .set = &ids };"
        ));
        // a strong needle alone is enough
        assert!(yes("__bpf_kfunc int f(void) { return 0; }"));
        assert!(yes("BTF_KFUNCS_START(x)"));
    }

    #[test]
    fn each_needle_is_searched_by_a_pattern_of_its_kind() {
        for n in NEEDLES {
            let by: Vec<&&str> = PATTERNS
                .iter()
                .filter(|p| **p != DEF_LINE && n.contains(**p))
                .collect();
            assert!(!by.is_empty(), "{n}: no pattern");
            for p in by {
                assert_eq!(WEAK.contains(n), WEAK_PATTERNS.contains(p), "{n} by {p}");
            }
        }
    }

    #[test]
    fn the_automaton_finds_what_teddy_finds() {
        let automaton = Needles::Automaton(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(PATTERNS)
                .unwrap(),
        );
        let src = b"x BTF_ID_FLAGS(func, f)\nstatic int g(void)\n{\n__bpf_kfunc btf_kfunc_id_set btf_fmodret_id_set BTF_SET8_START magic_kfuncs BTF_KFUNCS_START";
        let all = |n: &Needles| {
            let mut v = Vec::new();
            n.for_each(src, |m| v.push((m.pattern().as_usize(), m.start())));
            v
        };
        let found = all(&automaton);
        assert_eq!(found.len(), PATTERNS.len());
        assert_eq!(all(&needles()), found);
    }

    #[test]
    fn kernel_style_definitions_are_noted_by_name() {
        let ac = needles();
        let src = "static int a(int x)\n{\n}\nvoid *\nb(struct s *p,\n  int (*cb)(int))\n{\n}\nint c(void) __must_hold(&l)\n{\n}\nint d(void) { }\nif (x)\n{\n";
        let mut defs = Vec::new();
        assert!(!prefilter(&ac, src.as_bytes(), &mut defs));
        let want: Vec<u64> = ["a", "b", "c", "if"]
            .iter()
            .map(|n| name_hash(n.as_bytes()))
            .collect();
        // `d` is not in kernel style; `if (x)` is noted, harmlessly
        assert_eq!(defs, want);
    }
}
