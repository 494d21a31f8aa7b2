//! `external-secrets.yaml` (only with `secrets.backend = "vault"`): a
//! `SecretStore` for Vault (KV version 2, Kubernetes auth with the
//! namespace's service account) and one `ExternalSecret` per Kubernetes
//! Secret the deployment references, so the same Secret names work on both
//! deployment paths. Each key is read from `<mount>/<path>/<secret name>`,
//! property `<key>`. Only references are rendered.

use serde_json::{json, Value};

use super::*;
use crate::document::{Deployment, StorageDriver};

pub const STORE: &str = "mattermost-vault";

/// Every (Secret, keys) the rendered objects read that the site provides
/// (not those postgres-operator or cert-manager write), in the order the
/// declaration names them.
pub fn referenced(d: &Deployment) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |name: &str, key: &str| {
        let i = match out.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                out.push((name.to_string(), vec![]));
                out.len() - 1
            }
        };
        if !out[i].1.iter().any(|k| k == key) {
            out[i].1.push(key.to_string());
        }
    };
    let decl = serde_json::to_value(d).unwrap_or(Value::Null);
    for src in crate::options::secret_sources(&decl, "secretRef") {
        if let (Some(n), Some(k)) = (src.value["name"].as_str(), src.value["key"].as_str()) {
            add(n, k);
        }
    }
    for s in d.secret_settings.values().filter_map(|s| s.kubernetes_secret.as_ref()) {
        add(&s.name, &s.key);
    }
    if !d.kubernetes.postgresql.enable {
        add(&d.database.kubernetes_secret.name, &d.database.kubernetes_secret.key);
    }
    if d.file_storage.driver == StorageDriver::S3 {
        let s = &d.file_storage.s3.kubernetes_secret;
        add(&s.name, &s.access_key_id_key);
        add(&s.name, &s.secret_access_key_key);
    }
    if d.license.edition != "team" {
        add(&d.license.kubernetes_secret.name, &d.license.kubernetes_secret.key);
    }
    out
}

pub fn objects(d: &Deployment) -> Vec<Value> {
    let v = &d.secrets.vault;
    let mut provider = json!({
        "server": v.server,
        "path": v.mount,
        "version": "v2",
        "auth": {"kubernetes": {"mountPath": v.auth_mount_path, "role": v.role, "serviceAccountRef": {"name": "default"}}}
    });
    if let Some(ca) = &v.ca_secret_name {
        provider["caProvider"] = json!({"type": "Secret", "name": ca, "key": "ca.crt"});
    }
    let mut out = vec![json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": metadata(d, STORE),
        "spec": {"provider": {"vault": provider}}
    })];
    for (name, keys) in referenced(d) {
        let remote = format!("{}/{name}", v.path);
        out.push(json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": metadata(d, &name),
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": STORE, "kind": "SecretStore"},
                "target": {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "data": keys.iter().map(|k| json!({"secretKey": k, "remoteRef": {"key": remote, "property": k}})).collect::<Vec<_>>()
            }
        }));
    }
    out
}
