//! The rendered Kubernetes objects through checkov (PyPI, pinned and installed
//! into its own venv by scripts/checkov-install.sh), run offline: every
//! failed check must be accepted by a justified entry of
//! catalog/checkov-waivers.json, and a waiver that names a catalog rule holds
//! only while that rule's outcome in the render's outcomes.json records the
//! same gap. A deliberately insecure fixture proves the same invocation flags
//! what it should; a run that scanned nothing fails.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WAIVERS: &str = "catalog/checkov-waivers.json";
const INSECURE: &str = "tests/fixtures/kubernetes/insecure-deployment-checkov.yaml";

/// The pinned checkov from scripts/checkov-install.sh, or a skip.
fn checkov(test: &str) -> Option<PathBuf> {
    let o = Command::new("bash").arg(root().join("scripts/checkov-install.sh")).arg("--print-path").output();
    let path = o.ok().filter(|o| o.status.success()).map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match path.filter(|p| p.is_file()) {
        Some(p) => Some(p),
        None => {
            skip_missing("checkov", test, "checkov not installed (bash scripts/checkov-install.sh installs it)");
            None
        }
    }
}


#[derive(Debug, Clone)]
struct Finding {
    check: String,
    name: String,
    /// `Kind.namespace.name` as checkov reports it.
    resource: String,
    file: String,
}

impl Finding {
    fn kind(&self) -> &str {
        self.resource.split('.').next().unwrap_or_default()
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({}) in {}", self.check, self.resource, self.name, self.file)
    }
}

struct Scan {
    resources: u64,
    passed: u64,
    failed: Vec<Finding>,
    /// Checks suppressed inside a manifest (`checkov.io/skip*` annotations).
    suppressed: Vec<Finding>,
    parsing_errors: u64,
    offline: &'static str,
}

/// Whether this process may make a network namespace (root, or unprivileged
/// user namespaces): checkov then runs with no network at all.
fn netns_available() -> bool {
    Command::new("unshare")
        .args(["--net", "true"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// One checkov run over `files`, offline: `--skip-download` and
/// BC_SKIP_MAPPING (no policy metadata fetched), CKV_SKIP_PACKAGE_UPDATE_CHECK
/// (no version check against PyPI), no API key, a clean environment (so no
/// CKV_*/BC_* variable of the caller changes the checks) and an empty HOME and
/// working directory (so no .checkov.yaml is read); inside an empty network
/// namespace where one can be made.
fn scan(checkov: &Path, files: &[PathBuf]) -> Scan {
    assert!(!files.is_empty(), "nothing to scan");
    let home = tempfile::tempdir().unwrap();
    let netns = netns_available();
    let mut cmd = if netns {
        let mut c = Command::new("unshare");
        c.args(["--net", "--"]).arg(checkov);
        c
    } else {
        Command::new(checkov)
    };
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("LANG", "C.UTF-8")
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .current_dir(home.path())
        .args(["--skip-download", "--skip-results-upload", "--framework", "kubernetes", "--output", "json", "--file"])
        .args(files);
    let o = cmd.output().unwrap_or_else(|e| panic!("{}: {e}", checkov.display()));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // 0: no failed check, 1: failed checks; anything else is checkov failing.
    assert!(matches!(o.status.code(), Some(0 | 1)), "checkov exited {:?}:\n{stderr}\n{stdout}", o.status.code());
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("checkov printed no JSON ({e}):\n{stdout}\n{stderr}"));
    // One report per framework (an array when there are several); a run that
    // found nothing to check prints only a summary.
    let reports: Vec<Value> = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut s = Scan {
        resources: 0,
        passed: 0,
        failed: vec![],
        suppressed: vec![],
        parsing_errors: 0,
        offline: if netns { "in an empty network namespace" } else { "with downloads and update checks off (no network namespace here)" },
    };
    for r in &reports {
        if r.get("check_type").is_some_and(|t| t != "kubernetes") {
            panic!("checkov ran another framework: {r}");
        }
        let summary = r.get("summary").unwrap_or(r);
        let n = |k: &str| summary[k].as_u64().unwrap_or_else(|| panic!("checkov summary without {k}: {summary}"));
        s.resources += n("resource_count");
        s.passed += n("passed");
        s.parsing_errors += n("parsing_errors");
        let list = |k: &str| -> Vec<Finding> {
            r["results"][k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| Finding {
                            check: c["check_id"].as_str().unwrap_or_default().to_string(),
                            name: c["check_name"].as_str().unwrap_or_default().to_string(),
                            resource: c["resource"].as_str().unwrap_or_default().to_string(),
                            file: c["file_abs_path"].as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        s.failed.extend(list("failed_checks"));
        s.suppressed.extend(list("skipped_checks"));
        assert_eq!(n("failed") as usize, list("failed_checks").len(), "summary and results disagree: {summary}");
    }
    s
}

/// Kubernetes objects (YAML documents with a `kind`) in a file.
fn kinds_in(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| {
            <serde_yaml_ng::Value as serde::Deserialize>::deserialize(d).unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()))
        })
        .filter_map(|doc| doc.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .collect()
}

#[derive(Debug)]
struct Waiver {
    check: String,
    kinds: Vec<String>,
    reason: String,
    rule: Option<String>,
    /// Facts the flagged object itself must show for the waiver to hold
    /// (dotted path → value; `[]` steps into every element of a list), so a
    /// waiver for "UID below 10000" cannot accept a container running as root.
    only_when: Vec<(String, Value)>,
}

impl Waiver {
    fn key(&self) -> String {
        format!("{} {}", self.check, self.kinds.join(","))
    }
}

/// Parses and checks the waiver list: check ids, kinds, a real reason, rules
/// that exist in the catalog, no entry given twice.
fn parse_waivers(v: &Value, catalog_rules: &[String]) -> Result<Vec<Waiver>, String> {
    let list = v["waivers"].as_array().ok_or("`waivers` must be an array")?;
    let placeholder = regex::Regex::new(r"(?i)\b(todo|tbd|fixme|xxx|placeholder|lorem)\b").unwrap();
    let check_id = regex::Regex::new(r"^CKV2?_K8S_[0-9]+$").unwrap();
    let mut out: Vec<Waiver> = vec![];
    for (i, w) in list.iter().enumerate() {
        let at = |what: &str| format!("waiver {i} ({}): {what}", w["check"]);
        let keys: Vec<&String> = w.as_object().ok_or_else(|| at("not an object"))?.keys().collect();
        if let Some(k) = keys.iter().find(|k| !["check", "kinds", "reason", "rule", "onlyWhen"].contains(&k.as_str())) {
            return Err(at(&format!("unknown key `{k}`")));
        }
        let check = w["check"].as_str().filter(|c| check_id.is_match(c)).ok_or_else(|| at("`check` must be a checkov Kubernetes check id"))?;
        let kinds: Vec<String> = w["kinds"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| at("`kinds` must be a non-empty array"))?
            .iter()
            .map(|k| k.as_str().filter(|k| !k.is_empty()).map(str::to_string).ok_or_else(|| at("a kind must be a string")))
            .collect::<Result<_, _>>()?;
        let reason = w["reason"].as_str().ok_or_else(|| at("`reason` must be a string"))?;
        if reason.split_whitespace().count() < 5 || placeholder.is_match(reason) {
            return Err(at(&format!("`reason` is a placeholder, not a justification: {reason:?}")));
        }
        let rule = match &w["rule"] {
            Value::Null => None,
            Value::String(r) if catalog_rules.contains(r) => Some(r.clone()),
            other => return Err(at(&format!("`rule` must be null or a rule id of catalog/controls.json, not {other}"))),
        };
        if out.iter().any(|o| o.check == check && o.kinds.iter().any(|k| kinds.contains(k))) {
            return Err(at("the same check and kind are waived twice"));
        }
        let only_when = match &w["onlyWhen"] {
            Value::Null => vec![],
            Value::Object(m) if !m.is_empty() => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            other => return Err(at(&format!("`onlyWhen` must be a non-empty object of path → value, not {other}"))),
        };
        out.push(Waiver { check: check.to_string(), kinds, reason: reason.to_string(), rule, only_when });
    }
    Ok(out)
}

fn catalog_rules() -> Vec<String> {
    load("catalog/controls.json")["rules"]
        .as_array()
        .expect("catalog rules")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

fn waivers() -> Vec<Waiver> {
    parse_waivers(&load(WAIVERS), &catalog_rules()).unwrap_or_else(|e| panic!("{WAIVERS}: {e}"))
}

/// The waiver that accepts `f`, or why none does. A waiver naming a rule
/// holds only while outcomes.json has that rule with an outcome that records
/// a gap (not `pass`, not `not-applicable`): the evidence then carries what
/// checkov found.
fn waiver_for<'a>(f: &Finding, waivers: &'a [Waiver], outcomes: &Value) -> Result<&'a Waiver, String> {
    let Some(w) = waivers.iter().find(|w| w.check == f.check && w.kinds.iter().any(|k| k == f.kind())) else {
        return Err("no waiver for this check and kind".into());
    };
    if !w.only_when.is_empty() {
        let object = flagged_object(f).ok_or_else(|| format!("its waiver needs facts of {}, which is not in {}", f.resource, f.file))?;
        for (path, want) in &w.only_when {
            let got = values_at(&object, path);
            if got.is_empty() || got.iter().any(|v| v != want) {
                return Err(format!("its waiver holds only when {path} = {want}, and {} has {got:?}", f.resource));
            }
        }
    }
    if let Some(rule) = &w.rule {
        let outcome = outcomes["rules"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["id"] == rule.as_str()))
            .map(|r| r["outcome"].as_str().unwrap_or_default().to_string());
        match outcome.as_deref() {
            None => return Err(format!("its waiver maps to rule {rule}, which outcomes.json does not have")),
            Some(o @ ("pass" | "not-applicable")) => {
                return Err(format!("its waiver maps to rule {rule}, but outcomes.json records no gap there ({o})"))
            }
            Some(_) => {}
        }
    }
    Ok(w)
}

/// The object a finding is about, read from its file (`Kind.namespace.name`;
/// checkov says `default` for an object without a namespace).
fn flagged_object(f: &Finding) -> Option<Value> {
    let mut parts = f.resource.splitn(3, '.');
    let (kind, ns, name) = (parts.next()?, parts.next()?, parts.next()?);
    let text = std::fs::read_to_string(&f.file).ok()?;
    let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .filter_map(|d| <serde_yaml_ng::Value as serde::Deserialize>::deserialize(d).ok())
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    docs.into_iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name && o["metadata"]["namespace"].as_str().unwrap_or("default") == ns)
}

fn values_at(v: &Value, path: &str) -> Vec<Value> {
    let mut here = vec![v.clone()];
    for k in path.split('.') {
        here = if k == "[]" {
            here.into_iter().flat_map(|x| x.as_array().cloned().unwrap_or_default()).collect()
        } else {
            here.into_iter().filter_map(|x| x.get(k).cloned()).collect()
        };
    }
    here
}

/// Checks one scan: something was scanned, nothing suppressed in a manifest
/// (these panic), every failed check waived (else the list of those that are
/// not). Counts the waivers used into `used`.
fn judge(label: &str, files: &[PathBuf], s: &Scan, waivers: &[Waiver], outcomes: &Value, used: &mut BTreeMap<String, usize>) -> Result<(), String> {
    let objects: Vec<String> = files.iter().flat_map(|f| kinds_in(f)).collect();
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    println!(
        "{label}: checkov scanned {} resources in {names:?} ({} objects: {objects:?}) {}: {} passed, {} failed",
        s.resources,
        objects.len(),
        s.offline,
        s.passed,
        s.failed.len()
    );
    assert_eq!(s.parsing_errors, 0, "{label}: checkov could not parse {names:?}");
    assert!(
        s.resources > 0 && s.passed + s.failed.len() as u64 > 0,
        "{label}: checkov scanned zero resources in {names:?} (objects: {objects:?}): it has no check for anything rendered, so this run proves nothing"
    );
    assert!(s.resources >= objects.len() as u64, "{label}: checkov saw {} resources, the files hold {} objects", s.resources, objects.len());
    assert!(
        s.suppressed.is_empty(),
        "{label}: checks suppressed inside a manifest (waivers belong in {WAIVERS}):\n{}",
        s.suppressed.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
    );
    let mut refused = vec![];
    for f in &s.failed {
        match waiver_for(f, waivers, outcomes) {
            Ok(w) => {
                *used.entry(w.key()).or_default() += 1;
                println!("  waived {f}: {}", w.reason);
            }
            Err(why) => refused.push(format!("  {f}: {why}")),
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!("{label}: failed checkov checks without a justified waiver ({WAIVERS}):\n{}", refused.join("\n")))
    }
}

fn render_example(dir: &Path) -> (PathBuf, Value) {
    let out = dir.join("out");
    let doc = load("examples/kubernetes.json");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "render failed:\n{}", r.stderr);
    (out, doc)
}

fn insecure_fixture_is_flagged() {
    let Some(checkov) = checkov("kubernetes_lint/insecure_fixture_is_flagged") else { return };
    let s = scan(&checkov, &[root().join(INSECURE)]);
    assert!(s.resources > 0 && s.parsing_errors == 0, "checkov did not read the fixture");
    // The ids as checkov 3.3.30 reports them for what the fixture does wrong.
    let expected = [
        ("CKV_K8S_16", "privileged"),
        ("CKV_K8S_20", "allowPrivilegeEscalation"),
        ("CKV_K8S_23", "root container"),
        ("CKV_K8S_40", "low UID"),
        ("CKV_K8S_14", "latest tag"),
        ("CKV_K8S_43", "no digest"),
        ("CKV_K8S_19", "hostNetwork"),
        ("CKV_K8S_10", "no CPU request"),
        ("CKV_K8S_11", "no CPU limit"),
        ("CKV_K8S_12", "no memory request"),
        ("CKV_K8S_13", "no memory limit"),
        ("CKV_K8S_22", "writable root filesystem"),
        ("CKV_K8S_28", "NET_RAW not dropped"),
        ("CKV_K8S_8", "no liveness probe"),
        ("CKV_K8S_9", "no readiness probe"),
        ("CKV_K8S_21", "default namespace"),
    ];
    let got: Vec<&str> = s.failed.iter().filter(|f| f.kind() == "Deployment").map(|f| f.check.as_str()).collect();
    let missing: Vec<String> = expected.iter().filter(|(id, _)| !got.contains(id)).map(|(id, what)| format!("{id} ({what})")).collect();
    assert!(missing.is_empty(), "checkov did not flag {missing:?} on {INSECURE}; it flagged {got:?}");
    // The waivers the main test applies accept none of these on their own: a
    // waiver that maps to a catalog rule holds only with that rule's evidence,
    // and there is none here.
    let waivers = waivers();
    let accepted: Vec<String> = s
        .failed
        .iter()
        .filter(|f| expected.iter().any(|(id, _)| *id == f.check) && waiver_for(f, &waivers, &Value::Null).is_ok())
        .map(|f| f.to_string())
        .collect();
    assert!(accepted.is_empty(), "waivers accept insecure settings without evidence: {accepted:?}");
    println!("{INSECURE}: flagged {}", got.join(" "));
}

fn load_abs(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn rendered_objects_pass_checkov_or_are_waived() {
    let test = "kubernetes_lint/rendered_objects_pass_checkov_or_are_waived";
    let waivers = waivers();
    let Some(checkov) = checkov(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (out, doc) = render_example(dir.path());
    let outcomes = load_abs(&out.join("outcomes.json"));
    let mut manifests: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && p.file_name().is_some_and(|n| n != "values.yaml"))
        .collect();
    manifests.sort();
    assert!(!manifests.is_empty(), "render wrote no Kubernetes manifest besides values.yaml");
    let mut used = BTreeMap::new();
    let s = scan(&checkov, &manifests);
    let mut problems: Vec<String> = judge("rendered objects", &manifests, &s, &waivers, &outcomes, &mut used).err().into_iter().collect();

    // The official chart, post-rendered by the helper, deployed beside the other objects.
    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from).filter(|c| c.join("Chart.yaml").is_file());
    match (chart, tool("helm")) {
        (Some(chart), Some(helm)) => {
            let help = bin().args(["post-render", "--help"]).output().expect("runs");
            if help.status.success() {
                let decl = dir.path().join("declaration.json");
                std::fs::write(&decl, doc.to_string()).unwrap();
                let ns = doc["secureMattermost"]["kubernetes"]["namespace"].as_str().unwrap_or("default");
                let t = Command::new(&helm)
                    .args(["template", "mattermost"])
                    .arg(&chart)
                    .arg("-f")
                    .arg(out.join("values.yaml"))
                    .args(["--namespace", ns])
                    .output()
                    .expect("helm runs");
                assert!(t.status.success(), "helm template: {}", String::from_utf8_lossy(&t.stderr));
                let pr = bin().args(["post-render", "--input"]).arg(&decl).write_stdin(t.stdout).output().expect("runs");
                assert!(pr.status.success(), "post-render exited {:?}: {}", pr.status.code(), String::from_utf8_lossy(&pr.stderr));
                let post = dir.path().join("chart-post-rendered.yaml");
                std::fs::write(&post, &pr.stdout).unwrap();
                let mut files = vec![post];
                files.extend(manifests.iter().filter(|m| m.file_name().is_some_and(|n| n != "mattermost.yaml")).cloned());
                let s = scan(&checkov, &files);
                problems.extend(judge("chart, post-rendered", &files, &s, &waivers, &outcomes, &mut used).err());
            } else {
                skip_part(
                    "post-render",
                    &format!("{test}/chart"),
                    &format!("`secure-mattermost post-render --help` exited {:?}: no post-render subcommand to scan the chart's output through", help.status.code()),
                );
            }
        }
        _ => skip_part(
            "helm",
            &format!("{test}/chart"),
            "set SECURE_MATTERMOST_HELM_CHART to a copy of charts/mattermost (mattermost/mattermost-helm) and install helm",
        ),
    }

    for w in &waivers {
        match used.get(&w.key()) {
            Some(n) => println!("waiver {} ({:?}, rule {:?}) used {n} time(s)", w.check, w.kinds, w.rule),
            None => eprintln!("warning: waiver {} ({:?}) in {WAIVERS} matched no finding", w.check, w.kinds),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn waivers_are_justified() {
    // The shipped file passes, and the checks behind it are real.
    let rules = catalog_rules();
    let shipped = waivers();
    assert!(shipped.iter().all(|w| !w.reason.is_empty()));
    let base = serde_json::json!({"check": "CKV_K8S_43", "kinds": ["Deployment"], "reason": "the site provides this value at install time", "rule": null});
    assert!(parse_waivers(&serde_json::json!({"waivers": [base.clone()]}), &rules).is_ok());
    for (patch, why) in [
        (serde_json::json!({"reason": "TODO"}), "placeholder"),
        (serde_json::json!({"reason": "TBD: explain later why this is fine"}), "placeholder word"),
        (serde_json::json!({"reason": "not needed here"}), "too short"),
        (serde_json::json!({"check": "K8S_43"}), "bad check id"),
        (serde_json::json!({"kinds": []}), "no kinds"),
        (serde_json::json!({"rule": "no-such-rule"}), "unknown rule"),
        (serde_json::json!({"scope": "all"}), "unknown key"),
    ] {
        let mut w = base.clone();
        merge(&mut w, &patch);
        assert!(parse_waivers(&serde_json::json!({"waivers": [w]}), &rules).is_err(), "accepted a waiver with {why}: {patch}");
    }
    assert!(parse_waivers(&serde_json::json!({"waivers": [base.clone(), base]}), &rules).is_err(), "accepted a duplicate");

    // A waiver that maps to a rule holds only while the evidence records the
    // gap: with the digest set, image-pinned-by-digest passes and the waiver
    // for an undigested image no longer applies.
    let digest = shipped.iter().find(|w| w.rule.as_deref() == Some("image-pinned-by-digest"));
    let Some(w) = digest else { return };
    let finding = Finding {
        check: w.check.clone(),
        name: "image not pinned by digest".into(),
        resource: format!("{}.mattermost.chat", w.kinds[0]),
        file: "rendered".into(),
    };
    let example = load("examples/kubernetes.json");
    let (r, unset) = check_json(&example);
    let unset = unset.unwrap_or_else(|| panic!("check printed no JSON: {}", r.stderr));
    assert_ne!(outcome_of(&unset, "image-pinned-by-digest"), "pass");
    assert!(waiver_for(&finding, &shipped, &unset).is_ok(), "the digest waiver does not hold while the digest is unset");
    let pinned = patched(example, &serde_json::json!({"mattermost": {"imageDigest": format!("sha256:{}", "b".repeat(64))}}));
    let (r, set) = check_json(&pinned);
    let set = set.unwrap_or_else(|| panic!("check printed no JSON: {}", r.stderr));
    assert_eq!(outcome_of(&set, "image-pinned-by-digest"), "pass");
    assert!(waiver_for(&finding, &shipped, &set).is_err(), "the digest waiver still holds with the digest set");
}

tests![insecure_fixture_is_flagged, rendered_objects_pass_checkov_or_are_waived, waivers_are_justified];
