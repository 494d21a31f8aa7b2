//! Mattermost's environment-variable form of settings, and the secret
//! references each mode passes at start.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::document::Deployment;
use crate::effective;

/// `ServiceSettings.SiteURL` → `MM_SERVICESETTINGS_SITEURL`.
pub fn var_name(dotted: &str) -> String {
    format!("MM_{}", dotted.replace('.', "_").to_uppercase())
}

/// Settings values as Mattermost parses them from the environment: lists
/// space-separated, maps and raw JSON fields as JSON.
pub fn var_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(xs) => xs.iter().map(var_value).collect::<Vec<_>>().join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every leaf of `config` that differs from `defaults`, as dotted keys.
pub fn changed(config: &Value, defaults: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    // An equal subtree has no differing leaf: skip it without building its
    // keys' dotted names (most of the configuration keeps its defaults).
    if config == defaults {
        return;
    }
    match (config, defaults) {
        (Value::Object(c), Value::Object(d)) if !c.is_empty() && !crate::defaults::is_free_form(prefix) => {
            for (k, v) in c {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                changed(v, d.get(k).unwrap_or(&Value::Null), &p, out);
            }
        }
        (c, d) if c != d => out.push((prefix.to_string(), c.clone())),
        _ => {}
    }
}

/// One secret a process needs: from a file (bare metal, a systemd
/// credential) into an environment variable. `template` holds `{}` where
/// the secret goes; `encode` percent-encodes it first (DSNs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretEnv {
    pub env: String,
    pub credential: String,
    pub file: String,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub encode: bool,
    /// Pass the credential's path instead of its contents (licence file).
    #[serde(default)]
    pub path_only: bool,
    /// `[plugin id, setting key]`: the secret goes into that plugin's entry
    /// of the JSON map in `env` (MM_PLUGINSETTINGS_PLUGINS), which the server
    /// reads from its environment only as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub secrets: Vec<SecretEnv>,
    /// Hardened settings set as environment too: Mattermost locks
    /// environment-set values in the System Console (CM-5), so a console
    /// edit cannot undo them between restarts. Values only, never secrets.
    #[serde(default)]
    pub pinned: Vec<PinnedSetting>,
    /// The non-secret plugin settings map the `json_path` secrets are merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins_base: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PinnedSetting {
    pub env: String,
    pub value: String,
}

pub fn secret_spec(d: &Deployment, config: &Value) -> SecretSpec {
    // Every secret a file option supplies, as the module's metadata says
    // (`crate::options`): its setting, credential and conditions.
    let decl = serde_json::to_value(d).unwrap_or(Value::Null);
    let mut s: Vec<SecretEnv> = crate::options::secret_sources(&decl, "file")
        .into_iter()
        .filter_map(|src| {
            let file = src.value.as_str()?;
            let template = src
                .meta
                .computed
                .as_deref()
                .and_then(|name| effective::computed(d, name))
                .and_then(|v| v.as_str().map(str::to_string));
            Some(SecretEnv {
                env: var_name(&src.meta.setting),
                credential: src.meta.credential.clone(),
                file: file.to_string(),
                template,
                encode: src.meta.encode,
                path_only: src.meta.path_only,
                json_path: None,
            })
        })
        .collect();
    let plugins_path = &crate::catalog::Catalog::load().secrets.plugin_settings_path;
    let mut plugin_secrets = false;
    for (key, setting) in &d.secret_settings {
        if let Some(file) = &setting.file {
            let plugin = key
                .strip_prefix(plugins_path.as_str())
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|r| r.rsplit_once('.'))
                .map(|(id, k)| vec![id.to_string(), k.to_string()]);
            plugin_secrets |= plugin.is_some();
            s.push(SecretEnv {
                env: if plugin.is_some() { var_name(plugins_path) } else { var_name(key) },
                credential: format!("setting-{}", key.to_lowercase().replace('.', "-")),
                file: file.clone(),
                template: None,
                encode: false,
                path_only: false,
                json_path: plugin,
            });
        }
    }
    let pinned = rule_settings(config, &["SqlSettings.DataSource"])
        .into_iter()
        .map(|(env, value)| PinnedSetting { env, value })
        .collect();
    let plugins_base = plugin_secrets.then(|| crate::catalog::lookup(config, plugins_path).clone());
    SecretSpec { secrets: s, pinned, plugins_base }
}

pub fn secret_spec_json(d: &Deployment, config: &Value) -> String {
    serde_json::to_string_pretty(&secret_spec(d, config)).unwrap_or_default() + "\n"
}

/// The server splits a list it reads from its environment on single spaces
/// (`strings.Split`), so an empty value becomes a list of one empty string:
/// an empty replica list would become one replica at "". An empty list is
/// therefore never pinned through the environment (config.json carries it
/// on bare metal; on Kubernetes it stays the release default).
fn empty_list(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.is_empty())
}

/// Every setting a catalog rule hardens or reads, as (variable, value).
fn rule_settings(config: &Value, skip: &[&str]) -> Vec<(String, String)> {
    let mut keys: Vec<&String> = crate::catalog::Catalog::load()
        .rules
        .iter()
        .flat_map(|r| r.settings.iter().chain(r.harden.keys()))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !skip.contains(&k.as_str()))
        .filter_map(|k| {
            let v = crate::catalog::lookup(config, k);
            let blank_secret = v.as_str() == Some("") && crate::secrets::is_secret_key(k.rsplit('.').next().unwrap_or(k));
            (!v.is_null() && !blank_secret && !empty_list(v)).then(|| (var_name(k), var_value(v)))
        })
        .collect()
}

/// Kubernetes: the same secrets as `secretKeyRef` environment entries, from
/// the Secret-reference options whose metadata names a secret setting the
/// server reads from its environment (files the server reads, such as the
/// SAML key, are mounted instead; see helm.rs).
pub fn kubernetes_secret_env(d: &Deployment) -> Vec<Value> {
    let r = |env: &str, name: &str, key: &str| {
        json!({"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}})
    };
    let decl = serde_json::to_value(d).unwrap_or(Value::Null);
    let mut out: Vec<Value> = crate::options::secret_sources(&decl, "secretRef")
        .into_iter()
        .filter(|src| !src.meta.path_only && src.meta.computed.is_none())
        .filter_map(|src| {
            let (name, key) = (src.value["name"].as_str()?, src.value["key"].as_str()?);
            Some(r(&var_name(&src.meta.setting), name, key))
        })
        .collect();
    for (key, setting) in &d.secret_settings {
        if let Some(s) = &setting.kubernetes_secret {
            out.push(r(&var_name(key), &s.name, &s.key));
        }
    }
    out
}

/// Non-secret settings for Kubernetes. The chart and the operator keep the
/// configuration in the database, where the System Console could change it;
/// environment variables win over it and lock the setting (CM-5). So every
/// setting a rule hardens or reads is pinned, default or not, plus whatever
/// differs from the release defaults.
pub fn kubernetes_setting_env(config: &Value, skip: &[&str]) -> Vec<Value> {
    let mut diff = Vec::new();
    changed(config, crate::defaults::defaults_ref(), "", &mut diff);
    let mut vars: Vec<(String, String)> = rule_settings(config, skip);
    let mut seen: std::collections::HashSet<String> = vars.iter().map(|(n, _)| n.clone()).collect();
    for (k, v) in diff {
        let name = var_name(&k);
        if !skip.contains(&k.as_str()) && !empty_list(&v) && seen.insert(name.clone()) {
            vars.push((name, var_value(&v)));
        }
    }
    vars.sort();
    vars.into_iter().map(|(name, value)| json!({"name": name, "value": value})).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(var_name("ServiceSettings.SiteURL"), "MM_SERVICESETTINGS_SITEURL");
        assert_eq!(var_value(&json!(["a", "b"])), "a b");
        assert_eq!(var_value(&json!(false)), "false");
    }

    #[test]
    fn changed_lists_only_differing_leaves() {
        let defaults = json!({"A": {"X": 1, "Y": [1]}, "B": {"Z": "s"}, "C": {}});
        let config = json!({"A": {"X": 2, "Y": [1]}, "B": {"Z": "s"}, "C": {}, "D": {"N": null, "T": true}});
        let mut out = Vec::new();
        changed(&config, &defaults, "", &mut out);
        assert_eq!(out, vec![("A.X".to_string(), json!(2)), ("D".to_string(), json!({"N": null, "T": true}))]);
        let mut none = Vec::new();
        changed(&defaults, &defaults, "", &mut none);
        assert!(none.is_empty());
    }
}
