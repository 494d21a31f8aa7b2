//! `secure-mattermost post-render`, Helm's post-renderer for the official
//! chart: on a chart-like fixture of our own (what it patches, what it keeps
//! as it was, what it drops), on objects and input it must refuse, and on
//! the chart's real output through `helm template --post-renderer` when a
//! copy of the chart is given (SECURE_MATTERMOST_HELM_CHART; it is someone
//! else's code, so the repository does not carry it).

mod common;
use common::*;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURE: &str = "tests/fixtures/post-render/chart-like.yaml";
const EXAMPLE: &str = "examples/kubernetes.json";
/// The release name the chart must be installed under (render::kubernetes::RELEASE).
const RELEASE: &str = "mattermost";
/// Paths post-render keeps writable under the read-only root filesystem.
const WRITABLE: &[&str] = &["/tmp", "/mattermost/logs", "/mattermost/plugins", "/mattermost/client/plugins"];


fn fixture() -> String {
    std::fs::read_to_string(root().join(FIXTURE)).expect("fixture")
}

/// The non-empty documents of a YAML stream, read by a YAML parser of their own.
fn documents(text: &str) -> Vec<Value> {
    let mut out = vec![];
    for d in serde_yaml_ng::Deserializer::from_str(text) {
        let v = serde_yaml_ng::Value::deserialize(d).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"));
        if !v.is_null() {
            out.push(serde_json::to_value(v).expect("JSON-compatible"));
        }
    }
    out
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in {docs:#?}"))
}

fn post_render(decl: &Path, stdin: &str) -> Run {
    run_stdin(&["post-render", "--input", decl.to_str().unwrap(), "--today", TODAY], stdin)
}

/// A declaration file (post-render reads the manifests on stdin, so the declaration is a file).
fn declaration(dir: &Path, doc: &Value) -> PathBuf {
    let p = dir.join("declaration.json");
    std::fs::write(&p, doc.to_string()).unwrap();
    p
}

fn env_of(container: &Value) -> Vec<Value> {
    container["env"].as_array().cloned().unwrap_or_default()
}

fn env_names(container: &Value) -> Vec<String> {
    env_of(container).iter().map(|e| e["name"].as_str().expect("env name").to_string()).collect()
}

fn env_value<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"].as_array().and_then(|es| es.iter().find(|e| e["name"] == name)).unwrap_or_else(|| panic!("{name} missing"))
}

fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"].iter().flat_map(|k| pod[*k].as_array().into_iter().flatten()).collect()
}

/// Every hardened field of a post-rendered pod spec, for `replicas` pods.
fn assert_hardened(pod: &Value, replicas: u64, what: &str) {
    assert_eq!(pod["automountServiceAccountToken"], false, "{what}: service-account token mounted");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}: pod runAsNonRoot");
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{what}: pod seccomp");
    let cs = containers(pod);
    assert!(!cs.is_empty(), "{what}: no containers");
    for c in cs {
        let sc = &c["securityContext"];
        let name = &c["name"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}: {name}");
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{what}: {name}");
        assert_eq!(sc["runAsNonRoot"], true, "{what}: {name}");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{what}: {name}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}: {name}");
        assert!(sc["capabilities"]["add"].is_null() && sc["privileged"] != true, "{what}: {name}: {sc}");
        let names = env_names(c);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{what}: {name}: duplicate environment variables: {names:?}");
        // Each path the server writes is mounted exactly once, from an emptyDir.
        let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
        let server = c["image"].as_str().is_some_and(|i| i.contains("mattermost/mattermost-"));
        for path in WRITABLE.iter().filter(|p| server || **p == "/tmp") {
            let at: Vec<&Value> = mounts.iter().filter(|m| m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(*path)).collect();
            assert_eq!(at.len(), 1, "{what}: {name}: {path} mounted {} times: {mounts:?}", at.len());
            let volume = pod["volumes"].as_array().and_then(|vs| vs.iter().find(|v| v["name"] == at[0]["name"]));
            assert!(volume.is_some_and(|v| v["emptyDir"].is_object()), "{what}: {name}: {path} is not an emptyDir: {volume:?}");
        }
    }
    let volume_names: Vec<&Value> = pod["volumes"].as_array().map(|vs| vs.iter().map(|v| &v["name"]).collect()).unwrap_or_default();
    let mut unique = volume_names.clone();
    unique.dedup();
    assert_eq!(unique.len(), volume_names.len(), "{what}: duplicate volume names");
    if replicas > 1 {
        let term = &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"];
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname", "{what}: no anti-affinity: {}", pod["affinity"]);
        assert_eq!(term["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"], RELEASE, "{what}");
        assert_eq!(term["labelSelector"]["matchLabels"]["app.kubernetes.io/component"], "server", "{what}");
    } else {
        assert!(pod["affinity"].is_null(), "{what}: affinity with one replica: {}", pod["affinity"]);
    }
}

/// The composed database environment (postgres-operator runs the database).
fn assert_composed_dsn(app: &Value, what: &str) {
    let names = env_names(app);
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("{what}: {n} missing: {names:?}"));
    assert_eq!(env_value(app, "MM_DB_PASSWORD")["valueFrom"]["secretKeyRef"]["key"], "password", "{what}");
    assert!(
        env_value(app, "MM_DB_PASSWORD")["valueFrom"]["secretKeyRef"]["name"].as_str().is_some_and(|n| n.ends_with(".credentials.postgresql.acid.zalan.do")),
        "{what}"
    );
    for var in ["MM_CONFIG", "MM_SQLSETTINGS_DATASOURCE"] {
        // Kubernetes expands $(VAR) only from variables defined earlier.
        assert!(pos("MM_DB_PASSWORD") < pos(var), "{what}: {var} before MM_DB_PASSWORD: {names:?}");
        let e = env_value(app, var);
        assert!(e["valueFrom"].is_null(), "{what}: {var} still read from a Secret: {e}");
        let dsn = e["value"].as_str().unwrap_or_else(|| panic!("{what}: {var} has no value: {e}"));
        assert!(dsn.starts_with("postgres://mattermost:$(MM_DB_PASSWORD)@mattermost-postgresql:5432/mattermost?"), "{what}: {var} = {dsn}");
        assert!(dsn.contains("sslmode=verify-full"), "{what}: {var} = {dsn}");
        assert_eq!(dsn.matches("sslrootcert=").count(), 1, "{what}: {var} = {dsn}");
    }
}

/// `v` without the keys at the given JSON pointers (missing ones ignored).
fn without(v: &Value, pointers: &[&str]) -> Value {
    let mut v = v.clone();
    for p in pointers {
        let (parent, key) = p.rsplit_once('/').unwrap();
        if let Some(Value::Object(m)) = v.pointer_mut(parent) {
            m.remove(key);
        }
    }
    v
}

fn patches_a_chart_like_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let decl = declaration(dir.path(), &load(EXAMPLE));
    let input = documents(&fixture());
    let r = post_render(&decl, &fixture());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = documents(&r.stdout);

    // The test Pod and its ConfigMap are gone; everything else is there, in order.
    let kinds: Vec<&str> = out.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Service", "Deployment", "Ingress"], "{}", r.stdout);
    assert!(!r.stdout.contains("bats/bats") && !r.stdout.contains("mattermost-app-test"), "{}", r.stdout);
    // Strings are written double-quoted by our writer.
    assert!(r.stdout.contains("kind: \"Deployment\"") && r.stdout.contains("ingressClassName: \"nginx\""), "{}", r.stdout);

    // Every object is placed in the declared namespace (`helm template`
    // leaves it out); objects post-render does not patch are otherwise the
    // same objects.
    for o in &out {
        assert_eq!(o["metadata"]["namespace"], "mattermost", "{}", o["kind"]);
    }
    let without_ns = |o: &serde_json::Value| {
        let mut o = o.clone();
        if let Some(m) = o["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        o
    };
    assert_eq!(without_ns(find(&out, "Service")), without_ns(find(&input, "Service")));
    assert_eq!(without_ns(find(&out, "Ingress")), without_ns(find(&input, "Ingress")));
    // An object already placed in another namespace is refused: the
    // NetworkPolicies and Pod Security labels live in the declared one.
    let elsewhere = fixture().replacen("name: mattermost
", "name: mattermost
  namespace: elsewhere
", 1);
    assert_ne!(elsewhere, fixture(), "the fixture names an object `mattermost`");
    let r2 = post_render(&decl, &elsewhere);
    assert_eq!(r2.code, 2, "{}", r2.stderr);
    assert!(r2.stdout.is_empty() && r2.stderr.contains("metadata.namespace"), "{}", r2.stderr);

    let (before, after) = (find(&input, "Deployment"), find(&out, "Deployment"));
    let pod = &after["spec"]["template"]["spec"];
    assert_hardened(pod, 1, "chart-like");
    // What the fixture set is kept: the pod's user and group, the chart's own mounts.
    assert_eq!(pod["securityContext"]["runAsUser"], 2000);
    assert_eq!(pod["securityContext"]["fsGroup"], 2000);
    let app = &pod["containers"][0];
    let mounts = app["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == "/mattermost/logs/" && m["name"] == "site-logs"), "the fixture's own log mount was replaced: {mounts:?}");
    // The configuration lives in the database: its directory stays read-only.
    assert!(!mounts.iter().any(|m| m["mountPath"].as_str().is_some_and(|p| p.starts_with("/mattermost/config"))), "{mounts:?}");
    assert_eq!(mounts.iter().filter(|m| m["mountPath"].as_str().is_some_and(|p| p.starts_with("/mattermost/plugins"))).count(), 1);
    // The init container (another image) gets a /tmp, not the server's directories.
    let init = &pod["initContainers"][0];
    assert_eq!(init["volumeMounts"], json!([{"name": "tmp", "mountPath": "/tmp"}]), "{init}");

    // The DSN is composed; the other variables, Secret references among them, are kept in order.
    assert_composed_dsn(app, "chart-like");
    let composed = ["MM_DB_PASSWORD", "MM_CONFIG", "MM_SQLSETTINGS_DATASOURCE"];
    let rest = |c: &Value| env_of(c).into_iter().filter(|e| !composed.iter().any(|n| e["name"] == *n)).collect::<Vec<_>>();
    assert_eq!(rest(app), rest(&before["spec"]["template"]["spec"]["containers"][0]));
    assert_eq!(env_value(app, "MM_OPENIDSETTINGS_SECRET")["valueFrom"]["secretKeyRef"], json!({"key": "client-secret", "name": "mattermost-oidc"}));

    // Everything else in the Deployment means what it meant.
    let mut volumes_before = before["spec"]["template"]["spec"]["volumes"].as_array().unwrap().clone();
    volumes_before.push(json!({"name": "tmp", "emptyDir": {}}));
    assert_eq!(pod["volumes"], Value::Array(volumes_before), "volumes other than the added /tmp changed");
    let strip = |d: &Value| {
        let mut d = without(
            d,
            &["/metadata/namespace", "/spec/template/spec/automountServiceAccountToken", "/spec/template/spec/securityContext/runAsNonRoot", "/spec/template/spec/securityContext/seccompProfile", "/spec/template/spec/volumes"],
        );
        for c in ["initContainers", "containers"] {
            for x in d["spec"]["template"]["spec"][c].as_array_mut().into_iter().flatten() {
                *x = without(x, &["/securityContext", "/env", "/volumeMounts"]);
            }
        }
        d
    };
    assert_eq!(strip(after), strip(before));
    let mounts_before = before["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].as_array().unwrap();
    assert_eq!(&mounts[..mounts_before.len()], &mounts_before[..], "the chart's mounts changed");

    // Three replicas: the same, spread over nodes.
    let three = declaration(dir.path(), &patched(load(EXAMPLE), &json!({"replicas": 3})));
    let r = post_render(&three, &fixture().replace("  replicas: 1\n", "  replicas: 3\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_hardened(&find(&documents(&r.stdout), "Deployment")["spec"]["template"]["spec"], 3, "chart-like, 3 replicas");

    // The lead's tests probe the subcommand this way.
    assert_eq!(run(&["post-render", "--help"]).code, 0);
}

/// Runs post-render on `stdin` and expects a refusal naming `needle`, with nothing on stdout.
fn refused(decl: &Path, stdin: &str, needle: &str, what: &str) {
    let r = post_render(decl, stdin);
    assert_eq!(r.code, 2, "{what}: exit {}\n{}", r.code, r.stderr);
    assert!(r.stdout.is_empty(), "{what}: wrote to stdout:\n{}", r.stdout);
    assert!(r.stderr.contains(needle), "{what}: {needle:?} not in:\n{}", r.stderr);
}

fn refuses_unrecognised_objects() {
    let dir = tempfile::tempdir().unwrap();
    let decl = declaration(dir.path(), &load(EXAMPLE));
    let text = fixture();
    assert_eq!(post_render(&decl, &text).code, 0, "the fixture itself must pass");

    refused(&decl, &format!("{text}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site-extra\n"), "unrecognised object v1 ConfigMap site-extra", "an extra ConfigMap");
    refused(&decl, &text.replace("kind: Deployment\nmetadata:\n  name: mattermost\n", "kind: Deployment\nmetadata:\n  name: chat-mattermost\n"), "apps/v1 Deployment chat-mattermost", "a renamed Deployment");
    refused(&decl, &text.replace("apiVersion: apps/v1\nkind: Deployment", "apiVersion: apps/v1beta2\nkind: Deployment"), "apps/v1beta2 Deployment mattermost", "another API version");
    refused(&decl, &text.replace("    helm.sh/hook: test-success\n", ""), "v1 Pod mattermost-app-test-x7k2q", "a Pod that is not a helm test");
    // The chart's licence Secret is rendered only for the team edition, and then empty.
    let secret = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: mattermost-mattermost-license\ndata:\n  mattermost.mattermost-license: \"\"\n";
    refused(&decl, &format!("{text}{secret}"), "v1 Secret mattermost-mattermost-license", "the chart's licence Secret with a licence of ours");
    // Missing, duplicated, or rendered from another declaration.
    let no_deployment: Vec<&str> = text.split("\n---\n").filter(|d| !d.contains("kind: Deployment")).collect();
    refused(&decl, &no_deployment.join("\n---\n"), "apps/v1 Deployment mattermost is missing", "no Deployment");
    refused(&decl, "", "is missing", "empty input");
    let deployment = text.split("\n---\n").find(|d| d.contains("kind: Deployment")).unwrap();
    refused(&decl, &format!("{text}---\n{deployment}"), "appears 2 times", "the Deployment twice");
    refused(&decl, &text.replace("  replicas: 1\n", "  replicas: 3\n"), "spec.replicas is 3, expected 1", "values of another declaration");
    refused(
        &decl,
        &text.replace("            - name: MM_LOGSETTINGS_CONSOLELEVEL\n", "            - name: MM_SERVICESETTINGS_SITEURL\n"),
        "sets the environment variable MM_SERVICESETTINGS_SITEURL more than once",
        "a duplicate environment variable",
    );
    refused(&decl, &text.replace("        runAsUser: 2000\n", "        runAsUser: 2000\n        runAsNonRoot: false\n"), "runAsNonRoot is false", "a pod allowed to run as root");

    // A declaration post-render does not serve.
    let baremetal = dir.path().join("baremetal.json");
    std::fs::write(&baremetal, load("examples/baremetal.json").to_string()).unwrap();
    refused(&baremetal, &text, "mode = \"kubernetes\"", "a bare-metal declaration");
    let operator = dir.path().join("operator.json");
    std::fs::write(&operator, patched(load(EXAMPLE), &json!({"kubernetes": {"deployWith": "operator"}})).to_string()).unwrap();
    refused(&operator, &text, "deployWith = \"helm\"", "an operator deployment");
    let r = run_stdin(&["post-render", "--input", "-"], &text);
    assert!(r.code == 2 && r.stdout.is_empty() && r.stderr.contains("reads the manifests on stdin"), "{}", r.stderr);
    // A declaration failing the policy is refused as check refuses it (exit 1).
    let failing = dir.path().join("failing.json");
    std::fs::write(&failing, patched(load(EXAMPLE), &json!({"allowGuestUsers": true})).to_string()).unwrap();
    let r = post_render(&failing, &text);
    assert!(r.code == 1 && r.stdout.is_empty(), "exit {}: {}", r.code, r.stderr);
}

fn garbage_stdin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let decl = declaration(dir.path(), &load(EXAMPLE));
    let text = fixture();
    for (stdin, needle, what) in [
        ("{a: [1\n".to_string(), "not valid YAML", "unterminated flow"),
        ("apiVersion: v1\napiVersion: v2\n".to_string(), "duplicate entry", "duplicate key"),
        ("just words\n".to_string(), "is a string, not a Kubernetes object", "a scalar"),
        ("- a\n- b\n".to_string(), "is a list", "a list"),
        ("42\n".to_string(), "is a number", "a number"),
        ("kind: Deployment\n".to_string(), "without a string apiVersion", "no apiVersion"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x]\n".to_string(), "without a string apiVersion, kind and metadata.name", "a list as name"),
        ("[".repeat(5000) + &"]".repeat(5000), "recursion limit", "deep nesting"),
        (format!("{text}---\n\u{85}\n"), "U+0085", "a raw NEL"),
        (text.replace("imagePullPolicy: IfNotPresent", "imagePullPolicy: IfNotPresent\n          tty: yes"), "plain scalar `yes`", "a YAML 1.1 boolean"),
        (text.replace("secretName: mattermost-license}", "secretName: mattermost-license, defaultMode: 0644}"), "plain scalar `0644`", "a YAML 1.1 octal"),
        (text.replace("revisionHistoryLimit: 2", "revisionHistoryLimit: !!int 2"), "!!int 2", "a tag"),
        (text.replace("revisionHistoryLimit: 2", "revisionHistoryLimit: .inf"), "infinite or NaN", "an infinity"),
        (text.replace("  revisionHistoryLimit: 2\n", "  <<: {revisionHistoryLimit: 2}\n"), "merge key", "a merge key"),
    ] {
        refused(&decl, &stdin, needle, what);
    }
    // An alias bomb is refused quickly, not expanded.
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for i in 1..12u8 {
        let (n, p) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        bomb.push_str(&format!("  {n}: &{n} [{}]\n", vec![format!("*{p}"); 9].join(",")));
    }
    let started = std::time::Instant::now();
    refused(&decl, &bomb, "not valid YAML", "an alias bomb");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "the alias bomb took {:?}", started.elapsed());
    // Bytes that are not UTF-8.
    let out = bin().args(["post-render", "--input", decl.to_str().unwrap(), "--today", TODAY]).write_stdin(vec![b'a', b':', b' ', 0xff, 0xfe, b'\n']).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(2) && out.stdout.is_empty() && stderr.contains("not UTF-8") && !stderr.contains("panicked"), "{stderr}");
}

fn chart_output_post_rendered_through_helm() {
    let test = "post_render/chart_output_post_rendered_through_helm";
    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from).filter(|c| c.join("Chart.yaml").is_file());
    let (Some(chart), Some(helm)) = (chart, tool("helm")) else {
        skip_missing("helm", test, "set SECURE_MATTERMOST_HELM_CHART to a copy of charts/mattermost (mattermost/mattermost-helm) and install helm");
        return;
    };
    let example = load(EXAMPLE);
    let saml_three = json!({
        "replicas": 3,
        "auth": {"provider": "saml"},
        "settings": {"SamlSettings": {
            "IdpURL": "https://idp.example.com/sso", "IdpDescriptorURL": "https://idp.example.com/entity",
            "IdpCertificateFile": "/mattermost/saml/idp.crt", "EmailAttribute": "mail", "UsernameAttribute": "uid"
        }}
    });
    for (what, doc, replicas) in [("examples/kubernetes.json", example.clone(), 1), ("SAML, 3 replicas", patched(example, &saml_three), 3)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
        assert_eq!(r.code, 0, "{what}: render failed:\n{}", r.stderr);
        let decl = declaration(dir.path(), &doc);
        let namespace = doc["secureMattermost"]["kubernetes"]["namespace"].as_str().unwrap_or("mattermost");
        let template = |extra: &[&str]| {
            let o = Command::new(&helm)
                .args(["template", RELEASE])
                .arg(&chart)
                .arg("-f")
                .arg(out.join("values.yaml"))
                .args(["--namespace", namespace])
                .args(extra)
                .output()
                .expect("helm runs");
            assert!(o.status.success(), "{what}: helm template {extra:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let raw = template(&[]);
        let bin_path = PathBuf::from(env!("CARGO_BIN_EXE_secure-mattermost"));
        let args = ["post-render", "--input", decl.to_str().unwrap(), "--today", TODAY];
        let mut flags = vec!["--skip-tests".to_string(), "--post-renderer".into(), bin_path.display().to_string()];
        for a in args {
            flags.extend(["--post-renderer-args".to_string(), a.to_string()]);
        }
        let via_helm = template(&flags.iter().map(String::as_str).collect::<Vec<_>>());
        // The other way in: the chart's whole output (helm test objects included) piped in.
        let piped = post_render(&decl, &raw);
        assert_eq!(piped.code, 0, "{what}: post-render of helm template's output failed:\n{}", piped.stderr);
        let (raw, post) = (documents(&raw), documents(&via_helm));
        assert_eq!(post, documents(&piped.stdout), "{what}: --post-renderer and the pipe disagree");

        let kinds: Vec<&str> = post.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert!(!kinds.contains(&"Pod") && !kinds.contains(&"ConfigMap"), "{what}: helm test objects left: {kinds:?}");
        assert!(raw.iter().any(|d| d["kind"] == "Pod"), "{what}: the chart rendered no test Pod: the removal proves nothing");
        for kind in ["Service", "Ingress"] {
            let (mut p, r) = (find(&post, kind).clone(), find(&raw, kind));
            assert_eq!(p["metadata"]["namespace"], "mattermost", "{what}: {kind} not placed in the namespace");
            p["metadata"].as_object_mut().unwrap().remove("namespace");
            assert_eq!(&p, r, "{what}: {kind} changed");
        }
        let (before, after) = (find(&raw, "Deployment"), find(&post, "Deployment"));
        let pod = &after["spec"]["template"]["spec"];
        assert_hardened(pod, replicas, what);
        let (app, app_before) = (&pod["containers"][0], &before["spec"]["template"]["spec"]["containers"][0]);
        assert_composed_dsn(app, what);
        // Every variable and Secret reference the chart rendered survives (MM_CONFIG aside, composed now).
        let names = env_names(app);
        for e in env_of(app_before).iter().filter(|e| e["name"] != "MM_CONFIG") {
            let name = e["name"].as_str().unwrap();
            assert!(names.iter().any(|n| n == name), "{what}: {name} lost");
            assert_eq!(env_value(app, name), e, "{what}: {name} changed");
        }
        assert!(names.iter().filter(|n| n.starts_with("MM_")).count() > 100, "{what}: the pinned settings are not there: {names:?}");
        for secret in ["mattermost-oidc", "mattermost-s3", "mattermost-license"] {
            if what.starts_with("SAML") && secret == "mattermost-oidc" {
                continue;
            }
            assert!(via_helm.contains(&format!("\"{secret}\"")), "{what}: Secret {secret} no longer referenced");
        }
        if what.starts_with("SAML") {
            assert!(via_helm.contains("secretName: \"mattermost-saml\""), "{what}: SAML key Secret lost");
        }
        // The chart's own mounts are kept; no path is mounted twice.
        for m in app_before["volumeMounts"].as_array().unwrap() {
            assert!(app["volumeMounts"].as_array().unwrap().contains(m), "{what}: mount {m} lost");
        }
        assert!(!via_helm.contains("bats/bats"), "{what}: the test image is still referenced");
    }
}

tests![patches_a_chart_like_deployment, refuses_unrecognised_objects, garbage_stdin_is_refused, chart_output_post_rendered_through_helm];
