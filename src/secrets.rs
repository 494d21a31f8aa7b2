//! The one implementation of secret and file-path detection. The helper's
//! `--input` path, the built-in evaluator (`--config`) and the module's Nix
//! code (modules/document.nix, modules/types.nix) apply the same catalog data
//! (`catalog/controls.json` `secrets`, `pathPattern`, and
//! `catalog/server-secret-settings.json`) with the same semantics:
//!
//! - patterns are matched as `builtins.match` does: POSIX-style, anchored at
//!   both ends, byte for byte, `.` matching newlines;
//! - keys are lower-cased ASCII-only, as `lib.toLower` does;
//! - a path is in the store when it starts with `/nix/store` as written or
//!   once `.`, `..` and empty components are resolved.
//!
//! Findings name the option path and the rule, never the value.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::bytes::Regex;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::error::Error;

pub const SERVER_SECRET_SETTINGS_JSON: &str = include_str!("../catalog/server-secret-settings.json");

pub struct Trap {
    /// Relative to `services.secureMattermost`, e.g. `["database", "password"]`.
    pub path: Vec<String>,
    /// The option to use instead, e.g. `database.passwordFile`.
    pub replacement: String,
}

pub struct Secrets {
    pub literal_rule: String,
    pub setting_rule: String,
    pub value_rule: String,
    pub store_file_rule: String,
    store_file_key: Regex,
    setting_key: Regex,
    value_patterns: Vec<Regex>,
    pub traps: Vec<Trap>,
    path_pattern: Regex,
    /// What a file path may look like, in words (`pathRule`).
    pub path_rule: String,
    /// Dotted setting paths (ASCII lower case, list indices dropped) that are secret.
    secret_settings: BTreeSet<String>,
    /// The same paths split at their dots, for suffix matches.
    secret_setting_parts: Vec<Vec<String>>,
    data_source_settings: BTreeSet<String>,
    plugin_prefix: Vec<String>,
}

/// `builtins.match`: the whole string, byte for byte, `.` also matching a newline.
pub fn posix_match(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("(?s-u)^(?:{pattern})$"))
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

impl Secrets {
    /// The catalog is compiled in and checked by tests; a broken one is a build defect.
    pub fn get() -> &'static Secrets {
        static SECRETS: OnceLock<Secrets> = OnceLock::new();
        SECRETS.get_or_init(|| Secrets::load(Catalog::load()).expect("catalog secret patterns are valid (checked by tests)"))
    }

    fn load(c: &Catalog) -> Result<Secrets, String> {
        let s = &c.secrets;
        let compile = |p: &str| posix_match(p).map_err(|e| format!("pattern {p:?}: {e}"));
        let server: Value = serde_json::from_str(SERVER_SECRET_SETTINGS_JSON).map_err(|e| e.to_string())?;
        let listed = server["settings"].as_array().ok_or("server-secret-settings.json: no `settings` list")?;
        let mut secret_settings: BTreeSet<String> = listed.iter().filter_map(Value::as_str).map(lower).collect();
        secret_settings.extend(s.additional_secret_settings.iter().map(|p| lower(p)));
        Ok(Secrets {
            literal_rule: s.literal_rule.clone(),
            setting_rule: s.setting_rule.clone(),
            value_rule: s.value_rule.clone(),
            store_file_rule: s.store_file_rule.clone(),
            store_file_key: compile(&s.store_file_key_pattern)?,
            setting_key: compile(&s.setting_key_pattern)?,
            value_patterns: s.value_patterns.iter().map(|p| compile(p)).collect::<Result<_, _>>()?,
            traps: s
                .trap_options
                .iter()
                .map(|t| Trap { path: t.option.split('.').map(str::to_string).collect(), replacement: t.replacement.clone() })
                .collect(),
            path_pattern: compile(&c.path_pattern)?,
            path_rule: c.path_rule.clone(),
            secret_setting_parts: secret_settings.iter().map(|s| s.split('.').map(str::to_string).collect()).collect(),
            secret_settings,
            data_source_settings: s.data_source_settings.iter().map(|p| lower(p)).collect(),
            plugin_prefix: s.plugin_settings_path.split('.').map(lower).collect(),
        })
    }

    /// A string that carries a credential whatever option it is in: a URL
    /// with a password, `password=` in any DSN form, a PEM private key, an
    /// AWS access key id.
    pub fn looks_like_credential(&self, s: &str) -> bool {
        self.value_patterns.iter().any(|p| p.is_match(s.as_bytes())) || (is_postgres_url(s) && crate::semantic::dsn::postgres_password(s))
    }

    /// `settingKeyPattern` against the key lower-cased ASCII-only.
    pub fn is_secret_setting_key(&self, key: &str) -> bool {
        self.setting_key.is_match(lower(key).as_bytes())
    }

    /// `storeFileKeyPattern` against the lower-cased key: a settings key
    /// naming a secret file, whose value must not be a store path.
    pub fn is_secret_file_key(&self, key: &str) -> bool {
        self.store_file_key.is_match(lower(key).as_bytes())
    }

    /// A setting that holds a DSN (secret only when it carries a password).
    pub fn is_data_source_setting(&self, path: &[String]) -> bool {
        self.data_source_settings.contains(&dotted(path))
    }

    /// Whether the setting at `path` (below `settings`, list indices as
    /// `[i]` segments) is secret: the server masks it, it is a plugin setting
    /// the site has not declared public, or its key names a secret.
    pub fn is_secret_setting(&self, path: &[String], public_plugin_settings: &dyn Fn(&str, &str) -> bool) -> bool {
        let key = dotted(path);
        if self.secret_settings.contains(&key) && !self.data_source_settings.contains(&key) {
            return true;
        }
        if let Some((plugin, setting)) = self.plugin_setting(path) {
            return !public_plugin_settings(plugin, setting);
        }
        path.iter().rev().find(|k| !is_index(k)).is_some_and(|k| self.is_secret_setting_key(k))
    }

    /// `(plugin id, setting key)` when `path` is inside a plugin's settings.
    pub fn plugin_setting<'a>(&self, path: &'a [String]) -> Option<(&'a str, &'a str)> {
        let n = self.plugin_prefix.len();
        let here: Vec<&'a String> = path.iter().filter(|k| !is_index(k)).collect();
        if here.len() > n + 1 && here.iter().zip(&self.plugin_prefix).all(|(a, b)| lower(a) == *b) {
            Some((here[n].as_str(), here[n + 1].as_str()))
        } else {
            None
        }
    }

    /// `isSafePath` of modules/types.nix: a string fully matching
    /// `pathPattern`, not in the store.
    pub fn is_safe_path(&self, s: &str) -> bool {
        self.path_pattern.is_match(s.as_bytes()) && !in_store(s)
    }

    /// Whether a binding at this attribute path (as written, any prefix)
    /// likely holds a secret; used to mask snippets in diagnostics.
    pub fn is_secret_binding(&self, keys: &[String]) -> bool {
        let Some(last) = keys.last() else {
            return false;
        };
        self.is_secret_setting_key(last)
            || self.plugin_setting(keys).is_some()
            || keys.windows(self.plugin_prefix.len() + 2).any(|w| self.plugin_setting(w).is_some())
            || {
                let lowered: Vec<String> = keys.iter().map(|k| lower(k)).collect();
                self.secret_setting_parts
                    .iter()
                    .any(|parts| lowered.len() >= parts.len() && lowered[lowered.len() - parts.len()..] == parts[..])
            }
            || self.traps.iter().any(|t| keys.len() >= t.path.len() && keys[keys.len() - t.path.len()..] == t.path[..])
    }
}

/// A `postgres://` or `postgresql://` URL (scheme case-insensitive, as Go's URL parser reads it).
fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

fn is_index(k: &str) -> bool {
    k.starts_with('[') && k.ends_with(']')
}

/// Path segments without list indices, ASCII lower case, dot-joined.
fn dotted(path: &[String]) -> String {
    path.iter().filter(|k| !is_index(k)).map(|k| lower(k)).collect::<Vec<_>>().join(".")
}

/// `.`, `..` and empty components resolved lexically (`..` at the root stays there).
pub fn normalise_path(s: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Under /nix/store as written or once normalised (`/run/../nix/store/x`).
pub fn in_store(path: &str) -> bool {
    path.starts_with("/nix/store") || normalise_path(path).starts_with("/nix/store")
}

/// One literal secret found in a document: the rule and the option path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: String,
    /// Relative to `services.secureMattermost`, list indices as `[i]`.
    pub path: Vec<String>,
}

impl Finding {
    pub fn describe(&self) -> String {
        format!("[{}] services.secureMattermost.{}", self.rule, self.path.join("."))
    }
}

pub fn refuse_literals(raw: &Value) -> Result<(), Error> {
    let findings = find_literals(raw);
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::LiteralSecret { findings: findings.iter().map(Finding::describe).collect() })
    }
}

/// Every literal secret in the document `{ "secureMattermost": … }`.
pub fn find_literals(raw: &Value) -> Vec<Finding> {
    match raw.get("secureMattermost") {
        Some(decl) => find_in_declaration(decl),
        None => vec![],
    }
}

/// Every literal secret in the option values of `services.secureMattermost`.
pub fn find_in_declaration(decl: &Value) -> Vec<Finding> {
    let s = Secrets::get();
    let mut out = Vec::new();
    for trap in &s.traps {
        let v = trap.path.iter().try_fold(decl, |v, k| v.get(k));
        if v.is_some_and(|v| !v.is_null()) {
            out.push(Finding { rule: s.literal_rule.clone(), path: trap.path.clone() });
        }
    }
    let public = public_plugin_settings(decl);
    let is_public = |plugin: &str, key: &str| public.iter().any(|(p, k)| p == plugin && k.eq_ignore_ascii_case(key));
    walk(decl, &mut |path, text| {
        if s.looks_like_credential(text) {
            out.push(Finding { rule: s.value_rule.clone(), path: path.to_vec() });
            return;
        }
        if path.len() > 1 && path[0] == "settings" {
            let setting = &path[1..];
            // A DSN setting, in whatever form lib/pq reads.
            if s.is_data_source_setting(setting) && crate::semantic::dsn::postgres_password(text) {
                out.push(Finding { rule: s.value_rule.clone(), path: path.to_vec() });
                return;
            }
            if !text.is_empty() && s.is_secret_setting(setting, &is_public) {
                out.push(Finding { rule: s.setting_rule.clone(), path: path.to_vec() });
            } else if in_store(text) && path.iter().rev().find(|k| !is_index(k)).is_some_and(|k| s.is_secret_file_key(k)) {
                out.push(Finding { rule: s.store_file_rule.clone(), path: path.to_vec() });
            }
        }
    });
    out
}

/// `publicPluginSettings`: (plugin id, key) pairs the site declares not secret.
pub fn public_plugin_settings(decl: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(m) = decl.get("publicPluginSettings").and_then(Value::as_object) {
        for (plugin, keys) in m {
            for k in keys.as_array().into_iter().flatten().filter_map(Value::as_str) {
                out.push((plugin.clone(), k.to_string()));
            }
        }
    }
    out
}

/// Every string leaf with its path; iterative, so no input depth can overflow the stack.
fn walk(v: &Value, f: &mut dyn FnMut(&[String], &str)) {
    let mut stack: Vec<(&Value, Vec<String>)> = vec![(v, Vec::new())];
    while let Some((v, path)) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter().rev() {
                    let mut p = path.clone();
                    p.push(k.clone());
                    stack.push((x, p));
                }
            }
            Value::Array(xs) => {
                for (i, x) in xs.iter().enumerate().rev() {
                    let mut p = path.clone();
                    p.push(format!("[{i}]"));
                    stack.push((x, p));
                }
            }
            Value::String(s) => f(&path, s),
            _ => {}
        }
    }
}

/// True if a Mattermost setting key names a secret (used to blank defaults
/// such as the sample Elasticsearch password out of rendered files).
pub fn is_secret_key(key: &str) -> bool {
    Secrets::get().is_secret_setting_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_urls_and_secret_keys_are_found_without_their_text() {
        let doc = json!({"secureMattermost": {"settings": {
            "SqlSettings": {"DataSource": "postgres://u:CANARY@h/db", "DataSourceReplicas": ["postgres://h/db?sslmode=verify-full"]},
            "EmailSettings": {"SMTPPassword": "CANARY"},
            "PluginSettings": {"Plugins": {"com.github.gitlab": {"gitlaboauthclientsecret": "CANARY"}}},
            "ServiceSettings": {"EnableUserAccessTokens": false, "TerminateSessionsOnPasswordChange": true}
        }}});
        let f = find_literals(&doc);
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f.iter().all(|x| !x.describe().contains("CANARY")));
    }

    #[test]
    fn server_secrets_and_plugin_strings_are_secret_unless_declared_public() {
        let doc = json!({"secureMattermost": {
            "publicPluginSettings": {"com.mattermost.calls": ["ICEHostOverride"]},
            "settings": {
                "ImageProxySettings": {"RemoteImageProxyOptions": "hmac-key"},
                "PluginSettings": {"Plugins": {
                    "com.example.x": {"EncryptionKey": "k", "Nested": {"Deep": "v"}},
                    "com.mattermost.calls": {"ICEHostOverride": "turn.example.mil", "Other": "x"}
                }},
                "MessageExportSettings": {"GlobalRelaySettings": {"EmailAddress": "a@b"}}
        }}});
        let paths: Vec<String> = find_literals(&doc).iter().map(|f| f.path.join(".")).collect();
        assert_eq!(paths.len(), 5, "{paths:?}");
        assert!(!paths.iter().any(|p| p.ends_with("ICEHostOverride")), "{paths:?}");
    }

    #[test]
    fn passwords_in_any_dsn_form_are_found() {
        for dsn in ["host=h password = x", "postgres://h/db?pass%77ord=x", "postgres://:pw@db/mm", "host=h PASSWORD='a b'"] {
            let doc = json!({"secureMattermost": {"settings": {"SqlSettings": {"DataSourceReplicas": [dsn]}}}});
            assert_eq!(find_literals(&doc).len(), 1, "{dsn}");
        }
        let clean = json!({"secureMattermost": {"settings": {"SqlSettings": {"DataSourceReplicas": ["postgres://r/mm?sslmode=verify-full"]}}}});
        assert!(find_literals(&clean).is_empty());
    }

    #[test]
    fn trap_options_are_refused() {
        let doc = json!({"secureMattermost": {"database": {"password": "x"}}});
        assert_eq!(find_literals(&doc).len(), 1);
    }

    #[test]
    fn store_paths_are_recognised_after_normalising() {
        assert!(in_store("/nix/store/abc-x"));
        assert!(in_store("/run/../nix/store/x"));
        assert!(in_store("//nix/./store/x"));
        assert!(!in_store("/run/secrets/nix/store"));
        let s = Secrets::get();
        assert!(s.is_safe_path("/run/secrets/mattermost/database-password"));
        for bad in ["hunter2", "/run/keys/tls key.pem", "/run/x;y", "/run/x\ny", "/nix/store/abc-x", "/run/../nix/store/abc-x", ""] {
            assert!(!s.is_safe_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_lower_cased_ascii_only_as_nix_does() {
        let s = Secrets::get();
        assert!(s.is_secret_setting_key("SMTPPassword"));
        assert!(s.is_secret_setting_key("ApiKEY"));
        assert!(!s.is_secret_setting_key("SiteName"));
    }
}
