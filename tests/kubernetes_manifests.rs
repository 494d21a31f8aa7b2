//! Kubernetes artifacts against real tools: the operator custom resource
//! through kubeconform with the Mattermost CRD schema (../shared/schemas),
//! and values.yaml through `helm template` with the official chart when a
//! copy of it is given (SECURE_MATTERMOST_HELM_CHART; it is someone else's
//! code, so the repository does not carry it).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;


fn render_k8s(patch: serde_json::Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let doc = patched(load("examples/kubernetes.json"), &patch);
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir, out)
}

/// SAML (a key Secret to mount) and NFS (a claim to mount), three replicas.
fn saml_nfs() -> serde_json::Value {
    serde_json::json!({
        "replicas": 3,
        "fileStorage": {"driver": "nfs"},
        "auth": {"provider": "saml"},
        "justification": {"k8s-ha-object-storage": "The enclave's clustered NFS service is the approved shared store for this system"},
        "settings": {"SamlSettings": {
            "IdpURL": "https://idp.example.com/sso", "IdpDescriptorURL": "https://idp.example.com/entity",
            "IdpCertificateFile": "/mattermost/saml/idp.crt", "EmailAttribute": "mail", "UsernameAttribute": "uid"
        }}
    })
}

fn kubeconform(bin: &Path, file: &Path) -> std::process::Output {
    let schemas = root().join("../shared/schemas/crds");
    Command::new(bin)
        .args(["-strict", "-summary", "-schema-location"])
        .arg(format!("{}/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json", schemas.display()))
        .arg(file)
        .output()
        .expect("kubeconform runs")
}

fn operator_custom_resource_validates_against_the_crd_schema() {
    let Some(kc) = tool("kubeconform") else {
        skip_missing("kubeconform", "kubernetes_manifests/kubeconform", "kubeconform not installed (scripts/test.sh installs it)");
        return;
    };
    assert!(root().join("../shared/schemas/crds/installation.mattermost.com/mattermost_v1beta1.json").exists());
    for patch in [
        serde_json::json!({}),
        serde_json::json!({"replicas": 3, "mattermost": {"imageDigest": format!("sha256:{}", "b".repeat(64))}, "auth": {"provider": "ldap"}, "smtp": {"server": "smtp.example.com", "username": "mm"}}),
        saml_nfs(),
    ] {
        let (_d, out) = render_k8s(patch);
        let o = kubeconform(&kc, &out.join("mattermost.yaml"));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && text.contains("Valid: 1"), "{text}{}", String::from_utf8_lossy(&o.stderr));
    }
    // The operator sets the licence path and listener itself; pinned hardening overrides its defaults.
    let (_d, out) = render_k8s(serde_json::json!({}));
    let cr = std::fs::read_to_string(out.join("mattermost.yaml")).unwrap();
    assert!(!cr.contains("MM_SERVICESETTINGS_LICENSEFILELOCATION") && !cr.contains("MM_SERVICESETTINGS_LISTENADDRESS"), "{cr}");
    assert!(cr.contains("name: \"MM_PLUGINSETTINGS_ENABLEUPLOADS\"\n    value: \"false\""), "{cr}");
    assert!(cr.contains("name: \"MM_CLUSTERSETTINGS_ENABLE\"\n    value: \"false\""), "{cr}");
    // The validation is real: a wrong field type is rejected.
    let (_d, out) = render_k8s(serde_json::json!({}));
    let cr = std::fs::read_to_string(out.join("mattermost.yaml")).unwrap().replace("replicas: 1", "replicas: \"one\"");
    let bad = out.join("bad.yaml");
    std::fs::write(&bad, cr).unwrap();
    assert!(!kubeconform(&kc, &bad).status.success(), "kubeconform accepted a string replica count");
}

fn values_render_through_the_official_chart() {
    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from);
    let (Some(chart), Some(helm)) = (chart.filter(|c| c.join("Chart.yaml").exists()), tool("helm")) else {
        skip_missing(
            "helm",
            "kubernetes_manifests/helm",
            "set SECURE_MATTERMOST_HELM_CHART to a copy of charts/mattermost (mattermost/mattermost-helm) and install helm",
        );
        return;
    };
    let (_d, out) = render_k8s(serde_json::json!({"smtp": {"server": "smtp.example.com", "username": "mm"}}));
    let o = Command::new(&helm)
        .args(["template", "mattermost"])
        .arg(&chart)
        .arg("-f")
        .arg(out.join("values.yaml"))
        .output()
        .expect("helm runs");
    let manifest = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deployment = manifest
        .split("\n---")
        .find(|doc| doc.contains("kind: Deployment"))
        .expect("a Deployment");
    for needle in [
        "image: \"mattermost/mattermost-enterprise-edition:11.4.0\"",
        // postgres-operator's credentials Secret (post-render composes the DSN from it).
        "name: mattermost.mattermost-postgresql.credentials.postgresql.acid.zalan.do",
        "key: password",
        "name: MM_DB_PASSWORD",
        "runAsNonRoot: true",
        "name: MM_SERVICESETTINGS_SITEURL\n          value: \"https://chat.example.com\"",
        "name: MM_LOGSETTINGS_ENABLEDIAGNOSTICS",
        "name: MM_OPENIDSETTINGS_SECRET",
        "name: MM_EMAILSETTINGS_SMTPPASSWORD",
        "secretName: mattermost-license",
    ] {
        assert!(deployment.contains(needle), "{needle:?} missing from the chart's Deployment:\n{deployment}");
    }
    // No variable may be set twice (the chart sets a few itself).
    let mut names: Vec<&str> = deployment
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- name: MM_"))
        .collect();
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(total, names.len(), "duplicate environment variables in the Deployment");
    assert!(!manifest.contains("kind: Secret\n"), "the chart created a Secret from our values: secrets must stay references");
    // Hardened values that equal the release default are pinned too: the chart keeps
    // the configuration in the database, where the console could change it.
    assert!(deployment.contains("name: MM_SERVICESETTINGS_ENABLEINSECUREOUTGOINGCONNECTIONS\n          value: \"false\""), "{deployment}");
    assert!(deployment.contains("name: MM_TEAMSETTINGS_ENABLEOPENSERVER\n          value: \"false\""));
    // No annotation is given twice (the chart adds ssl-redirect itself).
    let ingress = manifest.split("\n---").find(|doc| doc.contains("kind: Ingress")).expect("an Ingress");
    let mut keys: Vec<&str> = ingress.lines().filter(|l| l.starts_with("    ") && l.contains(".io/")).map(|l| l.trim().split(':').next().unwrap_or("")).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(n, keys.len(), "duplicate Ingress annotations:\n{ingress}");

    // SAML key and NFS claim reach the pod as volumes.
    let (_d2, out) = render_k8s(saml_nfs());
    let o = Command::new(&helm).args(["template", "mattermost"]).arg(&chart).arg("-f").arg(out.join("values.yaml")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest = String::from_utf8_lossy(&o.stdout);
    for needle in ["claimName: mattermost-files", "mountPath: /var/lib/mattermost/data", "secretName: mattermost-saml", "value: /mattermost/saml/sp.key"] {
        assert!(manifest.contains(needle), "{needle:?} missing:\n{manifest}");
    }
}

fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(text)
        .filter_map(|d| serde_yaml_ng::Value::deserialize(d).ok())
        .filter(|v| !v.is_null())
        .map(|v| serde_json::to_value(v).expect("JSON-shaped YAML"))
        .collect()
}

fn docs_in(out: &Path, file: &str) -> Vec<serde_json::Value> {
    yaml_docs(&std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")))
}

/// `selector` (matchLabels) selects a pod with `labels`.
fn selects(selector: &serde_json::Value, labels: &serde_json::Value) -> bool {
    selector.as_object().is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn policy<'a>(policies: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    policies.iter().find(|p| p["metadata"]["name"] == name).unwrap_or_else(|| panic!("no NetworkPolicy {name}"))
}

/// Pod templates of the workloads in `docs`, as (kind/name, labels).
fn pod_labels(docs: &[serde_json::Value]) -> Vec<(String, serde_json::Value)> {
    docs.iter()
        .filter_map(|d| {
            let t = match d["kind"].as_str()? {
                "Deployment" | "StatefulSet" | "Job" => &d["spec"]["template"],
                "CronJob" => &d["spec"]["jobTemplate"]["spec"]["template"],
                _ => return None,
            };
            Some((format!("{}/{}", d["kind"].as_str()?, d["metadata"]["name"].as_str()?), t["metadata"]["labels"].clone()))
        })
        .collect()
}

fn peer_ports(app_policy: &serde_json::Value) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = app_policy["spec"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["from"].as_array().is_some_and(|f| f.iter().any(|x| x.get("podSelector").is_some() && x.get("namespaceSelector").is_none())))
        .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
        .map(|p| (p["protocol"].as_str().unwrap_or("").to_string(), p["port"].as_u64().unwrap_or(0)))
        .collect();
    out.sort();
    out
}

/// The NetworkPolicies, the disruption budget and the ServiceMonitor select
/// the pods that are actually deployed: our CronJob's always; the pods
/// mattermost-operator's own code builds when its source is given; the
/// chart's pods when the chart is given. Peer ports open only when clustered.
fn selectors_match_the_deployed_pods() {
    let (_d, out) = render_k8s(serde_json::json!({}));
    let policies = docs_in(&out, "network-policies.yaml");
    assert_eq!(policy(&policies, "default-deny")["spec"]["podSelector"], serde_json::json!({}));
    let backup = pod_labels(&docs_in(&out, "file-backup.yaml"));
    assert_eq!(backup.len(), 1);
    assert!(selects(&policy(&policies, "mattermost-file-backup")["spec"]["podSelector"]["matchLabels"], &backup[0].1), "{backup:?}");
    assert!(peer_ports(policy(&policies, "mattermost-app")).is_empty(), "one replica opens no peer ports");
    assert!(!out.join("pdb.yaml").exists());

    let (_d3, out3) = render_k8s(serde_json::json!({"replicas": 3}));
    let policies3 = docs_in(&out3, "network-policies.yaml");
    let app3 = policy(&policies3, "mattermost-app");
    assert_eq!(
        peer_ports(app3),
        vec![("TCP".to_string(), 8074), ("TCP".to_string(), 8075), ("UDP".to_string(), 8074)],
        "clustered: gossip TCP and UDP, and the cluster port, between the application pods"
    );
    let pdb = &docs_in(&out3, "pdb.yaml")[0];
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], app3["spec"]["podSelector"]["matchLabels"]);

    // The operator path, judged on what the operator builds.
    let o = Command::new("bash").arg(root().join("scripts/operator-deployment-build.sh")).arg("--print-path").output().expect("bash");
    let tool_path = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    if o.status.success() && tool_path.is_file() {
        let (_d4, out4) = render_k8s(serde_json::json!({"kubernetes": {"deployWith": "operator"}, "replicas": 3}));
        let built = Command::new(&tool_path).arg("--all").arg(out4.join("mattermost.yaml")).output().expect("the operator tool runs");
        assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
        let objects = yaml_docs(&String::from_utf8_lossy(&built.stdout));
        let pods = pod_labels(&objects);
        assert!(pods.len() >= 2, "the Deployment and the update Job: {pods:?}");
        let policies4 = docs_in(&out4, "network-policies.yaml");
        let sel = &policy(&policies4, "mattermost-app")["spec"]["podSelector"]["matchLabels"];
        for (what, labels) in &pods {
            assert!(selects(sel, labels), "the mattermost-app NetworkPolicy does not select the operator's {what} ({labels})");
        }
        let service = objects.iter().find(|d| d["kind"] == "Service").expect("the operator's Service");
        let monitor = &docs_in(&out4, "monitoring.yaml")[0];
        assert!(selects(&monitor["spec"]["selector"]["matchLabels"], &service["metadata"]["labels"]), "the ServiceMonitor does not select the operator's Service");
        let port = monitor["spec"]["endpoints"][0]["port"].as_str().unwrap();
        assert!(service["spec"]["ports"].as_array().unwrap().iter().any(|p| p["name"] == port), "the Service has no port named {port}");
    } else {
        skip_part("operator", "kubernetes_manifests/selectors", "mattermost-operator's source not given (SECURE_MATTERMOST_OPERATOR_SRC): the operator's pods are not matched");
    }

    // The chart path, judged on the chart's output.
    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from).filter(|c| c.join("Chart.yaml").exists());
    match (chart, tool("helm")) {
        (Some(chart), Some(helm)) => {
            let o = Command::new(&helm).args(["template", "mattermost"]).arg(&chart).arg("-f").arg(out3.join("values.yaml")).output().expect("helm runs");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let objects = yaml_docs(&String::from_utf8_lossy(&o.stdout));
            let pods: Vec<_> = pod_labels(&objects).into_iter().filter(|(w, _)| w.starts_with("Deployment/")).collect();
            assert!(!pods.is_empty());
            for (what, labels) in &pods {
                assert!(selects(&app3["spec"]["podSelector"]["matchLabels"], labels), "the NetworkPolicy does not select the chart's {what} ({labels})");
            }
            let service = objects.iter().find(|d| d["kind"] == "Service").expect("the chart's Service");
            let monitor = &docs_in(&out3, "monitoring.yaml")[0];
            assert!(selects(&monitor["spec"]["selector"]["matchLabels"], &service["metadata"]["labels"]), "the ServiceMonitor does not select the chart's Service");
            let port = monitor["spec"]["endpoints"][0]["port"].as_str().unwrap();
            assert!(service["spec"]["ports"].as_array().unwrap().iter().any(|p| p["name"] == port), "the chart's Service has no port named {port}");
        }
        _ => skip_part("helm", "kubernetes_manifests/selectors", "the chart is not given (SECURE_MATTERMOST_HELM_CHART): the chart's pods are not matched"),
    }
}

tests![
    operator_custom_resource_validates_against_the_crd_schema,
    values_render_through_the_official_chart,
    selectors_match_the_deployed_pods,
];
