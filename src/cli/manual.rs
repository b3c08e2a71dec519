//! Man pages and shell completions, made from the command line's own
//! definition at the moment they are asked for, so they cannot fall behind
//! it; and the "did you mean" for a word that is neither a tree nor a
//! command.

use super::{CliError, Outcome};
use clap::{Args, Command, ValueEnum};
use clap_complete::Shell;
use kfunc_scan::manifest::term;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ManpagesArgs {
    /// The directory to write `kfunc-scan.1` and a `kfunc-scan-COMMAND.1`
    /// per command into (e.g. ~/.local/share/man/man1).
    pub dir: PathBuf,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: ShellName,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ShellName {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl From<ShellName> for Shell {
    fn from(s: ShellName) -> Shell {
        match s {
            ShellName::Bash => Shell::Bash,
            ShellName::Zsh => Shell::Zsh,
            ShellName::Fish => Shell::Fish,
            ShellName::Elvish => Shell::Elvish,
            ShellName::Powershell => Shell::PowerShell,
        }
    }
}

/// The completion script for `shell`, on standard output.
pub fn run_completions(a: &CompletionsArgs, mut cmd: Command) -> Result<Outcome, CliError> {
    const BIN: &str = "kfunc-scan";
    let hidden: Vec<String> = (cmd.get_subcommands())
        .filter(|s| s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    let mut out = Vec::new();
    clap_complete::generate(Shell::from(a.shell), &mut cmd, BIN, &mut out);
    if let (ShellName::Bash, Ok(text)) = (a.shell, String::from_utf8(out.clone())) {
        // clap_complete 4.6's bash script names a subcommand's state
        // `kfunc__subcmd__scan__subcmd__avail` in its `case` but sets
        // `kfunc__scan__subcmd__avail` (a `-` in the binary's name read
        // as a subcommand separator on one side only): no option after a
        // subcommand completed. Both spelled the one way.
        let wrong = format!("{}__subcmd__", BIN.replace('-', "__subcmd__"));
        let right = format!("{}__subcmd__", BIN.replace('-', "__"));
        let text = text.replace(&wrong, &right);
        // and it offers hidden commands (`synth-manifest`) among the words
        // to complete, which `--help` does not show
        let text: Vec<String> = (text.lines())
            .map(|line| match line.trim_start().strip_prefix("opts=\"") {
                Some(_) => (line.split(' '))
                    .filter(|w| !hidden.iter().any(|h| h == w))
                    .collect::<Vec<_>>()
                    .join(" "),
                None => line.to_string(),
            })
            .collect();
        out = (text.join("\n") + "\n").into_bytes();
    }
    super::write_output(&kfunc_scan::output::Output::stdout(), &out)?;
    Ok(Outcome::Clean)
}

/// Writes the man pages into `a.dir`, each replaced atomically; says how
/// many on stderr.
pub fn run_manpages(a: &ManpagesArgs, cmd: Command) -> Result<Outcome, CliError> {
    if !a.dir.is_dir() {
        return Err(format!(
            "{}: error[usage]: not a directory (make it first: man pages go in a man1 directory)",
            term::path(&a.dir)
        )
        .into());
    }
    let pages = pages(cmd)?;
    let paths: Vec<PathBuf> = pages.iter().map(|(name, _)| a.dir.join(name)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let outputs = super::check_outputs(&refs)?;
    for (out, (_, bytes)) in outputs.iter().zip(&pages) {
        super::write_output(out, bytes)?;
    }
    eprintln!(
        "kfunc-scan manpages: {} written to {}",
        plural(pages.len(), "page", "pages"),
        term::path(&a.dir)
    );
    Ok(Outcome::Clean)
}

/// `(file name, roff)` for the top command and each visible subcommand.
fn pages(cmd: Command) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    let mut pages = vec![("kfunc-scan.1".to_string(), render(cmd.clone())?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("kfunc-scan-{}", sub.get_name());
        // titled `kfunc-scan-NAME` as man looks it up, its synopsis
        // `kfunc-scan NAME` as it is typed; the version in the header, with
        // no -V in the synopsis (a subcommand takes none)
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("kfunc-scan {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"))
            .disable_version_flag(true);
        pages.push((format!("{name}.1"), render(page)?));
    }
    Ok(pages)
}

fn render(cmd: Command) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| format!("error[manpages]: {e}"))?;
    Ok(out)
}

/// "1 page", "3 pages": a count with its noun in the right number.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The visible command nearest to `word`, when `word` is no path that
/// exists and reads like a mistyped command (`pach-btf`, `avial`): then
/// the default `scan` must not take it for a tree.
pub fn mistyped_command(word: &Path, cmd: &Command) -> Option<String> {
    if word.exists() {
        return None;
    }
    let w = word.to_str()?;
    if w.contains('/') || w.is_empty() {
        return None;
    }
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .map(|name| (strsim::damerau_levenshtein(w, name), name))
        .filter(|&(d, name)| {
            d <= 2 && d < name.len() / 2 + 1 || name.starts_with(w) && w.len() >= 3
        })
        .min()
        .map(|(_, name)| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> Command {
        Command::new("t")
            .subcommand(Command::new("patch-btf"))
            .subcommand(Command::new("avail"))
            .subcommand(Command::new("diff"))
            .subcommand(Command::new("synth-manifest").hide(true))
    }

    #[test]
    fn near_names_are_suggested_and_others_left_as_trees() {
        let c = cmd();
        let s = |w: &str| mistyped_command(Path::new(w), &c);
        assert_eq!(s("pach-btf").as_deref(), Some("patch-btf"));
        assert_eq!(s("patchbtf").as_deref(), Some("patch-btf"));
        assert_eq!(s("avial").as_deref(), Some("avail"));
        assert_eq!(s("dif").as_deref(), Some("diff"));
        assert_eq!(s("patch").as_deref(), Some("patch-btf"));
        // far from every name, a path, or hidden: not a command
        assert_eq!(s("linux"), None);
        assert_eq!(s("x"), None);
        assert_eq!(s("./avial"), None);
        assert_eq!(s("synth-manifst"), None);
        // a directory of that name is a tree
        let d = tempfile::tempdir().unwrap();
        let avial = d.path().join("avial");
        std::fs::create_dir(&avial).unwrap();
        assert_eq!(mistyped_command(&avial, &c), None);
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "page", "pages"), "1 page");
        assert_eq!(plural(0, "page", "pages"), "0 pages");
        assert_eq!(plural(12, "entry", "entries"), "12 entries");
    }
}
