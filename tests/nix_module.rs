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

// ---------------------------------------------------------------------------
// The NixOS wiring (modules/nixos.nix) against the real helper and real
// tools. The stand-in evaluation (tests/nix/flake-standin.nix with
// tests/nix/nixpkgs-standin) gives what the module hands to nixpkgs' options;
// the rendering derivation's own build script, run here, gives the files it
// refers to. What needs nixpkgs' real modules and a NixOS machine (the unit
// files NixOS generates, nixos-rebuild, the services starting under systemd)
// stays untested here: docs/baremetal.md, "NixOS".

/// Where the stand-in's rendering derivation puts the artifacts.
const NIXOS_ARTIFACTS: &str = "/nix/store/00000000000000000000000000000000-secure-mattermost-artifacts-chat.example.com/share/secure-mattermost";

/// The stand-in evaluation of the NixOS sample host plus `extra` modules.
fn nixos_eval(extra: &str) -> serde_json::Value {
    let expr = format!("import ./tests/nix/flake-standin.nix {{ modules = [ ./tests/nix/nixos-sample.nix {extra} ]; }}");
    let out = Command::new("nix-instantiate").current_dir(root()).args(["--eval", "--strict", "--json", "-E", &expr]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failedAssertions"], serde_json::json!([]), "{}", v["failedAssertions"]);
    v
}

/// Runs the rendering derivation's build script as a builder would (the
/// helper and coreutils on PATH, `$out`, `$documentPath`) and returns the
/// directory that stands for the derivation's output.
fn build_rendered(v: &serde_json::Value, dir: &std::path::Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("secure-mattermost");
    if !link.exists() {
        std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("secure-mattermost"), &link).unwrap();
    }
    let doc = dir.join("document.json");
    std::fs::write(&doc, v["rendered"]["document"].as_str().unwrap()).unwrap();
    let out = dir.join("rendered");
    let o = Command::new("bash")
        .args(["-e", "-u", "-o", "pipefail", "-c", v["rendered"]["script"].as_str().unwrap()])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("out", &out)
        .env("documentPath", &doc)
        .output()
        .unwrap();
    assert!(o.status.success(), "the rendering derivation failed:\n{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// `key=value` lines of one section of a unit file, in order.
fn unit_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.to_string(), v.to_string()));
            }
        }
    }
    out
}

/// A unit value as systemd reads it: booleans spelt one way.
fn unit_word(v: &str) -> String {
    match v {
        "yes" | "true" | "on" | "1" => "yes".into(),
        "no" | "false" | "off" | "0" => "no".into(),
        _ => v.into(),
    }
}

/// The lines NixOS writes for one serviceConfig value: one per list element,
/// booleans as true/false, nothing for null.
fn nix_unit_values(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(nix_unit_values).collect(),
        serde_json::Value::Bool(b) => vec![b.to_string()],
        serde_json::Value::Number(n) => vec![n.to_string()],
        serde_json::Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

/// The [Service] section NixOS would generate from the evaluated serviceConfig.
fn nix_service_text(service_config: &serde_json::Value) -> String {
    let mut text = String::new();
    for (k, v) in service_config.as_object().unwrap() {
        for line in nix_unit_values(v) {
            text.push_str(&format!("{k}={line}\n"));
        }
    }
    text
}

/// Every `<name>` the wiring refers to as `<artifacts>/<name>`.
fn referenced_artifacts(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let text = v["nixos"].to_string();
    let mut names = std::collections::BTreeSet::new();
    for (i, _) in text.match_indices(NIXOS_ARTIFACTS) {
        let rest = &text[i + NIXOS_ARTIFACTS.len()..];
        if let Some(rest) = rest.strip_prefix('/') {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).collect();
            names.insert(name);
        }
    }
    names
}

/// What the module hands to nixpkgs is what the helper renders: every file
/// it names exists in the rendering; nixpkgs' unit gets the rendered unit's
/// hardening, user, directories and logging directive for directive; the
/// credentials drop-in holds the rendered unit's LoadCredential= lines; the
/// local PostgreSQL gets the rendered fragment's settings. A change to one
/// renderer that the NixOS module does not follow fails here.
fn nixos_wiring_matches_the_rendered_artifacts() {
    if !nix_lib_available("nix_module::nixos_wiring") {
        return;
    }
    let v = nixos_eval("");
    let dir = tempfile::tempdir().unwrap();
    let out = build_rendered(&v, dir.path());
    let share = out.join("share/secure-mattermost");

    let names = referenced_artifacts(&v);
    for expected in ["config.json", "secret-env.json", "declaration.json", "mattermost.service", "nginx.conf", "nftables.conf", "pg_hba.conf", "init.sql"] {
        assert!(names.contains(expected), "the wiring does not use {expected}: {names:?}");
    }
    for name in &names {
        assert!(share.join(name).is_file(), "the wiring refers to {name}, which the helper does not render");
    }

    // Directive for directive: the rendered unit's [Service] against nixpkgs' unit with ours on top.
    let unit = std::fs::read_to_string(share.join("mattermost.service")).unwrap();
    let rendered = unit_section(&unit, "Service");
    let sc = &v["nixos"]["services"]["mattermost"]["serviceConfig"];
    // Compared by running them (below and in the next test), or not hardening.
    let by_behaviour = ["Type", "Restart", "LoadCredential", "ExecStartPre", "ExecStart", "Environment"];
    let mut keys: Vec<&str> = rendered.iter().map(|(k, _)| k.as_str()).filter(|k| !by_behaviour.contains(k)).collect();
    keys.dedup();
    assert!(keys.len() > 25, "{keys:?}");
    for key in keys {
        let want: Vec<String> = rendered.iter().filter(|(k, _)| k == key).map(|(_, v)| unit_word(v)).collect();
        let got: Vec<String> = nix_unit_values(&sc[key]).iter().map(|s| unit_word(s)).collect();
        // systemd adds up the words of an allow-list's lines (a `~` line denies instead).
        let words = |lines: &[String]| lines.iter().flat_map(|l| l.split_whitespace().map(str::to_string)).collect::<Vec<_>>();
        let same_list = key == "RestrictAddressFamilies" && !got.iter().chain(&want).any(|l| l.starts_with('~')) && words(&got) == words(&want);
        assert!(got == want || same_list, "{key}: the NixOS unit has {got:?}, the rendered unit {want:?}");
    }
    for (k, val) in rendered.iter().filter(|(k, _)| k == "Environment") {
        let (name, value) = val.split_once('=').unwrap();
        assert_eq!(v["nixos"]["services"]["mattermost"]["environment"][name], *value, "{k}={val}");
    }
    // And the IP restriction nixpkgs' unit lacks, on top.
    assert_eq!(sc["IPAddressDeny"], "any");

    // The drop-in, built by its own script from the rendering.
    let pkg = &v["nixos"]["packages"][0];
    let dropin_out = dir.path().join("dropin");
    let script = pkg["script"].as_str().unwrap().replace(NIXOS_ARTIFACTS, share.to_str().unwrap());
    let o = Command::new("bash").args(["-e", "-u", "-o", "pipefail", "-c", &script]).env("out", &dropin_out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dropin = std::fs::read_to_string(dropin_out.join("lib/systemd/system/mattermost.service.d/50-secure-mattermost-credentials.conf")).unwrap();
    let want: Vec<(String, String)> = rendered.iter().filter(|(k, _)| k == "LoadCredential").cloned().collect();
    assert!(want.len() >= 2, "{unit}");
    assert_eq!(unit_section(&dropin, "Service"), want);

    // The local database: the fragment's settings, each one.
    let fragment = std::fs::read_to_string(share.join("postgresql-secure-mattermost.conf")).unwrap();
    let settings = &v["nixos"]["postgresql"]["settings"];
    let mut n = 0;
    for line in fragment.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (k, val) = line.split_once(" = ").unwrap_or_else(|| panic!("{line}"));
        let val = val.trim();
        let want = if val.starts_with('\'') { val.trim_matches('\'').replace("''", "'") } else { unit_word(val) };
        let got = nix_unit_values(&settings[k]).first().map(|s| unit_word(s)).unwrap_or_default();
        assert_eq!(got, want, "postgresql setting {k}");
        n += 1;
    }
    assert!(n >= 12, "{fragment}");
    assert_eq!(settings["hba_file"], format!("{NIXOS_ARTIFACTS}/pg_hba.conf"));
}

fn systemd_analyze(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let o = Command::new("systemd-analyze").current_dir(dir).args(args).output().expect("systemd-analyze");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// The unit NixOS would run, as the stand-in evaluation builds it (nixpkgs'
/// definitions, ours on top, the credentials drop-in), under systemd's own
/// analyzer, and its start-up commands run here (systemd is not PID 1):
/// preStart re-checks the policy on the clock's date and installs the
/// rendered config.json, and stops the start when a waiver has expired;
/// ExecStart's `launch` reads the credentials the drop-in names and hands
/// the server its secrets and DSN (sslmode=verify-full) in the environment.
/// nixpkgs' own hardening alone does not pass the exposure threshold.
fn nixos_unit_is_sandboxed_and_its_commands_run() {
    let test = "nix_module::nixos_unit";
    if !nix_lib_available(test) {
        return;
    }
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        return skip_missing("systemd", test, "systemd-analyze not installed");
    }
    let Some(install) = on_path("install") else { return skip_missing("coreutils", test, "install (coreutils) not found") };
    let v = nixos_eval("");
    let dir = tempfile::tempdir().unwrap();
    let out = build_rendered(&v, dir.path());
    let share = out.join("share/secure-mattermost");
    let helper = assert_cmd::cargo::cargo_bin("secure-mattermost");
    let stub = dir.path().join("mattermost-stub");
    std::fs::write(&stub, "#!/bin/sh\nenv > \"$STUB_ENV\"\necho \"$@\" > \"$STUB_ARGS\"\n").unwrap();
    std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let etc = dir.path().join("etc-mattermost");
    std::fs::create_dir(&etc).unwrap();
    // The store paths of the evaluation, pointed at real files.
    let real = |s: &str| {
        s.replace(NIXOS_ARTIFACTS, share.to_str().unwrap())
            .replace(&format!("{FAKE_STORE}secure-mattermost/bin/secure-mattermost"), helper.to_str().unwrap())
            .replace(&format!("{FAKE_STORE}mattermost/bin/mattermost"), stub.to_str().unwrap())
            .replace(&format!("{FAKE_STORE}coreutils/bin/install"), install.to_str().unwrap())
            .replace("/etc/mattermost/", &format!("{}/", etc.display()))
    };
    let svc = &v["nixos"]["services"]["mattermost"];
    let dropin = std::fs::read_to_string(share.join("mattermost.service")).unwrap();
    let creds: Vec<(String, String)> = unit_section(&dropin, "Service").into_iter().filter(|(k, _)| k == "LoadCredential").collect();

    // The analyzer, on the unit with real paths.
    let unit_dir = dir.path().join("unit");
    std::fs::create_dir(&unit_dir).unwrap();
    let service = real(&nix_service_text(&svc["serviceConfig"]));
    let credential_lines: String = creds.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let text = format!("[Unit]\nDescription=Mattermost (NixOS, secure-mattermost)\n\n[Service]\n{service}{credential_lines}");
    std::fs::write(unit_dir.join("mattermost.service"), &text).unwrap();
    let (ok, report) = systemd_analyze(&["verify", "./mattermost.service"], &unit_dir);
    assert!(ok, "{report}\n{text}");
    let (ok, report) = systemd_analyze(&["security", "--offline=true", "--threshold=20", "./mattermost.service"], &unit_dir);
    assert!(ok, "the NixOS unit's exposure is above 2.0:\n{report}");
    // nixpkgs' unit alone: the keys our module adds taken away again.
    let ours = ["SystemCallFilter", "SystemCallArchitectures", "RestrictAddressFamilies", "CapabilityBoundingSet", "AmbientCapabilities", "RestrictRealtime", "IPAddressDeny", "IPAddressAllow"];
    let mut upstream = svc["serviceConfig"].clone();
    for k in ours {
        upstream.as_object_mut().unwrap().remove(k);
    }
    let weak_dir = dir.path().join("upstream");
    std::fs::create_dir(&weak_dir).unwrap();
    std::fs::write(weak_dir.join("mattermost.service"), format!("[Service]\n{}", real(&nix_service_text(&upstream)))).unwrap();
    let (ok, report) = systemd_analyze(&["security", "--offline=true", "--threshold=20", "./mattermost.service"], &weak_dir);
    assert!(!ok, "nixpkgs' unit without our additions passed the exposure threshold:\n{report}");

    // preStart: the policy on the clock's date, then the private config copy.
    let pre = real(svc["preStart"].as_str().unwrap());
    let run_pre = |script: &str| Command::new("bash").args(["-e", "-u", "-o", "pipefail", "-c", script]).output().unwrap();
    let o = run_pre(&pre);
    assert!(o.status.success(), "preStart failed:\n{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let installed = etc.join("config.json");
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(share.join("config.json")).unwrap());
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&installed).unwrap().permissions()) & 0o777, 0o600);
    // A waiver that expired after the build: the start stops before the config is installed.
    std::fs::remove_file(&installed).unwrap();
    let mut decl: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(share.join("declaration.json")).unwrap()).unwrap();
    decl["secureMattermost"]["allowGuestUsers"] = serde_json::json!(true);
    decl["secureMattermost"]["justification"] = serde_json::json!({"allowGuestUsers": {
        "reason": "Partner agencies collaborate under ISA-2031", "approvedBy": "ISSO J. Doe", "expires": "2020-01-31", "ticket": "POAM-1"}});
    let expired = dir.path().join("declaration-expired.json");
    std::fs::write(&expired, decl.to_string()).unwrap();
    let o = run_pre(&pre.replace(share.join("declaration.json").to_str().unwrap(), expired.to_str().unwrap()));
    assert!(!o.status.success(), "an expired waiver did not stop the start");
    assert!(String::from_utf8_lossy(&o.stdout).contains("guest-accounts-disabled"), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!installed.exists(), "the config was installed although the check failed");

    // ExecStart: launch with the credentials the drop-in names.
    let cred_dir = dir.path().join("credentials");
    std::fs::create_dir(&cred_dir).unwrap();
    let db_password = "p@ss/w0rd with spaces & %";
    for (_, spec) in &creds {
        let (name, _) = spec.split_once(':').unwrap();
        let value = if name == "database-password" { db_password.to_string() } else { format!("secret-of-{name}") };
        std::fs::write(cred_dir.join(name), format!("{value}\n")).unwrap();
    }
    let exec = real(svc["serviceConfig"]["ExecStart"].as_str().unwrap());
    let words: Vec<&str> = exec.split(' ').collect();
    let (env_out, args_out) = (dir.path().join("stub.env"), dir.path().join("stub.args"));
    let o = Command::new(words[0])
        .args(&words[1..])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("CREDENTIALS_DIRECTORY", &cred_dir)
        .env("STUB_ENV", &env_out)
        .env("STUB_ARGS", &args_out)
        .output()
        .unwrap();
    assert!(o.status.success(), "ExecStart failed:\n{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&args_out).unwrap().trim(), format!("server --config {}/config.json", etc.display()));
    let env = std::fs::read_to_string(&env_out).unwrap();
    let dsn = env.lines().find_map(|l| l.strip_prefix("MM_SQLSETTINGS_DATASOURCE=")).expect("no DSN in the server's environment");
    assert!(dsn.starts_with("postgres://mmuser:p%40ss%2Fw0rd%20with%20spaces%20%26%20%25@localhost:5432/mattermost?"), "{dsn}");
    assert!(dsn.contains("sslmode=verify-full") && dsn.contains("sslrootcert=/etc/ssl/certs/site-ca.pem"), "{dsn}");
    assert!(env.contains("MM_OPENIDSETTINGS_SECRET=secret-of-oidc-client-secret\n"), "{env}");
    assert!(env.contains("MM_SERVICESETTINGS_ENABLESECURITYFIXALERT=false\n"), "air-gapped: security alerts must be pinned off:\n{env}");
    assert!(!exec.contains("secret-of") && !text.contains("secret-of"), "a secret reached the unit");
}

/// The firewall as the module hands it to nixpkgs: nixpkgs' build-time
/// check (`nft --check` on its generated script, after preCheckRuleset, in a
/// sandbox without a mattermost account) passes with the real nft, where
/// the unmodified file fails for want of the account; the checked script
/// loads; the module's firewall-sets command line fills the sets from it.
fn nixos_firewall_passes_nixpkgs_ruleset_check() {
    let test = "nix_module::nixos_firewall";
    if !nix_lib_available(test) {
        return;
    }
    let Some(nft) = on_path("nft") else { return skip_missing("nftables", test, "nft is not installed") };
    if String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout).trim() != "0" || on_path("unshare").is_none() {
        return skip_missing("nftables", test, "needs root and unshare (nft in a network namespace of its own)");
    }
    let v = nixos_eval("");
    let dir = tempfile::tempdir().unwrap();
    let out = build_rendered(&v, dir.path());
    let share = out.join("share/secure-mattermost");
    let real = |s: &str| s.replace(NIXOS_ARTIFACTS, share.to_str().unwrap());
    let fw = &v["nixos"]["nftables"];
    assert_eq!(fw["flushRuleset"], true);
    let file = real(fw["rulesetFile"].as_str().unwrap());
    // nixpkgs' rules script, as its checkPhase sees it (the state-file include removed).
    let check_dir = dir.path().join("check");
    std::fs::create_dir(&check_dir).unwrap();
    std::fs::write(check_dir.join("deletions.nft"), "flush ruleset\n").unwrap();
    let script = format!("#! nft -f\ninclude \"{}\"\n\ninclude \"{file}\"\n", check_dir.join("deletions.nft").display());
    std::fs::write(check_dir.join("ruleset.conf"), &script).unwrap();
    let nft_check = |args: &[&str]| Command::new("unshare").arg("--net").arg(&nft).args(args).current_dir(&check_dir).output().unwrap();
    // The account the egress chain names: absent in the build sandbox (and, here, replaced by one that is absent).
    let absent = check_dir.join("absent.conf");
    std::fs::write(&absent, script.replace(&file, check_dir.join("absent.nft").to_str().unwrap())).unwrap();
    let original = std::fs::read_to_string(&file).unwrap();
    assert!(original.contains("meta skuid \"mattermost\""), "the rendered egress chain no longer matches the account by name; preCheckRuleset must follow");
    std::fs::write(check_dir.join("absent.nft"), original.replace("meta skuid \"mattermost\"", "meta skuid \"sm-no-such-account\"")).unwrap();
    let o = nft_check(&["--check", "--file", "absent.conf"]);
    assert!(!o.status.success(), "nft --check accepted an unknown account: the swap would not be needed");
    let pre = real(fw["preCheckRuleset"].as_str().unwrap());
    let o = Command::new("bash").args(["-e", "-u", "-o", "pipefail", "-c", &pre]).current_dir(&check_dir).output().unwrap();
    assert!(o.status.success(), "preCheckRuleset failed: {}", String::from_utf8_lossy(&o.stderr));
    let checked = std::fs::read_to_string(check_dir.join("ruleset.conf")).unwrap();
    assert!(checked.contains(&format!("include \"{}/secure-mattermost.nft\"", check_dir.display())) && !checked.contains(&file), "{checked}");
    let o = nft_check(&["--check", "--file", "ruleset.conf"]);
    assert!(o.status.success(), "nixpkgs' ruleset check fails: {}", String::from_utf8_lossy(&o.stderr));

    // Loaded in a namespace, the module's firewall-sets line runs against it.
    let fill = v["nixos"]["services"]["secure-mattermost-firewall-sets"]["serviceConfig"]["ExecStart"].as_str().unwrap();
    let fill = real(fill)
        .replace(&format!("{FAKE_STORE}secure-mattermost/bin/secure-mattermost"), assert_cmd::cargo::cargo_bin("secure-mattermost").to_str().unwrap())
        .replace(&format!("{FAKE_STORE}nftables/bin/nft"), nft.to_str().unwrap())
        .replace(&format!("--ruleset {file}"), &format!("--ruleset {}/secure-mattermost.nft", check_dir.display()));
    let o = Command::new("unshare")
        .args(["--net", "bash", "-c"])
        .arg(format!("{} -f ruleset.conf || exit 9; {fill}; echo \"exit=$?\"; {} list set inet secure_mattermost dns4", nft.display(), nft.display()))
        .current_dir(&check_dir)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    // 0: every name resolved; 1: some did not (no DNS for example.com names here), the rest loaded.
    assert!(text.contains("exit=0") || text.contains("exit=1"), "firewall-sets failed on the NixOS wiring:\n{text}");
    assert!(text.contains("set dns4") && text.contains("element(s) into inet secure_mattermost"), "{text}");
}

/// Stops what the database test started, pass or fail.
struct PgGuard {
    netns: std::process::Child,
    pg_ctl: std::path::PathBuf,
    data: Option<std::path::PathBuf>,
}

impl PgGuard {
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.netns.id())).arg("--").arg(program);
        c
    }
    fn as_postgres(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = self.cmd("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    }
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if let Some(data) = self.data.take() {
            let _ = self.as_postgres(&self.pg_ctl).arg("-D").arg(&data).args(["-m", "immediate", "-w", "-t", "30", "stop"]).output();
        }
        let _ = self.netns.kill();
        let _ = self.netns.wait();
    }
}

fn ok_output(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?} failed:\n{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// postgresql.conf as nixpkgs writes it from `services.postgresql.settings`:
/// `name = value`, strings single-quoted with `'` doubled, booleans yes/no.
fn nixpkgs_postgresql_conf(settings: &serde_json::Value) -> String {
    settings
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k} = '{}'\n", s.replace('\'', "''")),
            serde_json::Value::Bool(b) => format!("{k} = {}\n", if *b { "yes" } else { "no" }),
            other => format!("{k} = {other}\n"),
        })
        .collect()
}

/// The local database as the NixOS module wires it, on Debian's PostgreSQL
/// in a network namespace: postgresql.conf from the evaluated settings (as
/// nixpkgs writes it) with the rendered pg_hba.conf; nixpkgs' own readiness
/// probe (psql as postgres over the socket) still gets in; the database
/// unit's ExecStart (rendered init.sql, the password read from the
/// credentials directory, `%d`) creates the owner role and database; then
/// the DSN `launch` hands the server connects with verify-full, a
/// connection without TLS or with the wrong password is refused, the role
/// cannot create roles or databases, the password never reaches the server
/// log, and running the unit again rotates it.
fn nixos_local_database_on_real_postgresql() {
    let test = "nix_module::nixos_local_database";
    if !nix_lib_available(test) {
        return;
    }
    let Some(pg_bin) = postgres_bindir() else {
        return skip_missing("postgresql", test, "no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb)");
    };
    if String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout).trim() != "0" {
        return skip_missing("postgresql", test, "needs root (a network namespace, PostgreSQL as the postgres user)");
    }
    for tool in ["runuser", "unshare", "nsenter", "ip", "openssl", "psql"] {
        if on_path(tool).is_none() {
            return skip_missing("postgresql", test, &format!("{tool} is not installed"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o711)).unwrap();
    let pg = d.join("pg");
    std::fs::create_dir(&pg).unwrap();
    ok_output(Command::new("chown").arg("postgres:").arg(&pg));
    let openssl = |args: &str| ok_output(Command::new("openssl").current_dir(d).args(args.split_whitespace()));
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    openssl(&format!("req -x509 {ec} -keyout ca.key -out ca.pem -subj /CN=secure-mattermost-nixos-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"));
    openssl(&format!("req {ec} -keyout pg/server.key -out server.csr -subj /CN=localhost"));
    std::fs::write(d.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out pg/server.crt");
    std::fs::set_permissions(pg.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    ok_output(Command::new("chown").arg("postgres:").arg(pg.join("server.key")).arg(pg.join("server.crt")));
    // The secret file stays root-only: systemd copies it into the unit's credentials directory.
    let password = format!("nixos-{}-pw 'quoted' \\ %", std::process::id());
    let secret = d.join("db-password");
    std::fs::write(&secret, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    let extra = format!(
        "({{ lib, ... }}: {{ services.secureMattermost = {{ database.caFile = lib.mkForce \"{ca}\"; database.passwordFile = \"{secret}\"; \
         baremetal.postgresql = {{ certificateFile = \"{crt}\"; keyFile = \"{key}\"; }}; }}; }})",
        ca = d.join("ca.pem").display(),
        secret = secret.display(),
        crt = pg.join("server.crt").display(),
        key = pg.join("server.key").display(),
    );
    let v = nixos_eval(&extra);
    let out = build_rendered(&v, d);
    let share = out.join("share/secure-mattermost");
    let wiring = &v["nixos"];

    // postgresql.conf from the evaluated settings; the socket in the test's directory.
    let mut settings = wiring["postgresql"]["settings"].clone();
    let hba = settings["hba_file"].as_str().unwrap().replace(NIXOS_ARTIFACTS, share.to_str().unwrap());
    std::fs::copy(&hba, pg.join("pg_hba.conf")).unwrap();
    std::fs::write(pg.join("pg_ident.conf"), wiring["postgresql"]["identMap"].as_str().unwrap()).unwrap();
    settings["hba_file"] = serde_json::json!(pg.join("pg_hba.conf"));
    settings["ident_file"] = serde_json::json!(pg.join("pg_ident.conf"));
    let conf = nixpkgs_postgresql_conf(&settings) + &format!("unix_socket_directories = '{}'\n", pg.display());
    let netns = Command::new("unshare").args(["--net", "sleep", "600"]).stdin(std::process::Stdio::null()).spawn().unwrap();
    let mut guard = PgGuard { netns, pg_ctl: pg_bin.join("pg_ctl"), data: None };
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_link(format!("/proc/{}/ns/net", guard.netns.id())).map(|l| l == ours).unwrap_or(true) {
        assert!(std::time::Instant::now() < deadline, "unshare --net did not take effect");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ok_output(guard.cmd("ip").args(["link", "set", "lo", "up"]));
    let data = pg.join("data");
    ok_output(guard.as_postgres(pg_bin.join("initdb")).arg("-D").arg(&data).args(["-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"]));
    std::fs::write(data.join("postgresql.conf"), &conf).unwrap();
    ok_output(Command::new("chown").arg("postgres:").arg(data.join("postgresql.conf")).arg(pg.join("pg_hba.conf")).arg(pg.join("pg_ident.conf")));
    guard.data = Some(data.clone());
    let log = pg.join("server.log");
    ok_output(guard.as_postgres(pg_bin.join("pg_ctl")).arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "60", "start"]));
    let port = wiring["postgresql"]["settings"]["port"].to_string();
    // nixpkgs' postStart probe, as the postgres user over the socket.
    ok_output(guard.as_postgres(pg_bin.join("psql")).arg("-h").arg(&pg).args(["-p", &port, "-d", "postgres", "-c", ""]));

    // The database unit's ExecStart, as systemd would run it.
    let unit = &wiring["services"]["secure-mattermost-database"]["serviceConfig"];
    assert_eq!(unit["LoadCredential"], format!("database-password:{}", secret.display()));
    let creds = d.join("credentials");
    let run_unit = |pw: &str| {
        let _ = std::fs::remove_dir_all(&creds);
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join("database-password"), format!("{pw}\n")).unwrap();
        ok_output(Command::new("chown").arg("-R").arg("postgres:").arg(&creds));
        std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o500)).unwrap();
        let exec = unit["ExecStart"]
            .as_str()
            .unwrap()
            .replace(&format!("{FAKE_STORE}postgresql-16/bin/psql"), pg_bin.join("psql").to_str().unwrap())
            .replace(NIXOS_ARTIFACTS, share.to_str().unwrap())
            .replace("-h /run/postgresql", &format!("-h {}", pg.display()))
            .replace("%d", creds.to_str().unwrap());
        let words: Vec<&str> = exec.split(' ').collect();
        ok_output(guard.as_postgres(words[0]).args(&words[1..]));
    };
    run_unit(&password);

    // The DSN `launch` gives the server (the module's ExecStart and credentials).
    let helper = assert_cmd::cargo::cargo_bin("secure-mattermost");
    let mm_creds = d.join("mm-credentials");
    std::fs::create_dir(&mm_creds).unwrap();
    std::fs::write(mm_creds.join("database-password"), format!("{password}\n")).unwrap();
    let spec = share.join("secret-env.json");
    let dsn_for = |spec: &std::path::Path| -> String {
        let stub = d.join("print-dsn");
        std::fs::write(&stub, "#!/bin/sh\nprintf '%s' \"$MM_SQLSETTINGS_DATASOURCE\"\n").unwrap();
        std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        ok_output(Command::new(&helper).arg("launch").arg("--spec").arg(spec).arg("--").arg(&stub).env("CREDENTIALS_DIRECTORY", &mm_creds))
    };
    // Only the database password is this test's; the spec's other secrets point at absent files.
    let mut s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    s["secrets"].as_array_mut().unwrap().retain(|x| x["credential"] == "database-password");
    let db_spec = d.join("db-spec.json");
    std::fs::write(&db_spec, s.to_string()).unwrap();
    let dsn = dsn_for(&db_spec);
    assert!(dsn.contains("sslmode=verify-full"), "{dsn}");
    let psql_as_app = |conninfo: &str, sql: &str| guard.cmd(pg_bin.join("psql")).args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql]).env("PGCONNECT_TIMEOUT", "10").output().unwrap();
    let o = psql_as_app(&dsn, "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assert!(o.status.success(), "the DSN launch builds does not connect: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "mmuser|t");
    let app = |extra: &str| format!("host=localhost port={port} dbname=mattermost user=mmuser sslrootcert={} {extra}", d.join("ca.pem").display());
    // Refused: without TLS, with a wrong password.
    let o = psql_as_app(&app("sslmode=disable password=unused"), "SELECT 1");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("pg_hba.conf"), "a connection without TLS was not refused: {}", String::from_utf8_lossy(&o.stderr));
    let o = psql_as_app(&app("sslmode=verify-full password=wrong"), "SELECT 1");
    assert!(!o.status.success(), "a wrong password connected");
    // The owner role: it can build its schema, and nothing beyond its database.
    for (sql, allowed) in [("CREATE TABLE t (i int); INSERT INTO t VALUES (1); SELECT count(*) FROM t", true), ("CREATE ROLE intruder", false), ("CREATE DATABASE other", false)] {
        let o = psql_as_app(&dsn, sql);
        assert_eq!(o.status.success(), allowed, "{sql}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let su = |sql: &str| ok_output(guard.as_postgres(pg_bin.join("psql")).arg("-h").arg(&pg).args(["-p", &port, "-X", "-A", "-t", "-d", "postgres", "-c", sql]));
    assert_eq!(su("SELECT rolsuper, rolcreaterole, rolcreatedb, left(rolpassword, 14) FROM pg_authid WHERE rolname = 'mmuser'").trim(), "f|f|f|SCRAM-SHA-256$");
    assert_eq!(su("SELECT pg_encoding_to_char(encoding), pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'mattermost'").trim(), "UTF8|mmuser");

    // Rotation: the unit again with a new password.
    let rotated = format!("{password}-rotated");
    run_unit(&rotated);
    assert!(!psql_as_app(&dsn, "SELECT 1").status.success(), "the old password still works after rotation");
    std::fs::write(mm_creds.join("database-password"), format!("{rotated}\n")).unwrap();
    let dsn2 = dsn_for(&db_spec);
    assert!(psql_as_app(&dsn2, "SELECT 1").status.success(), "the rotated password does not connect");

    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(server_log.contains("connection authorized: user=mmuser") || server_log.contains("connection authenticated"), "connections are not logged:\n{server_log}");
    assert!(!server_log.contains(&password), "the password reached the server log");
    drop(guard);
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
    nixos_wiring_matches_the_rendered_artifacts,
    nixos_unit_is_sandboxed_and_its_commands_run,
    nixos_firewall_passes_nixpkgs_ruleset_check,
    nixos_local_database_on_real_postgresql,
];
