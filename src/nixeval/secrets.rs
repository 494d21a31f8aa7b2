//! The catalog's literal-secret rules (`catalog/controls.json`, `secrets`),
//! applied as `modules/document.nix` applies them.

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
    setting_key: Regex,
    value_patterns: Vec<Regex>,
    pub traps: Vec<Trap>,
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
            setting_key: compile(&string("settingKeyPattern")?)?,
            value_patterns,
            traps,
        })
    }

    pub fn looks_like_credential(&self, s: &str) -> bool {
        self.value_patterns.iter().any(|p| p.is_match(s.as_bytes()))
    }

    pub fn is_secret_setting_key(&self, key: &str) -> bool {
        self.setting_key.is_match(key.as_bytes())
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
