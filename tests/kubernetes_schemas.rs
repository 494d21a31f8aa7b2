//! Every rendered Kubernetes manifest against the published API schemas, with
//! no network: the core kinds against the Kubernetes JSON schemas PyPI's
//! kubernetes-validate ships (laid out for kubeconform by
//! scripts/k8s-schemas.sh, one pinned Kubernetes version), the custom
//! resources against the CRD schemas in ../shared/schemas/crds. One strict
//! kubeconform run per set of files; a kind with no schema is an error, never
//! skipped. The schemas themselves refuse unknown fields; `-strict` adds
//! duplicate keys. The fixtures prove each kind of rejection, and that valid
//! input passes.

mod common;
use common::*;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;


/// kubeconform with its two schema locations.
struct Validator {
    kubeconform: PathBuf,
    core: PathBuf,
    crds: PathBuf,
}

/// What one kubeconform run reported (`-summary -output json`).
struct Report {
    code: i32,
    valid: u64,
    invalid: u64,
    errors: u64,
    skipped: u64,
    /// Every resource that was not valid: its entry in the JSON output.
    problems: Vec<Value>,
    text: String,
}

impl Report {
    fn problem(&self) -> String {
        self.problems.iter().map(|p| format!("{} {} {}: {}", p["status"], p["kind"], p["name"], p["msg"])).collect::<Vec<_>>().join("\n")
    }
}

/// The validator, or None (the test reported skipped) when kubeconform or the
/// laid-out Kubernetes schemas are missing.
fn validator(test: &str) -> Option<Validator> {
    let Some(kubeconform) = tool("kubeconform") else {
        skip_missing("kubeconform", test, "kubeconform not installed (scripts/test.sh installs it)");
        return None;
    };
    let script = root().join("scripts/k8s-schemas.sh");
    let core = Command::new("bash")
        .arg(&script)
        .arg("--print-dir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let Some(core) = core.filter(|d| d.join(".complete").is_file()) else {
        skip_missing("k8s-schemas", test, "the Kubernetes API schemas are not laid out: run `bash scripts/k8s-schemas.sh`");
        return None;
    };
    let crds = root().join("../shared/schemas/crds");
    assert!(crds.join("cert-manager.io/certificate_v1.json").is_file(), "{}: the CRD schemas (shared/schemas) are missing", crds.display());
    Some(Validator { kubeconform, core, crds })
}

impl Validator {
    fn run(&self, files: &[PathBuf]) -> Report {
        let o = Command::new(&self.kubeconform)
            .args(["-strict", "-summary", "-output", "json", "-schema-location"])
            .arg(format!("{}/{{{{.ResourceKind}}}}{{{{.KindSuffix}}}}.json", self.core.display()))
            .arg("-schema-location")
            .arg(format!("{}/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json", self.crds.display()))
            .args(files)
            .output()
            .expect("kubeconform runs");
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        let json: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("kubeconform printed no JSON report ({e}):\n{text}"));
        let count = |k: &str| json["summary"][k].as_u64().unwrap_or_else(|| panic!("no summary.{k} in the report:\n{text}"));
        Report {
            code: o.status.code().unwrap_or(-1),
            valid: count("valid"),
            invalid: count("invalid"),
            errors: count("errors"),
            skipped: count("skipped"),
            problems: json["resources"].as_array().cloned().unwrap_or_default(),
            text,
        }
    }

    /// Every document of `files` is valid, and kubeconform counted them all.
    fn all_valid(&self, what: &str, files: &[PathBuf]) {
        let docs: Vec<Value> = files.iter().flat_map(|f| documents(f)).collect();
        assert!(!docs.is_empty(), "{what}: no Kubernetes document in {files:?}");
        let r = self.run(files);
        assert!(
            r.code == 0 && r.invalid == 0 && r.errors == 0 && r.skipped == 0,
            "{what}: not every resource validates:\n{}\n{}",
            r.problem(),
            r.text
        );
        assert_eq!(r.valid as usize, docs.len(), "{what}: kubeconform validated {} of the {} documents in {files:?}:\n{}", r.valid, docs.len(), r.text);
        let mut kinds: Vec<String> = docs.iter().map(|d| format!("{}/{}", d["apiVersion"].as_str().unwrap_or("?"), d["kind"].as_str().unwrap_or("?"))).collect();
        kinds.sort();
        kinds.dedup();
        eprintln!("{what}: {} resources valid ({})", docs.len(), kinds.join(", "));
    }
}

/// The non-empty YAML documents of a file, read with a YAML parser (kubeconform
/// ignores empty ones too).
fn documents(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde_yaml_ng::Value::deserialize(d).unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display())))
        .filter(|v| !v.is_null())
        .map(|v| serde_json::to_value(v).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
        .collect()
}

/// The manifests of a render: every YAML file but the chart values.
fn manifests(out: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = files_under(out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "values.yaml"))
        .collect();
    files.sort();
    files
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/kubernetes").join(name)
}

fn broken_fixtures_are_rejected() {
    let Some(v) = validator("kubernetes_schemas/broken_fixtures_are_rejected") else { return };
    v.all_valid("valid-networkpolicy.yaml", &[fixture("valid-networkpolicy.yaml")]);

    let tmp = tempfile::tempdir().unwrap();
    // (fixture, status, what the message must say, a replacement that makes it valid)
    for (name, status, reasons, fix) in [
        (
            "misspelt-field-networkpolicy.yaml",
            "statusInvalid",
            &["networkpolicy-networking-v1.json", "at '/spec'", "'podSelectr' not allowed"][..],
            Some(("podSelectr", "podSelector")),
        ),
        (
            "wrong-type-deployment.yaml",
            "statusInvalid",
            &["deployment-apps-v1.json", "at '/spec/replicas'", "got string, want null or integer"][..],
            Some(("\"three\"", "3")),
        ),
        ("unknown-kind.yaml", "statusError", &["could not find schema for Gizmo"][..], None),
        (
            "duplicate-key-configmap.yaml",
            "statusError",
            &["line 10: key \"log-level\" already set in map"][..],
            Some(("log-level: debug", "log-verbosity: debug")),
        ),
        (
            "misspelt-field-certificate.yaml",
            "statusInvalid",
            &["cert-manager.io/certificate_v1.json", "at '/spec'", "'renewBefor' not allowed"][..],
            Some(("renewBefor", "renewBefore")),
        ),
    ] {
        let file = fixture(name);
        let r = v.run(std::slice::from_ref(&file));
        assert!(r.code != 0 && r.valid == 0 && r.skipped == 0 && r.invalid + r.errors == 1, "{name} was not rejected:\n{}", r.text);
        let p = &r.problems[0];
        let msg = p["msg"].as_str().unwrap_or_default();
        assert_eq!(p["status"], status, "{name}:\n{}", r.text);
        for reason in reasons {
            assert!(msg.contains(reason), "{name}: the rejection does not say {reason:?}:\n{msg}");
        }
        // Nothing else is wrong with it: the one change makes it valid.
        if let Some((wrong, right)) = fix {
            let text = std::fs::read_to_string(&file).unwrap();
            let body: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
            assert_eq!(body.iter().map(|l| l.matches(wrong).count()).sum::<usize>(), 1, "{name}: {wrong:?} once outside comments");
            let fixed = tmp.path().join(name);
            std::fs::write(&fixed, body.iter().map(|l| l.replace(wrong, right) + "\n").collect::<String>()).unwrap();
            v.all_valid(&format!("{name} with {right:?}"), &[fixed]);
        }
    }
}

/// Three replicas signing in through SAML (what a valid SAML declaration needs).
fn saml_three_replicas() -> Value {
    serde_json::json!({
        "replicas": 3,
        "auth": {"provider": "saml"},
        "settings": {"SamlSettings": {
            "IdpURL": "https://idp.example.com/sso", "IdpDescriptorURL": "https://idp.example.com/entity",
            "IdpCertificateFile": "/mattermost/saml/idp.crt", "EmailAttribute": "mail", "UsernameAttribute": "uid"
        }}
    })
}

/// Secrets synchronised from Vault (ExternalSecret, SecretStore), deployed by
/// mattermost-operator.
fn vault_operator() -> Value {
    serde_json::json!({
        "secrets": {"backend": "vault", "vault": {"server": "https://vault.example.com:8200"}},
        "kubernetes": {"deployWith": "operator"}
    })
}

fn every_rendered_manifest_validates() {
    let test = "kubernetes_schemas/every_rendered_manifest_validates";
    let Some(v) = validator(test) else { return };
    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from).filter(|c| c.join("Chart.yaml").is_file());
    let helm = match (chart, tool("helm")) {
        (Some(chart), Some(helm)) => Some((chart, helm)),
        _ => {
            skip_part("helm", test, "the chart's own output is not validated: set SECURE_MATTERMOST_HELM_CHART to a copy of charts/mattermost (mattermost/mattermost-helm) and install helm");
            None
        }
    };
    let post_render = bin().args(["post-render", "--help"]).output().is_ok_and(|o| o.status.success());
    if helm.is_some() && !post_render {
        skip_part("post-render", test, "`secure-mattermost post-render --help` fails (no such subcommand yet): the post-rendered chart output is not validated");
    }
    let example = load("examples/kubernetes.json");
    for (what, doc) in [
        ("examples/kubernetes.json", example.clone()),
        ("SAML, 3 replicas", patched(example.clone(), &saml_three_replicas())),
        ("Vault secrets, operator", patched(example, &vault_operator())),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
        assert_eq!(r.code, 0, "{what}: render failed:\n{}", r.stderr);
        let files = manifests(&out);
        v.all_valid(&format!("{what}: rendered manifests"), &files);

        // The chart's output is what a `helm` deployment applies.
        let Some((chart, helm)) = helm.as_ref().filter(|_| doc["secureMattermost"]["kubernetes"]["deployWith"] == "helm") else { continue };
        let namespace = doc["secureMattermost"]["kubernetes"]["namespace"].as_str().unwrap_or("mattermost");
        let o = Command::new(helm)
            .args(["template", "mattermost", "--namespace", namespace])
            .arg(chart)
            .arg("-f")
            .arg(out.join("values.yaml"))
            .output()
            .expect("helm runs");
        assert!(o.status.success(), "{what}: helm template failed:\n{}", String::from_utf8_lossy(&o.stderr));
        let templated = dir.path().join("helm-template.yaml");
        std::fs::write(&templated, &o.stdout).unwrap();
        v.all_valid(&format!("{what}: helm template"), std::slice::from_ref(&templated));

        if !post_render {
            continue;
        }
        let decl = dir.path().join("declaration.json");
        std::fs::write(&decl, doc.to_string()).unwrap();
        let p = run_stdin(&["post-render", "--input", decl.to_str().unwrap()], &String::from_utf8_lossy(&o.stdout));
        assert_eq!(p.code, 0, "{what}: post-render failed:\n{}", p.stderr);
        let rendered = dir.path().join("post-rendered.yaml");
        std::fs::write(&rendered, &p.stdout).unwrap();
        v.all_valid(&format!("{what}: helm template | post-render"), std::slice::from_ref(&rendered));
    }
}

tests![broken_fixtures_are_rejected, every_rendered_manifest_validates];
