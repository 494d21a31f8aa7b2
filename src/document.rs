//! The evaluated document: option values of `services.secureMattermost`, as
//! printed by `modules/standalone.nix` (or the built-in evaluator).
//! Unknown fields are refused, so a document from another module version
//! cannot be half-understood.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::error::Error;

pub const SCHEMA_VERSION: u64 = 1;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Document {
    pub schema_version: u64,
    pub secure_mattermost: Deployment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Kubernetes,
    Baremetal,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deployment {
    pub enable: bool,
    pub mode: Mode,
    pub domain: String,
    pub site_name: String,
    pub allow_guest_users: bool,
    pub allow_open_signup: bool,
    pub air_gapped: bool,
    pub replicas: u32,
    pub justification: BTreeMap<String, Justification>,
    pub policy: Policy,
    pub settings: Value,
    pub secret_settings: BTreeMap<String, SecretSetting>,
    /// Plugin settings (plugin id → keys) the site declares are not secret.
    pub public_plugin_settings: BTreeMap<String, Vec<String>>,
    pub mattermost: MattermostImage,
    pub license: License,
    pub classification_banner: Banner,
    pub kubernetes: Kubernetes,
    pub tls: Tls,
    pub auth: Auth,
    pub database: Database,
    pub file_storage: FileStorage,
    pub smtp: Smtp,
    pub push_notifications: Push,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Justification {
    Reason(String),
    Record(JustificationRecord),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JustificationRecord {
    pub reason: String,
    pub approved_by: Option<String>,
    pub expires: Option<String>,
    pub ticket: Option<String>,
}

impl Justification {
    pub fn reason(&self) -> &str {
        match self {
            Justification::Reason(r) => r,
            Justification::Record(r) => &r.reason,
        }
    }
    pub fn expires(&self) -> Option<&str> {
        match self {
            Justification::Reason(_) => None,
            Justification::Record(r) => r.expires.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// Longest a structured waiver may run past the policy date.
    pub max_waiver_days: u32,
}

/// A secret Mattermost setting supplied at start (`secretSettings.<path>`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSetting {
    pub file: Option<String>,
    pub kubernetes_secret: Option<SecretRef>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MattermostImage {
    pub version: String,
    pub image: String,
    pub image_digest: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct License {
    pub edition: String,
    pub file: String,
    pub kubernetes_secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Banner {
    pub text: Option<String>,
    pub color: String,
    pub text_color: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kubernetes {
    pub namespace: String,
    pub ingress_class_name: String,
    pub tls_secret_name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tls {
    pub certificate_file: String,
    pub key_file: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Oidc,
    Saml,
    Ldap,
    Gitlab,
    Password,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Auth {
    pub provider: Provider,
    pub mfa: Mfa,
    pub oidc: Oidc,
    pub gitlab: Gitlab,
    pub saml: Saml,
    pub ldap: Ldap,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mfa {
    pub enforce: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Oidc {
    pub discovery_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_file: String,
    pub kubernetes_secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Gitlab {
    pub url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_file: String,
    pub kubernetes_secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Saml {
    pub idp_metadata_url: Option<String>,
    pub private_key_file: String,
    pub kubernetes_secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ldap {
    pub server: Option<String>,
    pub port: u16,
    #[serde(rename = "baseDN")]
    pub base_dn: Option<String>,
    pub bind_username: Option<String>,
    pub bind_password_file: String,
    pub kubernetes_secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Database {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub user: String,
    pub password_file: String,
    pub kubernetes_secret: SecretRef,
    pub ssl_mode: String,
    pub ca_file: Option<String>,
    pub postgresql_version: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageDriver {
    S3,
    Nfs,
    Local,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileStorage {
    pub driver: StorageDriver,
    pub directory: String,
    pub volume_claim_name: String,
    pub s3: S3,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3 {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id_file: String,
    pub secret_access_key_file: String,
    pub kubernetes_secret: S3SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3SecretRef {
    pub name: String,
    pub access_key_id_key: String,
    pub secret_access_key_key: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Smtp {
    pub server: Option<String>,
    pub port: u16,
    pub connection_security: String,
    pub username: Option<String>,
    pub password_file: String,
    pub kubernetes_secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    pub server: Option<String>,
}

/// Parse and validate a document. `source` names the file for messages.
/// The raw value is kept too: rules address `deployment.*` paths in it.
pub fn parse(text: &str, source: &str) -> Result<(Document, Value), Error> {
    // serde_json stops at its own recursion limit, which is the documented one.
    const _: () = assert!(crate::limits::MAX_NESTING == 128);
    let raw: Value = serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            Error::TooDeep { file: source.to_string(), limit: crate::limits::MAX_NESTING }
        } else {
            Error::MalformedJson { file: source.to_string(), detail: e.to_string() }
        }
    })?;
    from_value(raw, source)
}

/// Nesting depth of a value (a scalar is 0, `{}` is 1), without recursion.
pub fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Object(m) => {
                deepest = deepest.max(d + 1);
                stack.extend(m.values().map(|x| (x, d + 1)));
            }
            Value::Array(xs) => {
                deepest = deepest.max(d + 1);
                stack.extend(xs.iter().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

pub fn from_value(raw: Value, source: &str) -> Result<(Document, Value), Error> {
    if depth(&raw) > crate::limits::MAX_NESTING {
        return Err(Error::TooDeep { file: source.to_string(), limit: crate::limits::MAX_NESTING });
    }
    match raw.get("schemaVersion") {
        Some(Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION) => {}
        Some(other) => {
            return Err(Error::SchemaVersion {
                file: source.to_string(),
                found: other.to_string(),
            })
        }
        None => {
            return Err(Error::SchemaVersion {
                file: source.to_string(),
                found: "nothing".into(),
            })
        }
    }
    // Literal secrets are refused before anything else looks at the values,
    // so no later message can echo one.
    crate::secrets::refuse_literals(&raw)?;
    let doc: Document = serde_path_to_error::deserialize(&raw).map_err(|e| Error::InvalidOption {
        file: source.to_string(),
        option: option_name(&e.path().to_string()),
        detail: redact_serde(e.inner().to_string()),
    })?;
    Ok((doc, raw))
}

fn option_name(path: &str) -> String {
    let path = path.strip_prefix("secureMattermost").unwrap_or(path);
    let path = path.strip_prefix('.').unwrap_or(path);
    if path.is_empty() || path == "." {
        "services.secureMattermost".to_string()
    } else {
        format!("services.secureMattermost.{path}")
    }
}

/// serde messages quote string values (`invalid value: string "x"`); keep
/// the shape of the complaint and drop the quoted value.
fn redact_serde(msg: String) -> String {
    let re = regex::Regex::new(r#"string "(?:[^"\\]|\\.)*""#).expect("static regex");
    re.replace_all(&msg, "a string").into_owned()
}
