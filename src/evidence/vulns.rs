//! Offline vulnerability scan of the Mattermost server binary against a
//! locally supplied OSV database: govulncheck in binary mode (symbol-level
//! reachability) and our own OSV range matcher over the SBOM's Go modules,
//! whose results must agree. Every finding fails unless waived by its
//! vulnerability id with a structured justification (approver, expiry
//! within the waiver window), judged like any waiver.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::dates::Date;
use crate::document::{Deployment, Justification, JustificationRecord};
use crate::error::Error;
use crate::policy::AppliedJustification;

use super::diag::{bad_input, find_tool, io};
use super::semver::{affected, Event, Version};

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
    pub findings: Vec<Finding>,
    /// Ids only one scanner reported, with the reason where it is known.
    pub disagreements: Vec<Value>,
    /// Waivers for ids not found in the binary (stale).
    pub stale_waivers: Vec<String>,
    #[serde(skip)]
    pub sbom_text: String,
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
            out.push(format!("note: scanners disagree on {}", d));
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
}

/// Our own matcher: each entry's Go ranges against the modules' versions
/// (and `stdlib` against the Go version). Reads one entry at a time.
/// Whether an affected entry's packages are all for other platforms
/// (`ecosystem_specific.imports[].goos/goarch`): such code is not in a
/// binary built for `goos`/`goarch`, as govulncheck also decides.
fn other_platform(affected: &Value, goos: &str, goarch: &str) -> bool {
    let imports: Vec<&Value> = affected["ecosystem_specific"]["imports"].as_array().into_iter().flatten().collect();
    let excludes = |list: &Value, have: &str| list.as_array().is_some_and(|xs| !xs.is_empty() && !xs.iter().any(|x| x == have));
    !imports.is_empty() && !goos.is_empty() && imports.iter().all(|i| excludes(&i["goos"], goos) || excludes(&i["goarch"], goarch))
}

fn osv_match(entries: &[PathBuf], modules: &[(String, String)], go_version: &str, platform: (&str, &str)) -> Result<(BTreeMap<String, Match>, String), Error> {
    use sha2::{Digest, Sha256};
    let mut fingerprint = Sha256::new();
    let mut found = BTreeMap::new();
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
            for r in a["ranges"].as_array().into_iter().flatten().filter(|r| r["type"] == "SEMVER") {
                let mut events = Vec::new();
                let mut fixes = Vec::new();
                for e in r["events"].as_array().into_iter().flatten() {
                    let parse = |k: &str| e[k].as_str().and_then(Version::parse);
                    if let Some(x) = parse("introduced") {
                        events.push(Event::Introduced(x));
                    } else if let Some(x) = parse("fixed") {
                        fixes.push((x.clone(), e["fixed"].as_str().unwrap_or("").to_string()));
                        events.push(Event::Fixed(x));
                    } else if let Some(x) = parse("last_affected") {
                        events.push(Event::LastAffected(x));
                    }
                }
                if affected(&events, &v) {
                    let fixed = fixes.into_iter().filter(|(x, _)| *x > v).min_by(|a, b| a.0.cmp(&b.0)).map(|(_, s)| s);
                    let module = if pkg == "stdlib" { "stdlib".to_string() } else { pkg.to_string() };
                    found.entry(format!("{id}\u{1f}{module}")).or_insert(Match {
                        aliases: entry["aliases"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect(),
                        version: have.to_string(),
                        fixed: fixed.map(|f| if pkg == "stdlib" { format!("go{f}") } else { format!("v{}", f.trim_start_matches('v')) }),
                    });
                }
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

pub struct Tools {
    pub govulncheck: Option<PathBuf>,
    pub sbom: Option<PathBuf>,
}

pub fn scan(bin: &Path, db: &Path, waivers: &BTreeMap<String, Justification>, today: Date, max_days: u32) -> Result<Scan, Error> {
    scan_with(bin, db, waivers, today, max_days, &Tools { govulncheck: None, sbom: None })
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

    let keys: BTreeSet<&String> = matched.keys().chain(reach.keys()).collect();
    let mut findings = Vec::new();
    let mut disagreements = Vec::new();
    for key in keys {
        let (id, module) = key.split_once('\u{1f}').unwrap_or((key, ""));
        let m = matched.get(key);
        let r = reach.get(key);
        let mut found_by = Vec::new();
        if r.is_some() {
            found_by.push("govulncheck");
        }
        if m.is_some() {
            found_by.push("osv-matcher");
        }
        if m.is_none() || r.is_none() {
            disagreements.push(json!({"id": id, "module": module, "onlyFoundBy": found_by[0]}));
        }
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
            version: m.map(|m| m.version.clone()).or_else(|| r.map(|r| r.version.clone())).unwrap_or_default(),
            fixed: r.and_then(|r| r.fixed.clone()).or_else(|| m.and_then(|m| m.fixed.clone())),
            level: r.map(|r| r.level).unwrap_or(Level::Module),
            symbol_count: r.map(|r| r.symbols.len()).unwrap_or(0),
            symbols,
            found_by,
            status,
            waiver,
        });
    }
    let stale_waivers = waivers.keys().filter(|k| !findings.iter().any(|f| &f.id == *k)).cloned().collect();
    Ok(Scan {
        binary: bin.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        binary_sha256,
        go_version,
        sbom_tool: sbom.tool,
        modules: modules.len(),
        database: DatabaseInfo { entries: entries.len(), fingerprint },
        scanners: vec![gv_name, "secure-mattermost osv-matcher".into()],
        findings,
        disagreements,
        stale_waivers,
        sbom_text: sbom.text,
    })
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
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
        "Scanned offline by {} against a database of {} OSV entries (fingerprint {}). {} finding(s), {} waived.\n\n",
        s.scanners.join(" and "),
        s.database.entries,
        s.database.fingerprint,
        s.findings.len(),
        s.findings.iter().filter(|f| f.status == "waived").count()
    ));
    if !s.findings.is_empty() {
        o.push_str("| Vulnerability | Module | Version | Fixed in | Reachability | Status | Waiver |\n|---|---|---|---|---|---|---|\n");
        for f in &s.findings {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&f.id),
                cell(&f.module),
                cell(&f.version),
                cell(f.fixed.as_deref().unwrap_or("—")),
                f.reachability(),
                f.status,
                cell(&f.waiver.as_ref().map(|w| format!("{} ({}, until {})", w.reason, w.approved_by.as_deref().unwrap_or("?"), w.expires.as_deref().unwrap_or("?"))).unwrap_or_else(|| "—".into()))
            ));
        }
        o.push('\n');
    }
    if !s.disagreements.is_empty() {
        o.push_str(&format!("Scanner disagreements: {}\n\n", s.disagreements.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")));
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
        "<p>Server binary <code>{}</code> (SHA-256 {}), built with {}: {} Go modules (SBOM by {}). Scanned offline by {} against {} OSV entries (fingerprint {}): {} finding(s), {} waived.</p>\n",
        esc(&s.binary),
        esc(&s.binary_sha256),
        esc(&s.go_version),
        s.modules,
        esc(&s.sbom_tool),
        esc(&s.scanners.join(" and ")),
        s.database.entries,
        esc(&s.database.fingerprint),
        s.findings.len(),
        s.findings.iter().filter(|f| f.status == "waived").count()
    ));
    if !s.findings.is_empty() {
        o.push_str("<table class=\"vulns\">\n<thead><tr><th>Vulnerability</th><th>Module</th><th>Version</th><th>Fixed in</th><th>Reachability</th><th>Status</th><th>Waiver</th></tr></thead>\n<tbody>\n");
        for f in &s.findings {
            o.push_str(&format!(
                "<tr data-vuln=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&f.id),
                esc(&f.id),
                esc(&f.module),
                esc(&f.version),
                esc(f.fixed.as_deref().unwrap_or("—")),
                f.reachability(),
                f.status,
                esc(&f.waiver.as_ref().map(|w| format!("{} ({}, until {})", w.reason, w.approved_by.as_deref().unwrap_or("?"), w.expires.as_deref().unwrap_or("?"))).unwrap_or_else(|| "—".into()))
            ));
        }
        o.push_str("</tbody>\n</table>\n");
    }
}
