//! This helper's own SBOM (CycloneDX JSON) from the Cargo.lock and
//! Cargo.toml it is built from. build.rs compiles this file (std and
//! serde_json only) and writes the document into OUT_DIR once per build;
//! the helper ships those bytes (`evidence::sbom::helper_sbom`), so no
//! render spends time on it.

use serde_json::{json, Value};

struct LockPackage {
    name: String,
    version: String,
    checksum: Option<String>,
    source: Option<String>,
    deps: Vec<String>,
}

fn unquote(s: &str) -> String {
    s.trim().trim_end_matches(',').trim().trim_matches('"').to_string()
}

fn parse_lock(text: &str) -> Vec<LockPackage> {
    let mut out: Vec<LockPackage> = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "[[package]]" {
            out.push(LockPackage { name: String::new(), version: String::new(), checksum: None, source: None, deps: vec![] });
            in_deps = false;
            continue;
        }
        let Some(p) = out.last_mut() else { continue };
        if in_deps {
            if t.starts_with(']') {
                in_deps = false;
            } else if !t.is_empty() {
                p.deps.push(unquote(t));
            }
            continue;
        }
        if let Some((k, v)) = t.split_once(" = ") {
            match k {
                "name" => p.name = unquote(v),
                "version" => p.version = unquote(v),
                "checksum" => p.checksum = Some(unquote(v)),
                "source" => p.source = Some(unquote(v)),
                "dependencies" => {
                    let v = v.trim();
                    if v == "[" {
                        in_deps = true;
                    } else {
                        p.deps.extend(v.trim_matches(['[', ']']).split(',').map(unquote).filter(|s| !s.is_empty()));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Names in `[dependencies]` of Cargo.toml (runtime dependencies, not dev).
fn runtime_dependencies(toml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in toml.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == "[dependencies]";
            continue;
        }
        if inside {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim();
                if !k.is_empty() && !k.starts_with('#') {
                    out.push(k.to_string());
                }
            }
        }
    }
    out
}

fn purl(p: &LockPackage) -> String {
    format!("pkg:cargo/{}@{}", p.name, p.version)
}

/// This helper's SBOM: its runtime dependency closure from the Cargo.lock
/// it was built with (platform-specific crates of other targets included,
/// as the lock lists them).
pub fn generate(cargo_lock: &str, cargo_toml: &str, root_name: &str, root_version: &str) -> String {
    let pkgs = parse_lock(cargo_lock);
    let find = |dep: &str| -> Option<&LockPackage> {
        let mut parts = dep.split(' ');
        let name = parts.next().unwrap_or("");
        let version = parts.next();
        pkgs.iter().find(|p| p.name == name && version.is_none_or(|v| p.version == v))
    };
    let root = pkgs.iter().find(|p| p.name == root_name && p.source.is_none());
    let runtime = runtime_dependencies(cargo_toml);
    let mut seen: Vec<&LockPackage> = Vec::new();
    let mut stack: Vec<&LockPackage> = root
        .map(|r| r.deps.iter().filter(|d| runtime.iter().any(|n| d.split(' ').next() == Some(n.as_str()))).filter_map(|d| find(d)).collect())
        .unwrap_or_default();
    while let Some(p) = stack.pop() {
        if seen.iter().any(|s| std::ptr::eq(*s, p)) {
            continue;
        }
        seen.push(p);
        stack.extend(p.deps.iter().filter_map(|d| find(d)));
    }
    seen.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    let root_ref = format!("pkg:cargo/{root_name}@{root_version}");
    let components: Vec<Value> = seen
        .iter()
        .map(|p| {
            let mut c = json!({"bom-ref": purl(p), "type": "library", "name": p.name, "version": p.version, "purl": purl(p)});
            if let Some(sum) = &p.checksum {
                c["hashes"] = json!([{"alg": "SHA-256", "content": sum}]);
            }
            c
        })
        .collect();
    let mut dependencies = Vec::new();
    let direct: Vec<String> = root
        .map(|r| r.deps.iter().filter_map(|d| find(d)).filter(|p| seen.iter().any(|s| std::ptr::eq(*s, *p))).map(purl).collect())
        .unwrap_or_default();
    dependencies.push(json!({"ref": root_ref, "dependsOn": direct}));
    for p in &seen {
        let on: Vec<String> = p.deps.iter().filter_map(|d| find(d)).map(purl).collect();
        dependencies.push(json!({"ref": purl(p), "dependsOn": on}));
    }
    let doc = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": [{"name": "secure-mattermost", "version": root_version}],
            "component": {"bom-ref": root_ref, "type": "application", "name": root_name, "version": root_version, "purl": root_ref}
        },
        "components": components,
        "dependencies": dependencies
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
