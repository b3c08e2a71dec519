//! The integration tests, one binary: each module was a test binary of its
//! own, and each of those linked the whole program (tree-sitter, gix,
//! object) again; one link instead of 47. Run one module with
//! `cargo test --test it MODULE::` (e.g. `cargo test --test it check::`).
//!
//! Tests that need real data (kernel trees, `../shared/data`, clang,
//! bpftool, root) say `SKIPPED: …` when it is absent, or fail under
//! `KFUNC_SCAN_REQUIRE_DATA=1` (see `common::missing`).

mod common;
mod manifest_fixture;

mod avail;
mod avail_hostile;
mod bad_input;
mod btf_hostile;
mod btf_inputs;
mod btf_malformed;
mod btf_real;
mod build_view;
mod built_kernel;
mod check;
mod check_selftests;
mod cli;
mod consumer_rules;
mod consumers;
mod decl_tags_truth;
mod diff_implicit_args;
mod diff_verifier_types;
mod docs_html;
mod docs_kerneldoc;
mod docs_selftests;
mod docs_yaml;
mod filters;
mod fuzz_corpus;
mod git_hostile;
mod git_packs;
mod header_btf;
mod header_selftests;
mod history;
mod hostile_inputs;
mod kbuild_real;
mod lint_docs;
mod manifest_corpus;
mod manifest_trust;
mod mini_tree;
mod no_git;
mod output_rules;
mod patch_arena;
mod patch_kbuild;
mod patch_mini;
mod patch_plan;
mod patch_version;
mod prog_types;
mod real_kernel;
mod scan_cache;
mod schema;
mod test_support;
