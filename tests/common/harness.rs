//! A small test runner for the test files whose tests can be skipped: a test
//! that calls `common::skip` (its prerequisite is missing) is reported as
//! `ignored` with the reason, and counted as ignored in the closing
//! `test result:` line, never as passed. Decided at run time, so a tool
//! installed after the build is picked up. Output and exit code follow
//! libtest's (101 on failure), and it takes the libtest flags cargo passes
//! (a name filter, `--exact`, `--skip`, `--test-threads`, `--list`, …).

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Clone, Copy)]
pub struct Test {
    pub name: &'static str,
    pub run: fn(),
}

thread_local! {
    static SKIPPED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Marks the running test as skipped (called by `common::skip`).
pub fn mark_skipped(reason: &str) {
    SKIPPED.with(|s| *s.borrow_mut() = Some(reason.to_string()));
}

enum Outcome {
    Passed,
    Ignored(String),
    Failed(String),
}

pub fn main(tests: &[Test]) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters: Vec<String> = Vec::new();
    let mut skips: Vec<String> = Vec::new();
    let (mut exact, mut list, mut threads) = (false, false, 1usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--skip" => skips.extend(it.next().cloned()),
            "--test-threads" => threads = it.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            s if s.starts_with("--test-threads=") => {
                threads = s["--test-threads=".len()..].parse().unwrap_or(1)
            }
            s if s.starts_with("--skip=") => skips.push(s["--skip=".len()..].to_string()),
            s if s.starts_with('-') => {} // --nocapture, --quiet, --color, --format …: accepted, nothing to change
            s => filters.push(s.to_string()),
        }
    }
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        t.name == f
                    } else {
                        t.name.contains(f.as_str())
                    }
                })
        })
        .filter(|t| !skips.iter().any(|s| t.name.contains(s.as_str())))
        .collect();
    if list {
        for t in &selected {
            println!("{}: test", t.name);
        }
        std::process::exit(0);
    }
    let filtered = tests.len() - selected.len();
    println!(
        "\nrunning {} test{}",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" }
    );
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(&'static str, Outcome)>> = Mutex::new(Vec::new());
    // Panics are reported in the summary; keep the default hook's message too.
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(selected.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(t) = selected.get(i) else { break };
                let run = t.run;
                let outcome =
                    match std::thread::Builder::new()
                        .name(t.name.to_string())
                        .spawn(move || {
                            SKIPPED.with(|s| *s.borrow_mut() = None);
                            let r = std::panic::catch_unwind(run);
                            let skipped = SKIPPED.with(|s| s.borrow_mut().take());
                            (r.map_err(|e| panic_text(&e)), skipped)
                        }) {
                        Ok(h) => match h.join() {
                            Ok((Ok(()), Some(reason))) => Outcome::Ignored(reason),
                            Ok((Ok(()), None)) => Outcome::Passed,
                            Ok((Err(msg), _)) => Outcome::Failed(msg),
                            Err(_) => Outcome::Failed("the test thread died".into()),
                        },
                        Err(e) => Outcome::Failed(format!("cannot start the test thread: {e}")),
                    };
                let line = match &outcome {
                    Outcome::Passed => format!("test {} ... ok", t.name),
                    Outcome::Ignored(reason) => {
                        format!("test {} ... ignored, SKIPPED: {reason}", t.name)
                    }
                    Outcome::Failed(_) => format!("test {} ... FAILED", t.name),
                };
                {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((t.name, outcome));
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let failed: Vec<&(&str, Outcome)> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .collect();
    let ignored = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Ignored(_)))
        .count();
    let passed = results.len() - failed.len() - ignored;
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for (name, o) in &failed {
            if let Outcome::Failed(msg) = o {
                println!("---- {name} ----\n{msg}\n");
            }
        }
        println!("failures:");
        for (name, _) in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {ignored} ignored; 0 measured; {filtered} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        start.elapsed().as_secs_f64()
    );
    let _ = std::io::stdout().flush();
    std::process::exit(if failed.is_empty() { 0 } else { 101 })
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panicked".into()
    }
}

/// `tests![a, b, c];` at the end of a test file: its `main`, running those
/// functions (`tests![a, b; MORE]` adds a slice of generated `Test`s).
#[macro_export]
macro_rules! tests {
    ($($f:ident),* $(,)? $(; $more:expr)?) => {
        fn main() {
            #[allow(unused_mut)]
            let mut all = vec![$(common::harness::Test { name: stringify!($f), run: $f }),*];
            $(all.extend_from_slice($more);)?
            common::harness::main(&all)
        }
    };
}
