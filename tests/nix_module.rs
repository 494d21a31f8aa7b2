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
    assert_eq!(v["libOutputs"], serde_json::json!(["evaluate", "render"]));
    // No vulnerability database: nothing scans, no scanner is an input.
    for d in [&v["rendered"], &v["example"]] {
        assert_eq!(d["inputs"], serde_json::json!(["secure-mattermost"]), "{d}");
        assert!(!d["script"].as_str().unwrap().contains("--scan-binary"), "{d}");
    }
    assert_eq!(v["example"]["script"], "secure-mattermost render --input \"$documentPath\" --out \"$out\" --today 2026-11-23\n");

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

const FAKE_STORE: &str = "/nix/store/00000000000000000000000000000000-";

fn on_path(name: &str) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(home.map(|h| h.join("go/bin")));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The stand-in's record of one runCommand: (script, inputs, document).
fn standin_build(expr: &str, which: &str) -> (String, Vec<String>, String) {
    let out = Command::new("nix-instantiate").current_dir(root()).args(["--eval", "--strict", "--json", "-E", expr]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v[which];
    let inputs = d["inputs"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect();
    (d["script"].as_str().unwrap().to_string(), inputs, d["document"].as_str().unwrap().to_string())
}

/// The build scripts the flake (lib.render) and the NixOS module hand to
/// runCommand, run as the build sandbox would: only the derivation's inputs
/// on PATH (the helper, govulncheck, cyclonedx-gomod, and install as stdenv
/// has it; no Go toolchain), an unwritable HOME, no network where `unshare -n`
/// works; the stand-in's store paths point at the real pinned server and a
/// one-entry database of our own. An unwaived finding fails the build and
/// writes nothing; waived in the declaration, the output holds the scan.
fn the_build_scripts_scan_the_server_as_the_sandbox_would() {
    if !nix_lib_available("nix_module") {
        return;
    }
    let test = "nix_module::build_scripts_scan";
    let mut tools = Vec::new();
    for t in ["govulncheck", "cyclonedx-gomod"] {
        match on_path(t) {
            Some(p) => tools.push((t, p)),
            None => return skip_missing(t, test, &format!("{t} not installed (scripts/test.sh installs it with go install)")),
        }
    }
    let pin = load("catalog/mattermost-pin.json");
    let cache = std::env::var_os("XDG_CACHE_HOME").map(std::path::PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")));
    let server = cache.map(|c| c.join(format!("secure-mattermost/mattermost-{}", pin["version"].as_str().unwrap_or_default()))).filter(|d| d.join("bin/mattermost").is_file());
    let Some(server) = server else {
        return skip_missing("mattermost", test, "the pinned Mattermost server is not built (scripts/mattermost-build.sh)");
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = assert_cmd::cargo::cargo_bin("secure-mattermost");
    std::os::unix::fs::symlink(&helper, bin.join("secure-mattermost")).unwrap();
    for (t, p) in &tools {
        std::os::unix::fs::symlink(p, bin.join(t)).unwrap();
    }
    let Some(install) = on_path("install") else { return skip_missing("coreutils", test, "install (coreutils) not found") };
    std::os::unix::fs::symlink(install, bin.join("install")).unwrap();
    let db = dir.path().join("go-vulndb");
    std::fs::create_dir_all(&db).unwrap();
    let entry = serde_json::json!({
        "schema_version": "1.3.1", "id": "GO-2099-0001", "modified": "2099-01-01T00:00:00Z",
        "affected": [{"package": {"name": "github.com/lib/pq", "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "99.0.0"}]}]}]
    });
    std::fs::write(db.join("GO-2099-0001.json"), entry.to_string()).unwrap();
    let Some(bash) = on_path("bash") else { return skip_missing("bash", test, "bash not found") };
    let unshare = on_path("unshare").filter(|u| Command::new(u).args(["-n", "true"]).output().map(|o| o.status.success()).unwrap_or(false));
    if unshare.is_none() {
        skip_part("unshare", test, "unshare -n does not work here: the build scripts run with the network");
    }
    let run_build = |script: &str, document: &str, name: &str| -> (i32, String, std::path::PathBuf) {
        let script = script
            .replace(&format!("{FAKE_STORE}mattermost"), &server.display().to_string())
            .replace(&format!("{FAKE_STORE}go-vulndb"), &db.display().to_string());
        assert!(!script.contains("--vuln-db /nix/store"), "{script}");
        let doc = dir.path().join(format!("{name}-document"));
        std::fs::write(&doc, document).unwrap();
        let out = dir.path().join(format!("{name}-out"));
        let tmp = dir.path().join(format!("{name}-tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        // Absolute paths: the child's PATH holds the derivation's inputs only.
        let mut cmd = match &unshare {
            Some(u) => {
                let mut c = Command::new(u);
                c.arg("-n").arg(&bash);
                c
            }
            None => Command::new(&bash),
        };
        let o = cmd
            .args(["-e", "-u", "-o", "pipefail", "-c", &script])
            .env_clear()
            .env("PATH", &bin)
            .env("HOME", "/homeless-shelter")
            .env("TMPDIR", &tmp)
            .env("out", &out)
            .env("documentPath", &doc)
            .output()
            .expect("bash runs");
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned(), out)
    };
    let waiver = "{ services.secureMattermost.vulnerabilityWaivers.\"GO-2099-0001\" = { reason = \"Driver upgrade scheduled with the next server release\"; approvedBy = \"ISSO J. Doe\"; expires = \"2027-03-31\"; ticket = \"POAM-77\"; }; }";
    let nixos = "{ services.secureMattermost.nixos = { policyDate = \"2026-11-23\"; vulnerabilityDb = { outPath = \"/nix/store/00000000000000000000000000000000-go-vulndb\"; }; }; }";
    for waived in [false, true] {
        let extra = if waived { waiver } else { "{ }" };
        let expr = format!(
            "import ./tests/nix/flake-standin.nix {{ modules = [ ./examples/baremetal.nix {nixos} {extra} ]; site = {{ pkgs, vulnDb, ... }}: {{ inherit pkgs vulnDb; modules = [ ./examples/baremetal.nix {extra} ]; policyDate = \"2026-11-23\"; }}; }}"
        );
        for (which, share) in [("site", ""), ("rendered", "share/secure-mattermost")] {
            let (script, inputs, document) = standin_build(&expr, which);
            assert_eq!(inputs, ["secure-mattermost", "govulncheck", "cyclonedx-gomod"], "{which}");
            let (code, stderr, out) = run_build(&script, &document, &format!("{which}-{waived}"));
            assert!(!stderr.contains("panicked at"), "{stderr}");
            if !waived {
                assert_eq!(code, 1, "{which}: an unwaived vulnerability must fail the build:\n{stderr}");
                assert!(stderr.contains("GO-2099-0001"), "{stderr}");
                assert!(!out.join(share).join("report.md").exists(), "{which}: nothing is written when the scan fails");
                continue;
            }
            assert_eq!(code, 0, "{which}:\n{script}\n{stderr}");
            let vulns: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join(share).join("vulnerabilities.json")).unwrap()).unwrap();
            assert_eq!(vulns["findings"][0]["id"], "GO-2099-0001");
            assert_eq!(vulns["findings"][0]["status"], "waived");
            assert!(out.join(share).join("sbom-mattermost.cdx.json").is_file());
            assert!(std::fs::read_to_string(out.join(share).join("report.md")).unwrap().contains("| GO-2099-0001 | github.com/lib/pq |"));
            if which == "rendered" {
                assert!(out.join("lib/systemd/system/mattermost.service").is_file());
            }
        }
    }
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
            || name.contains(".vulnerabilityWaivers.<name>.reason")
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
    the_build_scripts_scan_the_server_as_the_sandbox_would,
    nixos_module_refuses_without_echo_too,
    options_doc_is_fresh_and_every_option_is_documented,
];
