//! `minio-tenant.yaml`: a MinIO operator `Tenant` for the file store: TLS
//! from the internal CA (the operator's own self-signed certificate off),
//! server-side encryption through KES (its configuration Secret comes from
//! the site), the bucket Mattermost uses and the backup bucket, restricted
//! pod and container security contexts, and sized volumes.

use serde_json::{json, Value};

use super::*;
use crate::document::Deployment;

/// The tenant's S3 Service inside the cluster (the operator names it
/// `minio`; TLS on 443).
pub fn service_host(d: &Deployment) -> String {
    format!("minio.{}.svc.cluster.local:{MINIO_SERVICE_PORT}", d.kubernetes.namespace)
}

/// The pod security context of the pods we ask operators for.
pub fn restricted_pod_context(uid: u32) -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"}
    })
}

/// Secret with the tenant's root credentials (`config.env`), provided by the site.
pub fn configuration_secret(d: &Deployment) -> String {
    format!("{}-configuration", d.kubernetes.minio.tenant_name)
}

pub fn object(d: &Deployment) -> Value {
    let m = &d.kubernetes.minio;
    let mut claim = json!({
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": m.volume_size}}}
    });
    if let Some(sc) = &d.kubernetes.storage_class_name {
        claim["spec"]["storageClassName"] = json!(sc);
    }
    let mut spec = json!({
        "pools": [{
            "name": "pool-0",
            "servers": m.servers,
            "volumesPerServer": 1,
            "volumeClaimTemplate": claim,
            "securityContext": restricted_pod_context(1000),
            "containerSecurityContext": restricted_container_context(),
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}}
        }],
        "requestAutoCert": false,
        // MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, from the site (a reference only).
        "configuration": {"name": configuration_secret(d)},
        "externalCertSecret": [{"name": certificates::minio_tls_secret(d), "type": "cert-manager.io/v1"}],
        "kes": {
            "kesSecret": {"name": m.kes_secret_name},
            "keyName": "mattermost-files",
            "securityContext": restricted_pod_context(1000),
            "containerSecurityContext": restricted_container_context()
        },
        "buckets": [
            {"name": d.file_storage.s3.bucket, "region": d.file_storage.s3.region},
            {"name": d.kubernetes.backups.bucket, "region": d.file_storage.s3.region}
        ],
        "features": {"bucketDNS": false},
        "exposeServices": {"minio": false, "console": false}
    });
    if let Some(digest) = &m.image_digest {
        spec["image"] = json!(image_ref(d, &m.image, None, Some(digest)));
    }
    json!({
        "apiVersion": "minio.min.io/v2",
        "kind": "Tenant",
        "metadata": metadata(d, &m.tenant_name),
        "spec": spec
    })
}

/// Where the application pod finds the internal CA that signed the tenant's
/// certificate; Go reads every file in each `SSL_CERT_DIR` directory.
pub const CA_DIR: &str = "/mattermost/internal-ca";

/// The environment, volume and mount that make the application trust the
/// tenant's certificate besides the system roots.
pub fn app_ca(d: &Deployment) -> (Value, Value, Value) {
    (
        json!({"name": "SSL_CERT_DIR", "value": format!("/etc/ssl/certs:{CA_DIR}")}),
        json!({"name": "internal-ca", "secret": {"secretName": certificates::minio_tls_secret(d), "items": [{"key": "ca.crt", "path": "ca.crt"}], "defaultMode": 0o444}}),
        json!({"name": "internal-ca", "mountPath": CA_DIR, "readOnly": true}),
    )
}
