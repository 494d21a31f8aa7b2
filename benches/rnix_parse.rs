//! The floor for an rnix-based linter: read every `.nix` file under the
//! given paths (directories recursively, hidden ones skipped, in sorted
//! order, as `secure-mattermost lint` walks them) and parse it with rnix,
//! nothing else. benches/run.sh times this binary against `lint` with
//! hyperfine; run alone it prints its own timing:
//!
//!   cargo bench --bench rnix_parse -- [--repeat N] [PATH…]
//!
//! Without a path it parses $SECURE_MATTERMOST_NIXPKGS_LIB when set, else
//! this repository's own Nix files. Exit 2 on a bad argument, 3 when a path
//! cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut repeat = 1usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // cargo bench passes --bench to harness-less targets.
            "--bench" => {}
            "--repeat" => match args.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0) {
                Some(n) => repeat = n,
                None => {
                    eprintln!("rnix_parse: --repeat takes a positive number");
                    return ExitCode::from(2);
                }
            },
            s if s.starts_with('-') => {
                eprintln!("usage: rnix_parse [--repeat N] [PATH…]");
                return ExitCode::from(2);
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        match std::env::var_os("SECURE_MATTERMOST_NIXPKGS_LIB") {
            Some(lib) => paths.push(PathBuf::from(lib)),
            None => {
                let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                paths.extend(["modules", "nix", "examples", "checks"].iter().map(|d| root.join(d)));
            }
        }
    }
    // The same walk as `lint` (its code), so both read the same files.
    let (files, errors) = secure_mattermost::commands::lint::nix_files(&paths);
    if let Some(e) = errors.first() {
        eprintln!("rnix_parse: {e}");
        return ExitCode::from(3);
    }
    let start = Instant::now();
    let (mut bytes, mut parsed, mut with_errors) = (0usize, 0usize, 0usize);
    for _ in 0..repeat {
        for f in &files {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("rnix_parse: {}: {e}", f.display());
                    return ExitCode::from(3);
                }
            };
            let parse = rnix::Root::parse(&text);
            with_errors += usize::from(!parse.errors().is_empty());
            // Use the tree so the parse is not optimised away (no walk: the bare parse).
            parsed += usize::from(parse.syntax().text_range().end());
            bytes += text.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "rnix_parse: {} file(s) x {repeat}, {:.1} MB read, {:.1} MB parsed, {with_errors} with parse errors, {:.1} ms ({:.1} MB/s)",
        files.len(),
        bytes as f64 / 1e6,
        parsed as f64 / 1e6,
        secs * 1e3,
        bytes as f64 / 1e6 / secs.max(1e-9)
    );
    ExitCode::SUCCESS
}
