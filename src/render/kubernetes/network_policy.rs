//! `network-policies.yaml`: default deny in the namespace, then exactly the
//! paths the deployment needs: the ingress controller to the application,
//! the application to its database and object store (and, clustered, to its
//! peers), Prometheus to the metrics port, DNS, the operators' own traffic
//! between database and object-store pods, and egress to the services the
//! declaration names (IdP, LDAP, SMTP, push proxy, external object store).

use serde_json::{json, Value};

use super::*;
use crate::document::{Deployment, Provider, StorageDriver};

fn policy(d: &Deployment, name: &str, selector: Value, types: &[&str], ingress: Option<Value>, egress: Option<Value>) -> Value {
    let mut spec = json!({"podSelector": {"matchLabels": selector}, "policyTypes": types});
    if let Some(i) = ingress {
        spec["ingress"] = i;
    }
    if let Some(e) = egress {
        spec["egress"] = e;
    }
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(d, name), "spec": spec})
}

fn tcp(port: u16) -> Value {
    json!({"protocol": "TCP", "port": port})
}

fn from_namespace(ns: &str) -> Value {
    json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}})
}

fn pods(selector: Value) -> Value {
    json!({"podSelector": {"matchLabels": selector}})
}

/// Destinations outside the namespace the application must reach, by the
/// port the declaration names. Hosts are names, which NetworkPolicy cannot
/// express: they are allowed on their port to any address outside the
/// cluster's pod network, and the air-gap rule judges the hosts themselves.
pub fn external_ports(d: &Deployment) -> Vec<(String, u16)> {
    let mut out = vec![];
    match d.auth.provider {
        Provider::Oidc | Provider::Gitlab | Provider::Saml => out.push(("identity provider (HTTPS)".into(), 443)),
        Provider::Ldap => out.push(("LDAP".into(), d.auth.ldap.port)),
        _ => {}
    }
    if d.auth.provider != Provider::Ldap && d.auth.ldap.server.is_some() {
        out.push(("LDAP".into(), d.auth.ldap.port));
    }
    if d.smtp.server.is_some() {
        out.push(("SMTP".into(), d.smtp.port));
    }
    if d.push_notifications.server.is_some() {
        out.push(("push proxy (HTTPS)".into(), 443));
    }
    if d.file_storage.driver == StorageDriver::S3 && !d.kubernetes.minio.enable {
        let port = crate::effective::s3_endpoint(d)
            .and_then(|e| e.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
            .unwrap_or(443);
        out.push(("object store".into(), port));
    }
    if !d.kubernetes.postgresql.enable {
        out.push(("database".into(), d.database.port));
    }
    out.sort_by_key(|(_, p)| *p);
    out.dedup_by_key(|(_, p)| *p);
    out
}

/// The address range a named external service may sit in: anywhere but the
/// link-local metadata range.
fn outside() -> Value {
    json!({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}})
}

fn dns() -> Value {
    json!({
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    })
}

pub fn objects(d: &Deployment) -> Vec<Value> {
    let app = app_selector(d);
    let clustered = d.replicas > 1;
    let mut out = vec![json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(d, "default-deny"),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    })];

    // Application pods.
    let mut ingress = vec![
        json!({"from": [from_namespace(&d.kubernetes.ingress_namespace)], "ports": [tcp(APP_PORT)]}),
        json!({"from": [from_namespace(&d.kubernetes.monitoring_namespace)], "ports": [tcp(METRICS_PORT)]}),
    ];
    let mut egress = vec![dns()];
    if d.kubernetes.postgresql.enable {
        egress.push(json!({"to": [pods(postgres_selector(d))], "ports": [tcp(POSTGRES_PORT)]}));
    }
    if d.file_storage.driver == StorageDriver::S3 && d.kubernetes.minio.enable {
        egress.push(json!({"to": [pods(minio_selector(d))], "ports": [tcp(MINIO_POD_PORT)]}));
    }
    if clustered {
        let peers = json!([{"protocol": "TCP", "port": GOSSIP_PORT}, {"protocol": "UDP", "port": GOSSIP_PORT}, tcp(CLUSTER_PORT)]);
        ingress.push(json!({"from": [pods(app.clone())], "ports": peers}));
        egress.push(json!({"to": [pods(app.clone())], "ports": peers}));
    }
    let ext = external_ports(d);
    if !ext.is_empty() {
        egress.push(json!({"to": [outside()], "ports": ext.iter().map(|(_, p)| tcp(*p)).collect::<Vec<_>>()}));
    }
    out.push(policy(d, "mattermost-app", app.clone(), &["Ingress", "Egress"], Some(json!(ingress)), Some(json!(egress))));

    if d.kubernetes.postgresql.enable {
        let db = postgres_selector(d);
        out.push(policy(
            d,
            "mattermost-database",
            db.clone(),
            &["Ingress", "Egress"],
            Some(json!([
                {"from": [pods(app.clone())], "ports": [tcp(POSTGRES_PORT)]},
                // Replication and Patroni's REST API between the cluster's own pods.
                {"from": [pods(db.clone())], "ports": [tcp(POSTGRES_PORT), tcp(8008)]},
                {"from": [from_namespace(&d.kubernetes.monitoring_namespace)], "ports": [tcp(9187)]}
            ])),
            Some(json!([
                dns(),
                {"to": [pods(db.clone())], "ports": [tcp(POSTGRES_PORT), tcp(8008)]},
                // Base backups and WAL to the tenant's backup bucket; Patroni's
                // leader election through the API server.
                {"to": [pods(minio_selector(d))], "ports": [tcp(MINIO_POD_PORT)]},
                {"to": [outside()], "ports": [tcp(443), tcp(6443)]}
            ])),
        ));
    }
    if d.kubernetes.minio.enable {
        let m = minio_selector(d);
        let mut from = vec![pods(app.clone()), pods(backup_selector()), pods(m.clone())];
        if d.kubernetes.postgresql.enable {
            from.push(pods(postgres_selector(d)));
        }
        out.push(policy(
            d,
            "mattermost-files",
            m.clone(),
            &["Ingress", "Egress"],
            Some(json!([
                {"from": from, "ports": [tcp(MINIO_POD_PORT)]},
                {"from": [from_namespace(&d.kubernetes.monitoring_namespace)], "ports": [tcp(MINIO_POD_PORT)]}
            ])),
            Some(json!([dns(), {"to": [pods(m.clone())], "ports": [tcp(MINIO_POD_PORT)]}, {"to": [outside()], "ports": [tcp(7373)]}])),
        ));
        out.push(policy(
            d,
            "mattermost-file-backup",
            backup_selector(),
            &["Ingress", "Egress"],
            Some(json!([])),
            Some(json!([dns(), {"to": [pods(m)], "ports": [tcp(MINIO_POD_PORT)]}])),
        ));
    }
    out
}
