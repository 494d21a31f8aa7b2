//! Kubernetes: values.yaml for the official `mattermost` Helm chart (2.7.x,
//! the chart without the operator: external PostgreSQL and S3, existing
//! Secrets). Settings travel as MM_* environment variables.

use serde_json::{json, Value};

use crate::render::{env, yaml};
use crate::document::{Deployment, StorageDriver};
use crate::error::Error;

/// The chart release whose templates `RAW_PASTED` describes
/// (mattermost/mattermost-helm, charts/mattermost 2.7.0; docs/chart-facts.md).
pub const CHART_COMMIT: &str = "fa193d038cebc71417435c8d562ad0958c0c96ad";

/// How a chart template inserts one of our values without `quote`/`toYaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// `key: {{ .Values.x }}`: the value becomes the text of a plain scalar
    /// (or part of one), so anything YAML reads as syntax or as another type
    /// changes the manifest.
    Plain,
    /// `key: "{{ .Values.x }}"`: the value is pasted between double quotes,
    /// so a quote, a backslash or a line break ends or alters the scalar.
    DoubleQuoted,
}

/// One value of ours that the chart pastes into a template raw.
#[derive(Debug, Clone, Copy)]
pub struct RawPaste {
    /// Dotted key in values.yaml; `[]` means every element of the list.
    pub values_key: &'static str,
    pub template: &'static str,
    pub insertion: Insertion,
    /// The option it is rendered from (empty: a constant of ours).
    pub option: &'static str,
}

const APP: &str = "templates/deployment-mattermost-app.yaml";
const INGRESS: &str = "templates/ingress-mattermost-app.yaml";

/// Every value we render that the chart inserts unescaped (read from the
/// templates at `CHART_COMMIT`). Each is re-checked when values.yaml is
/// rendered, whatever validated the option before.
pub const RAW_PASTED: &[RawPaste] = &[
    RawPaste { values_key: "global.siteUrl", template: APP, insertion: Insertion::DoubleQuoted, option: "domain" },
    RawPaste { values_key: "global.features.database.existingDatabaseSecret.name", template: APP, insertion: Insertion::Plain, option: "database.kubernetesSecret.name" },
    RawPaste { values_key: "global.features.database.existingDatabaseSecret.key", template: APP, insertion: Insertion::Plain, option: "database.kubernetesSecret.key" },
    RawPaste { values_key: "global.features.fileStore.bucket", template: APP, insertion: Insertion::DoubleQuoted, option: "fileStorage.s3.bucket" },
    RawPaste { values_key: "global.features.fileStore.region", template: APP, insertion: Insertion::DoubleQuoted, option: "fileStorage.s3.region" },
    RawPaste { values_key: "global.features.fileStore.url", template: APP, insertion: Insertion::DoubleQuoted, option: "fileStorage.s3.endpoint" },
    RawPaste { values_key: "global.features.fileStore.existingSecret.name", template: APP, insertion: Insertion::Plain, option: "fileStorage.s3.kubernetesSecret.name" },
    RawPaste { values_key: "global.features.fileStore.existingSecret.accessKeyIdKey", template: APP, insertion: Insertion::Plain, option: "fileStorage.s3.kubernetesSecret.accessKeyIdKey" },
    RawPaste { values_key: "global.features.fileStore.existingSecret.secretAccessKeyKey", template: APP, insertion: Insertion::Plain, option: "fileStorage.s3.kubernetesSecret.secretAccessKeyKey" },
    RawPaste { values_key: "global.existingLicenseSecret.name", template: APP, insertion: Insertion::Plain, option: "license.kubernetesSecret.name" },
    RawPaste { values_key: "global.existingLicenseSecret.key", template: APP, insertion: Insertion::Plain, option: "license.kubernetesSecret.key" },
    RawPaste { values_key: "mattermostApp.image.repository", template: APP, insertion: Insertion::DoubleQuoted, option: "mattermost.image" },
    RawPaste { values_key: "mattermostApp.image.tag", template: APP, insertion: Insertion::DoubleQuoted, option: "mattermost.imageDigest" },
    RawPaste { values_key: "mattermostApp.image.pullPolicy", template: APP, insertion: Insertion::Plain, option: "" },
    RawPaste { values_key: "mattermostApp.replicaCount", template: APP, insertion: Insertion::Plain, option: "replicas" },
    RawPaste { values_key: "mattermostApp.ingress.ingressClassName", template: INGRESS, insertion: Insertion::Plain, option: "kubernetes.ingressClassName" },
    RawPaste { values_key: "mattermostApp.ingress.hosts[]", template: INGRESS, insertion: Insertion::Plain, option: "domain" },
];

/// Is `s` safe to paste raw into the chart in this way? Deliberately
/// narrower than YAML requires: one token of the characters our validated
/// kinds use, which no YAML context reads as syntax.
pub fn raw_safe(insertion: Insertion, s: &str) -> bool {
    match insertion {
        // Names and keys: letters, digits, '.', '_' and '-', starting with a
        // letter or digit, and not a word or number YAML would resolve.
        Insertion::Plain => {
            s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                && !crate::validate::yaml_plain_ambiguous(s)
        }
        // URLs, host:port, image references: also ':', '/' and '@'; never a
        // quote, backslash, space or control character.
        Insertion::DoubleQuoted => !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-:/@".contains(c)),
    }
}

fn values_at<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    let (path, each) = match key.strip_suffix("[]") {
        Some(p) => (p, true),
        None => (key, false),
    };
    let mut cur = v;
    for k in path.split('.') {
        match cur.get(k) {
            Some(x) => cur = x,
            None => return vec![],
        }
    }
    match (each, cur) {
        (true, Value::Array(xs)) => xs.iter().collect(),
        (true, _) => vec![],
        (false, x) => vec![x],
    }
}

/// Refuse values.yaml when a value the chart pastes raw could change the
/// structure of the chart's output.
pub fn check_raw_pasted(values: &Value) -> Result<(), Error> {
    for p in RAW_PASTED {
        for v in values_at(values, p.values_key) {
            let ok = match v {
                Value::String(s) => raw_safe(p.insertion, s),
                Value::Number(_) | Value::Bool(_) => true,
                _ => false,
            };
            if !ok {
                return Err(raw_refusal(p, "values.yaml"));
            }
        }
    }
    Ok(())
}

/// Does `s` survive the chart's `toYaml` (Helm's, through sigs.k8s.io/yaml:
/// JSON, then YAML) as itself? JSON leaves DEL, the C1 controls and
/// U+FFFE/U+FFFF raw and YAML refuses them, whereupon Helm's `toYaml`
/// yields "" and the chart drops the whole list (every extraEnv pin with
/// it); NEL is left raw too and YAML folds it into a space. Tried with
/// `helm template` against the chart at `CHART_COMMIT`.
pub fn survives_to_yaml(s: &str) -> bool {
    !s.chars().any(|c| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{fffe}' || c == '\u{ffff}')
}

pub const TO_YAML_RULE: &str = "must not contain DEL, C1 control characters (U+0080-U+009F, NEL included) or U+FFFE/U+FFFF: the official Helm chart passes values through toYaml, which folds NEL into a space and, for the others, silently drops the whole list (all pinned settings with it) (the value is not shown)";

/// Every string and key of values.yaml survives the chart's `toYaml`.
fn check_to_yaml(v: &Value, at: &str) -> Result<(), Error> {
    let refuse = |at: &str| Error::InvalidOption {
        file: "values.yaml".into(),
        option: "services.secureMattermost".into(),
        detail: format!("the value rendered at values.{at} {TO_YAML_RULE}"),
    };
    match v {
        Value::String(s) if !survives_to_yaml(s) => Err(refuse(at)),
        Value::Object(m) => m.iter().try_for_each(|(k, x)| {
            if survives_to_yaml(k) {
                // An environment entry is named by its variable, which names the setting.
                let here = match m.get("name").and_then(Value::as_str) {
                    Some(n) if k == "value" => format!("{at}[name={n}].value"),
                    _ => format!("{at}.{k}"),
                };
                check_to_yaml(x, here.trim_start_matches('.'))
            } else {
                Err(refuse(at))
            }
        }),
        Value::Array(xs) => xs.iter().try_for_each(|x| check_to_yaml(x, at)),
        _ => Ok(()),
    }
}

/// The refusal of a value that `p`'s template could not carry.
pub fn raw_refusal(p: &RawPaste, file: &str) -> Error {
    let option = if p.option.is_empty() { "services.secureMattermost".to_string() } else { format!("services.secureMattermost.{}", p.option) };
    let how = match p.insertion {
        Insertion::Plain => "as a plain YAML scalar, so it must be one token of letters, digits, '.', '_' and '-' starting with a letter or digit, and not one YAML reads as null, a boolean, a number or a date",
        Insertion::DoubleQuoted => "between double quotes, so it must consist of letters, digits and . _ - : / @ only",
    };
    Error::InvalidOption {
        file: file.into(),
        option,
        detail: format!("the official Helm chart's {} inserts values.{} unescaped {how} (the value is not shown)", p.template, p.values_key),
    }
}

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
    let version = d.mattermost.version.to_string();
    match &d.mattermost.image_digest {
        Some(digest) => format!("{version}@{digest}"),
        None => version,
    }
}

/// The application pods' security context: the declared user (the image's
/// own, 2000, by default), non-root unless a justified waiver lets it be 0.
pub fn pod_security_context(d: &Deployment) -> Value {
    let uid = d.kubernetes.run_as_user;
    json!({
        "runAsNonRoot": uid != 0,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
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
    envs.retain(|e| e["name"] != "MM_SQLSETTINGS_DATASOURCE");
    if d.kubernetes.postgresql.enable {
        envs.extend(super::postgresql::app_env(d));
    } else {
        // The chart and the operator set only MM_CONFIG from the DSN Secret;
        // the server's own connection must be pinned too, or a restored
        // database's stored (stale) DataSource is used (docs/restore.md).
        let s = &d.database.kubernetes_secret;
        envs.push(json!({"name": "MM_SQLSETTINGS_DATASOURCE", "valueFrom": {"secretKeyRef": {"name": s.name, "key": s.key}}}));
    }
    if d.kubernetes.minio.enable && d.file_storage.driver == StorageDriver::S3 {
        envs.push(super::minio::app_ca(d).0);
    }
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
    if d.kubernetes.postgresql.enable {
        let (v, m) = super::postgresql::app_ca_volume(d);
        volumes.push(v);
        mounts.push(m);
    }
    if d.kubernetes.minio.enable && d.file_storage.driver == StorageDriver::S3 {
        let (_, v, m) = super::minio::app_ca(d);
        volumes.push(v);
        mounts.push(m);
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

/// The chart's values as JSON, checked for what the chart pastes raw.
pub fn values(d: &Deployment, config: &Value) -> Result<Value, Error> {
    let fs = &d.file_storage;
    let file_store = match fs.driver {
        StorageDriver::S3 => json!({
            "driver": "amazons3",
            "url": crate::effective::s3_endpoint(d),
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
                // With postgres-operator the chart's own connection-string
                // variable is replaced by the composed one (post_render.rs).
                "existingDatabaseSecret": if d.kubernetes.postgresql.enable {
                    json!({"name": super::postgresql::credentials_secret(d), "key": super::postgresql::PASSWORD_KEY})
                } else {
                    json!({"name": d.database.kubernetes_secret.name, "key": d.database.kubernetes_secret.key})
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
                "repository": super::registry_repository(d, &d.mattermost.image),
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
            "securityContext": pod_security_context(d),
            "resources": resources(),
            "extraEnv": environment_for_chart(d, config),
            "extraVolumes": extra_volumes,
            "extraVolumeMounts": extra_mounts
        }
    });
    check_raw_pasted(&values)?;
    check_to_yaml(&values, "")?;
    Ok(values)
}

pub fn render(d: &Deployment, config: &Value) -> Result<String, Error> {
    let values = values(d, config)?;
    let mut out = String::from(
        "# Rendered by secure-mattermost from the evaluated declaration; do not edit.\n\
         # Chart: mattermost (mattermost/mattermost-helm, 2.7.x). Secrets are references only.\n",
    );
    out.push_str(&yaml::to_yaml(&values));
    Ok(out)
}
