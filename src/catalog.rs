//! The control catalog (`catalog/controls.json`): the one list of rules.
//! The Nix module reads the same file for its secret patterns.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const CATALOG_JSON: &str = include_str!("../catalog/controls.json");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    pub catalog_version: u32,
    pub about: String,
    pub editions: BTreeMap<String, u8>,
    pub placeholder_justifications: Vec<String>,
    /// What a file-path option may look like (also read by modules/types.nix).
    pub path_pattern: String,
    pub path_rule: String,
    pub secrets: SecretPatterns,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretPatterns {
    pub literal_rule: String,
    pub setting_rule: String,
    pub value_rule: String,
    pub store_file_rule: String,
    pub store_file_key_pattern: String,
    pub setting_key_pattern: String,
    pub setting_key_match: String,
    /// What `serverSecretSettings`, the file beside the catalog, is.
    pub server_secret_settings: String,
    /// Secret settings beyond what the pinned server's sanitiser masks.
    pub additional_secret_settings: Vec<String>,
    /// Settings holding DSNs: secret only when they carry a password.
    pub data_source_settings: Vec<String>,
    /// Under it every string is secret unless `publicPluginSettings` says not.
    pub plugin_settings_path: String,
    pub value_patterns: Vec<String>,
    pub trap_options: Vec<TrapOption>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrapOption {
    pub option: String,
    #[serde(rename = "use")]
    pub replacement: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub controls: Vec<String>,
    pub severity: Severity,
    /// Mattermost settings the rule constrains (shown in reports).
    pub settings: Vec<String>,
    /// Values the hardened baseline sets.
    #[serde(default)]
    pub harden: BTreeMap<String, Value>,
    #[serde(default)]
    pub when: Option<Predicate>,
    /// A `deployment.*` path; while it is null the rule is only advisory.
    #[serde(default)]
    pub needs_site_value: Option<String>,
    /// Where this holds the rule cannot be judged from the declaration (e.g.
    /// a DSN that lives in a Kubernetes Secret): the outcome is advisory.
    #[serde(default)]
    pub advisory_when: Option<Predicate>,
    #[serde(default)]
    pub requires_edition: Option<String>,
    pub compliant: Predicate,
    pub waivable: bool,
    /// The declaration's structure already guarantees the rule (an option
    /// owns the setting, and a `settings` override of it is refused as a
    /// conflict): it cannot fail through a declaration, and is still judged,
    /// as defence in depth, on every effective configuration.
    #[serde(default)]
    pub structural: bool,
    pub rationale: String,
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// The small predicate language rules are written in. Paths start with
/// `config.` (effective Mattermost configuration), `deployment.` or
/// `manifests.` (facts of the rendered Kubernetes objects,
/// `render::kubernetes::manifests::facts`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Predicate {
    All { all: Vec<Predicate> },
    Any { any: Vec<Predicate> },
    Not { not: Box<Predicate> },
    Always { always: bool },
    Test(Test),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Test {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_matches: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_null: Option<bool>,
    /// Every element of a list matches (an empty list does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each_matches: Option<String>,
    /// Every DSN at the path (a string, or each string of a list; `[]`
    /// segments step into lists) makes lib/pq, as the server opens it, ask for
    /// TLS and verify the certificate chain and the host name (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsn_verify_full: Option<bool>,
    /// What Go's `net.Listen` binds for the address, one of `loopback`,
    /// `specific` (one concrete non-loopback address), `all`, `hostname`
    /// (a name other than localhost) or `invalid`; compliant when it is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_scope_in: Option<Vec<String>>,
    /// An address list, split and parsed as the server does, in which no
    /// entry is wider than the prefixes given or reaches a forbidden range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_list_narrow: Option<AddressListLimits>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressListLimits {
    pub ipv4_min_prefix: u8,
    pub ipv6_min_prefix: u8,
    /// CIDRs no entry may overlap (loopback, link-local, metadata, unspecified).
    pub forbid: Vec<String>,
    /// Host names (lower case; `*.x` for every name under x) no entry may be.
    pub forbid_hosts: Vec<String>,
}

/// Every value at a dotted path whose `[]` segments step into each element
/// of a list (`config.SqlSettings.ReplicaLagSettings.[].DataSource`).
pub fn values_at<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut here = vec![root];
    for k in path.split('.') {
        here = if k == "[]" {
            here.into_iter().flat_map(|v| v.as_array().into_iter().flatten()).collect()
        } else {
            here.into_iter().filter_map(|v| v.get(k)).collect()
        };
    }
    here
}

/// Look a dotted path up in a JSON value; absent is `Null`.
pub fn lookup<'a>(root: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    path.split('.').try_fold(root, |v, k| v.get(k)).unwrap_or(&NULL)
}

/// Whole-string match, as Nix's `builtins.match` does.
pub fn full_match(pattern: &str, s: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Rules and secret scans reuse a handful of patterns many times.
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(re) = map.get(pattern) {
        return re.as_ref().is_some_and(|re| re.is_match(s));
    }
    map.entry(pattern.to_string())
        .or_insert_with(|| regex::Regex::new(&format!("^(?s:{pattern})$")).ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

impl Predicate {
    pub fn eval(&self, view: &Value) -> bool {
        match self {
            Predicate::All { all } => all.iter().all(|p| p.eval(view)),
            Predicate::Any { any } => any.iter().any(|p| p.eval(view)),
            Predicate::Not { not } => !not.eval(view),
            Predicate::Always { always } => *always,
            Predicate::Test(t) => t.eval(view),
        }
    }

    /// Visit every leaf test.
    pub fn for_each_test<'a>(&'a self, f: &mut impl FnMut(&'a Test)) {
        match self {
            Predicate::All { all: ps } | Predicate::Any { any: ps } => ps.iter().for_each(|p| p.for_each_test(f)),
            Predicate::Not { not } => not.for_each_test(f),
            Predicate::Always { .. } => {}
            Predicate::Test(t) => f(t),
        }
    }

    /// Every path the predicate reads, for reports ("value found").
    pub fn paths<'a>(&'a self, out: &mut Vec<&'a str>) {
        self.for_each_test(&mut |t| {
            if !out.contains(&t.path.as_str()) {
                out.push(&t.path)
            }
        });
    }
}

/// The strings at `path`: a string, or each string in a list (values that
/// are neither count as not strings: `None`).
fn strings_at<'a>(view: &'a Value, path: &str) -> Option<Vec<&'a str>> {
    let mut out = Vec::new();
    for v in values_at(view, path) {
        match v {
            Value::String(s) => out.push(s.as_str()),
            Value::Array(xs) => {
                for x in xs {
                    out.push(x.as_str()?);
                }
            }
            Value::Null => {}
            _ => return None,
        }
    }
    Some(out)
}

fn dsn_verifies_full(dsn: &str) -> bool {
    crate::semantic::dsn::postgres_tls(dsn).is_ok_and(|t| t.requests_tls && t.verifies_chain && t.verifies_host)
}

fn listen_scope_word(addr: &str) -> &'static str {
    use crate::semantic::net::ListenScope;
    match crate::semantic::net::listen_scope(addr) {
        ListenScope::Loopback => "loopback",
        ListenScope::Specific(_) => "specific",
        ListenScope::AllInterfaces => "all",
        ListenScope::Hostname(_) => "hostname",
        ListenScope::Invalid => "invalid",
    }
}

/// A parsed CIDR (network address, prefix), IPv4-mapped IPv6 folded to IPv4.
fn cidr(addr: std::net::IpAddr, prefix: u8) -> (std::net::IpAddr, u8) {
    match addr {
        std::net::IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) if prefix >= 96 => (std::net::IpAddr::V4(v4), prefix - 96),
            _ => (addr, prefix),
        },
        v4 => (v4, prefix),
    }
}

fn bits(a: std::net::IpAddr) -> (u128, u8) {
    match a {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        std::net::IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// Whether two CIDRs share any address.
fn overlaps((a, p): (std::net::IpAddr, u8), (b, q): (std::net::IpAddr, u8)) -> bool {
    let ((x, wa), (y, wb)) = (bits(a), bits(b));
    if wa != wb {
        return false;
    }
    let shorter = u32::from(p.min(q).min(wa));
    if shorter == 0 {
        return true;
    }
    let shift = u32::from(wa) - shorter;
    (x >> shift) == (y >> shift)
}

fn parse_cidr_text(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (a, p) = s.split_once('/')?;
    Some(cidr(a.parse().ok()?, p.parse().ok()?))
}

fn address_list_narrow(list: &str, limits: &AddressListLimits) -> bool {
    use crate::semantic::net::{classify_entry, split_address_list, Entry};
    let forbid: Vec<_> = limits.forbid.iter().filter_map(|c| parse_cidr_text(c)).collect();
    split_address_list(list).iter().all(|entry| match classify_entry(entry) {
        Entry::Cidr { addr, prefix } => {
            let (a, p) = cidr(addr, prefix);
            let min = if a.is_ipv4() { limits.ipv4_min_prefix } else { limits.ipv6_min_prefix };
            p >= min && !forbid.iter().any(|f| overlaps((a, p), *f))
        }
        Entry::Ip(ip) => {
            let (a, p) = cidr(ip, if ip.is_ipv4() { 32 } else { 128 });
            !forbid.iter().any(|f| overlaps((a, p), *f))
        }
        Entry::Host(h) => {
            let h = h.trim_end_matches('.').to_ascii_lowercase();
            !limits.forbid_hosts.iter().any(|f| match f.strip_prefix("*.") {
                Some(suffix) => h == suffix || h.ends_with(&format!(".{suffix}")),
                None => h == *f,
            })
        }
    })
}

impl Test {
    fn eval(&self, view: &Value) -> bool {
        let v = lookup(view, &self.path);
        let num = v.as_f64();
        let s = v.as_str();
        self.equals.as_ref().is_none_or(|e| e == v)
            && self.one_of.as_ref().is_none_or(|xs| xs.contains(v))
            && self.not_in.as_ref().is_none_or(|xs| !xs.contains(v))
            && self.at_least.is_none_or(|n| num.is_some_and(|x| x >= n))
            && self.at_most.is_none_or(|n| num.is_some_and(|x| x <= n))
            && self.matches.as_ref().is_none_or(|p| s.is_some_and(|s| full_match(p, s)))
            && self.not_matches.as_ref().is_none_or(|p| !s.is_some_and(|s| full_match(p, s)))
            && self.is_null.is_none_or(|want| v.is_null() == want)
            && self.each_matches.as_ref().is_none_or(|p| {
                v.as_array().is_some_and(|xs| xs.iter().all(|x| x.as_str().is_some_and(|s| full_match(p, s))))
            })
            && self.dsn_verify_full.is_none_or(|want| {
                strings_at(view, &self.path).is_some_and(|dsns| dsns.iter().all(|d| dsn_verifies_full(d)) == want)
            })
            && self.listen_scope_in.as_ref().is_none_or(|ok| s.is_some_and(|a| ok.iter().any(|w| w == listen_scope_word(a))))
            && self.address_list_narrow.as_ref().is_none_or(|l| s.is_some_and(|list| address_list_narrow(list, l)))
    }
}

impl Catalog {
    pub fn load() -> &'static Catalog {
        static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        // Compiled in and covered by tests; a broken catalog is a build defect.
        CATALOG.get_or_init(|| {
            serde_json::from_str(CATALOG_JSON).expect("catalog/controls.json is valid (checked by tests)")
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn edition_rank(&self, edition: &str) -> u8 {
        self.editions.get(edition).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses_and_ids_are_unique() {
        let c = Catalog::load();
        let mut ids: Vec<_> = c.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), c.rules.len());
        assert!(c.rules.len() >= 40, "catalog has {} rules", c.rules.len());
    }

    /// Every leaf test of every rule (compliance, applicability, advisory).
    fn all_tests(c: &Catalog) -> Vec<&Test> {
        let mut out = Vec::new();
        for r in &c.rules {
            for p in std::iter::once(&r.compliant).chain(&r.when).chain(&r.advisory_when) {
                p.for_each_test(&mut |t| out.push(t));
            }
        }
        out
    }

    #[test]
    fn every_test_has_exactly_one_operator_and_a_rooted_path() {
        for t in all_tests(Catalog::load()) {
            let ops = [
                t.equals.is_some(),
                t.one_of.is_some(),
                t.not_in.is_some(),
                t.at_least.is_some(),
                t.at_most.is_some(),
                t.matches.is_some(),
                t.not_matches.is_some(),
                t.is_null.is_some(),
                t.each_matches.is_some(),
                t.dsn_verify_full.is_some(),
                t.listen_scope_in.is_some(),
                t.address_list_narrow.is_some(),
            ];
            assert_eq!(ops.iter().filter(|x| **x).count(), 1, "{}", t.path);
            assert!(t.path.starts_with("config.") || t.path.starts_with("deployment.") || t.path.starts_with("manifests."), "{}", t.path);
        }
    }

    #[test]
    fn every_pattern_in_the_catalog_compiles() {
        // full_match treats a broken pattern as no match; a broken catalog must fail here instead.
        let c = Catalog::load();
        for t in all_tests(c) {
            for pat in [&t.matches, &t.not_matches, &t.each_matches].into_iter().flatten() {
                assert!(regex::Regex::new(pat).is_ok(), "{}: {pat}", t.path);
            }
        }
        let s = &c.secrets;
        for pat in s.value_patterns.iter().chain([&s.setting_key_pattern, &c.path_pattern]) {
            assert!(regex::Regex::new(pat).is_ok(), "{pat}");
        }
    }

    #[test]
    fn predicates_evaluate() {
        let view = serde_json::json!({"config": {"A": {"B": 3, "S": "https://x"}}});
        let t: Predicate = serde_json::from_str(r#"{"path":"config.A.B","atMost":3}"#).unwrap();
        assert!(t.eval(&view));
        let t: Predicate = serde_json::from_str(r#"{"path":"config.A.B","atLeast":4}"#).unwrap();
        assert!(!t.eval(&view));
        let t: Predicate = serde_json::from_str(r#"{"path":"config.A.S","matches":"https://[^/]+"}"#).unwrap();
        assert!(t.eval(&view));
        let t: Predicate = serde_json::from_str(r#"{"path":"config.A.S","matches":"http"}"#).unwrap();
        assert!(!t.eval(&view), "matches is anchored at both ends");
        let t: Predicate = serde_json::from_str(r#"{"path":"config.Missing","isNull":true}"#).unwrap();
        assert!(t.eval(&view));
    }
}
