//! `avail`'s outputs: a table for people, JSON for tools.

use super::{prog_type_prefix, Avail, Entry, FoundBy};
use crate::manifest::term;
use serde::Serialize;

/// `KF_ACQUIRE` → `ACQUIRE`.
fn short_flag(f: &str) -> &str {
    f.strip_prefix("KF_").unwrap_or(f)
}

/// The registered program types, `BPF_PROG_TYPE_XDP` as `xdp`; the common
/// hook is `all`.
fn short_prog_types(e: &Entry) -> String {
    let Some(c) = &e.callable else {
        return "-".into();
    };
    if c.common {
        return "all".into();
    }
    let names: Vec<String> = e
        .registered
        .iter()
        .map(|t| {
            t.strip_prefix(prog_type_prefix())
                .unwrap_or(t)
                .to_ascii_lowercase()
        })
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn row(e: &Entry, with_manifest: bool) -> Vec<String> {
    let mut r = vec![e.name.clone(), e.object.clone()];
    if with_manifest {
        let flags = e.flags.as_ref().map_or("-".to_string(), |f| {
            if f.is_empty() {
                "-".into()
            } else {
                f.iter()
                    .map(|x| short_flag(x))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        });
        let matches = match e.prototype_matches {
            Some(true) => "same",
            Some(false) => "differs",
            None => "absent",
        };
        r.extend([
            yes_no(e.sleepable).to_string(),
            flags,
            short_prog_types(e),
            matches.to_string(),
        ]);
    }
    r.push(e.prototype.clone());
    if with_manifest {
        r.push(e.summary.clone().unwrap_or_default());
    }
    r
}

/// Columns padded to their widest cell; the last column unpadded. Every
/// cell is escaped as the terminal shows it (names, prototypes and
/// summaries come from a BTF or a manifest someone else made: a line
/// break in one would start a row of its own, an escape sequence would
/// reach the terminal); widths are the escaped cells'.
pub fn table(a: &Avail, with_manifest: bool) -> String {
    let mut head = vec!["KFUNC", "OBJECT"];
    if with_manifest {
        head.extend(["SLEEPS", "FLAGS", "PROGRAM TYPES", "MANIFEST"]);
    }
    head.push("PROTOTYPE");
    if with_manifest {
        head.push("SUMMARY");
    }
    let mut rows = vec![head.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    rows.extend(a.kfuncs.iter().map(|e| {
        row(e, with_manifest)
            .into_iter()
            .map(|c| term::escape(&c).into_owned())
            .collect()
    }));
    let widths: Vec<usize> = (0..head.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let last = r.len() - 1;
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `table` cut to `width` columns, a cut line ending in `…` (on a
/// terminal: `--format json` or a pipe keeps everything).
pub fn fit_width(table: &str, width: usize) -> String {
    let mut out = String::with_capacity(table.len());
    for line in table.lines() {
        if line.chars().count() <= width {
            out.push_str(line);
        } else {
            out.extend(line.chars().take(width.saturating_sub(1)));
            out.push('…');
        }
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct Doc<'a> {
    kernel: Option<&'a str>,
    btf_dir: &'a str,
    found_by: FoundBy,
    manifest_kernel: Option<&'a str>,
    prog_type: Option<&'a str>,
    kfuncs: &'a [Entry],
}

/// `{"kernel": …, "found_by": …, "kfuncs": [{"name", "object", "prototype", …}]}`.
pub fn json(
    a: &Avail,
    kernel: Option<&str>,
    btf_dir: &str,
    manifest_kernel: Option<&str>,
    prog_type: Option<&str>,
) -> String {
    let doc = Doc {
        kernel,
        btf_dir,
        found_by: a.found_by,
        manifest_kernel,
        prog_type,
        kfuncs: &a.kfuncs,
    };
    // plain data: serialising into a String cannot fail
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod fit_tests {
    use super::fit_width;

    #[test]
    fn lines_are_cut_at_the_width_with_an_ellipsis() {
        let t = "KFUNC  PROTOTYPE\nbpf_ü  int bpf_ü(void)\n";
        assert_eq!(fit_width(t, 80), t);
        assert_eq!(fit_width(t, 16), "KFUNC  PROTOTYPE\nbpf_ü  int bpf_…\n");
        assert_eq!(
            fit_width(t, 10).lines().map(|l| l.chars().count()).max(),
            Some(10)
        );
    }
}
