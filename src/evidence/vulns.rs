//! Offline vulnerability scan of the Mattermost server binary against a
//! locally supplied OSV database: govulncheck in binary mode (symbol-level
//! reachability), our own OSV range matcher over the SBOM's Go modules, and,
//! when asked for, grype (its database built from the same entries). A
//! finding is what any of them reports; where they differ, the difference is
//! explained by a category checked on the data (custom ranges, no vulnerable
//! function compiled in) or listed as unexplained. Every finding fails
//! unless waived by its vulnerability id with a structured justification
//! (approver, expiry within the waiver window), judged like any waiver.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::dates::Date;
use crate::document::{Deployment, Justification, JustificationRecord};
use crate::error::Error;
use crate::policy::AppliedJustification;

use super::diag::{bad_input, find_tool, io};
use super::semver::{affected, Event, Version};

pub use super::grype;
pub use grype::GrypeTools;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    pub aliases: Vec<String>,
    pub module: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// symbol (a vulnerable function is in the binary), package, or module.
    pub level: Level,
    /// Vulnerable functions found in the binary (at most 10 shown).
    pub symbols: Vec<String>,
    pub symbol_count: usize,
    /// The entry's functions grype found in the binary (when grype ran and reported it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grype_symbols: Option<Vec<String>>,
    /// govulncheck, osv-matcher, grype: which scanners report it.
    pub found_by: Vec<&'static str>,
    /// waived, fail (no waiver), or refused (the waiver is not acceptable).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedJustification>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Module,
    Package,
    Symbol,
}

impl Finding {
    pub fn reachability(&self) -> &'static str {
        match self.level {
            Level::Symbol => "symbol",
            Level::Package => "package",
            Level::Module => "module",
        }
    }
    pub fn reachability_words(&self) -> String {
        match self.level {
            Level::Symbol => format!("{} vulnerable function(s) compiled in", self.symbol_count),
            Level::Package => "a vulnerable package is compiled in, no vulnerable function found".into(),
            Level::Module => "the module is required, no vulnerable package found in the binary".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scan {
    pub binary: String,
    pub binary_sha256: String,
    pub go_version: String,
    pub sbom_tool: String,
    pub modules: usize,
    pub database: DatabaseInfo,
    pub scanners: Vec<String>,
    /// Whether grype ran; when it did not, nothing was checked against it.
    pub grype: GrypeInfo,
    pub findings: Vec<Finding>,
    /// (id, module) pairs some scanner that ran did not report, each with
    /// the categories that explain it, or `unexplained`.
    pub disagreements: Vec<Disagreement>,
    pub unexplained_disagreements: usize,
    /// Waivers for ids not found in the binary (stale).
    pub stale_waivers: Vec<String>,
    #[serde(skip)]
    pub sbom_text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrypeInfo {
    pub run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<&'static str>,
    /// (id, module) pairs grype reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disagreement {
    pub id: String,
    pub module: String,
    pub found_by: Vec<&'static str>,
    pub not_found_by: Vec<&'static str>,
    /// custom-range, no-vulnerable-symbol, or unexplained.
    pub categories: Vec<&'static str>,
    pub explanation: String,
}

impl Disagreement {
    pub fn unexplained(&self) -> bool {
        self.categories.contains(&UNEXPLAINED)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInfo {
    pub entries: usize,
    /// SHA-256 over the sorted entry names and their SHA-256, so an assessor
    /// can tell which database the scan used.
    pub fingerprint: String,
}

impl Scan {
    pub fn failing(&self) -> usize {
        self.findings.iter().filter(|f| f.status != "waived").count()
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
    pub fn stderr_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.findings {
            match f.status {
                "waived" => out.push(format!("warning[{}]: {} {} is vulnerable, waived", f.id, f.module, f.version)),
                _ => out.push(format!(
                    "error[{}]: {} {} in {} is vulnerable ({}){}",
                    f.id,
                    f.module,
                    f.version,
                    self.binary,
                    f.reachability_words(),
                    f.waiver.as_ref().map(|w| format!("; waiver refused: {}", w.problems.join("; "))).unwrap_or_default()
                )),
            }
        }
        for d in &self.disagreements {
            let what = format!("{} on {} (found by {}; not by {})", d.id, d.module, d.found_by.join(", "), d.not_found_by.join(", "));
            if d.unexplained() {
                out.push(format!("warning: unexplained scanner disagreement: {what}: {}", d.explanation));
            } else {
                out.push(format!("note: scanners disagree ({}): {what}: {}", d.categories.join(", "), d.explanation));
            }
        }
        if !self.grype.run {
            out.push("note: grype was not run (scan/render --grype PATH --grypedb PATH adds it)".into());
        }
        for s in &self.stale_waivers {
            out.push(format!("warning[{s}]: vulnerability waiver {s} is stale: the binary is not affected; remove it"));
        }
        out
    }
}

/// The declaration's `vulnerabilityWaivers` (always structured records).
pub fn declared_waivers(d: &Deployment) -> BTreeMap<String, Justification> {
    d.vulnerability_waivers
        .iter()
        .map(|(id, w)| {
            let record = JustificationRecord { reason: w.reason.clone(), approved_by: w.approved_by.clone(), expires: w.expires.clone(), ticket: w.ticket.clone() };
            (id.clone(), Justification::Record(record))
        })
        .collect()
}

/// Vulnerability waivers from a file (`scan --vuln-waivers`, for a scan
/// without a declaration): `{ "GO-…": { reason, approvedBy, expires, ticket } }`.
pub fn load_waivers(path: Option<&Path>) -> Result<BTreeMap<String, Justification>, Error> {
    let Some(path) = path else { return Ok(BTreeMap::new()) };
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let map: BTreeMap<String, Justification> = serde_json::from_str(&text).map_err(|e| Error::MalformedJson {
        file: path.display().to_string(),
        detail: format!("expected an object from vulnerability id to {{reason, approvedBy, expires, ticket}}: {e}"),
    })?;
    Ok(map)
}

fn applied(key: &str, j: &Justification) -> AppliedJustification {
    match j {
        Justification::Reason(r) => AppliedJustification {
            key: key.into(),
            reason: r.clone(),
            approved_by: None,
            expires: None,
            ticket: None,
            undated: true,
            problems: vec![],
        },
        Justification::Record(r) => AppliedJustification {
            key: key.into(),
            reason: r.reason.clone(),
            approved_by: r.approved_by.clone(),
            expires: r.expires.clone(),
            ticket: r.ticket.clone(),
            undated: false,
            problems: vec![],
        },
    }
}

/// The judgement of one waiver: the same defects as any waiver, plus: a
/// vulnerability waiver must be a structured record, and not expired.
fn judge_waiver(key: &str, j: &Justification, today: Date, max_days: u32) -> AppliedJustification {
    let mut a = applied(key, j);
    // The shared judgement names `justification.<key>`; these live in `vulnerabilityWaivers`.
    let mut problems: Vec<String> = crate::justification::problems(Catalog::load(), key, j, today, max_days)
        .into_iter()
        .map(|p| p.replace(&format!("justification.{key}"), &format!("vulnerabilityWaivers.\"{key}\"")))
        .collect();
    if matches!(j, Justification::Reason(_)) {
        problems.push(format!("{key}: a vulnerability waiver must be a record with reason, approvedBy and expires (a plain string is undated)"));
    }
    if let Some(exp) = crate::justification::expired(j, today) {
        problems.push(format!("{key} expired on {exp}"));
    }
    a.problems = problems;
    a
}

/// Every `<ID>.json` entry of the database directory, sorted by name.
/// Missing → I/O (exit 3); no entries → refused (exit 2): an empty
/// database must never read as "no vulnerabilities".
pub fn database_entries(db: &Path) -> Result<Vec<PathBuf>, Error> {
    let meta = std::fs::metadata(db).map_err(|e| io(db, e))?;
    if !meta.is_dir() {
        return Err(io(db, "not a directory (--vuln-db takes a directory of OSV <ID>.json entries)"));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(db)
        .map_err(|e| io(db, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json") && !p.file_name().is_some_and(|n| n == "db.json" || n == "modules.json" || n == "vulns.json"))
        .collect();
    entries.sort();
    if entries.is_empty() {
        return Err(bad_input(
            format!("--vuln-db {}: the database holds no OSV entries (<ID>.json)", db.display()),
            Some("an empty or missing database would report no vulnerabilities; point --vuln-db at the site's imported Go vulnerability database"),
        ));
    }
    Ok(entries)
}

struct Match {
    aliases: Vec<String>,
    version: String,
    fixed: Option<String>,
    /// The standard ranges take the version in (what govulncheck reads).
    standard: bool,
    /// Our verdict: the standard ranges, or, where the entry has
    /// `ecosystem_specific.custom_ranges`, both read as grype's Go
    /// transformer reads them.
    ours: bool,
    /// Whether the entry has custom ranges for this module.
    custom: bool,
    /// The entry lists packages (`ecosystem_specific.imports`): grype then
    /// matches only when one of their vulnerable functions is in the binary.
    imports: bool,
}

/// Whether an affected entry's packages are all for other platforms
/// (`ecosystem_specific.imports[].goos/goarch`): such code is not in a
/// binary built for `goos`/`goarch`, as govulncheck also decides.
fn other_platform(affected: &Value, goos: &str, goarch: &str) -> bool {
    let imports: Vec<&Value> = affected["ecosystem_specific"]["imports"].as_array().into_iter().flatten().collect();
    let excludes = |list: &Value, have: &str| list.as_array().is_some_and(|xs| !xs.is_empty() && !xs.iter().any(|x| x == have));
    !imports.is_empty() && !goos.is_empty() && imports.iter().all(|i| excludes(&i["goos"], goos) || excludes(&i["goarch"], goarch))
}

/// One OSV event as written (an empty string is no value).
#[derive(Debug, Clone, Default)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

impl RawEvent {
    /// None when a field is there but not a string.
    fn read(e: &Value) -> Option<RawEvent> {
        let field = |k: &str| -> Option<Option<String>> {
            match e.get(k) {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(s)) => Some(Some(s.clone()).filter(|s| !s.is_empty())),
                Some(_) => None,
            }
        };
        e.is_object().then_some(())?;
        Some(RawEvent { introduced: field("introduced")?, fixed: field("fixed")?, last_affected: field("last_affected")? })
    }
    fn closes(&self) -> bool {
        self.fixed.is_some() || self.last_affected.is_some()
    }
}

/// `ecosystem_specific.custom_ranges`, every range's events in one stream,
/// or None when absent, empty or not ranges of string events (grype then
/// matches on the standard ranges alone).
fn custom_events(affected: &Value) -> Option<Vec<RawEvent>> {
    let ranges = affected["ecosystem_specific"].get("custom_ranges")?.as_array()?;
    let mut out = Vec::new();
    for r in ranges {
        r.is_object().then_some(())?;
        match r.get("events") {
            None | Some(Value::Null) => {}
            Some(Value::Array(events)) => {
                for e in events {
                    out.push(RawEvent::read(e)?);
                }
            }
            Some(_) => return None,
        }
    }
    (!ranges.is_empty()).then_some(out)
}

/// One window of grype's reading of an event stream: from `from`
/// (inclusive) up to `to` (inclusive when the event was last_affected).
/// A bound that is not a version leaves a window nothing is in.
struct Window {
    from: Option<Version>,
    to: Option<(Version, bool)>,
    fixed: Option<String>,
    readable: bool,
}

impl Window {
    fn contains(&self, v: &Version) -> bool {
        self.readable && self.from.as_ref().is_none_or(|f| v >= f) && self.to.as_ref().is_none_or(|(t, inclusive)| if *inclusive { v <= t } else { v < t })
    }
}

/// grype's Go transformer turns events into windows in the order they are
/// written: a non-zero `introduced` opens one (replacing a pending lower
/// bound), `introduced: "0"` adds nothing, `last_affected` and `fixed` close
/// the window (or bound it from above alone), and a trailing `introduced`
/// leaves it open.
fn windows(events: &[RawEvent]) -> Vec<Window> {
    let mut out = Vec::new();
    let mut emit = |from: Option<&str>, to: Option<(&str, bool)>, fixed: Option<&str>| {
        let f = from.map(Version::parse);
        let t = to.map(|(t, i)| (Version::parse(t), i));
        let readable = !matches!(f, Some(None)) && !matches!(t, Some((None, _)));
        out.push(Window { from: f.flatten(), to: t.and_then(|(t, i)| Some((t?, i))), fixed: fixed.map(str::to_string), readable });
    };
    let mut from: Option<&str> = None;
    for e in events {
        if let Some(i) = e.introduced.as_deref().filter(|i| *i != "0") {
            from = Some(i);
        } else if let Some(l) = e.last_affected.as_deref() {
            emit(from.take(), Some((l, true)), None);
        } else if let Some(f) = e.fixed.as_deref() {
            emit(from.take(), Some((f, false)), Some(f));
        }
    }
    if from.is_some() {
        emit(from, None, None);
    }
    out
}

fn first_introduced(events: &[RawEvent]) -> Option<&str> {
    events.iter().find_map(|e| e.introduced.as_deref())
}

/// The events up to the last one that closes a window (a trailing open
/// `introduced` dropped).
fn bounded(events: &[RawEvent]) -> Vec<RawEvent> {
    let end = events.iter().rposition(RawEvent::closes).map_or(0, |i| i + 1);
    events[..end].to_vec()
}

/// The first window's `introduced: "0"` raised to `floor`.
fn with_floor(mut events: Vec<RawEvent>, floor: Option<&str>) -> Vec<RawEvent> {
    let Some(floor) = floor.filter(|f| *f != "0") else { return events };
    if let Some(e) = events.iter_mut().find(|e| e.introduced.is_some()) {
        if e.introduced.as_deref() == Some("0") {
            e.introduced = Some(floor.to_string());
        }
    }
    events
}

/// The windows grype's Go transformer makes of an affected package's
/// standard events and its custom_ranges' events: a standard range that is
/// only `introduced: "0"` gives way to the custom ranges; an open standard
/// range (no fix) lends its first `introduced` as the custom ranges' floor;
/// open custom ranges lend theirs to the standard range's closed windows;
/// two closed sets are both kept. Custom ranges that give no window leave
/// the standard windows.
fn grype_windows(standard: &[RawEvent], custom: &[RawEvent]) -> Vec<Window> {
    let standard_windows = windows(standard);
    let merged = if standard.len() == 1 && standard[0].introduced.as_deref() == Some("0") {
        custom.to_vec()
    } else if !standard.iter().any(RawEvent::closes) {
        with_floor(custom.to_vec(), first_introduced(standard))
    } else if !custom.iter().any(RawEvent::closes) {
        with_floor(bounded(standard), first_introduced(custom))
    } else {
        let mut m = bounded(standard);
        m.extend(custom.iter().cloned());
        m
    };
    let w = windows(&merged);
    if w.is_empty() {
        standard_windows
    } else {
        w
    }
}

/// Our own matcher: each entry's Go ranges against the modules' versions
/// (and `stdlib` against the Go version), as OSV defines them (what
/// govulncheck reads), and, where the entry has
/// `ecosystem_specific.custom_ranges`, as grype reads both. Reads one entry
/// at a time.
fn osv_match(entries: &[PathBuf], modules: &[(String, String)], go_version: &str, platform: (&str, &str)) -> Result<(BTreeMap<String, Match>, String), Error> {
    use sha2::{Digest, Sha256};
    let mut fingerprint = Sha256::new();
    let mut found: BTreeMap<String, Match> = BTreeMap::new();
    let by_name: BTreeMap<&str, &str> = modules.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    for path in entries {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        fingerprint.update(name.as_bytes());
        fingerprint.update([0]);
        fingerprint.update(super::sha256_hex(&bytes).as_bytes());
        fingerprint.update([b'\n']);
        let entry: Value = serde_json::from_slice(&bytes).map_err(|e| Error::MalformedJson {
            file: path.display().to_string(),
            detail: format!("not an OSV entry: {e}"),
        })?;
        let Some(id) = entry["id"].as_str() else {
            return Err(Error::MalformedJson { file: path.display().to_string(), detail: "OSV entry without an `id`".into() });
        };
        if entry.get("withdrawn").is_some_and(|w| !w.is_null()) {
            continue;
        }
        for a in entry["affected"].as_array().into_iter().flatten() {
            if a["package"]["ecosystem"] != "Go" || other_platform(a, platform.0, platform.1) {
                continue;
            }
            let pkg = a["package"]["name"].as_str().unwrap_or("");
            let have = if pkg == "stdlib" { Some(go_version) } else { by_name.get(pkg).copied() };
            let Some(have) = have else { continue };
            let Some(v) = Version::parse(have) else { continue };
            let semver: Vec<&Value> = a["ranges"].as_array().into_iter().flatten().filter(|r| r["type"] == "SEMVER").collect();
            // The standard ranges, as OSV defines them (events in version order).
            let mut standard = false;
            let mut fixes = Vec::new();
            for r in &semver {
                let mut events = Vec::new();
                let mut range_fixes = Vec::new();
                for e in r["events"].as_array().into_iter().flatten() {
                    let parse = |k: &str| e[k].as_str().and_then(Version::parse);
                    if let Some(x) = parse("introduced") {
                        events.push(Event::Introduced(x));
                    } else if let Some(x) = parse("fixed") {
                        range_fixes.push((x.clone(), e["fixed"].as_str().unwrap_or("").to_string()));
                        events.push(Event::Fixed(x));
                    } else if let Some(x) = parse("last_affected") {
                        events.push(Event::LastAffected(x));
                    }
                }
                if affected(&events, &v) {
                    standard = true;
                    fixes.extend(range_fixes);
                }
            }
            let mut fixed = fixes.into_iter().filter(|(x, _)| *x > v).min_by(|a, b| a.0.cmp(&b.0)).map(|(_, s)| s);
            // With custom ranges: grype's reading of both.
            let custom = custom_events(a);
            let ours = match &custom {
                None => standard,
                Some(custom) => {
                    let standard_events: Vec<RawEvent> =
                        semver.iter().flat_map(|r| r["events"].as_array().into_iter().flatten()).filter_map(RawEvent::read).collect();
                    let w = grype_windows(&standard_events, custom);
                    let inside: Vec<&Window> = w.iter().filter(|w| w.contains(&v)).collect();
                    let ours = w.is_empty() || !inside.is_empty();
                    if ours {
                        let own = inside.iter().filter_map(|w| Some((Version::parse(w.fixed.as_deref()?)?, w.fixed.clone()?))).min_by(|a, b| a.0.cmp(&b.0)).map(|(_, s)| s);
                        fixed = own.or(fixed);
                    }
                    ours
                }
            };
            if !standard && !ours {
                continue;
            }
            let module = if pkg == "stdlib" { "stdlib".to_string() } else { pkg.to_string() };
            let fixed = fixed.map(|f| if pkg == "stdlib" { format!("go{f}") } else { format!("v{}", f.trim_start_matches('v')) });
            let imports = a["ecosystem_specific"]["imports"].as_array().is_some_and(|i| !i.is_empty());
            let m = found.entry(format!("{id}\u{1f}{module}")).or_insert(Match {
                aliases: entry["aliases"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect(),
                version: have.to_string(),
                fixed: None,
                standard: false,
                ours: false,
                custom: false,
                imports: false,
            });
            m.standard |= standard;
            m.ours |= ours;
            m.custom |= custom.is_some();
            m.imports |= imports;
            if m.fixed.is_none() {
                m.fixed = fixed;
            }
        }
    }
    let fp: String = fingerprint.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((found, fp))
}

struct Reach {
    level: Level,
    symbols: BTreeSet<String>,
    fixed: Option<String>,
    version: String,
}

/// govulncheck -mode binary -db file://DB -json, streamed (its output for
/// a large binary runs to hundreds of megabytes: one message at a time).
fn govulncheck(tool: &Path, bin: &Path, db: &Path) -> Result<(BTreeMap<String, Reach>, String), Error> {
    let db_abs = std::fs::canonicalize(db).map_err(|e| io(db, e))?;
    let mut child = Command::new(tool)
        .args(["-mode", "binary", "-db"])
        .arg(format!("file://{}", db_abs.display()))
        .arg("-json")
        .arg(bin)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| bad_input(format!("{}: cannot run govulncheck: {e}", tool.display()), None))?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
        }
        s
    });
    let mut out: BTreeMap<String, Reach> = BTreeMap::new();
    let mut version = String::new();
    if let Some(stdout) = child.stdout.take() {
        let stream = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 20, stdout)).into_iter::<Value>();
        for msg in stream {
            let msg = msg.map_err(|e| bad_input(format!("govulncheck wrote malformed JSON: {e}"), None))?;
            if let Some(c) = msg.get("config") {
                version = c["scanner_version"].as_str().unwrap_or("").to_string();
            }
            let Some(f) = msg.get("finding") else { continue };
            let (Some(osv), Some(top)) = (f["osv"].as_str(), f["trace"].get(0)) else { continue };
            let module = top["module"].as_str().unwrap_or("").to_string();
            let level = if top["function"].is_string() {
                Level::Symbol
            } else if top["package"].is_string() {
                Level::Package
            } else {
                Level::Module
            };
            let r = out.entry(format!("{osv}\u{1f}{module}")).or_insert(Reach {
                level,
                symbols: BTreeSet::new(),
                fixed: None,
                version: top["version"].as_str().unwrap_or("").to_string(),
            });
            r.level = r.level.max(level);
            if let Some(fx) = f["fixed_version"].as_str().filter(|s| !s.is_empty()) {
                r.fixed = Some(fx.to_string());
            }
            if level == Level::Symbol {
                let pkg = top["package"].as_str().unwrap_or("");
                let func = top["function"].as_str().unwrap_or("");
                let sym = match top["receiver"].as_str().filter(|s| !s.is_empty()) {
                    Some(recv) => format!("{pkg}.{}.{func}", recv.trim_start_matches('*')),
                    None => format!("{pkg}.{func}"),
                };
                r.symbols.insert(sym);
            }
        }
    }
    let status = child.wait().map_err(|e| bad_input(format!("govulncheck: {e}"), None))?;
    let stderr = err_thread.join().unwrap_or_default();
    // govulncheck exits 3 when it found vulnerabilities; anything else non-zero is a failure.
    if !status.success() && status.code() != Some(3) {
        return Err(bad_input(
            format!("govulncheck failed on {}: {}", bin.display(), stderr.lines().last().unwrap_or("").trim()),
            Some("the binary must be a Go executable; the database a directory of OSV entries"),
        ));
    }
    Ok((out, format!("govulncheck {version}")))
}

/// The Go version a binary was built with, from its build information
/// (`\xff Go buildinf:` header, Go 1.18+ inline layout).
pub fn go_version_of(bytes: &[u8]) -> Option<String> {
    const MAGIC: &[u8] = b"\xff Go buildinf:";
    let at = bytes.windows(MAGIC.len()).position(|w| w == MAGIC)?;
    let header = bytes.get(at..at + 32)?;
    if header[15] & 2 == 0 {
        return None;
    }
    let mut p = at + 32;
    let (len, n) = uvarint(bytes.get(p..)?)?;
    p += n;
    let v = bytes.get(p..p + usize::try_from(len).ok()?)?;
    String::from_utf8(v.to_vec()).ok().filter(|s| s.starts_with("go"))
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((x, i + 1));
        }
    }
    None
}

/// The tools a scan runs; None: found on PATH (then ~/go/bin). grype runs
/// only when given.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub govulncheck: Option<PathBuf>,
    pub sbom: Option<PathBuf>,
    pub grype: Option<GrypeTools>,
    /// The output directory: grype's temporary database is built beside it.
    pub out: Option<PathBuf>,
}

pub fn scan(bin: &Path, db: &Path, waivers: &BTreeMap<String, Justification>, today: Date, max_days: u32) -> Result<Scan, Error> {
    scan_with(bin, db, waivers, today, max_days, &Tools::default())
}

const GOVULNCHECK: &str = "govulncheck";
const OSV_MATCHER: &str = "osv-matcher";
const GRYPE: &str = "grype";

/// Why two scanners may differ on an (id, module), each checked on the data.
const CUSTOM_RANGE: &str = "custom-range";
const NO_VULNERABLE_SYMBOL: &str = "no-vulnerable-symbol";
const UNEXPLAINED: &str = "unexplained";

/// What each scanner is expected to report for one (id, module), from the
/// entry and govulncheck's reachability: govulncheck reads the standard
/// ranges; our matcher and grype also the custom ranges; grype, for an
/// entry that lists packages, only when a vulnerable function is compiled in
/// (govulncheck's `symbol` reachability). None: cannot be told.
fn expected(m: Option<&Match>, r: Option<&Reach>) -> (bool, bool, Option<bool>) {
    let Some(m) = m else { return (false, false, Some(false)) };
    let grype = if !m.ours {
        Some(false)
    } else if !m.imports {
        Some(true)
    } else {
        r.map(|r| r.level == Level::Symbol)
    };
    (m.standard, m.ours, grype)
}

fn disagreement(id: &str, module: &str, found_by: &[&'static str], ran: &[&'static str], m: Option<&Match>, r: Option<&Reach>) -> Option<Disagreement> {
    let not_found_by: Vec<&'static str> = ran.iter().copied().filter(|s| !found_by.contains(s)).collect();
    if not_found_by.is_empty() {
        return None;
    }
    let grype_ran = ran.contains(&GRYPE);
    let (g, o, y) = expected(m, r);
    let got = |s| found_by.contains(&s);
    let as_expected = got(GOVULNCHECK) == g && got(OSV_MATCHER) == o && (!grype_ran || y == Some(got(GRYPE)));
    let mut categories = Vec::new();
    let mut why = Vec::new();
    if as_expected {
        if let Some(m) = m.filter(|m| m.standard != m.ours) {
            categories.push(CUSTOM_RANGE);
            why.push(format!(
                "the entry's ecosystem_specific.custom_ranges, which our matcher and grype read (as grype's Go transformer does) and govulncheck does not, {} {}",
                if m.ours { "take in" } else { "leave out" },
                m.version
            ));
        }
        if grype_ran && o && y == Some(false) {
            categories.push(NO_VULNERABLE_SYMBOL);
            let level = match r.map(|r| r.level) {
                Some(Level::Symbol) => "symbol",
                Some(Level::Package) => "package",
                Some(Level::Module) => "module",
                None => "not reported",
            };
            why.push(format!(
                "the entry lists its vulnerable packages and functions (ecosystem_specific.imports), and grype matches only when one of them is compiled in; govulncheck found none either (reachability: {level})"
            ));
        }
    }
    if categories.is_empty() {
        categories.push(UNEXPLAINED);
        let name = |b: bool| if b { "would report it" } else { "would not" };
        why.push(format!(
            "no known difference between the scanners explains it (expected from the entry and govulncheck's reachability: govulncheck {}, osv-matcher {}{})",
            name(g),
            name(o),
            if grype_ran { format!(", grype {}", y.map(name).unwrap_or("cannot be told")) } else { String::new() }
        ));
    }
    Some(Disagreement {
        id: id.to_string(),
        module: module.to_string(),
        found_by: found_by.to_vec(),
        not_found_by,
        categories,
        explanation: why.join("; "),
    })
}

pub fn scan_with(bin: &Path, db: &Path, waivers: &BTreeMap<String, Justification>, today: Date, max_days: u32, tools: &Tools) -> Result<Scan, Error> {
    let entries = database_entries(db)?;
    let bytes = std::fs::read(bin).map_err(|e| io(bin, e))?;
    let go_version = go_version_of(&bytes).ok_or_else(|| {
        bad_input(format!("{}: not a Go executable with build information", bin.display()), Some("--scan-binary takes the Mattermost server binary (scripts/mattermost-build.sh builds it)"))
    })?;
    let binary_sha256 = super::sha256_hex(&bytes);
    drop(bytes);
    let gv = find_tool(tools.govulncheck.as_deref(), "govulncheck").ok_or_else(|| {
        bad_input("govulncheck not found", Some("install it: go install golang.org/x/vuln/cmd/govulncheck@v1.9.0 (scripts/test.sh does), or pass --govulncheck PATH"))
    })?;
    let sbom = super::sbom::binary_sbom(bin, tools.sbom.as_deref())?;
    let modules = super::sbom::go_modules(&sbom.doc);
    let platform = super::sbom::platform(&sbom.doc);
    let (matched, fingerprint) = osv_match(&entries, &modules, &go_version, (&platform.0, &platform.1))?;
    let (reach, gv_name) = govulncheck(&gv, bin, db)?;
    let grype_run = match &tools.grype {
        Some(t) => Some(grype::run(t, db, bin, tools.out.as_deref())?),
        None => None,
    };
    let theirs = grype_run.as_ref().map(|g| &g.matches);

    let mut ran = vec![GOVULNCHECK, OSV_MATCHER];
    if grype_run.is_some() {
        ran.push(GRYPE);
    }
    let ours: BTreeSet<&String> = matched.iter().filter(|(_, m)| m.ours).map(|(k, _)| k).collect();
    let keys: BTreeSet<&String> = ours.iter().copied().chain(reach.keys()).chain(theirs.into_iter().flat_map(|t| t.keys())).collect();
    let mut findings = Vec::new();
    let mut disagreements = Vec::new();
    for key in keys {
        let (id, module) = key.split_once('\u{1f}').unwrap_or((key, ""));
        let m = matched.get(key);
        let r = reach.get(key);
        let y = theirs.and_then(|t| t.get(key));
        let mut found_by = Vec::new();
        if r.is_some() {
            found_by.push(GOVULNCHECK);
        }
        if m.is_some_and(|m| m.ours) {
            found_by.push(OSV_MATCHER);
        }
        if y.is_some() {
            found_by.push(GRYPE);
        }
        disagreements.extend(disagreement(id, module, &found_by, &ran, m, r));
        let waiver = waivers.get(id).map(|j| judge_waiver(id, j, today, max_days));
        let status = match &waiver {
            Some(w) if w.problems.is_empty() => "waived",
            Some(_) => "refused",
            None => "fail",
        };
        let symbols: Vec<String> = r.map(|r| r.symbols.iter().take(10).cloned().collect()).unwrap_or_default();
        findings.push(Finding {
            id: id.to_string(),
            aliases: m.map(|m| m.aliases.clone()).unwrap_or_default(),
            module: module.to_string(),
            version: m.map(|m| m.version.clone()).or_else(|| r.map(|r| r.version.clone())).or_else(|| y.map(|y| y.version.clone())).unwrap_or_default(),
            fixed: r.and_then(|r| r.fixed.clone()).or_else(|| m.and_then(|m| m.fixed.clone())),
            level: r.map(|r| r.level).unwrap_or(Level::Module),
            symbol_count: r.map(|r| r.symbols.len()).unwrap_or(0),
            symbols,
            grype_symbols: y.map(|y| y.symbols.clone()),
            found_by,
            status,
            waiver,
        });
    }
    let stale_waivers = waivers.keys().filter(|k| !findings.iter().any(|f| &f.id == *k)).cloned().collect();
    let mut scanners = vec![gv_name, "secure-mattermost osv-matcher".into()];
    let grype = match &grype_run {
        Some(g) => {
            scanners.push(g.name.clone());
            GrypeInfo {
                run: true,
                reason: None,
                scanner: Some(g.name.clone()),
                database: Some(format!("schema {}, written by grypedb (grype's db.Build) from the same OSV entries ({})", g.schema, entries.len())),
                network: Some(g.network),
                matches: Some(g.matches.len()),
            }
        }
        None => GrypeInfo {
            run: false,
            reason: Some("not asked for (scan or render without --grype/--grypedb): no finding was checked against grype".into()),
            scanner: None,
            database: None,
            network: None,
            matches: None,
        },
    };
    let unexplained_disagreements = disagreements.iter().filter(|d| d.categories.contains(&UNEXPLAINED)).count();
    Ok(Scan {
        binary: bin.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        binary_sha256,
        go_version,
        sbom_tool: sbom.tool,
        modules: modules.len(),
        database: DatabaseInfo { entries: entries.len(), fingerprint },
        scanners,
        grype,
        findings,
        disagreements,
        unexplained_disagreements,
        stale_waivers,
        sbom_text: sbom.text,
    })
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn scanner_words(s: &Scan) -> String {
    match s.scanners.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => s.scanners.join(""),
    }
}

/// What the report says of grype: how it ran, or that it did not.
fn grype_words(s: &Scan) -> String {
    let g = &s.grype;
    if g.run {
        format!(
            "grype read a database {} (network: {}) and reported {} (vulnerability, module) pair(s).",
            g.database.as_deref().unwrap_or("?"),
            g.network.unwrap_or("?"),
            g.matches.unwrap_or(0)
        )
    } else {
        format!("grype was not run: {}.", g.reason.as_deref().unwrap_or("not asked for"))
    }
}

fn disagreement_words(s: &Scan) -> String {
    format!(
        "Scanner disagreements: {} ({} unexplained). A finding any scanner reports fails unless waived.",
        s.disagreements.len(),
        s.unexplained_disagreements
    )
}

pub fn markdown_section(scan: Option<&Scan>, o: &mut String) {
    o.push_str("## Software bill of materials and vulnerabilities\n\n");
    let Some(s) = scan else {
        o.push_str("Not performed: render with `--scan-binary` and `--vuln-db` to inventory the server binary and scan it.\n");
        return;
    };
    o.push_str(&format!(
        "Server binary `{}` (SHA-256 {}), built with {}: {} Go modules (SBOM by {}, `sbom-mattermost.cdx.json`; this helper's own crates in `sbom-secure-mattermost.cdx.json`).\n\n",
        s.binary, s.binary_sha256, s.go_version, s.modules, s.sbom_tool
    ));
    o.push_str(&format!(
        "Scanned offline by {} against a database of {} OSV entries (fingerprint {}). {} finding(s), {} waived. {}\n\n",
        scanner_words(s),
        s.database.entries,
        s.database.fingerprint,
        s.findings.len(),
        s.findings.iter().filter(|f| f.status == "waived").count(),
        grype_words(s)
    ));
    if !s.findings.is_empty() {
        o.push_str("| Vulnerability | Module | Version | Fixed in | Reachability | Found by | Status | Waiver |\n|---|---|---|---|---|---|---|---|\n");
        for f in &s.findings {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&f.id),
                cell(&f.module),
                cell(&f.version),
                cell(f.fixed.as_deref().unwrap_or("—")),
                f.reachability(),
                f.found_by.join(", "),
                f.status,
                cell(&f.waiver.as_ref().map(|w| format!("{} ({}, until {})", w.reason, w.approved_by.as_deref().unwrap_or("?"), w.expires.as_deref().unwrap_or("?"))).unwrap_or_else(|| "—".into()))
            ));
        }
        o.push('\n');
    }
    if !s.disagreements.is_empty() {
        o.push_str(&format!("{}\n\n", disagreement_words(s)));
        o.push_str("| Vulnerability | Module | Found by | Not found by | Category | Explanation |\n|---|---|---|---|---|---|\n");
        for d in &s.disagreements {
            let category = if d.unexplained() { "**unexplained**".to_string() } else { d.categories.join(", ") };
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&d.id),
                cell(&d.module),
                d.found_by.join(", "),
                d.not_found_by.join(", "),
                category,
                cell(&d.explanation)
            ));
        }
        o.push('\n');
    }
}

pub fn html_section(scan: Option<&Scan>, o: &mut String) {
    use super::html::esc;
    o.push_str("<h2 id=\"sbom\">Software bill of materials and vulnerabilities</h2>\n");
    let Some(s) = scan else {
        o.push_str("<p>Not performed: render with <code>--scan-binary</code> and <code>--vuln-db</code> to inventory the server binary and scan it.</p>\n");
        return;
    };
    o.push_str(&format!(
        "<p>Server binary <code>{}</code> (SHA-256 {}), built with {}: {} Go modules (SBOM by {}). Scanned offline by {} against {} OSV entries (fingerprint {}): {} finding(s), {} waived. {}</p>\n",
        esc(&s.binary),
        esc(&s.binary_sha256),
        esc(&s.go_version),
        s.modules,
        esc(&s.sbom_tool),
        esc(&scanner_words(s)),
        s.database.entries,
        esc(&s.database.fingerprint),
        s.findings.len(),
        s.findings.iter().filter(|f| f.status == "waived").count(),
        esc(&grype_words(s))
    ));
    if !s.findings.is_empty() {
        o.push_str("<table class=\"vulns\">\n<thead><tr><th>Vulnerability</th><th>Module</th><th>Version</th><th>Fixed in</th><th>Reachability</th><th>Found by</th><th>Status</th><th>Waiver</th></tr></thead>\n<tbody>\n");
        for f in &s.findings {
            o.push_str(&format!(
                "<tr data-vuln=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&f.id),
                esc(&f.id),
                esc(&f.module),
                esc(&f.version),
                esc(f.fixed.as_deref().unwrap_or("—")),
                f.reachability(),
                f.found_by.join(", "),
                f.status,
                esc(&f.waiver.as_ref().map(|w| format!("{} ({}, until {})", w.reason, w.approved_by.as_deref().unwrap_or("?"), w.expires.as_deref().unwrap_or("?"))).unwrap_or_else(|| "—".into()))
            ));
        }
        o.push_str("</tbody>\n</table>\n");
    }
    if !s.disagreements.is_empty() {
        o.push_str(&format!("<p>{}</p>\n", esc(&disagreement_words(s))));
        o.push_str("<table class=\"disagreements\">\n<thead><tr><th>Vulnerability</th><th>Module</th><th>Found by</th><th>Not found by</th><th>Category</th><th>Explanation</th></tr></thead>\n<tbody>\n");
        for d in &s.disagreements {
            let category = if d.unexplained() { "<strong>unexplained</strong>".to_string() } else { esc(&d.categories.join(", ")) };
            o.push_str(&format!(
                "<tr data-disagreement=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&d.id),
                esc(&d.id),
                esc(&d.module),
                d.found_by.join(", "),
                d.not_found_by.join(", "),
                category,
                esc(&d.explanation)
            ));
        }
        o.push_str("</tbody>\n</table>\n");
    }
}
