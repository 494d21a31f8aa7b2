//! Every Mattermost setting that can open a connection, accept input from
//! outside or talk in clear has exactly one recorded decision
//! (catalog/setting-decisions.json): a rule that checks it, a rule that
//! covers it, or a reason it is out of scope. The selection is data in that
//! file and is applied here to the pinned release's key tree
//! (catalog/mattermost-defaults.json); docs/setting-decisions.md is generated
//! from the same file.

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const DECISIONS: &str = "catalog/setting-decisions.json";
const DOCS: &str = "docs/setting-decisions.md";
const REGENERATE: &str = "UPDATE_DOCS=1 cargo test --test setting_decisions";

/// Whole-string match; a pattern that does not compile is a defect of the file.
fn full(pattern: &str, s: &str) -> bool {
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> = Default::default();
    }
    COMPILED.with(|c| {
        c.borrow_mut()
            .entry(pattern.to_string())
            .or_insert_with(|| {
                regex::Regex::new(&format!("^(?s:{pattern})$"))
                    .unwrap_or_else(|e| panic!("{DECISIONS}: pattern {pattern:?} does not compile: {e}"))
            })
            .is_match(s)
    })
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{DECISIONS}: selection.{key} must be a string"))
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{DECISIONS}: selection.{key} must be a list"))
        .iter()
        .map(|x| x.as_str().unwrap_or_else(|| panic!("{DECISIONS}: selection.{key} holds a non-string")).to_string())
        .collect()
}

/// Every leaf of the defaults (free-form paths are one leaf), in file order.
fn leaves(v: &Value, prefix: &str, free_form: &[String], out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() && !free_form.iter().any(|f| f == prefix) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(x, &p, free_form, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

/// The selected settings with their release defaults, in the defaults' order.
fn selected(selection: &Value, defaults: &Value) -> Vec<(String, Value)> {
    let free_form = strings(selection, "freeFormLeaves");
    let also = strings(selection, "alsoSelected");
    let (name, exclude) = (text(selection, "namePattern"), text(selection, "nameExcludePattern"));
    let (value, boolean) = (text(selection, "stringValuePattern"), text(selection, "booleanNamePattern"));
    let mut all = Vec::new();
    leaves(defaults, "", &free_form, &mut all);
    all.into_iter()
        .filter(|(path, default)| {
            let key = path.rsplit('.').next().unwrap_or(path);
            let url_like = |x: &Value| x.as_str().is_some_and(|s| full(value, s));
            (full(name, key) && !full(exclude, key))
                || url_like(default)
                || default.as_array().is_some_and(|xs| xs.iter().any(url_like))
                || (default.is_boolean() && full(boolean, key))
                || also.contains(path)
        })
        .collect()
}

fn lookup<'a>(root: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(root, |v, k| v.get(k))
}

/// Every `path` a predicate reads.
fn predicate_paths(p: &Value, out: &mut BTreeSet<String>) {
    match p {
        Value::Object(m) => {
            if let Some(Value::String(path)) = m.get("path") {
                out.insert(path.clone());
            }
            m.values().for_each(|x| predicate_paths(x, out));
        }
        Value::Array(xs) => xs.iter().for_each(|x| predicate_paths(x, out)),
        _ => {}
    }
}

/// A rule "checks" a setting when it lists it in `settings` or its
/// `compliant` predicate reads it or something inside it (list elements:
/// `config.X.[].Field`); a `when` alone only covers it.
fn rule_checks(rule: &Value, setting: &str) -> bool {
    let listed = rule["settings"].as_array().is_some_and(|xs| xs.iter().any(|x| x == setting));
    let mut paths = BTreeSet::new();
    predicate_paths(&rule["compliant"], &mut paths);
    let own = format!("config.{setting}");
    listed || paths.iter().any(|p| *p == own || p.starts_with(&format!("{own}.")))
}

/// Everything wrong with the decision file, one line each.
fn problems(doc: &Value, defaults: &Value, catalog: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let selection = &doc["selection"];
    let free_form = strings(selection, "freeFormLeaves");
    for f in &free_form {
        if lookup(defaults, f).is_none() {
            out.push(format!("selection.freeFormLeaves: {f} is not a setting of the pinned release"));
        }
        if !secure_mattermost::defaults::is_free_form(f) {
            out.push(format!("selection.freeFormLeaves: {f} is not free-form for the helper (src/defaults.rs)"));
        }
    }
    let mut objects = Vec::new();
    leaves(defaults, "", &[], &mut objects);
    for (path, _) in objects {
        let mut prefix = String::new();
        for part in path.split('.') {
            prefix = if prefix.is_empty() { part.to_string() } else { format!("{prefix}.{part}") };
            if secure_mattermost::defaults::is_free_form(&prefix) && !free_form.contains(&prefix) {
                out.push(format!("selection.freeFormLeaves lacks {prefix}, which the helper treats as one value"));
            }
        }
    }
    for a in strings(selection, "alsoSelected") {
        if lookup(defaults, &a).is_none() {
            out.push(format!("selection.alsoSelected: {a} is not a setting of the pinned release"));
        }
    }
    out.sort();
    out.dedup();

    let chosen: Vec<String> = selected(selection, defaults).into_iter().map(|(p, _)| p).collect();
    let Some(decisions) = doc["decisions"].as_object() else {
        out.push("decisions must be an object keyed by setting".into());
        return out;
    };
    let rules = catalog["rules"].as_array().expect("catalog rules");
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id);
    for path in &chosen {
        if !decisions.contains_key(path) {
            out.push(format!("{path}: selected but has no decision"));
        }
    }
    for (path, d) in decisions {
        if lookup(defaults, path).is_none() {
            out.push(format!("{path}: decided, but no such setting in the pinned release (catalog/mattermost-defaults.json)"));
            continue;
        }
        if !chosen.contains(path) {
            out.push(format!("{path}: decided, but the selection does not select it (remove it, or add it to selection.alsoSelected)"));
        }
        let Some(m) = d.as_object() else {
            out.push(format!("{path}: a decision is an object"));
            continue;
        };
        let keys: BTreeSet<&str> = m.keys().map(String::as_str).collect();
        let kinds = [BTreeSet::from(["rule"]), BTreeSet::from(["coveredBy", "how"]), BTreeSet::from(["outOfScope"])];
        if !kinds.contains(&keys) {
            out.push(format!(
                "{path}: exactly one of {{\"rule\"}}, {{\"coveredBy\", \"how\"}} or {{\"outOfScope\"}}, found {keys:?}"
            ));
            continue;
        }
        for (k, v) in m {
            let s = v.as_str().unwrap_or_default();
            if s.trim().is_empty() {
                out.push(format!("{path}: {k} must be a non-empty string"));
            } else if matches!(k.as_str(), "how" | "outOfScope") && s.split_whitespace().count() < 4 {
                out.push(format!("{path}: {k} must say why in a sentence, found {s:?}"));
            }
        }
        if let Some(id) = m.get("rule").or_else(|| m.get("coveredBy")).and_then(Value::as_str) {
            match rule(id) {
                None => out.push(format!("{path}: rule {id} is not in the catalog (catalog/controls.json)")),
                Some(r) if m.contains_key("rule") && !rule_checks(r, path) => out.push(format!(
                    "{path}: rule {id} neither lists it in settings nor reads config.{path} in compliant; use coveredBy with how"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn default_text(v: &Value) -> String {
    let shown = match v {
        Value::String(s) if s.contains('@') => return "(set; not shown)".into(),
        Value::Object(m) if !m.is_empty() => "{...}".to_string(),
        other => other.to_string(),
    };
    let shown = if shown.chars().count() > 60 { format!("{}...", shown.chars().take(57).collect::<String>()) } else { shown };
    format!("`{}`", shown.replace('`', "'"))
}

fn markdown(doc: &Value, defaults: &Value) -> String {
    let sel = &doc["selection"];
    let chosen = selected(sel, defaults);
    let decisions = &doc["decisions"];
    let kind = |p: &str| {
        let d = &decisions[p];
        if d.get("rule").is_some() {
            0
        } else if d.get("coveredBy").is_some() {
            1
        } else {
            2
        }
    };
    let count = |k| chosen.iter().filter(|(p, _)| kind(p) == k).count();
    let code_list = |key: &str| strings(sel, key).iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let mut out = format!(
        "# Setting decisions\n\nGenerated from `{DECISIONS}` by `tests/setting_decisions.rs`; do not edit. \
         Regenerate with `{REGENERATE}`.\n\n{}\n\n## Selection\n\n{}\n\n\
         - free-form leaves: {}\n- key name pattern: `{}`, except `{}`\n- string default pattern: `{}`\n\
         - boolean key pattern: `{}`\n- also selected: {}. {}\n\n\
         {} settings selected: {} checked by a rule, {} covered by another rule, {} out of scope. \
         Rule ids are those of [the control catalog](controls.md).\n",
        text(doc, "about"),
        text(sel, "about"),
        code_list("freeFormLeaves"),
        text(sel, "namePattern"),
        text(sel, "nameExcludePattern"),
        text(sel, "stringValuePattern"),
        text(sel, "booleanNamePattern"),
        code_list("alsoSelected"),
        text(sel, "alsoSelectedWhy"),
        chosen.len(),
        count(0),
        count(1),
        count(2),
    );
    let mut section = "";
    for (path, default) in &chosen {
        let (top, rest) = path.split_once('.').unwrap_or((path, path));
        if top != section {
            section = top;
            out.push_str(&format!("\n## {top}\n\n| Setting | Release default | Decision |\n|---|---|---|\n"));
        }
        let d = &decisions[path];
        let decision = if let Some(r) = d["rule"].as_str() {
            format!("checked by `{r}`")
        } else if let Some(r) = d["coveredBy"].as_str() {
            format!("covered by `{r}`: {}", cell(d["how"].as_str().unwrap_or_default()))
        } else {
            format!("out of scope: {}", cell(d["outOfScope"].as_str().unwrap_or_default()))
        };
        out.push_str(&format!("| `{rest}` | {} | {decision} |\n", default_text(default)));
    }
    out
}

fn inputs() -> (Value, Value, Value) {
    (load(DECISIONS), load("catalog/mattermost-defaults.json"), load("catalog/controls.json"))
}

#[test]
fn every_selected_setting_has_exactly_one_valid_decision() {
    let (doc, defaults, catalog) = inputs();
    let p = problems(&doc, &defaults, &catalog);
    assert!(p.is_empty(), "{DECISIONS}: {} problem(s):\n{}", p.len(), p.join("\n"));
}

/// The selection must keep catching the settings that prompted it; a pattern
/// edit that drops one of these fails here rather than silently.
#[test]
fn the_selection_catches_the_known_call_outs() {
    let (doc, defaults, _) = inputs();
    let chosen: Vec<String> = selected(&doc["selection"], &defaults).into_iter().map(|(p, _)| p).collect();
    for must in [
        "ServiceSettings.WebsocketURL",
        "ServiceSettings.EnableAPIPostDeletion",
        "ServiceSettings.EnableIncomingWebhooks",
        "ServiceSettings.EnableAWSMetering",
        "SqlSettings.DataSourceReplicas",
        "LogSettings.AdvancedLoggingJSON",
        "ExperimentalAuditSettings.AdvancedLoggingJSON",
        "EmailSettings.PushNotificationServer",
        "GoogleSettings.Enable",
        "Office365Settings.Enable",
        "SamlSettings.EnableSyncWithLdap",
        "CacheSettings.RedisAddress",
        "ElasticsearchSettings.ConnectionURL",
        "PluginSettings.ChimeraOAuthProxyURL",
        "ImageProxySettings.RemoteImageProxyURL",
        "CloudSettings.PreviewModalBucketURL",
        "AutoTranslationSettings.LibreTranslate.URL",
        "AnnouncementSettings.NoticesURL",
    ] {
        assert!(chosen.iter().any(|c| c == must), "the selection in {DECISIONS} no longer selects {must}");
    }
    // Free-form maps are one leaf: their inner keys are never selected separately.
    assert!(!chosen.iter().any(|c| c.starts_with("PluginSettings.PluginStates.")), "{chosen:?}");
}

/// The checker itself can fail: each kind of defect is reported.
#[test]
fn the_checker_reports_each_kind_of_defect() {
    let (doc, defaults, catalog) = inputs();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        problems(&d, &defaults, &catalog).join("\n")
    };
    let missing = with(&|d| {
        d["decisions"].as_object_mut().unwrap().remove("ServiceSettings.WebsocketURL");
    });
    assert!(missing.contains("ServiceSettings.WebsocketURL: selected but has no decision"), "{missing}");
    let gone = with(&|d| d["decisions"]["ServiceSettings.RemovedSetting"] = json!({"rule": "hsts"}));
    assert!(gone.contains("ServiceSettings.RemovedSetting: decided, but no such setting"), "{gone}");
    let unselected = with(&|d| d["decisions"]["ServiceSettings.ReadTimeout"] = json!({"outOfScope": "a timeout, not a connection target"}));
    assert!(unselected.contains("ServiceSettings.ReadTimeout: decided, but the selection does not select it"), "{unselected}");
    let unknown = with(&|d| d["decisions"]["ServiceSettings.WebsocketURL"] = json!({"rule": "no-such-rule"}));
    assert!(unknown.contains("rule no-such-rule is not in the catalog"), "{unknown}");
    let unknown_cover = with(&|d| d["decisions"]["ServiceSettings.WebsocketURL"] = json!({"coveredBy": "no-such-rule", "how": "it is covered somewhere else entirely"}));
    assert!(unknown_cover.contains("rule no-such-rule is not in the catalog"), "{unknown_cover}");
    let unread = with(&|d| d["decisions"]["ServiceSettings.WebsocketURL"] = json!({"rule": "hsts"}));
    assert!(unread.contains("rule hsts neither lists it"), "{unread}");
    let two = with(&|d| d["decisions"]["ServiceSettings.WebsocketURL"] = json!({"rule": "websocket-url-tls", "outOfScope": "also out of scope somehow"}));
    assert!(two.contains("ServiceSettings.WebsocketURL: exactly one of"), "{two}");
    let terse = with(&|d| d["decisions"]["ServiceSettings.CorsDebug"] = json!({"outOfScope": "n/a"}));
    assert!(terse.contains("ServiceSettings.CorsDebug: outOfScope must say why"), "{terse}");
    let no_how = with(&|d| d["decisions"]["ServiceSettings.CorsDebug"] = json!({"coveredBy": "cors-restricted"}));
    assert!(no_how.contains("ServiceSettings.CorsDebug: exactly one of"), "{no_how}");
    let narrower = with(&|d| d["selection"]["booleanNamePattern"] = json!("Enable.*"));
    assert!(narrower.contains("ServiceSettings.UseLetsEncrypt: decided, but the selection does not select it"), "{narrower}");
    let free = with(&|d| d["selection"]["freeFormLeaves"] = json!(["PluginSettings.Plugins"]));
    assert!(free.contains("selection.freeFormLeaves lacks LogSettings.AdvancedLoggingJSON"), "{free}");
}

#[test]
fn setting_decisions_doc_is_generated_from_the_file() {
    let (doc, defaults, _) = inputs();
    let want = markdown(&doc, &defaults);
    let path = root().join(DOCS);
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == want, "{DOCS} is stale or missing; regenerate it with `{REGENERATE}`");
    // Every selected setting appears, with its decision's rule.
    for (p, d) in doc["decisions"].as_object().unwrap() {
        let rest = p.split_once('.').map(|x| x.1).unwrap_or(p);
        assert!(committed.contains(&format!("| `{rest}` |")), "{DOCS} lacks {p}");
        if let Some(r) = d["rule"].as_str().or(d["coveredBy"].as_str()) {
            assert!(committed.contains(&format!("`{r}`")), "{DOCS} lacks rule {r}");
        }
    }
}
