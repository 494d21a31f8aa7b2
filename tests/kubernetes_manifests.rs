//! Kubernetes artifacts against real tools: the operator custom resource
//! through kubeconform with the Mattermost CRD schema (../shared/schemas),
//! and values.yaml through `helm template` with the official chart when a
//! copy of it is given (SECURE_MATTERMOST_HELM_CHART; it is someone else's
//! code, so the repository does not carry it).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tool(name: &str) -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin").join(name));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .find(|p| p.is_file())
}

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
        .args(["template", "chat"])
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
        "name: mattermost-database",
        "key: DB_CONNECTION_STRING",
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
    let o = Command::new(&helm).args(["template", "chat"]).arg(&chart).arg("-f").arg(out.join("values.yaml")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest = String::from_utf8_lossy(&o.stdout);
    for needle in ["claimName: mattermost-files", "mountPath: /var/lib/mattermost/data", "secretName: mattermost-saml", "value: /mattermost/saml/sp.key"] {
        assert!(manifest.contains(needle), "{needle:?} missing:\n{manifest}");
    }
}

tests![
    operator_custom_resource_validates_against_the_crd_schema,
    values_render_through_the_official_chart,
];
