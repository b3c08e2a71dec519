//! The scanner: walk (prefilter, then mask → parse → extract in the walker's
//! threads) → second look → tree facts → resolve. Resolve is the only place
//! a [`Manifest`] is built.
//!
//! Laid out by stage, data flowing one way:
//!
//! - [`source`]: where a tree's files come from, a directory or a git tree
//!   ([`git_tree`]), read through one [`source::Tree`];
//! - [`walk`]: every C file read once, in parallel; the prefilter keeps those
//!   mentioning a kfunc construct and hands them to the per-file stage in
//!   the walker's own threads; [`cache`] keeps what it made of each file;
//! - [`file`]: per-file work, the file alone: mask, parse, the queries and
//!   their engine, extraction by record kind;
//! - [`records`]: what the per-file stage makes of a file, the hand-over to
//!   the next stages;
//! - [`tree`]: tree-wide work, after the walk: X-macros expanded, the second
//!   look, the facts of fixed headers, the build view;
//! - [`resolve`]: the records put together into the manifest.
//!
//! Beside them, what several stages use: [`names`] (how the source spells
//! what is looked for) and [`cpp`] (a small C preprocessor: a file's
//! directives are read per file, expanded tree-wide).
//!
//! The library neither prints nor reads the environment: what it is doing
//! reaches the caller through a [`Progress`] callback, what went wrong as a
//! typed [`ScanError`].

pub mod cache;
pub(crate) mod cpp;
pub(crate) mod file;
#[cfg(feature = "git")]
pub mod git_tree;
pub(crate) mod names;
#[cfg(feature = "git")]
pub use crate::git::{packs, par};
pub(crate) mod records;
pub(crate) mod resolve;
pub mod source;
pub(crate) mod tree;
pub mod walk;

// what the fuzzer, the examples and the tests drive directly
pub use file::{extract, mask, parse, pattern, queries};
use tree::{build_view, second_look, tree_facts, xmacro};

use crate::manifest::Manifest;
use records::FileRecords;
use source::Tree;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most threads a scan starts. Reading a tree from the page cache is
/// bound by memory long before, and each thread costs its read buffer and
/// parser: on 6.12 (2 cores) 2 threads took 1.6 s and 62 MB, 16 1.5 s and
/// 200 MB, 64 1.3 s and 325 MB, 256 2.9 s and 476 MB, 1000 23 s and
/// 590 MB; 100000 ran out of threads and aborted.
pub const MAX_JOBS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub root: PathBuf,
    pub exclude: Vec<String>,
    /// Threads, at most [`MAX_JOBS`]; 0: one per core (at most [`MAX_JOBS`]).
    pub jobs: usize,
    pub queries_dir: Option<PathBuf>,
    pub extra_implicit_types: Vec<String>,
    /// Scan `root` even when it holds no kernel tree (no top `Makefile`
    /// with `VERSION`).
    pub any_directory: bool,
    /// A kernel `.config`: the manifest then carries that build's view
    /// (which object holds each set and kfunc, which entries are built).
    pub config: Option<PathBuf>,
    /// The architecture whose Kbuild is followed; empty: x86_64.
    pub arch: String,
    /// The kernel tree an out-of-tree module (`root`, built with `make
    /// M=`) is built against: the tree-wide facts (release, `KF_` flag
    /// values, implicit-argument types, hooks, program types) are read
    /// there, the sets and kfuncs in `root`, which need not be a kernel
    /// tree then.
    pub kernel_tree: Option<PathBuf>,
}

/// The architecture a build view follows when none is named.
pub const DEFAULT_ARCH: &str = "x86_64";

/// Why a scan could not run. Plain facts: the command line words them.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{}: not a directory", crate::manifest::term::path(.0))]
    NotADirectory(PathBuf),
    #[error("{}: no kernel tree here (no top Makefile with VERSION)", crate::manifest::term::path(.0))]
    NotAKernelTree(PathBuf),
    #[error("{jobs} threads asked for; at most {max}")]
    TooManyJobs { jobs: usize, max: usize },
    #[error(transparent)]
    Query(#[from] queries::QueryLoadError),
    #[error("exclude pattern `{glob}`: {message}")]
    BadGlob { glob: String, message: String },
    #[error("cannot start {jobs} threads: {message}")]
    Threads { jobs: usize, message: String },
    #[error("{}: {message}", crate::manifest::term::path(path))]
    Config { path: PathBuf, message: String },
}

/// A stage of the scan, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the tree, and parsing the files the prefilter keeps.
    Walk,
    /// Looking for set members defined without `__bpf_kfunc`.
    SecondLook,
    /// Flag values, implicit-argument types, the hook table, the version.
    TreeFacts,
    /// Putting the files' records together into the manifest.
    Resolve,
    /// Git trees read ahead ([`read_ahead`]): listing them.
    ListTrees,
    /// Git trees read ahead: which files they hold, and where each blob is
    /// in the packs.
    PlanReads,
    /// Git trees read ahead: the blobs decoded, prefiltered and parsed.
    ReadAhead,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Walk => "walk and parse",
            Stage::SecondLook => "second look",
            Stage::TreeFacts => "tree facts",
            Stage::Resolve => "resolve",
            Stage::ListTrees => "list trees",
            Stage::PlanReads => "plan reads",
            Stage::ReadAhead => "read ahead",
        }
    }
}

/// What the scan is doing. The callback receiving these is called from the
/// walker's threads as well as the caller's, hence `Fn + Sync`.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// Every so many files: how many have been read, and parsed, so far.
    Reading {
        files_read: usize,
        files_parsed: usize,
    },
    /// One file the prefilter kept was masked, parsed and extracted.
    Parsed {
        path: &'a str,
        bytes: usize,
        took: Duration,
    },
    /// A pass of the second look starts, for this many missing definitions.
    LookingFor { missing: usize },
    /// A stage ended, this long after the scan started.
    Done { stage: Stage, at: Duration },
}

/// Scans `opts.root` into a manifest, quietly.
pub fn scan(opts: &ScanOptions) -> Result<Manifest, ScanError> {
    scan_with(opts, &|_| {})
}

/// Scans `opts.root` into a manifest, telling `progress` what it does.
pub fn scan_with(
    opts: &ScanOptions,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<Manifest, ScanError> {
    let root = opts.root.as_path();
    if !root.is_dir() {
        return Err(ScanError::NotADirectory(root.to_path_buf()));
    }
    scan_tree_with(opts, &source::Dir(root), progress)
}

/// Scans `opts.root` into a manifest as [`scan_with`] does, with the
/// per-file cache in `cache_dir` ([`cache`]): the files whose keys are
/// those cached are not read. The manifest is the one [`scan_with`] makes;
/// the report says what the cache did (and why it could not be used or
/// written, which is never an error of the scan).
pub fn scan_cached(
    opts: &ScanOptions,
    cache_dir: &Path,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<(Manifest, cache::Report), ScanError> {
    let root = opts.root.as_path();
    if !root.is_dir() {
        return Err(ScanError::NotADirectory(root.to_path_buf()));
    }
    // what Setup refuses is refused before the memo can answer
    if opts.jobs > MAX_JOBS {
        return Err(ScanError::TooManyJobs {
            jobs: opts.jobs,
            max: MAX_JOBS,
        });
    }
    let mut run = cache::Run::open(cache_dir, opts);
    // a watcher that vouches for the tree answers for the whole scan; a
    // changed file the prefilter keeps is parsed to compare its records
    // (the queries loaded then: a bad query file is left to the scan)
    let queries = std::sync::OnceLock::new();
    let parse = |rel: &str, bytes: &[u8]| match queries
        .get_or_init(|| file::queries::Queries::load(opts.queries_dir.as_deref()).ok())
    {
        Some(q) => file::scan_file(rel, bytes, q),
        None => FileRecords::default(),
    };
    if let Some(m) = run.quick(&exclude_globs(opts)?, progress, &parse) {
        return Ok((m, run.finish()));
    }
    let manifest = scan_inner(opts, &source::Dir(root), progress, Some(&mut run))?;
    Ok((manifest, run.finish()))
}

/// Scans the tree `tree` reads into a manifest, telling `progress` what it
/// does; `opts.root` only names it in errors.
pub fn scan_tree_with(
    opts: &ScanOptions,
    tree: &dyn Tree,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<Manifest, ScanError> {
    scan_inner(opts, tree, progress, None)
}

/// [`scan_tree_with`], the walk of a directory through `cache` when given.
fn scan_inner(
    opts: &ScanOptions,
    tree: &dyn Tree,
    progress: &(dyn Fn(&Progress) + Sync),
    mut cache: Option<&mut cache::Run>,
) -> Result<Manifest, ScanError> {
    // an out-of-tree module's facts are its kernel's
    let kernel = opts.kernel_tree.as_deref().map(source::Dir);
    let facts_tree: &dyn Tree = match &kernel {
        Some(k) => k,
        None => tree,
    };
    if let Some(k) = &opts.kernel_tree {
        if !k.is_dir() {
            return Err(ScanError::NotADirectory(k.clone()));
        }
        if !tree_facts::is_kernel_tree(facts_tree) {
            return Err(ScanError::NotAKernelTree(k.clone()));
        }
    } else if !opts.any_directory && !tree_facts::is_kernel_tree(tree) {
        return Err(ScanError::NotAKernelTree(opts.root.clone()));
    }
    if opts.config.is_some() && tree.dir().is_none() {
        return Err(ScanError::Config {
            path: opts.config.clone().unwrap_or_default(),
            message: "a build view needs a tree in a directory (Kbuild is read from files)".into(),
        });
    }
    let mut setup = Setup::new(opts)?;
    let t0 = Instant::now();
    let done = |stage| {
        progress(&Progress::Done {
            stage,
            at: t0.elapsed(),
        })
    };
    let (walked, build) =
        walk_and_follow_kbuild(opts, tree, &mut setup, progress, cache.as_deref_mut());
    done(Stage::Walk);
    if let Some(m) = cache.as_deref_mut().and_then(cache::Run::reuse) {
        return Ok(m);
    }
    // what the stages after the walk read, for the cache's memo
    let noting = cache.is_some().then(|| source::Noting::new(tree));
    let tree: &dyn Tree = match &noting {
        Some(n) => n,
        None => tree,
    };
    let facts_tree: &dyn Tree = match &kernel {
        Some(k) => k,
        None => tree,
    };
    let mut diagnostics = walked.diagnostics;
    let build = match build {
        Some(Ok((b, diags))) => {
            diagnostics.extend(diags);
            Some(b)
        }
        Some(Err(_)) => {
            return Err(ScanError::Config {
                path: opts.config.clone().unwrap_or_default(),
                message: "following Kbuild failed unexpectedly".into(),
            })
        }
        None => None,
    };
    let mut files: Vec<FileRecords> = walked.matched.into_iter().map(|(_, r)| r).collect();
    let files_parsed = files.len();
    // After the walk, not in it: the expansion reads the tree's headers, and
    // what the walk makes of a file depends on the file alone, so that a git
    // tree's walk can take it from another tree's ([`git_tree::BlobCache`]).
    // Before the second look, which looks for what the entries name.
    xmacro::expand_sets(tree, &mut files);

    let files_second_look = second_look::second_look(
        tree,
        &walked.unmatched,
        &walked.definitions,
        &mut files,
        setup.queries.get(),
        &setup.pool,
        progress,
    );
    done(Stage::SecondLook);

    let facts = tree_facts::read(
        facts_tree,
        &setup.queries.get().flag_defines,
        &opts.extra_implicit_types,
        &mut diagnostics,
    );
    done(Stage::TreeFacts);
    let looked_at = build.as_ref().map(|b| b.view.looked_at().clone());
    let manifest = resolve::resolve(resolve::Inputs {
        facts,
        files,
        diagnostics,
        counts: resolve::FileCounts {
            files_read: walked.files_read,
            files_parsed,
            files_second_look,
        },
        build,
    });
    done(Stage::Resolve);
    if let (Some(run), Some(noting)) = (cache, noting) {
        let mut reads = noting.paths();
        match looked_at.map(|l| l.paths()) {
            Some(None) => {} // looked outside the tree: no memo
            Some(Some(more)) => {
                reads.extend(more);
                run.remember(&manifest, reads);
            }
            None => run.remember(&manifest, reads),
        }
    }
    Ok(manifest)
}

/// The build view's thread: its result, or the panic it ended with.
type BuildThread = std::thread::Result<(build_view::Build, Vec<crate::manifest::Diagnostic>)>;

/// The walk, parsing in the walker's threads as files are found, and with
/// `--config` Kbuild followed on a thread of its own meanwhile.
fn walk_and_follow_kbuild(
    opts: &ScanOptions,
    tree: &dyn Tree,
    setup: &mut Setup,
    progress: &(dyn Fn(&Progress) + Sync),
    cache: Option<&mut cache::Run>,
) -> (walk::WalkOutput<(String, FileRecords)>, Option<BuildThread>) {
    let config = setup.config.take_loaded().zip(tree.dir());
    let setup = &*setup;
    std::thread::scope(|scope| {
        let build = config.map(|((config, diags), root)| {
            scope.spawn(move || load_build(root, opts, config, diags))
        });
        let parser = file_parser(setup, progress);
        let walked = match (cache, tree.dir()) {
            (Some(run), Some(root)) => {
                run.walk(root, &setup.exclude, setup.jobs, progress, &parser)
            }
            _ => tree.walk(&setup.exclude, setup.jobs, progress, &parser),
        };
        (walked, build.map(|h| h.join()))
    })
}

/// The threads a scan with `opts` runs (`jobs`, or one per core), at most
/// [`MAX_JOBS`] when `jobs` is 0 (a larger `jobs` is refused by the scan).
pub fn jobs(opts: &ScanOptions) -> usize {
    if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_JOBS))
    } else {
        opts.jobs
    }
}

/// What the walk does with each file the prefilter keeps: parse and extract.
fn file_parser<'a>(
    setup: &'a Setup,
    progress: &'a (dyn Fn(&Progress) + Sync),
) -> impl Fn(&str, &[u8]) -> FileRecords + Sync + 'a {
    move |rel, bytes| {
        let t = Instant::now();
        let r = file::scan_file(rel, bytes, setup.queries.get());
        progress(&Progress::Parsed {
            path: rel,
            bytes: bytes.len(),
            took: t.elapsed(),
        });
        r
    }
}

/// Reads ahead, before the scans of `trees` (git trees of one repository
/// and one [`git_tree::BlobCache`]), the blobs their walks will take, all
/// trees at once and in the order of their packs: see
/// [`git_tree::read_ahead`]. For each tree, how many distinct blobs it is
/// the first of `trees` to hold. An error here is the one the scans will
/// meet (bad options): they report it.
#[cfg(feature = "git")]
pub fn read_ahead(
    opts: &ScanOptions,
    trees: &[git_tree::GitTree<'_>],
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<Vec<usize>, ScanError> {
    let setup = Setup::new(opts)?;
    let parser = file_parser(&setup, progress);
    let firsts = git_tree::read_ahead(trees, &setup.exclude, setup.jobs, progress, &parser);
    Ok(firsts)
}

/// Follows the tree's Kbuild for `config` (on its own thread).
fn load_build(
    root: &Path,
    opts: &ScanOptions,
    config: crate::kbuild::Config,
    mut diags: Vec<crate::manifest::Diagnostic>,
) -> (build_view::Build, Vec<crate::manifest::Diagnostic>) {
    let arch = if opts.arch.is_empty() {
        DEFAULT_ARCH
    } else {
        opts.arch.as_str()
    };
    let info = crate::manifest::BuildInfo {
        config: opts
            .config
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_hash: config.hash_hex(),
        arch: arch.to_string(),
    };
    let (view, found) = crate::kbuild::BuildView::load(root, &config, arch);
    diags.extend(build_view::diagnostics_of(found));
    (build_view::Build { view, info }, diags)
}

/// The `.config`, read before the walk so that a bad one stops the scan at
/// once; taken by the thread that follows Kbuild.
struct LoadedConfig(Option<(crate::kbuild::Config, Vec<crate::manifest::Diagnostic>)>);

impl LoadedConfig {
    fn take_loaded(&mut self) -> Option<(crate::kbuild::Config, Vec<crate::manifest::Diagnostic>)> {
        self.0.take()
    }
}

/// The `--exclude` globs, compiled.
fn exclude_globs(opts: &ScanOptions) -> Result<globset::GlobSet, ScanError> {
    let mut globs = globset::GlobSetBuilder::new();
    for g in &opts.exclude {
        let glob = globset::Glob::new(g).map_err(|e| ScanError::BadGlob {
            glob: g.clone(),
            message: e.to_string(),
        })?;
        globs.add(glob);
    }
    globs.build().map_err(|e| ScanError::BadGlob {
        glob: opts.exclude.join(","),
        message: e.to_string(),
    })
}

/// What a scan needs before it reads the tree, each checked up front.
struct Setup {
    config: LoadedConfig,
    queries: queries::Prepared,
    exclude: globset::GlobSet,
    jobs: usize,
    /// The threads of the second look.
    pool: rayon::ThreadPool,
}

impl Setup {
    fn new(opts: &ScanOptions) -> Result<Setup, ScanError> {
        if opts.jobs > MAX_JOBS {
            return Err(ScanError::TooManyJobs {
                jobs: opts.jobs,
                max: MAX_JOBS,
            });
        }
        let queries = queries::Prepared::start(opts.queries_dir.as_deref())?;
        let exclude = exclude_globs(opts)?;
        let jobs = jobs(opts);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| ScanError::Threads {
                jobs,
                message: e.to_string(),
            })?;
        let config = match &opts.config {
            None => None,
            Some(path) => {
                let (config, found) =
                    crate::kbuild::Config::load(path).map_err(|e| ScanError::Config {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                Some((config, build_view::diagnostics_of(found)))
            }
        };
        Ok(Setup {
            config: LoadedConfig(config),
            queries,
            exclude,
            jobs,
            pool,
        })
    }
}
