//! Kubernetes: the `Mattermost` custom resource (installation.mattermost.com/v1beta1)
//! for sites that deploy through the Mattermost Operator instead of the chart.

use serde_json::{json, Value};

use crate::render::{helm, yaml};

/// Set by the operator from the CR's own fields (site URL, listener, licence
/// path, database and file store): repeating them would override its values.
const OPERATOR_SETS: &[&str] = &[
    "ServiceSettings.SiteURL",
    "ServiceSettings.ListenAddress",
    "ServiceSettings.LicenseFileLocation",
    "SqlSettings.DataSource",
    "FileSettings.DriverName",
    "FileSettings.AmazonS3Bucket",
    "FileSettings.AmazonS3Endpoint",
    "FileSettings.AmazonS3SSL",
    "FileSettings.Directory",
];
use crate::document::{Deployment, StorageDriver};

/// The `Mattermost` resource as JSON.
pub fn resource(d: &Deployment, config: &Value) -> Value {
    let mut spec = json!({
        "image": super::registry_repository(d, &d.mattermost.image),
        "version": helm::image_tag(d),
        "replicas": d.replicas,
        "ingress": {
            "enabled": true,
            "host": d.domain,
            "ingressClass": d.kubernetes.ingress_class_name,
            "tlsSecret": d.kubernetes.tls_secret_name
        },
        // The operator's readiness init container carries no securityContext
        // (it would fail restricted); the server's own start-up checks the database.
        "database": {"external": {"secret": d.database.kubernetes_secret.name}, "disableReadinessCheck": true},
        // The update Job copies the pod spec but not its labels: give it one
        // the NetworkPolicies select.
        "updateJob": {"extraLabels": {"installation.mattermost.com/installation": super::INSTALLATION}},
        "mattermostEnv": helm::environment(d, config, OPERATOR_SETS),
        "podTemplate": {
            "securityContext": helm::pod_security_context(d),
            "containerSecurityContext": helm::container_security_context()
        },
        "scheduling": {"resources": helm::resources()}
    });
    match d.file_storage.driver {
        StorageDriver::S3 => {
            spec["fileStore"] = json!({"external": {
                "url": crate::effective::s3_endpoint(d),
                "bucket": d.file_storage.s3.bucket,
                "secret": d.file_storage.s3.kubernetes_secret.name
            }});
        }
        StorageDriver::Nfs | StorageDriver::Local => {
            // The operator mounts the claim and points Mattermost at it itself.
            spec["fileStore"] = json!({"externalVolume": {"volumeClaimName": d.file_storage.volume_claim_name}});
        }
    }
    if d.license.edition != "team" {
        spec["licenseSecret"] = json!(d.license.kubernetes_secret.name);
    }
    let (volumes, mounts) = helm::volumes(d);
    if !volumes.is_empty() {
        spec["volumes"] = json!(volumes);
        spec["volumeMounts"] = json!(mounts);
    }
    if d.replicas > 1 {
        spec["scheduling"]["affinity"] = super::pdb::anti_affinity(d);
    }
    json!({
        "apiVersion": "installation.mattermost.com/v1beta1",
        "kind": "Mattermost",
        "metadata": {
            "name": "mattermost",
            "namespace": d.kubernetes.namespace,
            "labels": {"app.kubernetes.io/managed-by": "secure-mattermost"}
        },
        "spec": spec
    })
}

pub fn render(d: &Deployment, config: &Value) -> String {
    let cr = resource(d, config);
    let mut out = String::from(
        "# Rendered by secure-mattermost. The database Secret must hold DB_CONNECTION_STRING;\n\
         # the file-store Secret must hold accesskey and secretkey (operator conventions).\n",
    );
    out.push_str(&yaml::to_yaml(&cr));
    out
}
