//! Bad input: a clear message naming the option or file, a distinct exit
//! code (2 input, 1 policy), no panic, and nothing written.

mod common;
use common::*;
use serde_json::json;

fn render_expect(doc: &str, code: i32, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], doc);
    assert_eq!(r.code, code, "stderr: {}", r.stderr);
    assert!(r.stderr.contains(needle), "expected {needle:?} in:\n{}", r.stderr);
    assert!(!out.exists(), "artifacts were written despite the error");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary files left behind");
}

fn base_doc() -> serde_json::Value {
    load("examples/baremetal.json")
}

#[test]
fn malformed_and_truncated_json() {
    render_expect("{not json", 2, "<stdin>: not a valid JSON document");
    let full = base_doc().to_string();
    render_expect(&full[..full.len() / 2], 2, "not a valid JSON document");
    render_expect("", 2, "not a valid JSON document");
}

#[test]
fn missing_input_file_names_it() {
    let r = run(&["check", "--input", "/nonexistent/decl.json"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("/nonexistent/decl.json"), "{}", r.stderr);
}

#[test]
fn unknown_schema_version() {
    let mut d = base_doc();
    d["schemaVersion"] = json!(99);
    render_expect(&d.to_string(), 2, "unsupported schemaVersion 99");
}

#[test]
fn wrong_types_unknown_mode_and_missing_domain() {
    render_expect(&patched(base_doc(), &json!({"replicas": "two"})).to_string(), 2, "services.secureMattermost.replicas");
    render_expect(&patched(base_doc(), &json!({"mode": "metal"})).to_string(), 2, "services.secureMattermost.mode");
    let mut d = base_doc();
    d["secureMattermost"].as_object_mut().unwrap().remove("domain");
    render_expect(&d.to_string(), 2, "domain");
    render_expect(&patched(base_doc(), &json!({"surprise": 1})).to_string(), 2, "surprise");
}

#[test]
fn unknown_settings_key_and_wrong_setting_type() {
    render_expect(
        &patched(base_doc(), &json!({"settings": {"ServiceSettings": {"EnableLinkPreview": false}}})).to_string(),
        2,
        "settings.ServiceSettings.EnableLinkPreview` is not a setting of Mattermost",
    );
    render_expect(
        &patched(base_doc(), &json!({"settings": {"ServiceSetting": {"EnableLinkPreviews": false}}})).to_string(),
        2,
        "settings.ServiceSetting`",
    );
    render_expect(
        &patched(base_doc(), &json!({"settings": {"ServiceSettings": {"EnableLinkPreviews": "false"}}})).to_string(),
        2,
        "must be a boolean",
    );
}

#[test]
fn ha_with_local_storage() {
    render_expect(
        &patched(base_doc(), &json!({"replicas": 3, "fileStorage": {"driver": "local"}})).to_string(),
        2,
        "fileStorage.driver",
    );
}

#[test]
fn unpinned_mattermost_version() {
    render_expect(&patched(base_doc(), &json!({"mattermost": {"version": "9.0.0"}})).to_string(), 2, "mattermost.version");
}

#[test]
fn policy_failure_writes_nothing_and_success_replaces_atomically() {
    render_expect(&patched(base_doc(), &json!({"allowOpenSignup": true})).to_string(), 1, "policy check failed");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("stale.txt"), "old").unwrap();
    let r = run(&["render", "--input", "examples/baremetal.json", "--out", out.to_str().unwrap(), "--today", TODAY]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!out.join("stale.txt").exists());
    for f in ["config.json", "secret-env.json", "mattermost.service", "nginx.conf", "outcomes.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary directories left behind");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["check"]).code, 2);
    assert_eq!(run(&["frobnicate"]).code, 2);
    assert_eq!(run(&["check", "--input", "a", "--config", "b"]).code, 2);
}

#[test]
fn null_settings_and_unsafe_paths_are_refused() {
    render_expect(
        &patched(base_doc(), &json!({"settings": {"MetricsSettings": {"Enable": true, "ListenAddress": null}}})).to_string(),
        2,
        "settings.MetricsSettings.ListenAddress",
    );
    for bad in ["/run/secrets/db password", "/run/secrets/x;\nExecStartPre=/bin/sh", "relative/path", "/nix/store/abc-dbpw"] {
        render_expect(&patched(base_doc(), &json!({"database": {"passwordFile": bad}})).to_string(), 2, "services.secureMattermost.database.passwordFile");
    }
}

#[test]
fn a_pasted_password_in_a_file_option_is_not_echoed() {
    let doc = patched(base_doc(), &json!({"database": {"passwordFile": "CANARY-pasted-Pa55word!"}})).to_string();
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &doc);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("database.passwordFile") && !r.stderr.contains("CANARY"), "{}", r.stderr);
}

#[test]
fn justification_expiry_must_be_a_date() {
    let doc = patched(base_doc(), &json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": {"reason": "Partner ISA-44", "expires": "never"}}}));
    // A policy failure (every defect of the waiver is listed), not a parse error.
    render_expect(&doc.to_string(), 1, "justification.allowGuestUsers.expires is not a real calendar date");
}
