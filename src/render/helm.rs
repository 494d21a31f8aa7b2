//! Kubernetes: values.yaml for the official `mattermost` Helm chart (2.7.x,
//! the chart without the operator: external PostgreSQL and S3, existing
//! Secrets). Settings travel as MM_* environment variables.

use serde_json::{json, Value};

use super::{env, yaml};
use crate::document::{Deployment, StorageDriver};

/// Set by the chart's own template; repeating them would duplicate env names.
const CHART_SETS: &[&str] = &[
    "ServiceSettings.SiteURL",
    "ServiceSettings.ListenAddress",
    "FileSettings.DriverName",
    "FileSettings.AmazonS3Bucket",
    "FileSettings.AmazonS3Region",
    "FileSettings.AmazonS3Endpoint",
    "FileSettings.AmazonS3SSL",
    "SqlSettings.DataSource",
];

pub fn image_tag(d: &Deployment) -> String {
    match &d.mattermost.image_digest {
        Some(digest) => format!("{}@{digest}", d.mattermost.version),
        None => d.mattermost.version.clone(),
    }
}

pub fn pod_security_context() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": 2000,
        "runAsGroup": 2000,
        "fsGroup": 2000,
        "seccompProfile": {"type": "RuntimeDefault"}
    })
}

pub fn container_security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": false,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]}
    })
}

pub fn resources() -> Value {
    json!({
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"}
    })
}

/// Where the SAML service-provider key Secret is mounted in the pod.
pub const SAML_KEY_DIR: &str = "/mattermost/saml";

/// Environment for the chart's Deployment. `skip` lists settings the
/// deployer (chart or operator) sets itself.
pub fn environment(d: &Deployment, config: &Value, skip: &[&str]) -> Vec<Value> {
    let mut envs = env::kubernetes_setting_env(config, skip);
    envs.extend(env::kubernetes_secret_env(d));
    if d.auth.provider == crate::document::Provider::Saml {
        envs.retain(|e| e["name"] != "MM_SAMLSETTINGS_PRIVATEKEYFILE");
        envs.push(json!({
            "name": "MM_SAMLSETTINGS_PRIVATEKEYFILE",
            "value": format!("{SAML_KEY_DIR}/{}", d.auth.saml.kubernetes_secret.key)
        }));
    }
    envs
}

/// Volumes the pod needs: the SAML key Secret, and for the `local`/`nfs`
/// drivers the existing claim holding the file store (a container's own
/// filesystem would lose uploads on every restart).
pub fn volumes(d: &Deployment) -> (Vec<Value>, Vec<Value>) {
    let (mut volumes, mut mounts) = (vec![], vec![]);
    if d.auth.provider == crate::document::Provider::Saml {
        let s = &d.auth.saml.kubernetes_secret;
        volumes.push(json!({"name": "saml-sp-key", "secret": {"secretName": s.name, "defaultMode": 0o400, "items": [{"key": s.key, "path": s.key}]}}));
        mounts.push(json!({"name": "saml-sp-key", "mountPath": SAML_KEY_DIR, "readOnly": true}));
    }
    (volumes, mounts)
}

fn file_store_volume(d: &Deployment) -> (Vec<Value>, Vec<Value>) {
    match d.file_storage.driver {
        StorageDriver::S3 => (vec![], vec![]),
        StorageDriver::Nfs | StorageDriver::Local => (
            vec![json!({"name": "mattermost-files", "persistentVolumeClaim": {"claimName": d.file_storage.volume_claim_name}})],
            vec![json!({"name": "mattermost-files", "mountPath": d.file_storage.directory})],
        ),
    }
}

fn environment_for_chart(d: &Deployment, config: &Value) -> Vec<Value> {
    let mut envs = environment(d, config, CHART_SETS);
    if d.license.edition != "team" {
        // The chart mounts the licence Secret at /mattermost/<key>.
        envs.push(json!({
            "name": "MM_SERVICESETTINGS_LICENSEFILELOCATION",
            "value": format!("/mattermost/{}", d.license.kubernetes_secret.key)
        }));
    }
    envs
}

pub fn render(d: &Deployment, config: &Value) -> String {
    let fs = &d.file_storage;
    let file_store = match fs.driver {
        StorageDriver::S3 => json!({
            "driver": "amazons3",
            "url": fs.s3.endpoint,
            "bucket": fs.s3.bucket,
            "region": fs.s3.region,
            "existingSecret": {
                "name": fs.s3.kubernetes_secret.name,
                "accessKeyIdKey": fs.s3.kubernetes_secret.access_key_id_key,
                "secretAccessKeyKey": fs.s3.kubernetes_secret.secret_access_key_key
            }
        }),
        StorageDriver::Nfs | StorageDriver::Local => json!({"driver": "local"}),
    };
    let mut global = json!({
        "siteUrl": format!("https://{}", d.domain),
        "features": {
            "database": {
                "driver": "postgres",
                "existingDatabaseSecret": {
                    "name": d.database.kubernetes_secret.name,
                    "key": d.database.kubernetes_secret.key
                }
            },
            "fileStore": file_store
        }
    });
    if d.license.edition != "team" {
        global["existingLicenseSecret"] = json!({
            "name": d.license.kubernetes_secret.name,
            "key": d.license.kubernetes_secret.key
        });
    }
    let ((mut extra_volumes, mut extra_mounts), (fv, fm)) = (volumes(d), file_store_volume(d));
    extra_volumes.extend(fv);
    extra_mounts.extend(fm);
    let values = json!({
        "global": global,
        "mattermostApp": {
            "replicaCount": d.replicas,
            "image": {
                "repository": d.mattermost.image,
                "tag": image_tag(d),
                "pullPolicy": "IfNotPresent"
            },
            "ingress": {
                "enabled": true,
                "ingressClassName": d.kubernetes.ingress_class_name,
                "hosts": [d.domain],
                "tls": [{"secretName": d.kubernetes.tls_secret_name, "hosts": [d.domain]}],
                // The chart itself adds ssl-redirect (and tls-acme) when tls is set.
                "annotations": {
                    "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                    "nginx.ingress.kubernetes.io/proxy-body-size": "100m"
                }
            },
            "securityContext": pod_security_context(),
            "resources": resources(),
            "extraEnv": environment_for_chart(d, config),
            "extraVolumes": extra_volumes,
            "extraVolumeMounts": extra_mounts
        }
    });
    let mut out = String::from(
        "# Rendered by secure-mattermost from the evaluated declaration; do not edit.\n\
         # Chart: mattermost (mattermost/mattermost-helm, 2.7.x). Secrets are references only.\n",
    );
    out.push_str(&yaml::to_yaml(&values));
    out
}
