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
    pub from_options: Vec<(String, Value, &'static str)>,
}

pub fn build(d: &Deployment, catalog: &Catalog) -> Result<Effective, Error> {
    let pin = defaults::pin();
    if d.mattermost.version != pin.version {
        return Err(Error::Version { found: d.mattermost.version.clone(), pinned: pin.version });
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

fn option_settings(d: &Deployment) -> Vec<(String, Value, &'static str)> {
    let mut out: Vec<(String, Value, &'static str)> = Vec::new();
    let mut put = |k: &str, v: Value, o: &'static str| out.push((k.to_string(), v, o));
    put("ServiceSettings.SiteURL", json!(format!("https://{}", d.domain)), "domain");
    put("TeamSettings.SiteName", json!(d.site_name), "siteName");
    put("GuestAccountsSettings.Enable", json!(d.allow_guest_users), "allowGuestUsers");
    put("TeamSettings.EnableOpenServer", json!(d.allow_open_signup), "allowOpenSignup");
    put("ServiceSettings.EnforceMultifactorAuthentication", json!(d.auth.mfa.enforce), "auth.mfa.enforce");

    let p = d.auth.provider;
    put("EmailSettings.EnableSignInWithEmail", json!(p == Provider::Password), "auth.provider");
    put("EmailSettings.EnableSignInWithUsername", json!(p == Provider::Password), "auth.provider");
    put("OpenIdSettings.Enable", json!(p == Provider::Oidc), "auth.provider");
    put("GitLabSettings.Enable", json!(p == Provider::Gitlab), "auth.provider");
    put("SamlSettings.Enable", json!(p == Provider::Saml), "auth.provider");
    put("LdapSettings.Enable", json!(p == Provider::Ldap), "auth.provider");
    match p {
        Provider::Oidc => {
            if let Some(u) = &d.auth.oidc.discovery_endpoint {
                put("OpenIdSettings.DiscoveryEndpoint", json!(u), "auth.oidc.discoveryEndpoint");
            }
            if let Some(id) = &d.auth.oidc.client_id {
                put("OpenIdSettings.Id", json!(id), "auth.oidc.clientId");
            }
        }
        Provider::Gitlab => {
            if let Some(u) = &d.auth.gitlab.url {
                let u = u.trim_end_matches('/');
                put("GitLabSettings.AuthEndpoint", json!(format!("{u}/oauth/authorize")), "auth.gitlab.url");
                put("GitLabSettings.TokenEndpoint", json!(format!("{u}/oauth/token")), "auth.gitlab.url");
                put("GitLabSettings.UserAPIEndpoint", json!(format!("{u}/api/v4/user")), "auth.gitlab.url");
            }
            if let Some(id) = &d.auth.gitlab.client_id {
                put("GitLabSettings.Id", json!(id), "auth.gitlab.clientId");
            }
        }
        Provider::Saml => {
            if let Some(u) = &d.auth.saml.idp_metadata_url {
                put("SamlSettings.IdpMetadataURL", json!(u), "auth.saml.idpMetadataUrl");
            }
            let sp = format!("https://{}/login/sso/saml", d.domain);
            put("SamlSettings.ServiceProviderIdentifier", json!(sp), "domain");
            put("SamlSettings.AssertionConsumerServiceURL", json!(sp), "domain");
            put("SamlSettings.PrivateKeyFile", json!(d.auth.saml.private_key_file), "auth.saml.privateKeyFile");
        }
        Provider::Ldap => {
            if let Some(s) = &d.auth.ldap.server {
                put("LdapSettings.LdapServer", json!(s), "auth.ldap.server");
            }
            put("LdapSettings.LdapPort", json!(d.auth.ldap.port), "auth.ldap.port");
            if let Some(b) = &d.auth.ldap.base_dn {
                put("LdapSettings.BaseDN", json!(b), "auth.ldap.baseDN");
            }
            if let Some(u) = &d.auth.ldap.bind_username {
                put("LdapSettings.BindUsername", json!(u), "auth.ldap.bindUsername");
            }
            put(
                "LdapSettings.ConnectionSecurity",
                json!(if d.auth.ldap.port == 636 { "TLS" } else { "STARTTLS" }),
                "auth.ldap.port",
            );
        }
        Provider::Password => {}
    }

    put("SqlSettings.DriverName", json!("postgres"), "database");
    put("SqlSettings.DataSource", json!(data_source(d, None)), "database.sslMode");

    let fs = &d.file_storage;
    match fs.driver {
        StorageDriver::S3 => {
            put("FileSettings.DriverName", json!("amazons3"), "fileStorage.driver");
            put("FileSettings.AmazonS3Endpoint", json!(fs.s3.endpoint), "fileStorage.s3.endpoint");
            put("FileSettings.AmazonS3Bucket", json!(fs.s3.bucket), "fileStorage.s3.bucket");
            put("FileSettings.AmazonS3Region", json!(fs.s3.region), "fileStorage.s3.region");
        }
        StorageDriver::Nfs | StorageDriver::Local => {
            put("FileSettings.DriverName", json!("local"), "fileStorage.driver");
            put("FileSettings.Directory", json!(fs.directory), "fileStorage.directory");
        }
    }
    put("ClusterSettings.Enable", json!(d.replicas > 1), "replicas");

    let banner = &d.classification_banner;
    put("AnnouncementSettings.EnableBanner", json!(banner.text.is_some()), "classificationBanner.text");
    if let Some(t) = &banner.text {
        put("AnnouncementSettings.BannerText", json!(t), "classificationBanner.text");
    }
    put("AnnouncementSettings.BannerColor", json!(banner.color), "classificationBanner.color");
    put("AnnouncementSettings.BannerTextColor", json!(banner.text_color), "classificationBanner.textColor");

    let smtp = &d.smtp;
    put("EmailSettings.SendEmailNotifications", json!(smtp.server.is_some()), "smtp.server");
    if let Some(server) = &smtp.server {
        put("EmailSettings.SMTPServer", json!(server), "smtp.server");
        put("EmailSettings.SMTPPort", json!(smtp.port.to_string()), "smtp.port");
        let sec = if smtp.connection_security == "none" { "" } else { smtp.connection_security.as_str() };
        put("EmailSettings.ConnectionSecurity", json!(sec), "smtp.connectionSecurity");
        put("EmailSettings.EnableSMTPAuth", json!(smtp.username.is_some()), "smtp.username");
        if let Some(u) = &smtp.username {
            put("EmailSettings.SMTPUsername", json!(u), "smtp.username");
        }
    }
    match &d.push_notifications.server {
        Some(s) => {
            put("EmailSettings.SendPushNotifications", json!(true), "pushNotifications.server");
            put("EmailSettings.PushNotificationServer", json!(s), "pushNotifications.server");
        }
        None => put("EmailSettings.SendPushNotifications", json!(false), "pushNotifications.server"),
    }
    if d.mode == Mode::Baremetal {
        // Absolute, so the server never depends on its working directory.
        put("PluginSettings.Directory", json!("/var/lib/mattermost/plugins"), "mode");
        put("PluginSettings.ClientDirectory", json!("/var/lib/mattermost/client-plugins"), "mode");
        put("LogSettings.FileLocation", json!("/var/log/mattermost"), "mode");
        put("ExperimentalAuditSettings.FileName", json!("/var/log/mattermost/audit.log"), "mode");
    } else {
        put("ExperimentalAuditSettings.FileName", json!("/mattermost/logs/audit.log"), "mode");
    }
    out
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
