//! The options contract: the module says once what every option means
//! (modules/options-schema.json, generated from modules/), and the helper
//! derives everything from it.
//!
//! - every JSON document the tests use is valid against the schema;
//! - a hardened key is set in one place (catalog `harden` or an option);
//! - an option added with metadata only reaches config.json and the secret
//!   environment without touching Rust (a scratch copy of the committed
//!   schema, rebuilt; with nixpkgs' lib also a scratch copy of the module).

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn schema() -> Value {
    load("modules/options-schema.json")
}

/// Checks `v` against an option type of the schema; problems go to `out`.
fn check_type(t: &Value, v: &Value, at: &str, ancestors: &mut Vec<Value>, out: &mut Vec<String>) {
    let kind = t["kind"].as_str().unwrap_or_default();
    if kind == "ref" {
        let up = t["up"].as_u64().unwrap_or(0) as usize;
        let target = ancestors.len().checked_sub(up + 1).map(|i| ancestors[i].clone());
        match target {
            Some(t) => check_type(&t, v, at, ancestors, out),
            None => out.push(format!("{at}: schema ref points outside its type")),
        }
        return;
    }
    ancestors.push(t.clone());
    let bad = |what: &str, out: &mut Vec<String>| out.push(format!("{at}: expected {what}, found {v}"));
    match kind {
        "bool" if !v.is_boolean() => bad("a bool", out),
        "str" | "absolutePathString" if !v.is_string() => bad("a string", out),
        "strMatching" => match v.as_str() {
            Some(s) => {
                let re = regex::Regex::new(&format!("^(?s:{})$", t["pattern"].as_str().unwrap_or_default())).expect("pattern");
                if !re.is_match(s) {
                    out.push(format!("{at}: does not match its pattern"));
                }
            }
            None => bad("a string", out),
        },
        "int" if !v.is_i64() => bad("an integer", out),
        "float" if !v.is_number() => bad("a number", out),
        "positiveInt" if !v.as_u64().is_some_and(|n| n > 0) => bad("a positive integer", out),
        "port" if !v.as_u64().is_some_and(|n| n <= 65535) => bad("a port", out),
        "enum" if !t["values"].as_array().is_some_and(|xs| xs.contains(v)) => bad("one of the enum's values", out),
        "nullOr" => {
            if !v.is_null() {
                check_type(&t["elem"], v, at, ancestors, out);
            }
        }
        "listOf" => match v.as_array() {
            Some(xs) => xs.iter().enumerate().for_each(|(i, x)| check_type(&t["elem"], x, &format!("{at}[{i}]"), ancestors, out)),
            None => bad("a list", out),
        },
        "attrsOf" => match v.as_object() {
            Some(m) => m.iter().for_each(|(k, x)| check_type(&t["elem"], x, &format!("{at}.\"{k}\""), ancestors, out)),
            None => bad("an attribute set", out),
        },
        "either" => {
            let mut l = Vec::new();
            check_type(&t["left"], v, at, ancestors, &mut l);
            if !l.is_empty() {
                let mut r = Vec::new();
                check_type(&t["right"], v, at, ancestors, &mut r);
                if !r.is_empty() {
                    out.push(format!("{at}: matches neither side of its either type ({}; {})", l.join(", "), r.join(", ")));
                }
            }
        }
        "submodule" => check_options(t["options"].as_array().map(Vec::as_slice).unwrap_or_default(), v, at, ancestors, out),
        "secretTrap" => out.push(format!("{at}: a secret trap option must never reach a document")),
        _ => {}
    }
    ancestors.pop();
}

fn check_options(options: &[Value], v: &Value, at: &str, ancestors: &mut Vec<Value>, out: &mut Vec<String>) {
    let Some(obj) = v.as_object() else {
        out.push(format!("{at}: expected an attribute set"));
        return;
    };
    // Declared options: present (traps excepted) and of their type.
    let mut declared: Vec<Vec<String>> = Vec::new();
    for o in options {
        let path: Vec<String> = o["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        declared.push(path.clone());
        if o["type"]["kind"] == "secretTrap" {
            continue;
        }
        let here = path.iter().try_fold(v, |x, k| x.get(k));
        match here {
            Some(x) => check_type(&o["type"], x, &format!("{at}.{}", path.join(".")), ancestors, out),
            None => out.push(format!("{at}.{}: missing", path.join("."))),
        }
    }
    // Nothing undeclared.
    fn walk(v: &serde_json::Map<String, Value>, prefix: &[String], declared: &[Vec<String>], at: &str, out: &mut Vec<String>) {
        for (k, x) in v {
            let mut p = prefix.to_vec();
            p.push(k.clone());
            if declared.iter().any(|d| *d == p) {
                continue;
            }
            match x.as_object() {
                Some(m) if declared.iter().any(|d| d.starts_with(&p)) => walk(m, &p, declared, at, out),
                _ => out.push(format!("{at}.{}: not an option of the schema", p.join("."))),
            }
        }
    }
    walk(obj, &[], &declared, at, out);
}

fn validate_document(doc: &Value) -> Vec<String> {
    let s = schema();
    let mut out = Vec::new();
    if doc["schemaVersion"] != json!(1) {
        out.push("schemaVersion is not 1".into());
    }
    check_options(s["options"].as_array().unwrap(), &doc["secureMattermost"], "services.secureMattermost", &mut Vec::new(), &mut out);
    out
}

fn every_json_document_the_tests_use_is_valid_against_the_schema() {
    let mut problems = Vec::new();
    let mut docs: Vec<(String, Value)> = vec![
        ("examples/baremetal.json".into(), load("examples/baremetal.json")),
        ("examples/kubernetes.json".into(), load("examples/kubernetes.json")),
        ("tests/fixtures/base-baremetal.json".into(), base("baremetal")),
        ("tests/fixtures/base-kubernetes.json".into(), base("kubernetes")),
    ];
    for e in std::fs::read_dir(root().join("tests/conformance/expected")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".json") && !name.ends_with(".error.json") {
            docs.push((format!("tests/conformance/expected/{name}"), load(&format!("tests/conformance/expected/{name}"))));
        }
    }
    // Rule fixtures are patches: the documents they make must be valid too.
    for e in std::fs::read_dir(root().join("tests/fixtures/rules")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let fx = load(&format!("tests/fixtures/rules/{name}"));
        for side in ["good", "bad"] {
            let doc = patched(base(fx["base"].as_str().unwrap()), &fx[side]);
            docs.push((format!("tests/fixtures/rules/{name} ({side})"), doc));
        }
    }
    assert!(docs.len() > 150, "too few documents found: {}", docs.len());
    for (name, doc) in &docs {
        for p in validate_document(doc) {
            problems.push(format!("{name}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

fn the_schema_validator_can_fail() {
    let mut d = base("baremetal");
    d["secureMattermost"]["replicas"] = json!(0);
    d["secureMattermost"]["surprise"] = json!(true);
    d["secureMattermost"]["auth"]["provider"] = json!("kerberos");
    d["secureMattermost"].as_object_mut().unwrap().remove("domain");
    let p = validate_document(&d);
    assert_eq!(p.len(), 4, "{p:?}");
}

/// Settings an option decides, from the schema's metadata.
fn option_settings(s: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(opts: &[Value], out: &mut Vec<(String, String)>) {
        for o in opts {
            let name = o["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join(".");
            for m in o["meta"]["sets"].as_array().into_iter().flatten() {
                out.push((m["setting"].as_str().unwrap().to_string(), name.clone()));
            }
            if let Some(sec) = o["meta"]["secret"]["setting"].as_str() {
                out.push((sec.to_string(), name.clone()));
            }
            if o["type"]["kind"] == "attrsOf" && o["type"]["elem"]["kind"] == "submodule" {
                walk(o["type"]["elem"]["options"].as_array().unwrap(), out);
            }
        }
    }
    walk(s["options"].as_array().unwrap(), &mut out);
    out
}

fn a_hardened_key_is_set_in_one_place() {
    let catalog = load("catalog/controls.json");
    let decided = option_settings(&schema());
    let mut problems = Vec::new();
    for r in catalog["rules"].as_array().unwrap() {
        for key in r["harden"].as_object().into_iter().flatten().map(|(k, _)| k) {
            if let Some((_, option)) = decided.iter().find(|(s, _)| s == key) {
                problems.push(format!("{key}: hardened by rule {} and decided by option {option}", r["id"]));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every setting an option decides is a setting of the pinned release.
    let defaults = load("catalog/mattermost-defaults.json");
    for (setting, option) in &decided {
        assert!(!crate_lookup(&defaults, setting).is_null(), "{option} decides {setting}, which the pinned release does not have");
    }
}

fn crate_lookup<'a>(v: &'a Value, dotted: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    dotted.split('.').try_fold(v, |x, k| x.get(k)).unwrap_or(&NULL)
}

fn every_justification_alias_names_a_catalog_rule() {
    let ids: Vec<String> = load("catalog/controls.json")["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    fn walk(opts: &[Value], ids: &[String], out: &mut Vec<String>) {
        for o in opts {
            for a in o["meta"]["answers"].as_array().into_iter().flatten() {
                if !ids.iter().any(|i| a == i) {
                    out.push(format!("{:?} answers unknown rule {a}", o["path"]));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(schema()["options"].as_array().unwrap(), &ids, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

// ---- A new option with metadata only ------------------------------------

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "target" || n == ".git" || n.starts_with("result") {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Builds the helper in `tree` (its own target directory under ours, so
/// dependencies are compiled once and reused by later runs).
fn build(tree: &Path) -> PathBuf {
    let target = root().join("target/contract-scratch");
    let out = Command::new(env!("CARGO"))
        .current_dir(tree)
        .args(["build", "--quiet", "--locked", "--bin", "secure-mattermost"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "scratch build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("debug/secure-mattermost")
}

/// Renders the bare-metal example plus the two new options with `bin`, and
/// checks that they reached config.json, the secret spec and the unit.
fn assert_new_options_render(bin: &Path) {
    let mut doc = load("examples/baremetal.json");
    doc["secureMattermost"]["teamDescription"] = json!("Program coordination");
    doc["secureMattermost"]["splitKeyFile"] = json!("/run/secrets/mattermost/split-key");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = Command::new(bin)
        .args(["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(doc.to_string().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let config: Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["TeamSettings"]["CustomDescriptionText"], "Program coordination");
    let spec = std::fs::read_to_string(out.join("secret-env.json")).unwrap();
    assert!(spec.contains("\"env\": \"MM_SERVICESETTINGS_SPLITKEY\"") && spec.contains("\"credential\": \"split-key\""), "{spec}");
    let unit = std::fs::read_to_string(out.join("mattermost.service")).unwrap();
    assert!(unit.contains("LoadCredential=split-key:/run/secrets/mattermost/split-key"), "{unit}");
    // And the unmodified helper refuses the document: the options are really new.
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 2, "{}", r.stderr);
}

fn a_new_option_with_metadata_only_reaches_config_and_environment() {
    let scratch = tempfile::tempdir().unwrap();
    let tree = scratch.path().join("repo");
    copy_tree(&root(), &tree);
    // Edit the committed schema as the generator would write it.
    let path = tree.join("modules/options-schema.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let opts = s["options"].as_array_mut().unwrap();
    opts.push(json!({
        "path": ["teamDescription"],
        "default": null,
        "type": {"kind": "nullOr", "description": "null or string", "elem": {"kind": "str", "description": "string"}},
        "meta": {"sets": [{"setting": "TeamSettings.CustomDescriptionText", "skipNull": true}]}
    }));
    opts.push(json!({
        "path": ["splitKeyFile"],
        "default": null,
        "type": {"kind": "nullOr", "description": "null or absolute file path", "elem": {"kind": "absolutePathString", "description": "absolute file path"}},
        "meta": {"secret": {"setting": "ServiceSettings.SplitKey", "credential": "split-key", "when": [{"option": "splitKeyFile", "notNull": true}]}}
    }));
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    assert_new_options_render(&build(&tree));
}

/// The same, from a scratch copy of the module itself, with real Nix writing the schema.
fn a_new_option_declared_in_the_module_reaches_config_and_environment() {
    if !nix_lib_available("contract/new_option_in_the_module") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let tree = scratch.path().join("repo");
    copy_tree(&root(), &tree);
    std::fs::write(
        tree.join("modules/options/scratch.nix"),
        r#"{ lib, ... }:
let
  smTypes = import ../types.nix { inherit lib; };
in
{
  options.services.secureMattermost = {
    teamDescription = smTypes.withMeta { sets = [ { setting = "TeamSettings.CustomDescriptionText"; skipNull = true; } ]; } (lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "Program coordination";
      description = "Scratch option added by tests/contract.rs.";
    });
    splitKeyFile = lib.mkOption {
      type = lib.types.nullOr smTypes.absolutePathString;
      default = null;
      example = "/run/secrets/split-key";
      description = "Scratch secret option added by tests/contract.rs.";
    } // { secureMattermost.secret = { setting = "ServiceSettings.SplitKey"; credential = "split-key"; when = [ (smTypes.optionSet "splitKeyFile") ]; }; };
  };
}
"#,
    )
    .unwrap();
    let main = tree.join("modules/secure-mattermost.nix");
    let text = std::fs::read_to_string(&main).unwrap().replace("./options/core.nix", "./options/core.nix\n    ./options/scratch.nix");
    std::fs::write(&main, text).unwrap();
    let gen = Command::new("bash").arg(tree.join("scripts/gen-options-schema.sh")).current_dir(&tree).output().unwrap();
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    assert_new_options_render(&build(&tree));
}

tests![
    every_json_document_the_tests_use_is_valid_against_the_schema,
    the_schema_validator_can_fail,
    a_hardened_key_is_set_in_one_place,
    every_justification_alias_names_a_catalog_rule,
    a_new_option_with_metadata_only_reaches_config_and_environment,
    a_new_option_declared_in_the_module_reaches_config_and_environment,
];
