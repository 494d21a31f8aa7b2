//! Refusal of literal secrets, with the catalog's patterns (the Nix module
//! applies the same ones in modules/document.nix). Findings name the option
//! path and the rule, never the value.

use serde_json::Value;

use crate::catalog::{full_match, lookup, Catalog};
use crate::error::Error;

pub fn refuse_literals(raw: &Value) -> Result<(), Error> {
    let findings = find_literals(raw);
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::LiteralSecret { findings })
    }
}

pub fn find_literals(raw: &Value) -> Vec<String> {
    let catalog = Catalog::load();
    let s = &catalog.secrets;
    let Some(decl) = raw.get("secureMattermost") else { return vec![] };
    let mut out = Vec::new();
    for trap in &s.trap_options {
        if !lookup(decl, &trap.option).is_null() {
            out.push(format!(
                "[{}] services.secureMattermost.{} (use {})",
                s.literal_rule, trap.option, trap.replacement
            ));
        }
    }
    walk(decl, &mut Vec::new(), &mut |path, text| {
        if s.value_patterns.iter().any(|p| full_match(p, text)) {
            out.push(format!("[{}] services.secureMattermost.{}", s.value_rule, path.join(".")));
        }
        if path.len() > 1
            && path[0] == "settings"
            && !text.is_empty()
            && path.last().is_some_and(|k| is_secret_key(k))
        {
            out.push(format!("[{}] services.secureMattermost.{}", s.setting_rule, path.join(".")));
        }
        if path.len() > 1
            && path[0] == "settings"
            && text.starts_with("/nix/store")
            && path.last().is_some_and(|k| full_match(&s.store_file_key_pattern, &k.to_lowercase()))
        {
            out.push(format!("[{}] services.secureMattermost.{}", s.store_file_rule, path.join(".")));
        }
    });
    out
}

/// True if a Mattermost setting key names a secret (used to blank defaults
/// such as the sample Elasticsearch password out of rendered files).
pub fn is_secret_key(key: &str) -> bool {
    // Matched lower-cased: plugin settings spell keys in any case.
    full_match(&Catalog::load().secrets.setting_key_pattern, &key.to_lowercase())
}

fn walk(v: &Value, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &str)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                walk(x, path, f);
                path.pop();
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                path.push(format!("[{i}]"));
                walk(x, path, f);
                path.pop();
            }
        }
        Value::String(s) => f(path, s),
        _ => {}
    }
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
        assert!(f.iter().all(|x| !x.contains("CANARY")));
    }

    #[test]
    fn credential_urls_without_a_user_name_are_found() {
        let doc = json!({"secureMattermost": {"settings": {"SqlSettings": {"DataSource": "postgres://:pw@db/mm"}}}});
        assert_eq!(find_literals(&doc).len(), 1);
    }

    #[test]
    fn trap_options_are_refused() {
        let doc = json!({"secureMattermost": {"database": {"password": "x"}}});
        assert_eq!(find_literals(&doc).len(), 1);
    }
}
