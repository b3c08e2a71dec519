//! The command line. Exit status: 0 clean, 1 errors found (outputs still
//! written in full), 2 the tool could not run.

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
use cli::avail::AvailArgs;
use cli::btf::PatchArgs;
use cli::check::CheckArgs;
use cli::docs::LintDocsArgs;
use cli::history::HistoryArgs;
use cli::manual::{CompletionsArgs, ManpagesArgs};
use cli::publish::{DiffArgs, DocsArgs, HeaderArgs};
use cli::scan::ScanArgs;
use cli::watch::WatchArgs;
use kfunc_scan::manifest::Manifest;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kfunc-scan",
    version,
    about = "Lists the Linux kernel's BPF kfuncs from its source tree, as a JSON manifest",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a kernel tree and write its manifest (the default command).
    Scan(ScanArgs),
    /// Print the manifest's JSON Schema (or the history's).
    Schema {
        /// The schema of `kfunc-scan history`'s document instead.
        #[arg(long)]
        history: bool,
    },
    /// Insert the paired foo / foo_impl entries into a vmlinux or module BTF.
    PatchBtf(PatchArgs),
    /// Documentation pages (Markdown), or ebpf-docs' kfuncs.yaml.
    Docs(DocsArgs),
    /// Check a hand-kept kfuncs.yaml (ebpf-docs' shape) against a manifest.
    LintDocs(LintDocsArgs),
    /// A C header declaring every kfunc as BPF programs call it.
    Header(HeaderArgs),
    /// What changed for BPF programs between two manifests (or trees).
    Diff(DiffArgs),
    /// Since / until of each kfunc, set membership and program type, over
    /// manifests or a git repository's tags (oldest first).
    History(HistoryArgs),
    /// The kfuncs this kernel offers (its BTF), or another's (--btf-dir).
    Avail(AvailArgs),
    /// Will a BPF object's kfunc calls load on these kernels (manifests,
    /// BTF files or directories; default the running kernel)?
    Check(CheckArgs),
    /// Watch a tree for the scans using a cache directory: a rescan then
    /// reads and stats only what changed.
    Watch(WatchArgs),
    /// Write the man pages (kfunc-scan.1, kfunc-scan-COMMAND.1) into a directory.
    Manpages(ManpagesArgs),
    /// Print a shell completion script (e.g. `source <(kfunc-scan completions bash)`).
    Completions(CompletionsArgs),
    /// (Tests and benchmarks) a manifest derived from a BTF's bpf_kfunc tags.
    #[command(hide = true)]
    SynthManifest {
        #[arg(long)]
        btf: PathBuf,
    },
    /// Check a BTF (raw or ELF) with this module's validator, then with the
    /// running kernel (bpf BPF_BTF_LOAD; needs root or CAP_BPF).
    BtfCheck {
        /// The BTF to check.
        file: PathBuf,
        /// Its base, for a split BTF.
        #[arg(long, value_name = "FILE")]
        base: Option<PathBuf>,
    },
}

/// `kfunc-scan avial --prog-type xdp`: a mistyped command followed by
/// options would reach clap as the default scan's TREE and an option scan
/// does not take ("unexpected argument '--prog-type'"); the first word is
/// checked before clap parses, as it is after (`None` below) when alone.
fn mistyped_first_word() -> Option<cli::CliError> {
    let first = std::env::args_os().nth(1)?;
    let word = std::path::Path::new(&first);
    let w = first.to_str()?;
    // the usual cases answered without building the command line twice: an
    // option, a command (names and aliases, from the derive), a tree
    if w.starts_with('-') || <Command as clap::Subcommand>::has_subcommand(w) || word.exists() {
        return None;
    }
    let name = cli::manual::mistyped_command(word, &Cli::command())?;
    Some(typo_error(word, &name))
}

fn typo_error(word: &std::path::Path, name: &str) -> cli::CliError {
    cli::CliError::CannotRun(format!(
        "error[usage]: `{}` is neither a command nor a directory; did you mean `kfunc-scan {name}`? (`kfunc-scan --help` lists the commands)",
        kfunc_scan::manifest::term::path(word)
    ))
}

fn main() -> ExitCode {
    if let Some(e) = mistyped_first_word() {
        return cli::finish(Err(e));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Scan(a)) => cli::scan::run(a),
        Some(Command::PatchBtf(a)) => cli::btf::run_patch(a),
        Some(Command::Docs(a)) => cli::publish::run_docs(a),
        Some(Command::LintDocs(a)) => cli::docs::run_lint_docs(a),
        Some(Command::Header(a)) => cli::publish::run_header(a),
        Some(Command::Diff(a)) => cli::publish::run_diff(a),
        Some(Command::History(a)) => cli::history::run(a),
        Some(Command::Avail(a)) => cli::avail::run_avail(a),
        Some(Command::Check(a)) => cli::check::run(a),
        Some(Command::Watch(a)) => cli::watch::run(a),
        Some(Command::SynthManifest { btf }) => cli::btf::run_synth(&btf),
        Some(Command::BtfCheck { file, base }) => cli::btf::run_btf_check(&file, base.as_deref()),
        Some(Command::Manpages(a)) => cli::manual::run_manpages(&a, Cli::command()),
        Some(Command::Completions(a)) => cli::manual::run_completions(&a, Cli::command()),
        Some(Command::Schema { history }) => {
            if history {
                print!("{}", kfunc_scan::manifest::history::History::json_schema());
            } else {
                print!("{}", Manifest::json_schema());
            }
            Ok(cli::Outcome::Clean)
        }
        None => {
            let typo = (cli.scan.tree.as_deref())
                .and_then(|t| Some((t, cli::manual::mistyped_command(t, &Cli::command())?)));
            match typo {
                // a mistyped command is not a tree to scan
                Some((word, name)) => Err(typo_error(word, &name)),
                None => cli::scan::run(cli.scan),
            }
        }
    };
    cli::finish(result)
}
