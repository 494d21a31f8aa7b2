//! Literal secrets are refused, and a canary secret's text appears in no
//! output, error or artifact.

mod common;
use common::*;
use serde_json::json;

const CANARY: &str = "CANARY-7f3a9c1e-do-not-leak";

fn assert_refused(doc: serde_json::Value, rule: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(rule), "{rule} not named:\n{}", r.stderr);
    assert!(!r.stdout.contains(CANARY) && !r.stderr.contains(CANARY), "secret leaked into output");
    assert!(!out.exists());
}

#[test]
fn trap_options_are_refused_without_echo() {
    for patch in [
        json!({"database": {"password": CANARY}}),
        json!({"smtp": {"password": CANARY}}),
        json!({"auth": {"oidc": {"clientSecret": CANARY}}}),
        json!({"fileStorage": {"s3": {"secretAccessKey": CANARY}}}),
    ] {
        assert_refused(patched(load("examples/baremetal.json"), &patch), "secret-literal-option");
    }
}

#[test]
fn secrets_inside_settings_are_refused_without_echo() {
    let base = load("examples/baremetal.json");
    assert_refused(
        patched(base.clone(), &json!({"settings": {"SqlSettings": {"DataSource": format!("postgres://mmuser:{CANARY}@db/mattermost?sslmode=verify-full")}}})),
        "secret-credential-in-string",
    );
    assert_refused(
        patched(base.clone(), &json!({"settings": {"SqlSettings": {"DataSourceReplicas": [format!("postgres://u:{CANARY}@r1/mm")]}}})),
        "secret-credential-in-string",
    );
    assert_refused(patched(base.clone(), &json!({"settings": {"LdapSettings": {"BindPassword": CANARY}}})), "secret-literal-setting");
    assert_refused(patched(base.clone(), &json!({"settings": {"FileSettings": {"PublicLinkSalt": CANARY}}})), "secret-literal-setting");
    assert_refused(patched(base.clone(), &json!({"settings": {"SqlSettings": {"AtRestEncryptKey": CANARY}}})), "secret-literal-setting");
    // Plugin settings spell keys in any case.
    assert_refused(
        patched(base.clone(), &json!({"settings": {"PluginSettings": {"Plugins": {"com.github.manland.mattermost-plugin-gitlab": {"gitlaboauthclientsecret": CANARY}}}}})),
        "secret-literal-setting",
    );
    // A key file that is already in the world-readable store ("${./tls.key}").
    assert_refused(
        patched(base.clone(), &json!({"settings": {"ServiceSettings": {"TLSKeyFile": "/nix/store/00000000000000000000000000000000-tls.key"}}})),
        "secret-file-in-store",
    );
    // A credential URL with an empty user name.
    assert_refused(
        patched(base, &json!({"settings": {"SqlSettings": {"DataSource": format!("postgres://:{CANARY}@db/mattermost")}}})),
        "secret-credential-in-string",
    );
}

#[test]
fn rendered_artifacts_hold_references_only() {
    for example in ["baremetal", "kubernetes"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let r = run(&["render", "--input", &format!("examples/{example}.json"), "--out", out.to_str().unwrap(), "--today", TODAY]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        for f in files_under(&out) {
            let text = std::fs::read_to_string(&f).unwrap();
            // The release's sample credentials must not survive into a rendered file.
            assert!(!text.contains("mostest"), "{} carries the sample DB password", f.display());
            assert!(!text.contains("changeme"), "{} carries the sample Elasticsearch password", f.display());
            assert!(!regex_like_credential_url(&text), "{} has a credential URL", f.display());
        }
    }
}

fn regex_like_credential_url(text: &str) -> bool {
    text.split(['"', ' ', '\n']).any(|w| {
        w.split_once("://").is_some_and(|(_, rest)| {
            let authority = rest.split('/').next().unwrap_or("");
            // `user:{}@` is the slot launch fills at start, and `$(VAR)` one
            // Kubernetes fills from a Secret reference declared before it:
            // neither is a secret.
            let userinfo = authority.rsplit_once('@').map(|(u, _)| u).unwrap_or("");
            let var = |x: &str| x.strip_prefix("$(").and_then(|x| x.strip_suffix(')')).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            userinfo.split_once(':').is_some_and(|(_, pw)| pw != "{}" && !var(pw))
        })
    })
}

#[test]
fn launch_passes_secrets_through_the_environment_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let pw = dir.path().join("db-password");
    std::fs::write(&pw, "p@ss word/with:specials\n").unwrap();
    let doc = patched(load("examples/baremetal.json"), &json!({"database": {"passwordFile": pw.to_str().unwrap()}}));
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The OIDC/SMTP secret files of the example do not exist here: launch must say which, without content.
    let spec = out.join("secret-env.json");
    let r = run(&["launch", "--spec", spec.to_str().unwrap(), "--", "/usr/bin/env"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("oidc-client-secret"), "{}", r.stderr);
    // With only the DB secret in the spec, env shows the URL-encoded DSN.
    let mut spec_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    spec_json["secrets"].as_array_mut().unwrap().retain(|s| s["credential"] == "database-password");
    std::fs::write(&spec, spec_json.to_string()).unwrap();
    let r = run(&["launch", "--spec", spec.to_str().unwrap(), "--", "/usr/bin/env"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("MM_SQLSETTINGS_DATASOURCE=postgres://mmuser:p%40ss%20word%2Fwith%3Aspecials@db.example.internal:5432/mattermost?sslmode=verify-full"),
        "{}",
        r.stdout
    );
    // Hardened settings are pinned in the environment too (locked in the System Console).
    assert!(r.stdout.contains("\nMM_SERVICESETTINGS_ENABLELINKPREVIEWS=false\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\nMM_TEAMSETTINGS_ENABLEOPENSERVER=false\n"), "{}", r.stdout);
}

#[test]
fn conflict_errors_do_not_echo_the_settings_value() {
    let doc = patched(load("examples/baremetal.json"), &json!({"settings": {"TeamSettings": {"SiteName": CANARY}}}));
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("settings.TeamSettings.SiteName") && r.stderr.contains("siteName"), "{}", r.stderr);
    assert!(!r.stderr.contains(CANARY), "{}", r.stderr);
}

#[test]
fn other_secret_settings_come_from_files_or_secrets_only() {
    let dir = tempfile::tempdir().unwrap();
    // Kubernetes: a secretKeyRef, no value.
    let out = dir.path().join("k8s");
    let doc = patched(load("examples/kubernetes.json"), &json!({"secretSettings": {"ElasticsearchSettings.Password": {"file": null, "kubernetesSecret": {"name": "mattermost-search", "key": "password"}}}}));
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let values = std::fs::read_to_string(out.join("values.yaml")).unwrap();
    assert!(values.contains("- name: \"MM_ELASTICSEARCHSETTINGS_PASSWORD\"\n    valueFrom:\n      secretKeyRef:\n        name: \"mattermost-search\"\n        key: \"password\""), "{values}");
    // Bare metal: a systemd credential that launch turns into the variable.
    let out = dir.path().join("bm");
    let doc = patched(load("examples/baremetal.json"), &json!({"secretSettings": {"SqlSettings.AtRestEncryptKey": {"file": "/run/secrets/mattermost/at-rest-key", "kubernetesSecret": null}}}));
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let unit = std::fs::read_to_string(out.join("mattermost.service")).unwrap();
    assert!(unit.contains("LoadCredential=setting-sqlsettings-atrestencryptkey:/run/secrets/mattermost/at-rest-key"), "{unit}");
    let spec = std::fs::read_to_string(out.join("secret-env.json")).unwrap();
    assert!(spec.contains("\"env\": \"MM_SQLSETTINGS_ATRESTENCRYPTKEY\""), "{spec}");
    // Only secret settings, and only with the source the mode reads.
    for (patch, needle) in [
        (json!({"secretSettings": {"ServiceSettings.SiteURL": {"file": "/run/x", "kubernetesSecret": null}}}), "secretSettings.\"ServiceSettings.SiteURL\""),
        (json!({"secretSettings": {"LdapSettings.BindPassword": {"file": null, "kubernetesSecret": {"name": "a", "key": "b"}}}}), "secretSettings.\"LdapSettings.BindPassword\".file"),
    ] {
        let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &patched(load("examples/baremetal.json"), &patch).to_string());
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains(needle), "{}", r.stderr);
    }
}
