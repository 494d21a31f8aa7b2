//! What the OSCAL evidence documents share: content-derived UUIDs (the same
//! construction as src/oscal.rs, so the whole bundle is reproducible),
//! metadata and the property namespace.

use serde_json::{json, Value};

use super::Context;

pub const OSCAL_VERSION: &str = "1.1.2";
/// Namespace of our own OSCAL properties.
pub const NS: &str = "urn:secure-mattermost:evidence";
/// The SP 800-53 rev5 catalog and moderate baseline, as OSCAL publishes them.
pub const SP800_53_CATALOG: &str = "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_catalog.json";
pub const SP800_53_MODERATE: &str = "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_MODERATE-baseline_profile.json";

/// A name-based UUID (version 5 layout) from two FNV-1a passes over the parts.
pub fn uuid(parts: &[&str]) -> String {
    let text = parts.join("\u{1f}");
    let fnv = |seed: u64| text.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// UUID seeded by the deployment and the declaration's hash.
pub fn id(ctx: &Context, parts: &[&str]) -> String {
    let mut all = vec![ctx.deployment.domain.as_str(), ctx.mode(), ctx.provenance.input_sha256.as_str(), ctx.provenance.policy_date.as_str()];
    all.extend_from_slice(parts);
    uuid(&all)
}

pub fn when(ctx: &Context) -> String {
    format!("{}T00:00:00Z", ctx.provenance.policy_date)
}

pub fn metadata(ctx: &Context, title: String) -> Value {
    json!({
        "title": title,
        "last-modified": when(ctx),
        "version": ctx.provenance.helper_version,
        "oscal-version": OSCAL_VERSION,
        "props": [
            prop("declaration-sha256", &ctx.provenance.input_sha256),
            prop("catalog-sha256", &ctx.provenance.catalog_sha256),
            prop("catalog-version", &ctx.provenance.catalog_version.to_string()),
            prop("policy-date", &ctx.provenance.policy_date)
        ]
    })
}

pub fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "ns": NS, "value": value})
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}
