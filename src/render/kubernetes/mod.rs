//! Kubernetes: the chart values, the operator resource and the
//! per-environment objects around them, one module per artifact. Names,
//! labels and selectors shared between artifacts are decided here once.

pub mod backup;
pub mod certificates;
pub mod external_secrets;
pub mod helm;
pub mod manifests;
pub mod minio;
pub mod monitoring;
pub mod namespace;
pub mod network_policy;
pub mod operator;
pub mod pdb;
pub mod post_render;
pub mod postgresql;

use serde_json::{json, Map, Value};

use crate::document::{DeployWith, Deployment};
use crate::render::yaml;

/// The Helm release name the chart is installed under (`helm install
/// mattermost …`); the chart names its objects after it.
pub const RELEASE: &str = "mattermost";
/// The `Mattermost` resource's name on the operator path.
pub const INSTALLATION: &str = "mattermost";

/// Ports of the application pods.
pub const APP_PORT: u16 = 8065;
pub const METRICS_PORT: u16 = 8067;
pub const GOSSIP_PORT: u16 = 8074;
pub const CLUSTER_PORT: u16 = 8075;
pub const POSTGRES_PORT: u16 = 5432;
/// The MinIO tenant's S3 port (TLS) and its pods' container port.
pub const MINIO_SERVICE_PORT: u16 = 443;
pub const MINIO_POD_PORT: u16 = 9000;

/// Labels every object we render carries.
pub fn common_labels() -> Value {
    json!({"app.kubernetes.io/part-of": "mattermost", "app.kubernetes.io/managed-by": "secure-mattermost"})
}

/// Labels that select the Mattermost application pods, as the chosen
/// deployer puts them on the pods (the chart's selector labels, or the
/// operator's).
pub fn app_selector(d: &Deployment) -> Value {
    match d.kubernetes.deploy_with {
        DeployWith::Helm => json!({
            "app.kubernetes.io/name": "mattermost",
            "app.kubernetes.io/instance": RELEASE,
            "app.kubernetes.io/component": "server"
        }),
        // Only the installation label: the operator's update Job carries it
        // too (through `updateJob.extraLabels`), but `app: mattermost-update-check`.
        DeployWith::Operator => json!({"installation.mattermost.com/installation": INSTALLATION}),
    }
}

/// Labels postgres-operator puts on the cluster's pods.
pub fn postgres_selector(d: &Deployment) -> Value {
    json!({"application": "spilo", "cluster-name": d.database.host})
}

/// Labels the MinIO operator puts on a tenant's pods.
pub fn minio_selector(d: &Deployment) -> Value {
    json!({"v1.min.io/tenant": d.kubernetes.minio.tenant_name})
}

/// Labels of the file-store backup job's pods.
pub fn backup_selector() -> Value {
    json!({"app.kubernetes.io/name": "mattermost-file-backup"})
}

pub fn metadata(d: &Deployment, name: &str) -> Value {
    json!({"name": name, "namespace": d.kubernetes.namespace, "labels": common_labels()})
}

/// An image reference for a deployable manifest: the repository under the
/// internal registry (when one is declared and the repository names no
/// registry of its own), the tag, and the digest when pinned.
pub fn image_ref(d: &Deployment, repository: &str, tag: Option<&str>, digest: Option<&str>) -> String {
    let mut out = registry_repository(d, repository);
    if let Some(t) = tag {
        out.push(':');
        out.push_str(t);
    }
    if let Some(dg) = digest {
        out.push('@');
        out.push_str(dg);
    }
    out
}

/// `repository` as pulled from `kubernetes.imageRegistry`, the site's mirror:
/// a repository that names no registry host (a first component with '.' or
/// ':', or `localhost`, as the distribution reference grammar reads it) gets
/// the mirror's host in front; one that names an outside registry
/// (`quay.io/…`) has that host replaced by the mirror's; one already inside
/// the site is kept.
pub fn registry_repository(d: &Deployment, repository: &str) -> String {
    let Some(reg) = &d.kubernetes.image_registry else { return repository.to_string() };
    match image_registry_host(repository) {
        None => format!("{reg}/{repository}"),
        Some(host) if manifests::internal_host(d, host) => repository.to_string(),
        Some(host) => format!("{reg}/{}", &repository[host.len() + 1..]),
    }
}

/// The registry host of an image reference, if it names one.
pub fn image_registry_host(image: &str) -> Option<&str> {
    let (first, rest) = image.split_once('/')?;
    (!rest.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost")).then_some(first)
}

/// The restricted container securityContext every container we render or
/// patch gets.
pub fn restricted_container_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "privileged": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}
    })
}

/// Several objects as one multi-document YAML file.
pub fn documents(header: &str, objects: &[Value]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml::to_yaml(o));
    }
    out
}

/// A JSON object from pairs whose keys are computed.
pub fn object(pairs: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::Object(pairs.into_iter().collect::<Map<String, Value>>())
}
