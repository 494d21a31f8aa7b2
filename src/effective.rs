//! The effective Mattermost configuration that will be deployed:
//! release defaults, then the catalog's hardened values, then what the
//! options imply, then `settings`. Rules are evaluated against this, so
//! `settings` cannot slip past them.

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::defaults;
use crate::document::{Deployment, Mode, Provider, StorageDriver};
use crate::error::Error;

pub struct Effective {
    pub config: Value,
    /// The settings each option decided, for conflict messages and reports.
    pub from_options: Vec<(String, Value, String)>,
}

pub fn build(d: &Deployment, catalog: &Catalog) -> Result<Effective, Error> {
    let pin = defaults::pin();
    if d.mattermost.version != pin.version {
        return Err(Error::Version { found: d.mattermost.version.to_string(), pinned: pin.version });
    }
    crate::paths::check(d)?;
    crate::validate::deployment(d)?;
    if d.replicas > 1 && d.file_storage.driver == StorageDriver::Local {
        return Err(Error::HaLocalStorage { replicas: d.replicas });
    }
    let mut config = defaults::defaults();
    defaults::check_settings(&d.settings, &config, &pin.version)?;

    for rule in &catalog.rules {
        for (key, value) in &rule.harden {
            set(&mut config, key, value.clone());
        }
    }
    let from_options = option_settings(d);
    for (key, value, _) in &from_options {
        set(&mut config, key, value.clone());
    }
    let secrets = crate::secrets::Secrets::get();
    for (key, value) in leaves(&d.settings, String::new()) {
        if let Some((_, opt_value, option)) = from_options.iter().find(|(k, _, _)| *k == key) {
            if *opt_value != value {
                let segments: Vec<String> = key.split('.').map(str::to_string).collect();
                let secretish = secrets.is_data_source_setting(&segments) || secrets.is_secret_setting(&segments, &|_, _| false);
                return Err(Error::Conflict {
                    option: option.to_string(),
                    key,
                    option_value: if secretish { "a value derived from the options (not shown)".into() } else { opt_value.to_string() },
                });
            }
        }
        // The server reads list settings from its environment split on single
        // spaces, and every rule-checked setting is pinned there: an element
        // with a space would reach the server as two different values.
        if let Value::Array(xs) = &value {
            if xs.iter().any(|x| x.as_str().is_some_and(|s| s.contains(' '))) {
                return Err(Error::InvalidOption {
                    file: "declaration".into(),
                    option: format!("services.secureMattermost.settings.{key}"),
                    detail: "list elements must not contain spaces: Mattermost splits list values it reads from its environment on spaces, so the server would see other values than the ones checked (use the URL form for DSNs)".into(),
                });
            }
        }
        set(&mut config, &key, value);
    }
    blank_default_secrets(&mut config);
    validate_secret_settings(d, &config)?;
    validate_sso(d, &config)?;
    Ok(Effective { config, from_options })
}

/// The object store's endpoint: the declared one, else the in-cluster MinIO
/// tenant's Service (Kubernetes mode with `kubernetes.minio.enable`).
pub fn s3_endpoint(d: &Deployment) -> Option<String> {
    match &d.file_storage.s3.endpoint {
        Some(e) => Some(e.clone()),
        None if d.mode == Mode::Kubernetes && d.kubernetes.minio.enable => Some(crate::render::kubernetes::minio::service_host(d)),
        None => None,
    }
}

/// The DSN written into config.json: everything but the password, which is
/// supplied at start from a file (bare metal) or a Secret (Kubernetes).
pub fn data_source(d: &Deployment, with_password: Option<&str>) -> String {
    let db = &d.database;
    let auth = match with_password {
        Some(p) => format!("{}:{}", encode(&db.user), encode(p)),
        None => encode(&db.user),
    };
    let mut dsn = format!(
        "postgres://{auth}@{}:{}/{}?sslmode={}&connect_timeout=10",
        db.host,
        db.port,
        encode(&db.name),
        db.ssl_mode
    );
    if let Some(ca) = &db.ca_file {
        dsn.push_str("&sslrootcert=");
        dsn.push_str(&encode(ca).replace("%2F", "/"));
    } else if d.mode == Mode::Kubernetes && d.kubernetes.postgresql.enable {
        // The database certificate's CA, mounted from its cert-manager Secret.
        dsn.push_str(&format!("&sslrootcert={}/ca.crt", crate::render::kubernetes::postgresql::CA_DIR));
    }
    dsn
}

/// Percent-encode everything outside RFC 3986's unreserved set.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The settings the options decide, from the module's own metadata
/// (`crate::options`): no option is named here.
fn option_settings(d: &Deployment) -> Vec<(String, Value, String)> {
    let decl = serde_json::to_value(d).unwrap_or(Value::Null);
    crate::options::settings_from_options(&decl, &|name| computed(d, name))
}

/// Values the metadata names but only the helper can compose.
pub fn computed(d: &Deployment, name: &str) -> Option<Value> {
    match name {
        "dataSource" => Some(json!(data_source(d, None))),
        "dataSourceWithPassword" => Some(json!(data_source(d, Some("{}")).replace("%7B%7D", "{}"))),
        "s3Endpoint" => s3_endpoint(d).map(|e| json!(e)),
        _ => None,
    }
}

/// `secretSettings` keys must be secret settings of the pinned release (as
/// `crate::secrets` judges them: what the server's sanitiser masks, secret-named
/// keys, plugin settings), with the source the mode needs (a file on bare
/// metal, a Secret on Kubernetes).
fn validate_secret_settings(d: &Deployment, config: &Value) -> Result<(), Error> {
    let secrets = crate::secrets::Secrets::get();
    let plugins_path = &crate::catalog::Catalog::load().secrets.plugin_settings_path;
    for (key, s) in &d.secret_settings {
        let option = format!("services.secureMattermost.secretSettings.\"{key}\"");
        let invalid = |detail: &str| Error::InvalidOption { file: "declaration".into(), option: option.clone(), detail: detail.into() };
        let whole_plugin_map = key == plugins_path;
        let plugin = key.strip_prefix(plugins_path.as_str()).and_then(|r| r.strip_prefix('.')).and_then(|r| r.rsplit_once('.'));
        if whole_plugin_map {
            if crate::catalog::lookup(config, plugins_path).as_object().is_some_and(|m| !m.is_empty()) {
                return Err(invalid("the whole plugin settings map comes from this source, so settings.PluginSettings.Plugins must stay empty"));
            }
        } else if let Some((id, setting)) = plugin {
            if id.is_empty() || setting.is_empty() {
                return Err(invalid("a plugin setting is named PluginSettings.Plugins.<plugin id>.<setting key>"));
            }
            if d.mode == Mode::Kubernetes {
                return Err(invalid("on Kubernetes the server reads plugin settings from the environment only as one JSON map: give the whole map as secretSettings.\"PluginSettings.Plugins\".kubernetesSecret"));
            }
        } else {
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            let public = |_: &str, _: &str| false;
            if !crate::catalog::lookup(config, key).is_string()
                || !secrets.is_secret_setting(&path, &public)
                || secrets.is_data_source_setting(&path)
            {
                return Err(invalid("not a secret string setting of the pinned Mattermost release (see catalog/server-secret-settings.json, catalog/mattermost-defaults.json and secrets.settingKeyPattern)"));
            }
        }
        let missing = match d.mode {
            Mode::Baremetal if s.file.is_none() => Some("file"),
            Mode::Kubernetes if s.kubernetes_secret.is_none() => Some("kubernetesSecret"),
            _ => None,
        };
        if let Some(what) = missing {
            return Err(Error::InvalidOption {
                file: "declaration".into(),
                option: format!("{option}.{what}"),
                detail: "this deployment mode reads the value from it".into(),
            });
        }
    }
    Ok(())
}

/// Mattermost refuses to start with SAML on and its IdP fields empty; say
/// so now, naming the settings, instead of after deployment.
fn validate_sso(d: &Deployment, config: &Value) -> Result<(), Error> {
    if d.auth.provider != Provider::Saml {
        return Ok(());
    }
    for key in ["IdpURL", "IdpDescriptorURL", "IdpCertificateFile", "EmailAttribute", "UsernameAttribute"] {
        if config["SamlSettings"][key].as_str().unwrap_or("").is_empty() {
            return Err(Error::InvalidOption {
                file: "declaration".into(),
                option: format!("services.secureMattermost.settings.SamlSettings.{key}"),
                detail: "auth.provider = \"saml\" needs it (Mattermost refuses to start without it)".into(),
            });
        }
    }
    Ok(())
}

fn blank_default_secrets(v: &mut Value) {
    if let Value::Object(m) = v {
        for (k, x) in m.iter_mut() {
            if x.is_string() && crate::secrets::is_secret_key(k) {
                *x = Value::String(String::new());
            } else {
                blank_default_secrets(x);
            }
        }
    }
}

pub fn set(root: &mut Value, dotted: &str, value: Value) {
    let mut cur = root;
    let mut parts = dotted.split('.').peekable();
    while let Some(k) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let m = cur.as_object_mut().expect("made an object above");
        if parts.peek().is_none() {
            m.insert(k.to_string(), value);
            return;
        }
        cur = m.entry(k.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Leaf values of `settings` as dotted keys; lists and free-form maps are leaves.
fn leaves(v: &Value, prefix: String) -> Vec<(String, Value)> {
    match v {
        // An empty attribute set changes nothing (it must not replace a section).
        Value::Object(m) if m.is_empty() => vec![],
        Value::Object(m) if !crate::defaults::is_free_form(&prefix) => m
            .iter()
            .flat_map(|(k, x)| {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(x, p)
            })
            .collect(),
        _ if prefix.is_empty() => vec![],
        other => vec![(prefix, other.clone())],
    }
}
