//! Parsing one masked source with tree-sitter, with a time bound so that a
//! pathological file cannot stall the scan.

use std::time::{Duration, Instant};
use tree_sitter::{ParseOptions, ParseState, Parser, Tree};

/// A file taking longer than this is reported and skipped.
pub const PARSE_TIME_LIMIT: Duration = Duration::from_secs(20);

pub fn parse(masked: &[u8]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&super::queries::language()).ok()?;
    let start = Instant::now();
    let mut too_slow = |_: &ParseState| start.elapsed() > PARSE_TIME_LIMIT;
    let opts = ParseOptions::new().progress_callback(&mut too_slow);
    let len = masked.len();
    parser.parse_with_options(
        &mut |offset, _| {
            if offset < len {
                &masked[offset..]
            } else {
                &[]
            }
        },
        None,
        Some(opts),
    )
}
