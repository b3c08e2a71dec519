//! Names a user types for `avail` and `header --btf`: program types
//! (`sock_ops`, `SOCK_OPS`, `BPF_PROG_TYPE_SOCK_OPS`), kfunc names, and the
//! "did you mean" offered for a misspelt one.

use super::prog_type_prefix;
use crate::limits::{NAME_SHOWN_MAX_CHARS, SUGGESTIONS_MAX, SUGGEST_MAX_DISTANCE};
use crate::manifest::{term, Manifest};

/// A program type the manifest's tree does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProgType {
    /// As typed.
    pub given: String,
    /// As the manifest would spell it.
    pub name: String,
    /// The nearest of the tree's types, nearest first.
    pub did_you_mean: Vec<String>,
    /// How many types the tree has.
    pub known: usize,
}

impl std::fmt::Display for UnknownProgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "error[usage]: unknown program type {} ({}): not a member of the manifest's enum bpf_prog_type ({} types)",
            shown(&self.given),
            shown(&self.name),
            self.known
        )?;
        if self.name == crate::conventions::PROG_TYPE_UNSPEC {
            return f.write_str(
                "; no program has it: the sets registered for it are the common hook's, which every program type may call",
            );
        }
        match did_you_mean(&self.did_you_mean) {
            Some(s) => write!(f, "; {s}"),
            None => f.write_str("; `kfunc-scan docs` lists them, one page each"),
        }
    }
}

/// The program type named `t` (`xdp`, `XDP`, `BPF_PROG_TYPE_XDP`), as the
/// manifest spells it, when it is one of the manifest's program types
/// ([`Manifest::program_types`]: every member of the tree's enum but
/// UNSPEC).
pub fn resolve_prog_type(m: &Manifest, t: &str) -> Result<String, UnknownProgType> {
    let name = super::prog_type_name(t.trim());
    let known = m.program_types();
    if known.contains(&name) {
        return Ok(name);
    }
    // compared short (SOCK_OPS), or the shared prefix makes any two close
    let prefix = prog_type_prefix();
    let short = |s: &str| s.strip_prefix(prefix).unwrap_or(s).to_string();
    let wanted = short(&name);
    let near = nearest(&wanted, known.iter().map(|k| short(k)));
    Err(UnknownProgType {
        given: t.to_string(),
        name,
        did_you_mean: near.into_iter().map(|s| format!("{prefix}{s}")).collect(),
        known: known.len(),
    })
}

/// The names of `candidates` nearest to `word`, at most
/// [`SUGGEST_MAX_DISTANCE`] edits away (and fewer than half its length,
/// so a short word does not match everything), nearest first, at most
/// [`SUGGESTIONS_MAX`]. Names whose lengths differ by more than the
/// distance are not compared: the difference bounds the distance from
/// below, and a huge `word` then costs nothing.
pub fn nearest<I, S>(word: &str, candidates: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let len = word.chars().count();
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .filter_map(|c| {
            let c = c.as_ref();
            let clen = c.chars().count();
            if clen.abs_diff(len) > SUGGEST_MAX_DISTANCE || c == word {
                return None;
            }
            let d = strsim::damerau_levenshtein(word, c);
            (d <= SUGGEST_MAX_DISTANCE && d <= len.max(clen) / 2).then(|| (d, c.to_string()))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(SUGGESTIONS_MAX)
        .map(|(_, c)| c)
        .collect()
}

/// A name from the command line as a message shows it: escaped, and cut
/// after [`NAME_SHOWN_MAX_CHARS`] characters with how long it was.
pub fn shown(name: &str) -> String {
    match name.char_indices().nth(NAME_SHOWN_MAX_CHARS) {
        None => term::escape(name).into_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", term::escape(&name[..end]), name.len()),
    }
}

/// "did you mean a, b or c?", names escaped; `None` for no names.
pub fn did_you_mean(names: &[String]) -> Option<String> {
    let shown: Vec<String> = names.iter().map(|n| term::escape(n).into_owned()).collect();
    match shown.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [rest @ .., last] => Some(format!("did you mean {} or {last}?", rest.join(", "))),
    }
}

/// `--kfuncs 'a, b'`: each name trimmed, empty ones (`a,,b`, a trailing
/// comma) dropped.
pub fn kfunc_names(given: &[String]) -> Vec<String> {
    given
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            prog_type_enum: [
                "BPF_PROG_TYPE_SOCK_OPS",
                "BPF_PROG_TYPE_SK_MSG",
                "BPF_PROG_TYPE_XDP",
                "BPF_PROG_TYPE_LSM",
                "BPF_PROG_TYPE_RAW_TRACEPOINT",
            ]
            .map(String::from)
            .to_vec(),
            ..Manifest::default()
        }
    }

    #[test]
    fn every_spelling_of_every_member_resolves() {
        let m = manifest();
        for t in [
            "sock_ops",
            "SOCK_OPS",
            "BPF_PROG_TYPE_SOCK_OPS",
            " sock_ops ",
        ] {
            assert_eq!(
                resolve_prog_type(&m, t).as_deref(),
                Ok("BPF_PROG_TYPE_SOCK_OPS"),
                "{t}"
            );
        }
        assert_eq!(
            resolve_prog_type(&m, "raw_tracepoint").as_deref(),
            Ok("BPF_PROG_TYPE_RAW_TRACEPOINT")
        );
    }

    #[test]
    fn unspec_is_no_choice_and_a_misspelt_type_gets_the_nearest() {
        let m = manifest();
        let e = resolve_prog_type(&m, "unspec").expect_err("refused");
        assert!(!e.did_you_mean.iter().any(|t| t.ends_with("UNSPEC")));
        assert!(e.to_string().contains("no program has it"), "{e}");
        let e = resolve_prog_type(&m, "sock_opts").expect_err("refused");
        assert_eq!(e.did_you_mean, ["BPF_PROG_TYPE_SOCK_OPS"]);
        let text = e.to_string();
        assert!(
            text.contains("unknown program type sock_opts (BPF_PROG_TYPE_SOCK_OPTS)")
                && text.ends_with("did you mean BPF_PROG_TYPE_SOCK_OPS?"),
            "{text}"
        );
        // xdp is not lsm: three letters, three edits
        let e = resolve_prog_type(&m, "xpd").expect_err("refused");
        assert_eq!(e.did_you_mean, ["BPF_PROG_TYPE_XDP"]);
        let e = resolve_prog_type(&m, "abc").expect_err("refused");
        assert!(e.did_you_mean.is_empty(), "{:?}", e.did_you_mean);
        // a name sent to the terminal escaped
        let e = resolve_prog_type(&m, "x\u{1b}[31m").expect_err("refused");
        assert!(!e.to_string().contains('\u{1b}'));
    }

    #[test]
    fn suggestions_are_bounded_in_distance_and_count() {
        let names = ["bpf_task_from_pid", "bpf_task_release", "bpf_task_acquire"];
        assert_eq!(nearest("bpf_task_form_pid", names), ["bpf_task_from_pid"]);
        // at the bound: two edits; one past: three
        assert_eq!(nearest("bpf_task_from_pidxx", names), ["bpf_task_from_pid"]);
        assert!(nearest("bpf_task_from_pidxxx", names).is_empty());
        let many = ["ab_1", "ab_2", "ab_3", "ab_4", "ab_5"];
        assert_eq!(nearest("ab_0", many).len(), SUGGESTIONS_MAX);
        // a huge name is compared with nothing
        assert!(nearest(&"b".repeat(1 << 20), names).is_empty());
        assert_eq!(
            did_you_mean(&["a".into(), "b".into(), "c".into()]).as_deref(),
            Some("did you mean a, b or c?")
        );
    }

    #[test]
    fn names_are_shown_up_to_the_bound() {
        let at = "k".repeat(NAME_SHOWN_MAX_CHARS);
        assert_eq!(shown(&at), at);
        let past = format!("{at}é");
        assert_eq!(
            shown(&past),
            format!("{at}… ({} bytes)", NAME_SHOWN_MAX_CHARS + 2)
        );
        assert_eq!(shown("a\nb"), "a\\nb");
    }

    #[test]
    fn kfunc_lists_are_trimmed() {
        let given: Vec<String> = ["a", " b", "", " c  "].map(String::from).to_vec();
        assert_eq!(kfunc_names(&given), ["a", "b", "c"]);
    }
}
