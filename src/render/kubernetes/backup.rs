//! `file-backup.yaml`: a CronJob that copies the file store into the backup
//! bucket with the MinIO client: the backup bucket is versioned, the copy
//! mirrors deletions (so a deleted or overwritten upload stays as a
//! non-current version), and non-current versions older than the retention
//! are pruned. The database is backed up by postgres-operator itself (WAL-G
//! base backups and WAL to the same bucket, postgresql.rs). The pod runs
//! restricted: non-root, read-only root filesystem, no capabilities, no
//! service-account token; the client's configuration directory is an
//! emptyDir. Credentials come from the file store's Secret as environment
//! variables that Kubernetes expands into the client's alias.

use serde_json::{json, Value};

use super::*;
use crate::document::Deployment;

fn step(d: &Deployment, name: &str, args: Vec<String>) -> Value {
    let k = &d.kubernetes;
    let s3 = &d.file_storage.s3.kubernetes_secret;
    let endpoint = crate::effective::s3_endpoint(d).unwrap_or_default();
    json!({
        "name": name,
        "image": image_ref(d, &k.backups.image, None, k.backups.image_digest.as_deref()),
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [
            {"name": "ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": s3.name, "key": s3.access_key_id_key}}},
            {"name": "SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": s3.name, "key": s3.secret_access_key_key}}},
            // MinIO generates access keys from URL-safe characters; a site
            // that sets its own must keep to them.
            {"name": "MC_HOST_files", "value": format!("https://$(ACCESS_KEY):$(SECRET_KEY)@{endpoint}")},
            {"name": "MC_CONFIG_DIR", "value": "/tmp/mc"},
            {"name": "SSL_CERT_DIR", "value": "/etc/ssl/certs:/etc/mattermost-ca"}
        ],
        "securityContext": restricted_container_context(),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "ca", "mountPath": "/etc/mattermost-ca", "readOnly": true}
        ]
    })
}

pub fn object(d: &Deployment) -> Value {
    let k = &d.kubernetes;
    let (bucket, backup) = (&d.file_storage.s3.bucket, &k.backups.bucket);
    let target = format!("files/{backup}/files");
    let mut labels = common_labels();
    for (key, v) in backup_selector().as_object().into_iter().flatten() {
        labels[key] = v.clone();
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(d, "mattermost-file-backup"),
        "spec": {
            "schedule": k.backups.schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 21600,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": false,
                        "securityContext": minio::restricted_pod_context(65532),
                        "initContainers": [
                            step(d, "enable-versioning", vec!["version".into(), "enable".into(), format!("files/{backup}")]),
                            step(d, "mirror", vec!["mirror".into(), "--overwrite".into(), "--remove".into(), format!("files/{bucket}"), target.clone()]),
                        ],
                        "containers": [step(d, "prune", vec![
                            "rm".into(), "--recursive".into(), "--force".into(), "--versions".into(), "--non-current".into(),
                            format!("--older-than={}d", k.backups.retention_days), target
                        ])],
                        "volumes": [
                            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                            {"name": "ca", "secret": {"secretName": certificates::minio_tls_secret(d), "items": [{"key": "ca.crt", "path": "ca.crt"}], "defaultMode": 0o444}}
                        ]
                    }
                }
            }}
        }
    })
}
