//! `certificates.yaml`: cert-manager issuers and certificates. The database
//! and object-store certificates always come from the site's internal CA
//! (an ACME server cannot vouch for cluster-internal names); the ingress
//! certificate comes from the internal CA by default, from ACME only when
//! `kubernetes.certificates.issuer = "acme"` (the air-gap rule then judges
//! the ACME server).

use serde_json::{json, Value};

use super::*;
use crate::document::{Deployment, Issuer};

pub const INTERNAL_ISSUER: &str = "mattermost-internal-ca";
pub const ACME_ISSUER: &str = "mattermost-acme";

/// Secret holding the database's server certificate (and `ca.crt`).
pub fn database_tls_secret(d: &Deployment) -> String {
    format!("{}-tls", d.database.host)
}

/// Secret holding the MinIO tenant's server certificate (and `ca.crt`).
pub fn minio_tls_secret(d: &Deployment) -> String {
    format!("{}-tls", d.kubernetes.minio.tenant_name)
}

fn certificate(d: &Deployment, name: &str, secret: &str, issuer: &str, dns_names: Vec<String>, usages: &[&str]) -> Value {
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": metadata(d, name),
        "spec": {
            "secretName": secret,
            "issuerRef": {"name": issuer, "kind": "Issuer", "group": "cert-manager.io"},
            "dnsNames": dns_names,
            "duration": "2160h",
            "renewBefore": "360h",
            "privateKey": {"algorithm": "ECDSA", "size": 384, "rotationPolicy": "Always"},
            "usages": usages
        }
    })
}

fn service_names(name: &str, ns: &str) -> Vec<String> {
    vec![name.to_string(), format!("{name}.{ns}"), format!("{name}.{ns}.svc"), format!("{name}.{ns}.svc.cluster.local")]
}

pub fn objects(d: &Deployment) -> Vec<Value> {
    let ns = &d.kubernetes.namespace;
    let c = &d.kubernetes.certificates;
    let mut out = vec![json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": metadata(d, INTERNAL_ISSUER),
        "spec": {"ca": {"secretName": c.ca_secret_name}}
    })];
    let ingress_issuer = match c.issuer {
        Issuer::InternalCA => INTERNAL_ISSUER,
        Issuer::Acme => {
            let mut acme = json!({
                "server": c.acme_server,
                "privateKeySecretRef": {"name": format!("{ACME_ISSUER}-account")},
                "solvers": [{"http01": {"ingress": {"ingressClassName": d.kubernetes.ingress_class_name}}}]
            });
            if let Some(e) = &c.acme_email {
                acme["email"] = json!(e);
            }
            out.push(json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": metadata(d, ACME_ISSUER), "spec": {"acme": acme}}));
            ACME_ISSUER
        }
    };
    out.push(certificate(d, "mattermost-ingress", &d.kubernetes.tls_secret_name, ingress_issuer, vec![d.domain.clone()], &["server auth", "digital signature"]));
    if d.kubernetes.postgresql.enable {
        out.push(certificate(d, "mattermost-database", &database_tls_secret(d), INTERNAL_ISSUER, service_names(&d.database.host, ns), &["server auth", "digital signature"]));
    }
    if d.kubernetes.minio.enable {
        let mut names = service_names("minio", ns);
        names.push(format!("*.{}-hl.{ns}.svc.cluster.local", d.kubernetes.minio.tenant_name));
        out.push(certificate(d, "mattermost-files", &minio_tls_secret(d), INTERNAL_ISSUER, names, &["server auth", "digital signature"]));
    }
    out
}
