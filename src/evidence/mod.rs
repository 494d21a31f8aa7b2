//! The ATO evidence bundle written beside the artifacts by `render`: a
//! printable report (report.md, report.html), OSCAL component definition,
//! system security plan and POA&M, and, when a scan was asked for, SBOMs and
//! vulnerability findings; optionally a signed checksum manifest. Every file
//! is a function of the checked declaration, the catalog and the scan input,
//! so the same input gives the same bytes.

pub mod diag;
pub mod grype;
pub mod html;
pub mod oscal_common;
pub mod oscal_component;
pub mod poam;
pub mod report;
pub mod sbom;
pub mod semver;
pub mod sign;
pub mod ssp;
pub mod vulns;

use std::path::PathBuf;

use clap::Args;
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, CATALOG_JSON};
use crate::dates::Date;
use crate::document::{Deployment, Document, Mode};
use crate::error::Error;
use crate::policy::{Outcome, Report, RuleResult};

/// Flags `render` takes for the evidence bundle. Vulnerability waivers come
/// from the declaration (`vulnerabilityWaivers`), like every other waiver.
#[derive(Args, Debug, Clone, Default)]
pub struct EvidenceArgs {
    /// Mattermost server binary to inventory (SBOM) and scan; needs --vuln-db.
    #[arg(long, value_name = "PATH", requires = "vuln_db")]
    pub scan_binary: Option<PathBuf>,
    /// Local OSV database (a directory of <ID>.json entries, as govulncheck's `-db file://` reads); needs --scan-binary.
    #[arg(long, value_name = "DIR", requires = "scan_binary")]
    pub vuln_db: Option<PathBuf>,
    /// OpenSSH private key that signs the evidence manifest (evidence-manifest.sha256 + .sig).
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// grype as a third scanner of --scan-binary (offline; `scripts/grype-build.sh --print-path` prints it first); needs --grypedb.
    #[arg(long, value_name = "PATH", requires_all = ["grypedb", "scan_binary"])]
    pub grype: Option<PathBuf>,
    /// tools/grypedb, which builds grype's database from --vuln-db beside --out (printed second); needs --grype.
    #[arg(long, value_name = "PATH", requires = "grype")]
    pub grypedb: Option<PathBuf>,
    /// The output directory (render's --out): grype's temporary database is built beside it.
    #[arg(skip)]
    pub out: Option<PathBuf>,
}

/// What the evidence says about where it came from.
pub struct Provenance {
    pub helper_version: &'static str,
    pub catalog_version: u32,
    pub catalog_sha256: String,
    /// SHA-256 of the validated declaration (its JSON as the helper read it).
    pub input_sha256: String,
    pub policy_date: String,
    pub mattermost_version: String,
}

/// Everything one evidence file is made from.
pub struct Context<'a> {
    pub report: &'a Report,
    pub deployment: &'a Deployment,
    pub provenance: Provenance,
    pub scan: Option<&'a vulns::Scan>,
}

impl Context<'_> {
    pub fn mode(&self) -> &'static str {
        match self.deployment.mode {
            Mode::Kubernetes => "kubernetes",
            Mode::Baremetal => "baremetal",
        }
    }
    /// Results with a justification attached, in catalog order.
    pub fn waivers(&self) -> impl Iterator<Item = &RuleResult> {
        self.report.results.iter().filter(|r| r.justification.is_some())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The word the report uses for an outcome.
pub fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::NotApplicable => "n/a",
        Outcome::Advisory => "advisory",
        Outcome::Waived => "waived",
        Outcome::Fail => "fail",
        Outcome::IneffectiveWithoutLicence => "fail (no licence)",
    }
}

/// The outcome as outcomes.json spells it (`not-applicable`, ...).
pub fn outcome_token(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::NotApplicable => "not-applicable",
        Outcome::Advisory => "advisory",
        Outcome::Waived => "waived",
        Outcome::Fail => "fail",
        Outcome::IneffectiveWithoutLicence => "ineffective-without-licence",
    }
}

/// SP 800-53 rev5 family names by identifier prefix.
pub fn family_name(prefix: &str) -> &'static str {
    match prefix {
        "ac" => "Access Control",
        "at" => "Awareness and Training",
        "au" => "Audit and Accountability",
        "ca" => "Assessment, Authorization, and Monitoring",
        "cm" => "Configuration Management",
        "cp" => "Contingency Planning",
        "ia" => "Identification and Authentication",
        "ir" => "Incident Response",
        "ma" => "Maintenance",
        "mp" => "Media Protection",
        "pe" => "Physical and Environmental Protection",
        "pl" => "Planning",
        "pm" => "Program Management",
        "ps" => "Personnel Security",
        "pt" => "PII Processing and Transparency",
        "ra" => "Risk Assessment",
        "sa" => "System and Services Acquisition",
        "sc" => "System and Communications Protection",
        "si" => "System and Information Integrity",
        "sr" => "Supply Chain Risk Management",
        _ => "Other",
    }
}

/// `ac-2.1` → `ac`.
pub fn family_of(control: &str) -> &str {
    control.split(['-', '.']).next().unwrap_or(control)
}

/// A family prefix (`ac`) and its controls, each with the rules mapped to it.
pub type Family<'a> = (String, Vec<(String, Vec<&'a crate::catalog::Rule>)>);

/// [`controls_by_family`] of the compiled-in catalog, grouped once per
/// process (four evidence files walk it).
pub fn families() -> &'static [Family<'static>] {
    static FAMILIES: std::sync::OnceLock<Vec<Family<'static>>> = std::sync::OnceLock::new();
    FAMILIES.get_or_init(|| controls_by_family(Catalog::load()))
}

/// Catalog control ids (lower case, `ac-2.1`) grouped by family, sorted by
/// family then control number; each with the rules mapped to it in catalog order.
pub fn controls_by_family(catalog: &Catalog) -> Vec<Family<'_>> {
    let mut controls: Vec<String> = catalog.rules.iter().flat_map(|r| r.controls.iter().cloned()).collect();
    controls.sort_by_key(|c| control_sort_key(c));
    controls.dedup();
    let mut out: Vec<Family> = Vec::new();
    for c in controls {
        let fam = family_of(&c).to_string();
        let rules: Vec<_> = catalog.rules.iter().filter(|r| r.controls.contains(&c)).collect();
        match out.last_mut() {
            Some((f, list)) if *f == fam => list.push((c, rules)),
            _ => out.push((fam, vec![(c, rules)])),
        }
    }
    out
}

/// `sc-8.1` → ("sc", 8, 1), so SC-8 sorts before SC-12 and SC-8(1) after SC-8.
pub fn control_sort_key(c: &str) -> (String, u32, u32) {
    let fam = family_of(c).to_string();
    let rest = c.split_once('-').map(|(_, r)| r).unwrap_or("");
    let (base, enh) = rest.split_once('.').unwrap_or((rest, "0"));
    (fam, base.parse().unwrap_or(0), enh.parse().unwrap_or(0))
}

/// A found value as `path = value`, compact JSON. Values come from
/// outcomes (`found`), already redacted for secret settings and DSNs.
pub fn evidence_lines(r: &RuleResult) -> Vec<String> {
    match &r.found {
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| format!("{k} = {}", compact(v))).collect(),
        _ => vec![],
    }
}

pub fn compact(v: &serde_json::Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}… ({} characters)", s.chars().count())
    } else {
        s
    }
}

/// One piece of a render's output: the files it writes.
pub type Job<'a> = Box<dyn Fn() -> Result<Vec<(String, String)>, Error> + Sync + 'a>;

/// The evidence files, one job each, in the bundle's order (`render` runs
/// them side by side with the deployable files).
pub fn jobs<'a>(ctx: &'a Context<'a>) -> Vec<Job<'a>> {
    let one = |name: &'static str, make: fn(&Context) -> String| -> Job<'a> { Box::new(move || Ok(vec![(name.to_string(), make(ctx))])) };
    let mut out = vec![
        one("report.md", report::markdown),
        one("report.html", html::render),
        one("component-definition.oscal.json", oscal_component::render),
        one("system-security-plan.oscal.json", ssp::render),
        Box::new(move || Ok(poam::render_opt(ctx).map(|poam| ("poam.oscal.json".to_string(), poam)).into_iter().collect())),
        one("sbom-secure-mattermost.cdx.json", |_| sbom::helper_sbom()),
    ];
    if let Some(scan) = ctx.scan {
        out.push(Box::new(move || Ok(vec![("sbom-mattermost.cdx.json".to_string(), scan.sbom_text.clone()), ("vulnerabilities.json".to_string(), scan.to_json())])));
    }
    out
}

/// The evidence step of `render`, before any file is made: the optional
/// scan (an unwaived vulnerability in the server fails the render). The
/// files follow from [`jobs`]; [`sign`] then covers every file of the bundle.
pub fn scan(doc: &Document, today: Date, args: &EvidenceArgs) -> Result<Option<vulns::Scan>, Error> {
    let d = &doc.secure_mattermost;
    match (&args.scan_binary, &args.vuln_db) {
        (Some(bin), Some(db)) => {
            let waivers = vulns::declared_waivers(d);
            let grype = match (&args.grype, &args.grypedb) {
                (Some(grype), Some(grypedb)) => Some(vulns::GrypeTools { grype: grype.clone(), grypedb: grypedb.clone() }),
                _ => None,
            };
            let tools = vulns::Tools { govulncheck: None, sbom: None, grype, out: args.out.clone() };
            let scan = vulns::scan_with(bin, db, &waivers, today, d.policy.max_waiver_days, &tools)?;
            for line in scan.stderr_lines() {
                crate::output::stderr(&line);
            }
            let failing = scan.failing();
            if failing > 0 {
                return Err(Error::PolicyFailed { failed: failing });
            }
            Ok(Some(scan))
        }
        _ => {
            if !d.vulnerability_waivers.is_empty() {
                crate::output::stderr(&format!(
                    "note: {} vulnerability waiver(s) in the declaration not judged: no scan (render with --scan-binary and --vuln-db)",
                    d.vulnerability_waivers.len()
                ));
            }
            Ok(None)
        }
    }
}

/// With `--sign-key`: the signed manifest over every file of the bundle.
pub fn sign(files: &mut Vec<(String, String)>, args: &EvidenceArgs) -> Result<(), Error> {
    if let Some(key) = &args.sign_key {
        sign::sign_bundle(files, key)?;
    }
    Ok(())
}

pub fn provenance(doc: &Document, today: Date) -> Provenance {
    let catalog = Catalog::load();
    Provenance {
        helper_version: env!("CARGO_PKG_VERSION"),
        catalog_version: catalog.catalog_version,
        catalog_sha256: sha256_hex(CATALOG_JSON.as_bytes()),
        input_sha256: sha256_hex(&serde_json::to_vec(doc).unwrap_or_default()),
        policy_date: today.to_string(),
        mattermost_version: crate::defaults::pin().version,
    }
}

/// The deployment summary both reports open with: (label, value).
pub fn summary_rows(ctx: &Context) -> Vec<(&'static str, String)> {
    let d = ctx.deployment;
    let p = &ctx.provenance;
    vec![
        ("Domain", d.domain.clone()),
        ("Site name", d.site_name.clone()),
        ("Mode", ctx.mode().to_string()),
        ("Mattermost", p.mattermost_version.clone()),
        ("Licence edition", d.license.edition.to_string()),
        ("Authentication", format!("{:?}", d.auth.provider).to_lowercase()),
        ("Replicas", d.replicas.to_string()),
        ("Air-gapped", d.air_gapped.to_string()),
        ("Policy date", p.policy_date.clone()),
        ("Waiver window (policy.maxWaiverDays)", d.policy.max_waiver_days.to_string()),
        ("Declaration SHA-256", p.input_sha256.clone()),
        ("Helper", format!("secure-mattermost {}", p.helper_version)),
        ("Catalog", format!("version {}, SHA-256 {}", p.catalog_version, p.catalog_sha256)),
    ]
}

/// One sentence counting the outcomes, for both reports.
pub fn outcome_sentence(ctx: &Context) -> String {
    let s = crate::report::summary(ctx.report);
    format!(
        "{} rules: {} pass, {} waived, {} advisory, {} n/a, {} fail ({} ineffective without licence).",
        ctx.report.results.len(),
        s["pass"],
        s["waived"],
        s["advisory"],
        s["notApplicable"],
        ctx.report.failed(),
        s["ineffectiveWithoutLicence"]
    )
}
