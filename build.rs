//! Generates the typed view of the evaluated document from the module's own
//! option schema (`modules/options-schema.json`), so no Rust type enumerates
//! options by hand: one struct per option set, one enum per `types.enum`,
//! field types from the option types. Secret-trap options never reach the
//! document (modules/document.nix drops them) and get no field.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

const SCHEMA: &str = "modules/options-schema.json";

#[path = "src/evidence/cargo_lock_sbom.rs"]
mod cargo_lock_sbom;

fn main() {
    println!("cargo:rerun-if-changed={SCHEMA}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(SCHEMA).unwrap_or_else(|e| fail(&format!("{SCHEMA}: {e}")));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("{SCHEMA}: {e}")));
    let mut g = Gen::default();
    let options = schema["options"].as_array().cloned().unwrap_or_default();
    let root = tree(&options);
    g.structure("Deployment", &[], &root);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set"))).join("document_types.rs");
    std::fs::write(&out, g.code).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    helper_sbom();
}

/// The helper's own SBOM, from the Cargo.lock and Cargo.toml it is built with.
fn helper_sbom() {
    for f in ["Cargo.lock", "Cargo.toml", "src/evidence/cargo_lock_sbom.rs"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_else(|e| fail(&format!("{f}: {e}")));
    let name = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| fail("CARGO_PKG_NAME is not set"));
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_else(|_| fail("CARGO_PKG_VERSION is not set"));
    let text = cargo_lock_sbom::generate(&read("Cargo.lock"), &read("Cargo.toml"), &name, &version);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set"))).join("sbom-secure-mattermost.cdx.json");
    std::fs::write(&out, text).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
}

fn fail(msg: &str) -> ! {
    eprintln!("build.rs: {msg}");
    std::process::exit(1)
}

/// An option set: its members by name, each an option (its type) or a nested set.
enum Node {
    Option(Value),
    Set(BTreeMap<String, Node>),
}

fn tree(options: &[Value]) -> BTreeMap<String, Node> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for o in options {
        let path: Vec<String> = o["path"].as_array().into_iter().flatten().filter_map(|p| p.as_str().map(str::to_string)).collect();
        let Some((last, parents)) = path.split_last() else { continue };
        let mut here = &mut root;
        for p in parents {
            let entry = here.entry(p.clone()).or_insert_with(|| Node::Set(BTreeMap::new()));
            here = match entry {
                Node::Set(m) => m,
                Node::Option(_) => fail(&format!("{} is both an option and an option set", path.join("."))),
            };
        }
        here.insert(last.clone(), Node::Option(o["type"].clone()));
    }
    root
}

#[derive(Default)]
struct Gen {
    code: String,
    /// Generated type name → its shape, so identical shapes share one type
    /// and different shapes never share a name.
    names: BTreeMap<String, String>,
}

fn pascal(s: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `baseDN` → `base_dn`, `imageDigest` → `image_digest`.
fn snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if prev_lower || (prev_upper && next_lower) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(*c);
        } else {
            out.push('_');
        }
    }
    match out.as_str() {
        "type" | "match" | "ref" | "use" | "mod" | "fn" | "impl" | "in" | "enum" | "struct" => format!("r#{out}"),
        _ => out,
    }
}

/// The type name an option path suggests: its last segment, where an
/// `attrsOf` entry (`entry`) or an either's record (`record`) take their
/// option's name (`justification.entry.record` → `JustificationRecord`).
fn preferred_name(path: &[String]) -> String {
    let named: Vec<&String> = path.iter().filter(|p| *p != "entry").collect();
    match named.split_last() {
        Some((last, rest)) if last.as_str() == "record" => format!("{}Record", rest.last().map(|p| pascal(p)).unwrap_or_default()),
        Some((last, _)) => pascal(last),
        None => String::new(),
    }
}

impl Gen {
    /// A name for a type at `path` with `shape`: the last path segment in
    /// PascalCase, prefixed by its parents until it is unique.
    fn name_for(&mut self, path: &[String], shape: &str, preferred: Option<&str>) -> (String, bool) {
        let mut candidates: Vec<String> = Vec::new();
        if let Some(p) = preferred {
            candidates.push(p.to_string());
        }
        for take in 1..=path.len().max(1) {
            let start = path.len().saturating_sub(take);
            candidates.push(path[start..].iter().map(|p| pascal(p)).collect::<String>());
        }
        for c in &candidates {
            match self.names.get(c) {
                Some(existing) if existing == shape => return (c.clone(), false),
                Some(_) => continue,
                None => {
                    self.names.insert(c.clone(), shape.to_string());
                    return (c.clone(), true);
                }
            }
        }
        let mut n = 2;
        loop {
            let c = format!("{}{n}", candidates.last().cloned().unwrap_or_else(|| "Set".into()));
            if !self.names.contains_key(&c) {
                self.names.insert(c.clone(), shape.to_string());
                return (c, true);
            }
            n += 1;
        }
    }

    fn structure(&mut self, preferred: &str, path: &[String], members: &BTreeMap<String, Node>) -> String {
        let mut fields = String::new();
        for (name, node) in members {
            let mut here = path.to_vec();
            here.push(name.clone());
            let ty = match node {
                Node::Set(m) => self.structure(&pascal(name), &here, m),
                Node::Option(t) if t["kind"] == "secretTrap" => continue,
                Node::Option(t) => self.rust_type(&here, t),
            };
            let _ = writeln!(fields, "    #[serde(rename = {name:?})]\n    pub {}: {ty},", snake(name));
        }
        let (type_name, new) = self.name_for(path, &fields, Some(preferred).filter(|p| !p.is_empty()));
        if new {
            let _ = write!(
                self.code,
                "/// Options `services.secureMattermost{}` (generated from the option schema).\n\
                 #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]\n\
                 #[serde(deny_unknown_fields)]\n\
                 pub struct {type_name} {{\n{fields}}}\n\n",
                path.iter().map(|p| format!(".{p}")).collect::<String>()
            );
        }
        type_name
    }

    fn rust_type(&mut self, path: &[String], t: &Value) -> String {
        if t["description"] == "JSON value" {
            return "serde_json::Value".into();
        }
        match t["kind"].as_str().unwrap_or_default() {
            "bool" => "bool".into(),
            "str" | "strMatching" | "absolutePathString" => "String".into(),
            "int" => "i64".into(),
            "float" => "f64".into(),
            "positiveInt" => "u32".into(),
            "port" => "u16".into(),
            "enum" => self.enumeration(path, t),
            "nullOr" => format!("Option<{}>", self.rust_type(path, &t["elem"])),
            "listOf" => format!("Vec<{}>", self.rust_type(path, &t["elem"])),
            "attrsOf" => {
                let mut below = path.to_vec();
                below.push("entry".into());
                format!("std::collections::BTreeMap<String, {}>", self.rust_type(&below, &t["elem"]))
            }
            "submodule" => {
                let opts = t["options"].as_array().cloned().unwrap_or_default();
                let members = tree(&opts);
                self.structure(&preferred_name(path), path, &members)
            }
            "either" => {
                let left = self.rust_type(path, &t["left"]);
                let mut below = path.to_vec();
                below.push("record".into());
                let right = self.rust_type(&below, &t["right"]);
                let shape = format!("either {left} {right}");
                let (name, new) = self.name_for(path, &shape, Some(&preferred_name(path)));
                if new {
                    // A string is shorthand for the record's one required
                    // field (`justification.x = "…"` is its `reason`): the
                    // variant is named after that field; the other after the record.
                    let required = t["right"]["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|o| o.get("default").is_none())
                        .and_then(|o| o["path"].as_array().and_then(|p| p.last()).and_then(|p| p.as_str()).map(pascal));
                    let variant = |t: &str| {
                        if t == "String" {
                            required.clone().unwrap_or_else(|| "Text".to_string())
                        } else if t.ends_with("Record") {
                            "Record".to_string()
                        } else {
                            pascal(t)
                        }
                    };
                    let _ = write!(
                        self.code,
                        "/// Either form of `services.secureMattermost.{}` (generated from the option schema).\n\
                         #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]\n\
                         #[serde(untagged)]\n\
                         pub enum {name} {{\n    {}({left}),\n    {}({right}),\n}}\n\n",
                        path.join("."),
                        variant(&left),
                        variant(&right)
                    );
                }
                name
            }
            _ => "serde_json::Value".into(),
        }
    }

    fn enumeration(&mut self, path: &[String], t: &Value) -> String {
        let values: Vec<String> = t["values"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
        let shape = format!("enum {}", values.join(","));
        let (name, new) = self.name_for(path, &shape, None);
        if new {
            let variants: String = values.iter().map(|v| format!("    #[serde(rename = {v:?})]\n    {},\n", pascal(v))).collect();
            let arms: String = values.iter().map(|v| format!("            {name}::{} => {v:?},\n", pascal(v))).collect();
            let _ = write!(
                self.code,
                "/// Values of `services.secureMattermost.{}` (generated from the option schema).\n\
                 #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]\n\
                 pub enum {name} {{\n{variants}}}\n\n\
                 impl {name} {{\n    /// The value as the module spells it.\n    pub fn as_str(&self) -> &'static str {{\n        match self {{\n{arms}        }}\n    }}\n}}\n\n\
                 impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n\n\
                 impl PartialEq<str> for {name} {{\n    fn eq(&self, other: &str) -> bool {{\n        self.as_str() == other\n    }}\n}}\n\n\
                 impl PartialEq<&str> for {name} {{\n    fn eq(&self, other: &&str) -> bool {{\n        self.as_str() == *other\n    }}\n}}\n\n\
                 impl PartialEq<String> for {name} {{\n    fn eq(&self, other: &String) -> bool {{\n        self.as_str() == other.as_str()\n    }}\n}}\n\n",
                path.join(".")
            );
        }
        name
    }
}
