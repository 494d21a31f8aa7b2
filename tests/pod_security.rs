//! Pod Security admission on everything we render: tools/podsecurity runs the
//! admission plugin's own checks and pod-template extraction
//! (k8s.io/pod-security-admission, built by scripts/podsecurity-build.sh) on
//! every pod template of the rendered manifests, at the `restricted` level,
//! policy version `latest`. A fixture with every forbidden setting, and the
//! same pod under each workload kind, proves that the checker denies and
//! names what it denies.

mod common;
use common::*;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Kinds the admission plugin takes a pod template from (the test's own
/// list, to cross-check the checker's extraction).
const POD_KINDS: &[&str] =
    &["Pod", "PodTemplate", "ReplicationController", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];

/// The cached checker. `--print-path` costs a hash of the sources; when the
/// script cannot even compute that (no Go here), the newest cached build is
/// used.
fn checker(test: &str) -> Option<PathBuf> {
    let script = root().join("scripts/podsecurity-build.sh");
    match Command::new("bash").arg(&script).arg("--print-path").output() {
        Ok(o) if o.status.success() => {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if p.is_file() {
                return Some(p);
            }
        }
        Ok(o) if o.status.code() == Some(3) => {}
        _ => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("secure-mattermost"));
            let newest = cache
                .and_then(|c| std::fs::read_dir(c).ok())
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("podsecurity-"))
                .map(|e| e.path().join("podsecurity"))
                .filter(|p| p.is_file())
                .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
            if let Some(p) = newest {
                eprintln!("{test}: scripts/podsecurity-build.sh --print-path failed; using the cached {}", p.display());
                return Some(p);
            }
        }
    }
    skip_missing("podsecurity", test, "the Pod Security checker is not built: run `bash scripts/podsecurity-build.sh`");
    None
}

struct Scan {
    code: i32,
    objects: Vec<Value>,
    stdout: String,
    stderr: String,
}

impl Scan {
    fn pod_templates(&self) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(|o| o["podTemplate"] == true)
    }

    fn find(&self, kind: &str) -> &Value {
        self.objects.iter().find(|o| o["kind"] == kind).unwrap_or_else(|| panic!("no {kind} listed:\n{}{}", self.stdout, self.stderr))
    }
}

fn scan(checker: &Path, args: &[&str], files: &[PathBuf]) -> Scan {
    let o = Command::new(checker).args(args).args(files).output().expect("the checker runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(!stderr.contains("panic") && !stderr.contains("goroutine "), "the checker panicked:\n{stderr}");
    let objects = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{stderr}")))
        .collect();
    Scan { code: o.status.code().unwrap_or(-1), objects, stdout, stderr }
}

/// The check IDs of an object's violations.
fn checks(object: &Value) -> Vec<&str> {
    object["violations"].as_array().map(|vs| vs.iter().filter_map(|v| v["check"].as_str()).collect()).unwrap_or_default()
}

fn violation<'a>(object: &'a Value, check: &str) -> &'a Value {
    object["violations"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["check"] == check))
        .unwrap_or_else(|| panic!("{} {} has no {check} violation: {object}", object["kind"], object["name"]))
}

/// The non-empty YAML documents of a file (a List's items one by one), read
/// with a YAML parser independent of the checker's.
fn documents(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut out = vec![];
    for d in serde_yaml_ng::Deserializer::from_str(&text) {
        let v = serde_yaml_ng::Value::deserialize(d).unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
        if v.is_null() {
            continue;
        }
        let v: Value = serde_json::to_value(v).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        match (v["kind"].as_str(), v["items"].as_array()) {
            (Some("List"), Some(items)) => out.extend(items.iter().cloned()),
            _ => out.push(v),
        }
    }
    out
}

fn is_pod_kind(doc: &Value) -> bool {
    let api = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    matches!(api, "v1" | "apps/v1" | "batch/v1") && POD_KINDS.contains(&kind)
}

/// Judges `files` and checks the scan against an independent reading: every
/// document listed, every pod template found. Returns the problems (denied
/// pod templates included) and the number of pod templates judged.
fn judge_all(checker: &Path, what: &str, files: &[PathBuf]) -> (Vec<String>, usize) {
    let docs: Vec<Value> = files.iter().flat_map(|f| documents(f)).collect();
    let s = scan(checker, &[], files);
    let mut problems = vec![];
    if s.code == 2 || s.code < 0 {
        return (vec![format!("{what}: the checker could not read the manifests (exit {}):\n{}", s.code, s.stderr)], 0);
    }
    let expected_pods = docs.iter().filter(|d| is_pod_kind(d)).count();
    let judged = s.pod_templates().count();
    if s.objects.len() < docs.len() {
        problems.push(format!("{what}: the checker listed {} objects, the files hold {}:\n{}", s.objects.len(), docs.len(), s.stdout));
    }
    for d in &docs {
        let (kind, name) = (&d["kind"], &d["metadata"]["name"]);
        if !s.objects.iter().any(|o| o["kind"] == *kind && o["name"] == *name) {
            problems.push(format!("{what}: {kind} {name} was not scanned"));
        }
    }
    if judged != expected_pods {
        problems.push(format!("{what}: {judged} pod templates judged, the files hold {expected_pods}:\n{}", s.stdout));
    }
    let denied: Vec<&Value> = s.pod_templates().filter(|o| o["allowed"] != true).collect();
    for o in &denied {
        let vs: Vec<String> = o["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| format!("    {}: {} ({})", v["check"].as_str().unwrap_or("?"), v["reason"].as_str().unwrap_or("?"), v["detail"].as_str().unwrap_or("")))
            .collect();
        problems.push(format!("{what}: {} {} in {} violates restricted:\n{}", o["kind"], o["name"], o["file"], vs.join("\n")));
    }
    let want_code = if denied.is_empty() { 0 } else { 1 };
    if s.code != want_code {
        problems.push(format!("{what}: the checker exited {} (expected {want_code}):\n{}", s.code, s.stderr));
    }
    eprintln!("{what}: {} objects, {judged} pod templates, {} denied; {}", s.objects.len(), denied.len(), s.stderr.trim());
    (problems, judged)
}

fn fixture() -> PathBuf {
    root().join("tests/fixtures/kubernetes/insecure-pod.yaml")
}

/// The fixture's Pod.
fn insecure_pod() -> Value {
    documents(&fixture()).into_iter().find(|d| d["kind"] == "Pod").expect("the fixture has a Pod")
}

/// The pod's spec under every workload kind the plugin extracts from.
fn workloads(pod: &Value) -> Vec<Value> {
    let labels = json!({"app": "insecure"});
    let template = json!({"metadata": {"labels": labels}, "spec": pod["spec"]});
    let selector = json!({"matchLabels": labels});
    let meta = |kind: &str| json!({"name": format!("insecure-{}", kind.to_lowercase()), "namespace": "mattermost"});
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("Deployment"), "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("StatefulSet"), "spec": {"serviceName": "insecure", "selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("DaemonSet"), "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("ReplicaSet"), "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta("ReplicationController"), "spec": {"selector": labels, "template": template}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("Job"), "spec": {"template": template}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("CronJob"), "spec": {"schedule": "15 3 * * *", "jobTemplate": {"spec": {"template": template}}}}),
    ]
}

/// Documents as one multi-document YAML file (JSON is YAML).
fn write_docs(path: &Path, docs: &[Value]) {
    let text: String = docs.iter().map(|d| format!("---\n{d}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn insecure_fixture_is_rejected() {
    let test = "pod_security/insecure_fixture_is_rejected";
    let Some(ps) = checker(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let wrapped = tmp.path().join("workloads.yaml");
    let kinds = workloads(&insecure_pod());
    write_docs(&wrapped, &kinds);
    let s = scan(&ps, &[], &[fixture(), wrapped]);
    assert_eq!(s.code, 1, "the insecure pod was not denied:\n{}{}", s.stdout, s.stderr);
    assert!(s.stderr.contains("restricted@latest"), "no summary line:\n{}", s.stderr);

    let pod = s.find("Pod");
    assert!(pod["podTemplate"] == true && pod["allowed"] == false, "{pod}");
    for (check, detail) in [
        ("privileged", "container \"app\" must not set securityContext.privileged=true"),
        ("runAsNonRoot", "securityContext.runAsNonRoot=true"),
        ("runAsUser", "must not set runAsUser=0"),
        ("seccompProfile_restricted", "securityContext.seccompProfile.type"),
        // At restricted, the volume-type check replaces the baseline hostPath one.
        ("restrictedVolumes", "volume \"host\" uses restricted volume type \"hostPath\""),
        ("capabilities_restricted", "capabilities.drop=[\"ALL\"]"),
        ("capabilities_restricted", "must not include \"NET_ADMIN\""),
        ("allowPrivilegeEscalation", "container \"app\" must set securityContext.allowPrivilegeEscalation=false"),
    ] {
        let v = violation(pod, check);
        assert!(v["detail"].as_str().is_some_and(|d| d.contains(detail)), "{check}: {detail:?} missing from {v}");
        assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()), "{check}: no reason in {v}");
    }

    // Not a pod template: listed, not judged.
    let service = s.find("Service");
    assert!(service["podTemplate"] == false && service["allowed"] == true && checks(service).is_empty(), "{service}");

    // The same spec under each workload kind: extracted, and judged alike.
    assert_eq!(s.pod_templates().count(), 1 + kinds.len(), "{}", s.stdout);
    for k in &kinds {
        let kind = k["kind"].as_str().unwrap();
        let o = s.find(kind);
        assert_eq!(o["name"], k["metadata"]["name"], "{o}");
        assert!(o["podTemplate"] == true && o["allowed"] == false, "{kind}: {o}");
        assert_eq!(o["violations"], pod["violations"], "{kind} is judged differently from the Pod");
    }
}

fn baseline_level_judges_only_baseline_checks() {
    let test = "pod_security/baseline_level_judges_only_baseline_checks";
    let Some(ps) = checker(test) else { return };
    let s = scan(&ps, &["--level", "baseline"], &[fixture()]);
    assert_eq!(s.code, 1, "{}{}", s.stdout, s.stderr);
    assert!(s.stderr.contains("baseline@latest"), "{}", s.stderr);
    let pod = s.find("Pod");
    let found = checks(pod);
    for check in ["privileged", "hostPathVolumes", "capabilities_baseline"] {
        assert!(found.contains(&check), "baseline does not name {check}: {pod}");
    }
    assert!(violation(pod, "hostPathVolumes")["detail"].as_str().is_some_and(|d| d.contains("\"host\"")), "{pod}");
    for check in ["runAsNonRoot", "runAsUser", "seccompProfile_restricted", "allowPrivilegeEscalation", "restrictedVolumes", "capabilities_restricted"] {
        assert!(!found.contains(&check), "baseline judged the restricted check {check}: {pod}");
    }
    let bad = scan(&ps, &["--level", "privileged"], &[fixture()]);
    assert!(bad.code == 2 && bad.objects.is_empty() && bad.stderr.contains("--level"), "{}", bad.stderr);
}

fn hardened_pod_is_allowed() {
    let test = "pod_security/hardened_pod_is_allowed";
    let Some(ps) = checker(test) else { return };
    let mut pod = insecure_pod();
    pod["spec"]["containers"][0]["securityContext"] = json!({
        "allowPrivilegeEscalation": false,
        "runAsNonRoot": true,
        "runAsUser": 2000,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}
    });
    pod["spec"]["volumes"][0] = json!({"name": "host", "emptyDir": {}});
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("hardened.yaml");
    let mut docs = vec![pod.clone()];
    docs.extend(workloads(&pod));
    write_docs(&file, &docs);
    let s = scan(&ps, &[], std::slice::from_ref(&file));
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    assert_eq!(s.pod_templates().count(), docs.len(), "{}", s.stdout);
    assert!(s.objects.iter().all(|o| o["allowed"] == true && checks(o).is_empty()), "{}", s.stdout);

    // One setting back is enough to be denied, and named.
    pod["spec"]["containers"][0]["securityContext"]["capabilities"] = json!({"drop": ["ALL"], "add": ["NET_RAW"]});
    write_docs(&file, &[pod]);
    let s = scan(&ps, &[], std::slice::from_ref(&file));
    assert_eq!(s.code, 1, "{}{}", s.stdout, s.stderr);
    assert_eq!(checks(s.find("Pod")), ["capabilities_restricted"], "{}", s.stdout);
}


fn every_rendered_pod_template_passes_restricted() {
    let test = "pod_security/every_rendered_pod_template_passes_restricted";
    let Some(ps) = checker(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let doc = load("examples/kubernetes.json");
    let decl = tmp.path().join("declaration.json");
    std::fs::write(&decl, doc.to_string()).unwrap();
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "render failed:\n{}", r.stderr);

    // Every manifest we write; the chart values are not one.
    let mut files: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "values.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "render wrote no manifest besides values.yaml: {:?}", files_under(&out));
    let (mut problems, ours) = judge_all(&ps, "rendered manifests", &files);

    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from).filter(|c| c.join("Chart.yaml").is_file());
    let values = out.join("values.yaml");
    match (chart, tool("helm")) {
        (Some(chart), Some(helm)) if values.is_file() => {
            let namespace = doc["secureMattermost"]["kubernetes"]["namespace"].as_str().unwrap_or("mattermost");
            let o = Command::new(&helm)
                .args(["template", "mattermost"])
                .arg(&chart)
                .arg("-f")
                .arg(&values)
                .args(["--namespace", namespace])
                .output()
                .expect("helm runs");
            assert!(o.status.success(), "helm template failed:\n{}", String::from_utf8_lossy(&o.stderr));
            let manifest = String::from_utf8_lossy(&o.stdout).into_owned();
            if bin().args(["post-render", "--help"]).output().is_ok_and(|o| o.status.success()) {
                let p = run_stdin(&["post-render", "--input", decl.to_str().unwrap()], &manifest);
                assert_eq!(p.code, 0, "post-render failed:\n{}", p.stderr);
                let file = tmp.path().join("post-rendered.yaml");
                std::fs::write(&file, &p.stdout).unwrap();
                let (more, judged) = judge_all(&ps, "helm template | post-render", std::slice::from_ref(&file));
                problems.extend(more);
                if judged == 0 {
                    problems.push("helm template | post-render: no pod template (the chart's Deployment is missing)".into());
                }
            } else {
                skip_part(
                    "post-render",
                    test,
                    "`secure-mattermost post-render --help` fails (no such subcommand yet): the chart's pods are not judged post-rendered",
                );
                // What the chart alone renders, for the record; not asserted.
                let file = tmp.path().join("helm-template.yaml");
                std::fs::write(&file, &manifest).unwrap();
                let (raw, _) = judge_all(&ps, "helm template (not post-rendered, not asserted)", &[file]);
                for p in raw {
                    eprintln!("{p}");
                }
            }
        }
        (Some(_), Some(_)) => skip_part("helm", test, "the render wrote no values.yaml: no chart to template"),
        _ => skip_part(
            "helm",
            test,
            "the chart's pods are not judged: set SECURE_MATTERMOST_HELM_CHART to a copy of charts/mattermost (mattermost/mattermost-helm) and install helm",
        ),
    }

    if ours == 0 {
        problems.push(format!(
            "NO POD TEMPLATE in the rendered manifests ({}): nothing was judged, so this test would pass vacuously; \
             it fails until render writes a workload (the file-store backup CronJob)",
            files.iter().filter_map(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn checker_refuses_garbage() {
    let test = "pod_security/checker_refuses_garbage";
    let Some(ps) = checker(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("syntax.yaml", b"kind: [unclosed\n", "not YAML"),
        ("scalar.yaml", b"just some words\n", "not a mapping"),
        ("sequence.yaml", b"- apiVersion: v1\n- kind: Pod\n", "not a mapping"),
        ("binary.yaml", b"\xff\xfe\x00\x01garbage\x00", "document 1"),
        ("no-kind.yaml", b"apiVersion: v1\nmetadata: {name: x}\n", "apiVersion or kind missing"),
        ("wrong-type.yaml", b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: 5\n", "cannot unmarshal"),
        (
            "misspelt-field.yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: b, securityContxt: {}}]\n",
            "unknown field \"spec.containers[0].securityContxt\"",
        ),
        ("duplicate-key.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nmetadata: {name: y}\n", "already set"),
        ("removed-api.yaml", b"apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: x}\n", "not served"),
        ("old-group.yaml", b"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n", "not served"),
        (
            "second-document.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\nkind: [\n",
            "document 2",
        ),
        (
            "alias-bomb.yaml",
            b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n\
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
            "not YAML",
        ),
    ];
    for (name, bytes, says) in cases {
        let file = tmp.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let s = scan(&ps, &[], std::slice::from_ref(&file));
        assert_eq!(s.code, 2, "{name}: exit {} instead of 2:\n{}{}", s.code, s.stdout, s.stderr);
        assert!(s.objects.is_empty(), "{name}: objects reported from a bad file:\n{}", s.stdout);
        let line = s.stderr.lines().find(|l| l.contains(file.to_str().unwrap())).unwrap_or_else(|| panic!("{name}: the file is not named:\n{}", s.stderr));
        assert!(s.stderr.contains(says), "{name}: the message does not say {says:?}: {line}\n{}", s.stderr);
    }
    // A missing file, a directory, and garbage next to a denied pod: still 2, and the good file is still judged.
    let missing = tmp.path().join("missing.yaml");
    let s = scan(&ps, &[], &[missing.clone(), tmp.path().to_path_buf()]);
    assert!(s.code == 2 && s.stderr.contains(missing.to_str().unwrap()) && s.stderr.contains("is a directory"), "{}", s.stderr);
    let s = scan(&ps, &[], &[fixture(), tmp.path().join("syntax.yaml")]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(s.find("Pod")["allowed"] == false, "{}", s.stdout);
    // Standard input is named too.
    let o = Command::new(&ps)
        .arg("-")
        .stdin(std::fs::File::open(tmp.path().join("scalar.yaml")).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(2) && err.contains("<stdin>: document 1"), "{err}");
    // No file at all is a usage error.
    let s = scan(&ps, &[], &[]);
    assert!(s.code == 2 && s.stderr.contains("usage"), "{}", s.stderr);
}

/// The operator path: the Deployment (and update Job) that mattermost-operator's
/// own code builds from our `Mattermost` resource (tools/operator-deployment,
/// built against SECURE_MATTERMOST_OPERATOR_SRC), judged like the rest. The
/// database Secret is given the optional check key too, so the operator's
/// readiness init container would appear unless our resource turns it off.
fn operator_built_deployment_passes_restricted() {
    let test = "pod_security/operator_built_deployment_passes_restricted";
    let Some(ps) = checker(test) else { return };
    let o = Command::new("bash").arg(root().join("scripts/operator-deployment-build.sh")).arg("--print-path").output().expect("bash runs");
    let tool = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    if !o.status.success() || !tool.is_file() {
        skip_missing(
            "operator",
            test,
            "mattermost-operator's source is not given: set SECURE_MATTERMOST_OPERATOR_SRC to a checkout (tested with v1.25.9, commit 07a736b) and run scripts/operator-deployment-build.sh",
        );
        return;
    }
    for (label, patch) in [
        ("operator", serde_json::json!({"kubernetes": {"deployWith": "operator"}})),
        ("operator, 3 replicas", serde_json::json!({"kubernetes": {"deployWith": "operator"}, "replicas": 3})),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let doc = patched(load("examples/kubernetes.json"), &patch);
        let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
        assert_eq!(r.code, 0, "{label}: {}", r.stderr);
        let built = Command::new(&tool)
            .args(["--all", "--db-secret-key", "DB_CONNECTION_CHECK_URL"])
            .arg(out.join("mattermost.yaml"))
            .output()
            .expect("the operator tool runs");
        assert!(built.status.success(), "{label}: the operator's code refused our resource: {}", String::from_utf8_lossy(&built.stderr));
        let file = tmp.path().join("operator-built.yaml");
        std::fs::write(&file, &built.stdout).unwrap();
        let text = String::from_utf8_lossy(&built.stdout);
        assert!(!text.contains("init-check-database"), "{label}: the operator's readiness init container (no securityContext) is rendered");
        let (problems, judged) = judge_all(&ps, label, &[file]);
        assert!(judged >= 2, "{label}: expected the Deployment and the update Job, judged {judged}");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

tests![
    operator_built_deployment_passes_restricted,
    insecure_fixture_is_rejected,
    baseline_level_judges_only_baseline_checks,
    hardened_pod_is_allowed,
    every_rendered_pod_template_passes_restricted,
    checker_refuses_garbage,
];
