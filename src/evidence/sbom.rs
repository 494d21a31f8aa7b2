//! SBOMs (CycloneDX JSON): the Mattermost server binary's Go modules, made
//! by cyclonedx-gomod (binary mode) or syft, and this helper's own crates,
//! generated from the Cargo.lock it was built with (compiled in).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::error::Error;

use super::diag::{bad_input, find_tool};


/// The server binary's SBOM and the name and version of the tool that made it.
pub struct BinarySbom {
    pub text: String,
    pub tool: String,
    pub doc: Value,
}

/// Runs cyclonedx-gomod (preferred: fast to build, deterministic with
/// `-noserial -notimestamp`) or syft on the binary. `tool` names one
/// explicitly (`cyclonedx-gomod` or `syft`, or a path to either).
pub fn binary_sbom(bin: &Path, tool: Option<&Path>) -> Result<BinarySbom, Error> {
    let chosen = match tool {
        Some(t) => Some(t.to_path_buf()),
        None => find_tool(None, "cyclonedx-gomod").or_else(|| find_tool(None, "syft")),
    };
    let Some(tool) = chosen else {
        return Err(bad_input(
            "no SBOM generator found (cyclonedx-gomod or syft)",
            Some("install one: go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0 (scripts/test.sh does), or pass --sbom-tool PATH"),
        ));
    };
    let name = tool.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut cmd = Command::new(&tool);
    if name.contains("syft") {
        cmd.env("SYFT_CHECK_FOR_APP_UPDATE", "false").arg("scan").arg(format!("file:{}", bin.display())).args(["-o", "cyclonedx-json", "-q"]);
    } else {
        cmd.args(["bin", "-json", "-noserial", "-notimestamp", "-output", "-"]).arg(bin);
    }
    // Go's tools look things up in the module cache; never on the network.
    cmd.env("GOPROXY", "off");
    let out = cmd.output().map_err(|e| bad_input(format!("{}: cannot run: {e}", tool.display()), None))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(bad_input(
            format!("{} failed on {}: {}", name, bin.display(), err.lines().last().unwrap_or("").trim()),
            Some("the binary must be a Go executable with build information (go version -m)"),
        ));
    }
    let mut doc: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| bad_input(format!("{name} wrote no CycloneDX JSON: {e}"), None))?;
    // Same binary, same bytes: drop what differs from run to run.
    if let Some(m) = doc.as_object_mut() {
        m.remove("serialNumber");
    }
    if let Some(m) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("timestamp");
    }
    let version = doc["metadata"]["tools"]
        .as_array()
        .and_then(|t| t.first())
        .or_else(|| doc["metadata"]["tools"]["components"].as_array().and_then(|t| t.first()))
        .and_then(|t| t["version"].as_str())
        .unwrap_or("")
        .to_string();
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    Ok(BinarySbom { text, tool: format!("{} {version}", if name.contains("syft") { "syft" } else { "cyclonedx-gomod" }), doc })
}

/// Go modules (path, version) named by the SBOM's `pkg:golang` purls,
/// the main module included, sorted and without duplicates.
pub fn go_modules(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let main = std::iter::once(&doc["metadata"]["component"]);
    for c in main.chain(doc["components"].as_array().into_iter().flatten()) {
        if let Some((name, version)) = c["purl"].as_str().and_then(golang_purl) {
            out.push((name, version));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The binary's (GOOS, GOARCH) from the main component's purl qualifiers
/// (empty when the SBOM does not say).
pub fn platform(doc: &Value) -> (String, String) {
    let main = std::iter::once(&doc["metadata"]["component"]);
    for c in main.chain(doc["components"].as_array().into_iter().flatten()) {
        let purl = c["purl"].as_str().unwrap_or("");
        let query = purl.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or("")).unwrap_or("");
        let get = |k: &str| query.split('&').find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('='))).unwrap_or("").to_string();
        if purl.starts_with("pkg:golang/") && !get("goos").is_empty() {
            return (get("goos"), get("goarch"));
        }
    }
    (String::new(), String::new())
}

/// `pkg:golang/github.com/a/b@v1.2.3?type=module#x` → ("github.com/a/b", "v1.2.3").
pub fn golang_purl(purl: &str) -> Option<(String, String)> {
    let rest = purl.strip_prefix("pkg:golang/")?;
    let rest = rest.split(['?', '#']).next()?;
    let (name, version) = rest.rsplit_once('@')?;
    let name = name.replace("%40", "@");
    let version = version.replace("%2B", "+").replace("%2b", "+");
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// This helper's SBOM: its runtime dependency closure from the Cargo.lock
/// it was built with (platform-specific crates of other targets included,
/// as the lock lists them), generated by build.rs from
/// `cargo_lock_sbom.rs`.
pub fn helper_sbom() -> String {
    include_str!(concat!(env!("OUT_DIR"), "/sbom-secure-mattermost.cdx.json")).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn purls_and_lock() {
        assert_eq!(
            super::golang_purl("pkg:golang/github.com/lib/pq@v1.10.9?type=module"),
            Some(("github.com/lib/pq".into(), "v1.10.9".into()))
        );
        let sbom: serde_json::Value = serde_json::from_str(&super::helper_sbom()).unwrap();
        let names: Vec<&str> = sbom["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"serde_json") && names.contains(&"rnix"), "{names:?}");
        assert!(!names.contains(&"assert_cmd"), "dev-dependencies are not shipped");
    }
}
