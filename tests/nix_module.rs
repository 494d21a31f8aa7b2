//! The Nix module under real `nix-instantiate` with nixpkgs' lib. nixpkgs
//! cannot be installed from any registry, so without `<nixpkgs/lib>` on
//! NIX_PATH these tests print SKIPPED loudly and return.

mod common;
use common::*;
use std::process::Command;

/// Evaluate through modules/standalone.nix exactly as the docs show.
fn evaluate(modules: &str) -> std::process::Output {
    let expr = format!(
        "let lib = import <nixpkgs/lib>; in (import ./modules/standalone.nix {{ inherit lib; modules = {modules}; }}).evaluated"
    );
    Command::new("nix-instantiate")
        .current_dir(root())
        .args(["--eval", "--strict", "--json", "-E", &expr])
        .output()
        .expect("nix-instantiate runs")
}

fn examples_evaluate_and_committed_json_is_fresh() {
    if !nix_lib_available("nix_module") {
        return;
    }
    for ex in ["kubernetes", "baremetal"] {
        let out = evaluate(&format!("[ ./examples/{ex}.nix ]"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(live, load(&format!("examples/{ex}.json")), "examples/{ex}.json is stale: run scripts/gen-example-json.sh");
        // And the document real Nix printed renders and passes.
        let dir = tempfile::tempdir().unwrap();
        let r = run_stdin(&["render", "--input", "-", "--out", dir.path().join("o").to_str().unwrap(), "--today", TODAY], &live.to_string());
        assert_eq!(r.code, 0, "{ex}: {}", r.stderr);
    }
}

fn card_example_with_guests_fails_naming_the_option() {
    if !nix_lib_available("nix_module") {
        return;
    }
    let out = evaluate("[ ./examples/kubernetes.nix { services.secureMattermost.allowGuestUsers = lib.mkForce true; } ]");
    assert!(out.status.success());
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &String::from_utf8_lossy(&out.stdout));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("guest-accounts-disabled") && r.stdout.contains("justification.allowGuestUsers"), "{}", r.stdout);
    let out = evaluate(
        "[ ./examples/kubernetes.nix { services.secureMattermost = { allowGuestUsers = lib.mkForce true; justification.allowGuestUsers = \"Scoped exception\"; }; } ]",
    );
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &String::from_utf8_lossy(&out.stdout));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("waived by justification.allowGuestUsers"));
}

fn evaluation_refuses_literal_secrets_without_echo() {
    if !nix_lib_available("nix_module") {
        return;
    }
    let canary = "CANARY-5be1-never-print";
    for (decl, needle) in [
        (format!("{{ services.secureMattermost.database.password = \"{canary}\"; }}"), "secret-literal-option"),
        (format!("{{ services.secureMattermost.smtp.password = \"{canary}\"; }}"), "secret-literal-option"),
        (
            format!("{{ services.secureMattermost.settings.SqlSettings.DataSource = \"postgres://mm:{canary}@db/mm\"; }}"),
            "secret-credential-in-string",
        ),
        (format!("{{ services.secureMattermost.settings.EmailSettings.SMTPPassword = \"{canary}\"; }}"), "secret-literal-setting"),
        (
            format!("{{ services.secureMattermost.settings.PluginSettings.Plugins.\"com.example.sso\".CLIENT_SECRET = \"{canary}\"; }}"),
            "secret-literal-setting",
        ),
        (
            format!("{{ services.secureMattermost.settings.SqlSettings.DataSource = \"postgres://:{canary}@db/mm\"; }}"),
            "secret-credential-in-string",
        ),
        // Not secret rules, but the same promise: the option is named, the value is not shown.
        (format!("{{ services.secureMattermost.database.passwordFile = \"{canary}\"; }}"), "services.secureMattermost.database.passwordFile"),
        (format!("{{ services.secureMattermost.database.passwordFile = \"/run/{canary} x\"; }}"), "services.secureMattermost.database.passwordFile"),
        (format!("{{ services.secureMattermost.smtp.passwd = \"{canary}\"; }}"), "services.secureMattermost.smtp.passwd"),
        (format!("{{ services.secureMattermost.database.kubernetesSecret.value = \"{canary}\"; }}"), "services.secureMattermost.database.kubernetesSecret.value"),
        (format!("{{ service.secureMattermost.smtp.password = \"{canary}\"; }}"), "`service'"),
    ] {
        let out = evaluate(&format!("[ ./examples/kubernetes.nix {decl} ]"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{decl} evaluated");
        assert!(stderr.contains(needle), "{needle} not named: {stderr}");
        assert!(!stderr.contains(canary) && !String::from_utf8_lossy(&out.stdout).contains(canary), "secret echoed");
    }
}

fn type_errors_name_the_option_and_path_literals_say_why() {
    if !nix_lib_available("nix_module") {
        return;
    }
    for (decl, needle) in [
        ("{ services.secureMattermost.mode = \"metal\"; }", "services.secureMattermost.mode"),
        ("{ services.secureMattermost.replicas = \"two\"; }", "services.secureMattermost.replicas"),
        ("{ services.secureMattermost.database.passwordFile = ./README.md; }", "world-readable Nix store"),
        ("{ services.secureMattermost.tls.keyFile = \"/run/keys/a;b\"; }", "services.secureMattermost.tls.keyFile"),
        ("{ services.secureMattermost.database.host = \"db/mm?sslmode=disable&x=\"; }", "services.secureMattermost.database.host"),
        ("{ services.secureMattermost.auth.provider = \"kerberos\"; }", "services.secureMattermost.auth.provider"),
    ] {
        let out = evaluate(&format!("[ ./examples/kubernetes.nix {decl} ]"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{decl} evaluated");
        assert!(stderr.contains(needle), "{needle} not in: {stderr}");
    }
    let out = evaluate("[ { services.secureMattermost = { enable = true; mode = \"baremetal\"; }; } ]");
    assert!(String::from_utf8_lossy(&out.stderr).contains("services.secureMattermost.domain"));
}

fn flake_outputs_and_nixos_module_evaluate_with_a_lib_only_nixpkgs() {
    if !nix_lib_available("nix_module") {
        return;
    }
    let expr = "import ./tests/nix/flake-standin.nix { modules = [ { services.secureMattermost = { enable = true; mode = \"baremetal\"; domain = \"chat.example.com\"; nixos.policyDate = \"2026-11-23\"; }; } ]; }";
    let out = Command::new("nix-instantiate")
        .current_dir(root())
        .args(["--eval", "--strict", "--json", "-E", expr])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["flakeOutputs"], serde_json::json!(["checks", "lib", "nixosModules", "packages"]));
    assert_eq!(
        v["checks"],
        serde_json::json!(["baremetal-example", "conformance", "examples", "kubernetes-example", "nixos-standin", "options-doc", "options-schema"])
    );
    assert_eq!(v["unit"], serde_json::json!(["secure-mattermost-chat.example.com"]));
    assert_eq!(v["wantedBy"], serde_json::json!(["multi-user.target"]));
    assert_eq!(v["failedAssertions"], serde_json::json!([]));
    assert_eq!(v["policyDate"], "2026-11-23");

    // A site must set the policy date itself (no default frozen at this repository's date).
    let eval = |decl: &str| {
        let expr = format!("import ./tests/nix/flake-standin.nix {{ modules = [ {decl} ]; }}");
        Command::new("nix-instantiate").current_dir(root()).args(["--eval", "--strict", "--json", "-E", &expr]).output().unwrap()
    };
    let o = eval("{ services.secureMattermost = { enable = true; mode = \"baremetal\"; domain = \"chat.example.com\"; }; }");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("services.secureMattermost.nixos.policyDate"));
    // A server package of another version is refused by an assertion.
    let o = eval("({ lib, ... }: { services.secureMattermost = { enable = true; mode = \"baremetal\"; domain = \"chat.example.com\"; nixos.policyDate = \"2026-11-23\"; nixos.serverPackage = { type = \"derivation\"; name = \"mattermost\"; version = \"10.5.0\"; outPath = \"/nix/store/00000000000000000000000000000000-mattermost\"; }; }; })");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert!(v["failedAssertions"].to_string().contains("10.5.0"), "{v} {}", String::from_utf8_lossy(&o.stderr));
}

/// In NixOS the top-level evaluation is the system's own, so only the
/// submodules' traps apply there (see modules/types.nix `unknownOptionTrap`);
/// file paths are refused the same way.
fn nixos_module_refuses_without_echo_too() {
    if !nix_lib_available("nix_module") {
        return;
    }
    let canary = "CANARY-77aa-never-print";
    for (decl, needle) in [
        (format!("database.kubernetesSecret.value = \"{canary}\";"), "services.secureMattermost.database.kubernetesSecret.value"),
        (format!("database.passwordFile = \"{canary}\";"), "services.secureMattermost.database.passwordFile"),
        (format!("justification.x = {{ reason = \"r\"; secret = \"{canary}\"; }};"), "services.secureMattermost.justification.x.secret"),
    ] {
        let expr = format!(
            "import ./tests/nix/flake-standin.nix {{ modules = [ {{ services.secureMattermost = {{ enable = true; mode = \"baremetal\"; domain = \"chat.example.com\"; {decl} }}; }} ]; }}"
        );
        let out = Command::new("nix-instantiate")
            .current_dir(root())
            .args(["--eval", "--strict", "--json", "-E", &expr])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{decl} evaluated");
        assert!(stderr.contains(needle), "{needle} not in: {stderr}");
        assert!(!stderr.contains(canary), "secret echoed: {stderr}");
    }
}

fn options_doc_is_fresh_and_every_option_is_documented() {
    if !nix_lib_available("nix_module") {
        return;
    }
    let out = Command::new("nix-instantiate")
        .current_dir(root())
        .args(["--eval", "--strict", "--json", "nix/options-doc.nix", "--arg", "lib", "import <nixpkgs/lib>"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let live: String = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(live, std::fs::read_to_string(root().join("docs/options.md")).unwrap(), "docs/options.md is stale: scripts/gen-options-doc.sh");
    // Every option: description and example; a default unless it is one of the required ones.
    let expr = "let lib = import <nixpkgs/lib>; in map (o: { inherit (o) name description; example = o ? example; default = o ? default; }) (lib.filter (o: o.visible) (lib.optionAttrSetToDocList (import ./modules/standalone.nix { inherit lib; modules = [ ]; }).options))";
    let out = Command::new("nix-instantiate").current_dir(root()).args(["--eval", "--strict", "--json", "-E", expr]).output().unwrap();
    let opts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let opts = opts.as_array().unwrap();
    assert!(opts.len() > 60);
    for o in opts {
        let name = o["name"].as_str().unwrap();
        if name.contains("_module") {
            continue;
        }
        assert!(o["description"].as_str().is_some_and(|d| d.len() > 10), "{name} lacks a description");
        assert_eq!(o["example"], true, "{name} lacks an example");
        let required = ["services.secureMattermost.mode", "services.secureMattermost.domain"].contains(&name)
            || name.contains(".justification.<name>.reason")
            // A Secret reference inside a nullable submodule: both halves are required once it is given.
            || name.contains(".secretSettings.<name>.kubernetesSecret.");
        assert!(o["default"] == true || required, "{name} lacks a default");
    }
}

tests![
    examples_evaluate_and_committed_json_is_fresh,
    card_example_with_guests_fails_naming_the_option,
    evaluation_refuses_literal_secrets_without_echo,
    type_errors_name_the_option_and_path_literals_say_why,
    flake_outputs_and_nixos_module_evaluate_with_a_lib_only_nixpkgs,
    nixos_module_refuses_without_echo_too,
    options_doc_is_fresh_and_every_option_is_documented,
];
