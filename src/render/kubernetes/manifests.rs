//! The per-environment objects as a whole: which artifacts the declaration
//! renders, and the facts the cluster-side catalog rules judge (under
//! `manifests.` in the rule view): every external reference (URL, host or
//! image outside the site), unpinned images, the namespace's Pod Security
//! level, default deny, ingress TLS. Judged on the objects themselves, so a
//! rule cannot pass on a manifest that says otherwise.

use serde_json::{json, Value};

use super::*;
use crate::document::{DeployWith, Deployment, StorageDriver};

/// (file name, objects) of every per-environment artifact beside the chart
/// values and the operator resource.
pub fn artifacts(d: &Deployment) -> Vec<(&'static str, Vec<Value>)> {
    let k = &d.kubernetes;
    let mut out = vec![
        ("namespace.yaml", vec![namespace::object(d)]),
        ("certificates.yaml", certificates::objects(d)),
    ];
    if k.network_policies {
        out.insert(1, ("network-policies.yaml", network_policy::objects(d)));
    }
    if k.postgresql.enable {
        out.push(("postgresql.yaml", vec![postgresql::object(d)]));
    }
    if k.minio.enable {
        out.push(("minio-tenant.yaml", vec![minio::object(d)]));
    }
    if d.file_storage.driver == StorageDriver::S3 {
        out.push(("file-backup.yaml", vec![backup::object(d)]));
    }
    out.push(("monitoring.yaml", monitoring::objects(d)));
    if d.replicas > 1 {
        out.push(("pdb.yaml", vec![pdb::object(d)]));
    }
    if d.secrets.backend == crate::document::Backend::Vault {
        out.push(("external-secrets.yaml", external_secrets::objects(d)));
    }
    out
}

/// The comment heading each artifact.
pub fn header(file: &str) -> String {
    let what = match file {
        "namespace.yaml" => "The release namespace; Pod Security restricted (enforce, audit, warn).",
        "network-policies.yaml" => "Default deny, then only the paths the deployment needs.",
        "certificates.yaml" => "cert-manager issuers and certificates (internal CA unless ACME is chosen).",
        "postgresql.yaml" => "postgres-operator cluster: TLS, scram over hostssl only, WAL-G backups; the role's password lives in the operator's Secret.",
        "minio-tenant.yaml" => "MinIO tenant: TLS from the internal CA, server-side encryption through KES, file and backup buckets.",
        "file-backup.yaml" => "File-store copy into the versioned backup bucket, with retention.",
        "monitoring.yaml" => "Metrics scraping and alert rules.",
        "pdb.yaml" => "Disruption budget of the clustered application.",
        "external-secrets.yaml" => "Secrets synchronised from Vault by External Secrets (references only).",
        _ => "",
    };
    format!("Rendered by secure-mattermost from the evaluated declaration; do not edit.\n{what}")
}

/// Is `host` inside the site: a cluster Service name, a private address, the
/// site's own domain, or a name under `airGap.internalDomains`?
pub fn internal_host(d: &Deployment, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') && p.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => host,
    };
    let under = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    if !host.contains('.') || under("svc") || under("cluster.local") || under(&d.domain) {
        return true;
    }
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        return match ip {
            std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
            std::net::IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        };
    }
    d.air_gap.internal_domains.iter().any(|s| under(&s.to_ascii_lowercase()))
}

/// The host of an image reference: its registry, or Docker Hub's when it
/// names none.
fn image_host(image: &str) -> &str {
    image_registry_host(image).unwrap_or("docker.io")
}

/// The host of every `scheme://host…` inside a string.
fn url_hosts(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let end = after.find(|c: char| "/?#\" ,;".contains(c)).unwrap_or(after.len());
        let authority = &after[..end];
        let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
        if !host.is_empty() {
            out.push(host.to_string());
        }
        rest = &after[end..];
    }
    out
}

fn walk<'a>(v: &'a Value, key: &str, f: &mut impl FnMut(&str, &'a str)) {
    match v {
        Value::String(s) => f(key, s),
        Value::Array(xs) => xs.iter().for_each(|x| walk(x, key, f)),
        Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, k, f)),
        _ => {}
    }
}

fn what(file: &str, o: &Value) -> String {
    match (o["kind"].as_str(), o["metadata"]["name"].as_str()) {
        (Some(k), Some(n)) => format!("{file} {k}/{n}"),
        _ => format!("{file} (chart values)"),
    }
}

/// Every deployable object with its file: the per-environment artifacts,
/// the chosen deployer's object (the `Mattermost` resource), and values.yaml
/// read as the chart's input.
fn everything(d: &Deployment, config: &Value) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = artifacts(d).into_iter().flat_map(|(f, os)| os.into_iter().map(move |o| (f.to_string(), o))).collect();
    match d.kubernetes.deploy_with {
        DeployWith::Operator => all.push(("mattermost.yaml".into(), operator::resource(d, config))),
        DeployWith::Helm => {
            if let Ok(v) = helm::values(d, config) {
                all.push(("values.yaml".into(), v));
            }
        }
    }
    all
}

/// Images each object pulls, by where they sit in its kind.
fn images(file: &str, o: &Value) -> Vec<String> {
    let mut out = vec![];
    match (file, o["kind"].as_str()) {
        ("values.yaml", _) => {
            let i = &o["mattermostApp"]["image"];
            if let (Some(r), Some(t)) = (i["repository"].as_str(), i["tag"].as_str()) {
                out.push(format!("{r}:{t}"));
            }
        }
        (_, Some("Mattermost")) => {
            if let (Some(r), Some(t)) = (o["spec"]["image"].as_str(), o["spec"]["version"].as_str()) {
                out.push(format!("{r}:{t}"));
            }
        }
        _ => walk(o, "", &mut |k, s| {
            if k == "image" || k == "dockerImage" {
                out.push(s.to_string());
            }
        }),
    }
    out
}

/// Images an operator pulls by its own default because the declaration pins
/// none (named, since no manifest shows them).
fn operator_defaults(d: &Deployment) -> Vec<String> {
    let k = &d.kubernetes;
    let mut out = vec![];
    if k.postgresql.enable && k.postgresql.image_digest.is_none() {
        out.push("postgresql.yaml postgresql: the operator's default Spilo image (kubernetes.postgresql.imageDigest unset)".to_string());
    }
    if k.minio.enable && k.minio.image_digest.is_none() {
        out.push("minio-tenant.yaml Tenant: the operator's default MinIO image (kubernetes.minio.imageDigest unset)".to_string());
    }
    out
}

/// The facts the cluster-side rules read, as `manifests.*` in the rule view.
/// Null outside Kubernetes mode.
pub fn facts(d: &Deployment, config: &Value) -> Value {
    if d.mode != crate::document::Mode::Kubernetes {
        return Value::Null;
    }
    let all = everything(d, config);
    let mut external = vec![];
    let mut unpinned = operator_defaults(d);
    for (file, o) in &all {
        for image in images(file, o) {
            if !internal_host(d, image_host(&image)) {
                external.push(format!("{}: image {image}", what(file, o)));
            }
            if !image.contains("@sha256:") {
                unpinned.push(format!("{}: image {image}", what(file, o)));
            }
        }
        walk(o, "", &mut |_, s| {
            for h in url_hosts(s) {
                if !internal_host(d, &h) {
                    external.push(format!("{}: {h}", what(file, o)));
                }
            }
        });
    }
    if let Some(e) = crate::effective::s3_endpoint(d).filter(|_| d.file_storage.driver == StorageDriver::S3) {
        if !internal_host(d, &e) {
            external.push(format!("fileStorage.s3.endpoint: {e}"));
        }
    }
    external.sort();
    external.dedup();
    unpinned.sort();
    unpinned.dedup();
    let ns = namespace::object(d);
    let deny = all.iter().filter(|(f, _)| f == "network-policies.yaml").any(|(_, p)| {
        p["metadata"]["name"] == "default-deny"
            && p["spec"]["podSelector"].as_object().is_some_and(|m| m.is_empty())
            && p["spec"]["policyTypes"] == json!(["Ingress", "Egress"])
    });
    let ingress_tls = all.iter().any(|(f, o)| match f.as_str() {
        "values.yaml" => o["mattermostApp"]["ingress"]["tls"].as_array().is_some_and(|t| !t.is_empty()),
        "mattermost.yaml" => o["spec"]["ingress"]["tlsSecret"].as_str().is_some_and(|s| !s.is_empty()),
        _ => false,
    });
    // Pod templates (and the chart's or the operator's pod context, from
    // the values or the resource) that may run as root.
    let mut root_pods = vec![];
    for (file, o) in &all {
        let contexts: Vec<&Value> = match (file.as_str(), o["kind"].as_str()) {
            ("values.yaml", _) => vec![&o["mattermostApp"]["securityContext"]],
            (_, Some("Mattermost")) => vec![&o["spec"]["podTemplate"]["securityContext"]],
            (_, Some("CronJob")) => vec![&o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["securityContext"]],
            (_, Some("Tenant")) => o["spec"]["pools"].as_array().into_iter().flatten().map(|p| &p["securityContext"]).collect(),
            _ => vec![],
        };
        for c in contexts {
            if c["runAsNonRoot"] != true || c["runAsUser"].as_i64().is_none_or(|u| u == 0) {
                root_pods.push(what(file, o));
            }
        }
    }
    json!({
        "rootPodTemplates": root_pods,
        "externalReferences": external,
        "unpinnedImages": unpinned,
        "namespaceEnforce": ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "defaultDeny": deny,
        "ingressTls": ingress_tls
    })
}
