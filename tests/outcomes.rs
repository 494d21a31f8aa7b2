//! The product card's enforcement table and every row we added to it,
//! through the real binary.

mod common;
use common::*;
use serde_json::json;

fn card() -> serde_json::Value {
    load("examples/kubernetes.json")
}

#[test]
fn compliant_card_example_passes() {
    let r = run(&["check", "--input", "examples/kubernetes.json", "--today", TODAY]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("0 failed"), "{}", r.stdout);
}

#[test]
fn guest_users_without_justification_fail_naming_the_option() {
    let (r, out) = check_json(&patched(card(), &json!({"allowGuestUsers": true})));
    assert_eq!(r.code, 1);
    let out = out.expect("outcomes");
    assert_eq!(outcome_of(&out, "guest-accounts-disabled"), "fail");
    assert!(r.stderr.contains("sm::policy::failed"), "{}", r.stderr);
    // A rustc-style diagnostic: rule id, controls, the setting and value found, the fix.
    assert!(r.stderr.contains("sm::rule::guest-accounts-disabled"), "{}", r.stderr);
    assert!(r.stderr.contains("[AC-2, AC-21, IA-8]"), "{}", r.stderr);
    assert!(r.stderr.contains("config.GuestAccountsSettings.Enable = true"), "{}", r.stderr);
    assert!(r.stderr.contains("set justification.allowGuestUsers, or set allowGuestUsers = false"), "{}", r.stderr);
    // The human table names the fix with the option.
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &patched(card(), &json!({"allowGuestUsers": true})).to_string());
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("justification.allowGuestUsers"), "{}", r.stdout);
    assert!(r.stdout.contains("allowGuestUsers = false"), "{}", r.stdout);
}

#[test]
fn guest_users_with_scoped_exception_pass_with_a_recorded_warning() {
    let doc = patched(card(), &json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": "Scoped exception"}}));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning[guest-accounts-disabled]: waived by justification.allowGuestUsers: Scoped exception"), "{}", r.stderr);
    let outcomes: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap();
    assert_eq!(outcome_of(&outcomes, "guest-accounts-disabled"), "waived");
    let rule = outcomes["rules"].as_array().unwrap().iter().find(|r| r["id"] == "guest-accounts-disabled").unwrap();
    assert_eq!(rule["justification"]["reason"], "Scoped exception");
}

#[test]
fn justification_by_rule_id_works_too() {
    let doc = patched(card(), &json!({"allowGuestUsers": true, "justification": {"guest-accounts-disabled": {"reason": "Partner ISA-44", "approvedBy": "ISSO", "expires": "2027-01-31", "ticket": "POAM-9"}}}));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(outcome_of(&out.unwrap(), "guest-accounts-disabled"), "waived");
}

#[test]
fn placeholder_justifications_fail() {
    for reason in ["", "   ", "TODO", "tbd", "FIXME", "n/a", "none", "-"] {
        let doc = patched(card(), &json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": reason}}));
        let (r, out) = check_json(&doc);
        assert_eq!(r.code, 1, "{reason:?} was accepted");
        assert_eq!(outcome_of(&out.unwrap(), "guest-accounts-disabled"), "fail", "{reason:?}");
    }
}

#[test]
fn expired_justification_fails_and_today_is_overridable() {
    let doc = patched(card(), &json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": {"reason": "Partner ISA-44", "approvedBy": "ISSO J. Doe", "expires": "2026-06-30"}}}));
    let (r, _) = check_json(&doc);
    assert_eq!(r.code, 1, "expired waiver accepted");
    let r = run_stdin(&["check", "--input", "-", "--json", "--today", "2026-06-01"], &doc.to_string());
    assert_eq!(r.code, 0, "waiver still valid on 2026-06-01: {}", r.stderr);
    let r = run_stdin(&["check", "--input", "-", "--today", "June 1st"], &doc.to_string());
    assert_eq!(r.code, 2);
}

#[test]
fn non_waivable_rule_cannot_be_justified() {
    let doc = patched(card(), &json!({
        "settings": {"ServiceSettings": {"EnableInsecureOutgoingConnections": true}},
        "justification": {"outgoing-tls-verified": "The IdP has a self-signed certificate"}
    }));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 1);
    assert_eq!(outcome_of(&out.unwrap(), "outgoing-tls-verified"), "fail");
}

#[test]
fn justification_on_a_compliant_setting_is_a_stale_waiver_warning() {
    let doc = patched(card(), &json!({"justification": {"allowGuestUsers": "Partner ISA-44"}}));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("stale"), "{}", r.stderr);
    assert_eq!(outcome_of(&out.unwrap(), "guest-accounts-disabled"), "pass");
}

#[test]
fn licensed_settings_on_team_edition_are_ineffective_not_silently_passed() {
    let doc = patched(card(), &json!({"license": {"edition": "team"}}));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 1);
    let out = out.unwrap();
    assert_eq!(outcome_of(&out, "mfa-enforced"), "ineffective-without-licence");
    assert_eq!(outcome_of(&out, "licence-sso"), "ineffective-without-licence");
    assert_eq!(outcome_of(&out, "audit-log"), "ineffective-without-licence");
}

#[test]
fn unknown_justification_key_is_an_input_error() {
    let doc = patched(card(), &json!({"justification": {"allowGuestUser": "typo"}}));
    let (r, _) = check_json(&doc);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("justification.allowGuestUser"), "{}", r.stderr);
}

#[test]
fn settings_cannot_bypass_a_rule() {
    // Weakening a setting no option controls: the rule sees the effective value.
    let doc = patched(card(), &json!({"settings": {"ServiceSettings": {"EnableLinkPreviews": true}}}));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 1);
    assert_eq!(failing_rules(&out.unwrap()), vec!["link-previews-off"]);
    // Contradicting an option through settings is an error naming both.
    let doc = patched(card(), &json!({"settings": {"GuestAccountsSettings": {"Enable": true}}}));
    let (r, _) = check_json(&doc);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("allowGuestUsers") && r.stderr.contains("settings.GuestAccountsSettings.Enable"), "{}", r.stderr);
}

#[test]
fn vendor_push_proxy_is_caught_in_any_letter_case() {
    let doc = patched(card(), &json!({"pushNotifications": {"server": "https://PUSH-TEST.Mattermost.COM"}}));
    let (r, out) = check_json(&doc);
    assert_eq!(r.code, 1);
    assert_eq!(failing_rules(&out.unwrap()), vec!["push-proxy-inside-boundary"]);
}

#[test]
fn database_tls_is_advisory_where_the_dsn_lives_in_a_secret() {
    // An external database: the connection string is the site's Secret.
    let (r, out) = check_json(&patched(card(), &json!({"kubernetes": {"postgresql": {"enable": false}}})));
    assert_eq!(r.code, 0);
    assert_eq!(outcome_of(&out.unwrap(), "database-tls-verify-full"), "advisory");
    let (_, out) = check_json(&load("examples/baremetal.json"));
    assert_eq!(outcome_of(&out.unwrap(), "database-tls-verify-full"), "pass");
}
