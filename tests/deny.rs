//! cargo-deny on this helper's own dependencies, offline: licences, bans and
//! sources of Cargo.lock pass the policy in deny.toml, and a scratch policy
//! that allows no licence (or bans a crate we use) fails, so the check can
//! fail. Advisories need a RustSec database, never fetched here: a synthetic
//! one-advisory database written by this test proves the check fails on a
//! locked crate, and a local copy of the real database
//! (SECURE_MATTERMOST_RUSTSEC_DB) is checked when given, else reported skipped.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where cargo-deny keeps the default database (`<db-path>/<name>-<hash of its URL>`).
const DEFAULT_DB_DIR: &str = "advisory-db-3157b0e258782691";

fn cargo_deny(test: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let in_home = home.map(|h| h.join("bin/cargo-deny")).filter(|p| p.is_file());
    let on_path = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("cargo-deny")).find(|p| p.is_file()));
    let found = in_home.or(on_path);
    if found.is_none() {
        skip_missing("cargo-deny", test, "cargo-deny not installed (scripts/test.sh installs it with cargo install)");
    }
    found
}

struct Deny {
    code: i32,
    stderr: String,
}

/// cargo-deny's exit code has one bit per failed check.
const ADVISORIES: i32 = 1;
const BANS: i32 = 2;
const LICENSES: i32 = 4;

/// `cargo deny --offline --config CONFIG check --show-stats WHICH…` on this
/// repository's manifest (the stats print `<check> ok` / `<check> FAILED`).
fn deny(tool: &Path, config: &Path, which: &[&str]) -> Deny {
    let out = Command::new(tool)
        .arg("deny")
        .args(["--offline", "--color", "never", "--manifest-path"])
        .arg(root().join("Cargo.toml"))
        .arg("--config")
        .arg(config)
        .args(["check", "--show-stats"])
        .args(which)
        .env("CARGO_NET_OFFLINE", "true")
        .output();
    match out {
        // Diagnostics go to stderr, the stats to stdout when it is not a terminal.
        Ok(o) => {
            let mut stderr = format!("{}{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
            if stderr.contains("--offline was specified") {
                stderr.push_str("\n(hint: a locked crate is not downloaded; `cargo fetch --locked` fetches them for every platform, as scripts/test.sh does)");
            }
            Deny { code: o.status.code().unwrap_or(-1), stderr }
        }
        Err(e) => Deny { code: -1, stderr: format!("cannot run {}: {e}", tool.display()) },
    }
}

fn policy() -> String {
    std::fs::read_to_string(root().join("deny.toml")).unwrap_or_default()
}

/// deny.toml with `db-path` set in its (only) `[advisories]` table.
fn policy_with_db(root_dir: &Path) -> String {
    let text = policy();
    assert_eq!(text.lines().filter(|l| l.trim() == "[advisories]").count(), 1, "deny.toml must have exactly one [advisories] header line");
    text.replacen("\n[advisories]\n", &format!("\n[advisories]\ndb-path = {:?}\n", root_dir.display().to_string()), 1)
}

fn our_dependencies_pass_licences_bans_and_sources() {
    let Some(tool) = cargo_deny("deny::licences_bans_sources") else { return };
    let r = deny(&tool, &root().join("deny.toml"), &["licenses", "bans", "sources"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for part in ["bans ok", "licenses ok", "sources ok"] {
        assert!(r.stderr.contains(part), "`{part}` missing:\n{}", r.stderr);
    }
    // Every allowed licence is one the lock needs (an unused one is refused by the policy itself).
    assert!(policy().contains("unused-allowed-license = \"deny\""));
}

fn a_policy_allowing_no_licence_or_banning_a_used_crate_fails() {
    let Some(tool) = cargo_deny("deny::bad_policy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = policy();
    let start = text.find("allow = [").expect("deny.toml lists allowed licences");
    let end = start + text[start..].find(']').expect("closing bracket");
    let no_licences = format!("{}allow = []{}", &text[..start], &text[end + 1..]).replace("unused-allowed-license = \"deny\"", "");
    let cfg = dir.path().join("no-licences.toml");
    std::fs::write(&cfg, no_licences).unwrap();
    let r = deny(&tool, &cfg, &["licenses", "bans", "sources"]);
    assert_eq!(r.code, LICENSES, "a policy allowing no licence must fail the licences, and only them:\n{}", r.stderr);
    assert!(r.stderr.contains("licenses FAILED") && r.stderr.contains("rejected"), "{}", r.stderr);
    assert!(r.stderr.contains("bans ok") && r.stderr.contains("sources ok"), "only the licences should fail:\n{}", r.stderr);

    let banned = text.replacen("\n[bans]\n", "\n[bans]\ndeny = [{ crate = \"serde_json\", reason = \"test: a crate the helper uses\" }]\n", 1);
    let cfg = dir.path().join("banned.toml");
    std::fs::write(&cfg, banned).unwrap();
    let r = deny(&tool, &cfg, &["bans"]);
    assert_eq!(r.code, BANS, "banning serde_json passed:\n{}", r.stderr);
    assert!(r.stderr.contains("bans FAILED") && r.stderr.contains("serde_json"), "{}", r.stderr);
}

/// A git repository laid out as the RustSec database, holding one advisory
/// of our own for `package` (`patched` = the fixed range).
fn synthetic_db(parent: &Path, package: &str, patched: &str) -> Option<PathBuf> {
    let repo = parent.join(DEFAULT_DB_DIR);
    let dir = repo.join("crates").join(package);
    std::fs::create_dir_all(&dir).ok()?;
    let text = format!(
        "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"{package}\"\ndate = \"2026-01-01\"\n\n[versions]\npatched = [\"{patched}\"]\n```\n\n# Synthetic advisory for the secure-mattermost tests\n\nNot a real advisory.\n"
    );
    std::fs::write(dir.join("RUSTSEC-2099-0001.md"), text).ok()?;
    let git = |args: &[&str]| Command::new("git").current_dir(&repo).args(args).output().map(|o| o.status.success()).unwrap_or(false);
    (git(&["init", "-q"]) && git(&["add", "-A"]) && git(&["-c", "user.name=test", "-c", "user.email=test@invalid", "commit", "-qm", "synthetic"])).then_some(repo)
}

fn a_local_advisory_for_a_locked_crate_fails_the_check() {
    let Some(tool) = cargo_deny("deny::synthetic_advisory") else { return };
    let has_git = Command::new("git").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if !has_git {
        skip_missing("git", "deny::synthetic_advisory", "git not installed (cargo-deny reads the database's age from git)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An advisory for a crate not in the lock: clean.
    let clean = dir.path().join("clean");
    synthetic_db(&clean, "no-such-crate-in-our-lock", ">= 1.0.0").expect("synthetic database");
    let cfg = dir.path().join("clean.toml");
    std::fs::write(&cfg, policy_with_db(&clean)).unwrap();
    let r = deny(&tool, &cfg, &["advisories"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("advisories ok"), "{}", r.stderr);
    // The same for unsafe-libyaml (serde_yaml_ng links it), every version affected: fails, naming it.
    let bad = dir.path().join("bad");
    synthetic_db(&bad, "unsafe-libyaml", ">= 99.0.0").expect("synthetic database");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, policy_with_db(&bad)).unwrap();
    let r = deny(&tool, &cfg, &["advisories"]);
    assert_eq!(r.code, ADVISORIES, "{}", r.stderr);
    assert!(r.stderr.contains("advisories FAILED") && r.stderr.contains("RUSTSEC-2099-0001") && r.stderr.contains("unsafe-libyaml"), "{}", r.stderr);
}

/// SECURE_MATTERMOST_RUSTSEC_DB: a clone of the RustSec advisory database
/// (a directory with `crates/`), or a cargo-deny `db-path` holding one.
fn our_dependencies_have_no_advisory_in_the_local_rustsec_copy() {
    let Some(tool) = cargo_deny("deny::advisories") else { return };
    let Some(given) = std::env::var_os("SECURE_MATTERMOST_RUSTSEC_DB").map(PathBuf::from) else {
        skip_missing("rustsec-db", "deny::advisories", "SECURE_MATTERMOST_RUSTSEC_DB (a local copy of the RustSec advisory-db) not set; advisories not checked");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db_root = if given.join(DEFAULT_DB_DIR).join("crates").is_dir() {
        given.clone()
    } else if given.join("crates").is_dir() {
        // cargo-deny looks for <db-path>/advisory-db-<hash>: point one at the copy, read-only.
        let r = dir.path().join("dbs");
        std::fs::create_dir_all(&r).unwrap();
        std::os::unix::fs::symlink(std::fs::canonicalize(&given).unwrap_or(given.clone()), r.join(DEFAULT_DB_DIR)).unwrap();
        r
    } else {
        panic!("SECURE_MATTERMOST_RUSTSEC_DB={} is neither a RustSec advisory-db copy (crates/) nor a cargo-deny db-path holding one", given.display());
    };
    let cfg = dir.path().join("deny.toml");
    std::fs::write(&cfg, policy_with_db(&db_root)).unwrap();
    let r = deny(&tool, &cfg, &["advisories"]);
    assert_eq!(r.code, 0, "advisories in our dependencies (or the copy is stale, older than 90 days):\n{}", r.stderr);
    assert!(r.stderr.contains("advisories ok"), "{}", r.stderr);
}

tests![
    our_dependencies_pass_licences_bans_and_sources,
    a_policy_allowing_no_licence_or_banning_a_used_crate_fails,
    a_local_advisory_for_a_locked_crate_fails_the_check,
    our_dependencies_have_no_advisory_in_the_local_rustsec_copy,
];
