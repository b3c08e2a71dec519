//! A kfunc's comment, parsed: kernel-doc (`/** name() - summary`, `@param:`
//! lines, a `Return:` section, the body) or a plain comment
//! (`/* name - description */`, or just text), the same way.
//!
//! The summary is the short description (which may run over several lines,
//! up to a blank line or the first `@param:`) cut at its first sentence.

/// What a comment says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KernelDoc {
    /// The function the comment names (`name` of `name() - …`), if any.
    pub name: Option<String>,
    /// The first sentence of the short description.
    pub summary: String,
    /// The whole short description.
    pub description: String,
    /// `@name: text`, in order.
    pub params: Vec<(String, String)>,
    /// The `Return:` / `Returns:` section.
    pub returns: Option<String>,
    /// The rest: paragraphs separated by blank lines.
    pub body: String,
}

impl KernelDoc {
    /// The description of parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_str())
    }
}

/// The comment's lines without its markers (`/**`, `/*`, ` * `, `*/`),
/// blank lines at either end removed.
pub(crate) fn comment_lines(doc: &str) -> Vec<String> {
    let mut lines: Vec<String> = doc
        .lines()
        .map(|l| {
            let t = l.trim();
            let t = t
                .strip_prefix("/**")
                .or_else(|| t.strip_prefix("/*"))
                .unwrap_or(t);
            let t = t.strip_suffix("*/").unwrap_or(t);
            let t = t.trim_start();
            let t = t
                .strip_prefix("* ")
                .or_else(|| t.strip_prefix('*'))
                .unwrap_or(t);
            t.trim_end().to_string()
        })
        .collect();
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Where a line of the comment belongs.
enum Part {
    Description,
    Param(usize),
    Returns,
    Body,
}

/// Parses a comment as written above a kfunc (kernel-doc or plain).
pub(crate) fn parse(doc: &str) -> KernelDoc {
    let lines = comment_lines(doc);
    let mut d = KernelDoc::default();
    let mut part = Part::Description;
    let mut desc: Vec<&str> = Vec::new();
    let mut returns: Vec<&str> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if i == 0 {
            let (name, rest) = split_name(t);
            d.name = name;
            desc.push(rest);
            continue;
        }
        if let Some((p, text)) = param_line(t) {
            d.params.push((p.to_string(), text.to_string()));
            part = Part::Param(d.params.len() - 1);
        } else if let Some(text) = return_line(t) {
            returns.push(text);
            part = Part::Returns;
        } else if t.is_empty() {
            // a blank line ends the short description and a parameter's
            // text; the Return: section and the body go on
            match part {
                Part::Description | Part::Param(_) => part = Part::Body,
                Part::Returns => returns.push(""),
                Part::Body => body.push(""),
            }
        } else {
            match part {
                Part::Description => desc.push(t),
                Part::Param(j) => append(&mut d.params[j].1, t),
                Part::Returns => returns.push(t),
                Part::Body => body.push(line),
            }
        }
    }
    d.description = join_words(&desc);
    d.summary = first_sentence(&d.description);
    d.returns = Some(paragraphs(&returns)).filter(|r| !r.is_empty());
    d.body = paragraphs(&body);
    d
}

/// `name() - text`, `name - text`, `name: text` (a few kernel comments,
/// `bpf_sock_destroy`'s among them), or just text.
fn split_name(first: &str) -> (Option<String>, &str) {
    let is_name =
        |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some((head, rest)) = first.split_once(" - ") {
        let name = head.trim().trim_end_matches("()").trim();
        if is_name(name) {
            return (Some(name.to_string()), rest.trim());
        }
    }
    // `Note: …` is text: a function name has an underscore
    if let Some((head, rest)) = first.split_once(": ") {
        let name = head.trim().trim_end_matches("()");
        if is_name(name) && name.contains('_') {
            return (Some(name.to_string()), rest.trim());
        }
    }
    (None, first)
}

/// `@name: text` (also `@name text` without the colon, and `@...:`).
fn param_line(t: &str) -> Option<(&str, &str)> {
    let rest = t.strip_prefix('@')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    let (name, text) = rest.split_at(end);
    let text = text.strip_prefix(':').unwrap_or(text);
    Some((name, text.trim()))
}

/// `Return: text`, `Returns: text`, `Return text` alone on the first word.
fn return_line(t: &str) -> Option<&str> {
    for head in ["Returns:", "Return:", "RETURNS:", "RETURN:"] {
        if let Some(rest) = t.strip_prefix(head) {
            return Some(rest.trim());
        }
    }
    None
}

fn append(s: &mut String, t: &str) {
    if !s.is_empty() {
        s.push(' ');
    }
    s.push_str(t);
}

fn join_words(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines.iter().filter(|l| !l.is_empty()) {
        append(&mut s, l.trim());
    }
    s
}

/// Lines with blank lines between paragraphs, blank lines at either end
/// and repeated ones removed.
fn paragraphs(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        if l.trim().is_empty() && out.last().is_none_or(|p| p.trim().is_empty()) {
            continue;
        }
        out.push(l.trim_end());
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// The text up to its first full stop that ends a sentence (followed by a
/// space or the end, not in `e.g.` / `i.e.` / `etc.`), with the stop.
pub(crate) fn first_sentence(text: &str) -> String {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('.') {
        let at_end = i + 1 == bytes.len() || bytes[i + 1] == b' ';
        let before = &text[..i];
        let abbreviation = ["e.g", "i.e", "etc", "vs", "approx"]
            .iter()
            .any(|a| before.ends_with(a));
        if at_end && !abbreviation {
            return text[..=i].to_string();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_doc_parts() {
        let d = parse(concat!(
            "/**\n",
            " * bpf_cgroup_acquire() - Acquire a reference to a cgroup. A cgroup acquired by\n",
            " * this kfunc which is not stored in a map as a kptr, must be released by\n",
            " * calling bpf_cgroup_release().\n",
            " * @cgrp: The cgroup on which a reference is being acquired,\n",
            " *        which must be trusted.\n",
            " * @flags__k: Flags.\n",
            " *\n",
            " * More words about it.\n",
            " *\n",
            " * Second paragraph.\n",
            " * Return: The cgroup, or NULL\n",
            " * when it is going away.\n",
            " */"
        ));
        assert_eq!(d.name.as_deref(), Some("bpf_cgroup_acquire"));
        assert_eq!(d.summary, "Acquire a reference to a cgroup.");
        assert!(d.description.ends_with("by calling bpf_cgroup_release()."));
        assert_eq!(
            d.param("cgrp"),
            Some("The cgroup on which a reference is being acquired, which must be trusted.")
        );
        assert_eq!(d.param("flags__k"), Some("Flags."));
        assert_eq!(d.body, "More words about it.\n\nSecond paragraph.");
        assert_eq!(
            d.returns.as_deref(),
            Some("The cgroup, or NULL\nwhen it is going away.")
        );
    }

    #[test]
    fn plain_comments_and_summaries() {
        let d = parse("/* bpf_foo - does a thing, e.g. this. Then more */");
        assert_eq!(d.name.as_deref(), Some("bpf_foo"));
        assert_eq!(d.summary, "does a thing, e.g. this.");
        let d = parse("/* Just some words without a stop */");
        assert_eq!(
            (d.name, d.summary.as_str()),
            (None, "Just some words without a stop")
        );
        let d =
            parse("/**\n * bpf_x() - Short\n * continued here\n *\n * Returns 0 on success\n */");
        assert_eq!(d.summary, "Short continued here");
        assert_eq!(d.body, "Returns 0 on success");
        // ` - ` after words that name nothing, or after nothing, is text
        let d = parse("/* Looks up a task - or NULL */");
        assert_eq!(
            (d.name, d.summary.as_str()),
            (None, "Looks up a task - or NULL")
        );
        let d = parse("/* () - no name */");
        assert_eq!((d.name, d.summary.as_str()), (None, "() - no name"));
        assert_eq!(parse(""), KernelDoc::default());
        // net/core/filter.c's bpf_sock_destroy: `name:`; `Note:` is text
        let d = parse(
            "/* bpf_sock_destroy: Destroy the given socket. More\n *\n * @sock: Pointer\n */",
        );
        assert_eq!(d.name.as_deref(), Some("bpf_sock_destroy"));
        assert_eq!(d.summary, "Destroy the given socket.");
        assert_eq!(d.param("sock"), Some("Pointer"));
        assert_eq!(parse("/* Note: words. */").name, None);
        // a stop inside a word is not a sentence's end
        assert_eq!(first_sentence("Reads v1.2 data. More"), "Reads v1.2 data.");
        // a stop that ends the text ends the sentence
        assert_eq!(first_sentence("Ends here."), "Ends here.");
        assert_eq!(first_sentence("See e.g. this."), "See e.g. this.");
    }
}
