//! The catalog's literal-secret rules (`catalog/controls.json`, `secrets`),
//! applied as `modules/document.nix` applies them, and its file path rule
//! (`pathPattern`, `pathRule`), applied as `modules/types.nix`
//! `absolutePathString` applies it.

use std::sync::OnceLock;

use regex::bytes::Regex;
use serde_json::Value as Json;

use super::error::{Error, ErrorKind, Result};

const CATALOG: &str = include_str!("../../catalog/controls.json");

pub(crate) struct Trap {
    /// Relative to `services.secureMattermost`, e.g. `["database", "password"]`.
    pub path: Vec<String>,
    /// The option to use instead, e.g. `database.passwordFile`.
    pub replacement: String,
}

pub(crate) struct Secrets {
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
}

/// `builtins.match`: a POSIX extended regex against the whole string, byte
/// for byte, where `.` also matches a newline.
pub(crate) fn posix_match(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    Regex::new(&format!("(?s-u)^(?:{pattern})$"))
}

impl Secrets {
    pub fn get() -> Result<&'static Secrets> {
        static SECRETS: OnceLock<std::result::Result<Secrets, String>> = OnceLock::new();
        SECRETS
            .get_or_init(|| Secrets::load(CATALOG))
            .as_ref()
            .map_err(|e| Error::new(ErrorKind::Eval, format!("catalog/controls.json: {e}")))
    }

    fn load(text: &str) -> std::result::Result<Secrets, String> {
        let catalog: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let secrets = catalog.get("secrets").ok_or("no `secrets` section")?;
        let string = |key: &str| -> std::result::Result<String, String> {
            secrets
                .get(key)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("secrets.{key} is not a string"))
        };
        let compile = |p: &str| posix_match(p).map_err(|e| format!("pattern {p:?}: {e}"));
        let top_string = |key: &str| -> std::result::Result<String, String> {
            catalog
                .get(key)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{key} is not a string"))
        };
        let value_patterns = secrets
            .get("valuePatterns")
            .and_then(Json::as_array)
            .ok_or("secrets.valuePatterns is not a list")?
            .iter()
            .map(|p| {
                p.as_str()
                    .ok_or_else(|| "a value pattern is not a string".to_string())
                    .and_then(compile)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let traps = secrets
            .get("trapOptions")
            .and_then(Json::as_array)
            .ok_or("secrets.trapOptions is not a list")?
            .iter()
            .map(|t| {
                let option = t
                    .get("option")
                    .and_then(Json::as_str)
                    .ok_or("trap without `option`")?;
                let replacement = t
                    .get("use")
                    .and_then(Json::as_str)
                    .ok_or("trap without `use`")?;
                Ok(Trap {
                    path: option.split('.').map(str::to_string).collect(),
                    replacement: replacement.to_string(),
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(Secrets {
            literal_rule: string("literalRule")?,
            setting_rule: string("settingRule")?,
            value_rule: string("valueRule")?,
            store_file_rule: string("storeFileRule")?,
            store_file_key: compile(&string("storeFileKeyPattern")?)?,
            setting_key: compile(&string("settingKeyPattern")?)?,
            value_patterns,
            traps,
            path_pattern: compile(&top_string("pathPattern")?)?,
            path_rule: top_string("pathRule")?,
        })
    }

    pub fn looks_like_credential(&self, s: &str) -> bool {
        self.value_patterns.iter().any(|p| p.is_match(s.as_bytes()))
    }

    /// `settingKeyPattern` against the key lower-cased with `lib.toLower`,
    /// which maps A-Z only (`secrets.settingKeyMatch`).
    pub fn is_secret_setting_key(&self, key: &str) -> bool {
        self.setting_key
            .is_match(key.to_ascii_lowercase().as_bytes())
    }

    /// `storeFileKeyPattern` against the lower-cased key: a settings key
    /// naming a secret file, whose value must not be a store path.
    pub fn is_secret_file_key(&self, key: &str) -> bool {
        self.store_file_key.is_match(key.to_ascii_lowercase().as_bytes())
    }

    /// `isSafePath` of modules/types.nix: a string fully matching
    /// `pathPattern`, not under /nix/store as written nor once `.`, `..` and
    /// empty components are resolved.
    pub fn is_safe_path(&self, s: &str) -> bool {
        self.path_pattern.is_match(s.as_bytes())
            && !s.starts_with("/nix/store")
            && !normalise_path(s).starts_with("/nix/store")
    }

    /// Whether a binding at this attribute path (as written, any prefix)
    /// likely holds a secret; only used to mask snippets.
    pub fn is_secret_binding(&self, keys: &[String]) -> bool {
        let Some(last) = keys.last() else {
            return false;
        };
        self.is_secret_setting_key(last)
            || self.traps.iter().any(|t| {
                keys.len() >= t.path.len() && keys[keys.len() - t.path.len()..] == t.path[..]
            })
    }
}

/// `normalisePath` of modules/types.nix: `.`, `..` and empty components
/// resolved lexically (`..` at the root stays at the root).
fn normalise_path(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_judged_like_types_nix() {
        let s = Secrets::load(CATALOG).expect("catalog");
        assert!(s.is_safe_path("/run/secrets/mattermost/database-password"));
        assert!(s.is_safe_path("/"));
        assert!(!s.is_safe_path("hunter2"));
        assert!(!s.is_safe_path("/run/keys/tls key.pem"));
        assert!(!s.is_safe_path("/run/x;y"));
        assert!(!s.is_safe_path("/run/x\ny"));
        assert!(!s.is_safe_path("/nix/store/abc-x"));
        assert!(!s.is_safe_path("/nix/storefoo"));
        assert!(!s.is_safe_path("/run/../nix/store/abc-x"));
        assert!(!s.is_safe_path("//nix//./store/x"));
        assert!(!s.is_safe_path("/../../nix/store"));
        assert!(!s.is_safe_path("/nix/store/../x"));
        assert!(!s.is_safe_path(""));
        assert_eq!(normalise_path("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normalise_path("/.."), "/");
    }

    #[test]
    fn setting_keys_are_lower_cased_ascii_only() {
        let s = Secrets::load(CATALOG).expect("catalog");
        assert!(s.is_secret_setting_key("SMTPPassword"));
        assert!(s.is_secret_setting_key("CLIENT_SECRET"));
        assert!(s.is_secret_setting_key("ApiKEY"));
        assert!(s.is_secret_setting_key("atrestencryptkey"));
        assert!(!s.is_secret_setting_key("SiteName"));
    }
}
