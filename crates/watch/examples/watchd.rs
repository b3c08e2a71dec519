//! The watcher and its client by hand, for measuring them on a real tree:
//!
//! - `watchd serve ROOT STATE_DIR`: watches until stopped;
//! - `watchd query ROOT STATE_DIR [GENERATION SEQ]`: one query, the number
//!   of paths (or `unknown`) and the next token;
//! - `watchd stop STATE_DIR`.

use std::path::Path;
use std::process::ExitCode;

use kfunc_scan_watch::{query, stop, watch, Changes, Options, Token};

fn everything(_: &[u8]) -> bool {
    true
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["serve", root, state] => {
            let opts = Options {
                root: root.into(),
                state_dir: state.into(),
                relevant: everything,
                max_changes: 100_000,
            };
            watch(&opts, &mut |dirs| eprintln!("watching {dirs} directories"))
                .map_err(|e| e.to_string())
        }
        ["query", root, state, rest @ ..] => {
            let since = match rest {
                [g, s] => match (g.parse(), s.parse()) {
                    (Ok(generation), Ok(seq)) => Some(Token { generation, seq }),
                    _ => return usage(),
                },
                [] => None,
                _ => return usage(),
            };
            match query(Path::new(state), Path::new(root), since) {
                Ok(None) => {
                    println!("no watcher");
                    Ok(())
                }
                Ok(Some(a)) => {
                    match a.changes {
                        Changes::Unknown => println!("unknown"),
                        Changes::Since(p) => println!("{} paths", p.len()),
                    }
                    println!("{} {}", a.now.generation, a.now.seq);
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        ["stop", state] => stop(Path::new(state))
            .map(|running| println!("{}", if running { "stopped" } else { "no watcher" }))
            .map_err(|e| e.to_string()),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: watchd serve ROOT STATE_DIR | query ROOT STATE_DIR [GEN SEQ] | stop STATE_DIR"
    );
    ExitCode::from(2)
}
