//! grype, the product card's second scanner, run fully offline on the pinned
//! Mattermost server binary with a database that tools/grypedb writes from
//! the OSV entries a site supplies (grype's own db.Build and OSV transformer;
//! both built by scripts/grype-build.sh). A one-entry database of our own
//! gives exactly that finding, and moving its range or its symbols away
//! gives none; the real Go vulnerability database gives a subset of what
//! `secure-mattermost scan` reports, and every id only one side reports is
//! explained from the data (the finding's reachability, the entry's
//! symbols and ranges) or the test fails; an empty database is refused.
//! `secure-mattermost scan --grype --grypedb` runs grype itself: grype joins
//! the finding's `foundBy`, our matcher reads custom ranges as grype does
//! (fixture shapes where grype is the oracle), an unexplained difference is
//! listed as such in vulnerabilities.json and the report, and on the real
//! database the product's categories are the ones this test derives.
//! Fixtures name ids and ranges, they copy no OSV text.

mod common;
use common::*;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Tools {
    grype: PathBuf,
    grypedb: PathBuf,
}

/// grype and grypedb from scripts/grype-build.sh, or a skip.
fn tools(test: &str) -> Option<Tools> {
    let o = Command::new("bash")
        .arg(root().join("scripts/grype-build.sh"))
        .arg("--print-path")
        .output();
    let paths: Vec<PathBuf> = o
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    match paths.as_slice() {
        [g, d] if g.is_file() && d.is_file() => Some(Tools {
            grype: g.clone(),
            grypedb: d.clone(),
        }),
        _ => {
            skip_missing(
                "grype",
                test,
                "grype and tools/grypedb are not built (bash scripts/grype-build.sh builds them)",
            );
            None
        }
    }
}

fn server(test: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    let pin = load("catalog/mattermost-pin.json");
    let p = cache.and_then(|c| {
        Some(c.join(format!(
            "secure-mattermost/mattermost-{}/bin/mattermost",
            pin["version"].as_str()?
        )))
    });
    let p = p.filter(|p| p.is_file());
    if p.is_none() {
        skip_missing(
            "mattermost",
            test,
            "the pinned Mattermost server is not built (scripts/mattermost-build.sh)",
        );
    }
    p
}

fn tool_on_path(name: &str) -> bool {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin").join(name));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
        || home_bin.is_some_and(|p| p.is_file())
}

/// Our own entry for lib/pq (which the server links): id, range and symbols only.
fn pq_entry(fixed: &str, symbols: &[&str]) -> Value {
    json!({
        "schema_version": "1.3.1",
        "id": "GO-2099-0001",
        "modified": "2099-01-01T00:00:00Z",
        "published": "2099-01-01T00:00:00Z",
        "affected": [{
            "package": {"name": "github.com/lib/pq", "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            "ecosystem_specific": {"imports": [{"path": "github.com/lib/pq", "symbols": symbols}]}
        }]
    })
}

fn osv_dir(dir: &Path, name: &str, entries: &[Value]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    for e in entries {
        std::fs::write(
            d.join(format!("{}.json", e["id"].as_str().unwrap())),
            e.to_string(),
        )
        .unwrap();
    }
    d
}

/// `grypedb build --osv OSV --out OUT`: (exit code, stderr).
fn grypedb(t: &Tools, osv: &Path, out: &Path) -> (i32, String) {
    let o = Command::new(&t.grypedb)
        .args(["build", "--osv"])
        .arg(osv)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", t.grypedb.display()));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn built(t: &Tools, osv: &Path, out: &Path) {
    let (code, stderr) = grypedb(t, osv, out);
    assert_eq!(code, 0, "grypedb: {stderr}");
    assert!(
        out.join("6/vulnerability.db").is_file() && out.join("6/import.json").is_file(),
        "{stderr}"
    );
}

fn netns_available() -> bool {
    Command::new("unshare")
        .args(["--net", "true"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// grype on `bin` with the database in `db` (GRYPE_DB_CACHE_DIR) and
/// nothing else: no update, age or application check, a clean environment,
/// an empty HOME and working directory (no .grype.yaml), and no network at
/// all where a network namespace can be made.
fn grype(t: &Tools, db: &Path, bin: &Path) -> Value {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = if netns_available() {
        let mut c = Command::new("unshare");
        c.args(["--net", "--"]).arg(&t.grype);
        c
    } else {
        Command::new(&t.grype)
    };
    let o = cmd
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("GRYPE_DB_AUTO_UPDATE", "false")
        .env("GRYPE_DB_VALIDATE_AGE", "false")
        .env("GRYPE_CHECK_FOR_APP_UPDATE", "false")
        .env("GRYPE_DB_CACHE_DIR", db)
        .current_dir(home.path())
        .args(["-o", "json"])
        .arg(format!("file:{}", bin.display()))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", t.grype.display()));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "grype exited {:?}: {stderr}",
        o.status.code()
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("grype printed no JSON ({e}): {stderr}"));
    assert_eq!(v["descriptor"]["name"], "grype", "{stderr}");
    assert!(v["matches"].is_array(), "{v}");
    v
}

/// grype's matches by (vulnerability id, module).
fn by_id_and_module(v: &Value) -> BTreeMap<(String, String), &Value> {
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                (
                    m["vulnerability"]["id"].as_str().unwrap().to_string(),
                    m["artifact"]["name"].as_str().unwrap().to_string(),
                ),
                m,
            )
        })
        .collect()
}

fn matched_symbols(m: &Value) -> BTreeSet<String> {
    m["matchDetails"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| {
            d["found"]["matchedSymbols"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn grype_on_a_one_entry_database_finds_exactly_that() {
    let test = "grype::one_entry_database";
    let Some(t) = tools(test) else { return };
    let Some(bin) = server(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let osv = osv_dir(
        dir.path(),
        "osv",
        &[pq_entry("99.0.0", &["ParseURL", "Open"])],
    );
    let db = dir.path().join("db");
    built(&t, &osv, &db);
    let v = grype(&t, &db, &bin);
    let m = by_id_and_module(&v);
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        [&("GO-2099-0001".to_string(), "github.com/lib/pq".to_string())],
        "{:#}",
        v["matches"]
    );
    let only = m.values().next().unwrap();
    assert_eq!(only["artifact"]["type"], "go-module");
    assert_eq!(
        only["vulnerability"]["namespace"], "govulndb:language:go",
        "the finding comes from the database grypedb wrote"
    );
    assert_eq!(only["vulnerability"]["fix"]["versions"], json!(["99.0.0"]));
    let syms = matched_symbols(only);
    assert!(
        !syms.is_empty(),
        "grype saw none of the entry's symbols in the binary: {only:#}"
    );
    assert!(
        syms.is_subset(
            &["github.com/lib/pq.ParseURL", "github.com/lib/pq.Open"]
                .map(String::from)
                .into()
        ),
        "{syms:?}"
    );

    // The same entry fixed before the linked version, or naming a function
    // the binary does not have: nothing (grype reads the range and the symbols).
    for (name, entry) in [
        ("fixed", pq_entry("1.0.0", &["ParseURL", "Open"])),
        ("symbols", pq_entry("99.0.0", &["NoSuchFunction"])),
    ] {
        let osv = osv_dir(dir.path(), &format!("osv-{name}"), &[entry]);
        let db = dir.path().join(format!("db-{name}"));
        built(&t, &osv, &db);
        let v = grype(&t, &db, &bin);
        assert_eq!(v["matches"], json!([]), "{name}: {:#}", v["matches"]);
    }
}

fn grypedb_refuses_an_empty_database() {
    let Some(t) = tools("grype::empty_database") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let readme = dir.path().join("readme");
    std::fs::create_dir(&readme).unwrap();
    std::fs::write(readme.join("README.txt"), "not an entry").unwrap();
    // Entries grype's transformer drops whole: no affected package, and an id no OSV strategy claims.
    let mut no_affected = pq_entry("99.0.0", &["Open"]);
    no_affected["affected"] = json!([]);
    let mut unclaimed = pq_entry("99.0.0", &["Open"]);
    unclaimed["id"] = json!("XYZ-2099-0001");
    let dropped = osv_dir(dir.path(), "dropped", &[no_affected, unclaimed]);
    let malformed = dir.path().join("malformed");
    std::fs::create_dir(&malformed).unwrap();
    std::fs::write(malformed.join("GO-2099-0001.json"), "{\"id\": ").unwrap();
    for (osv, want) in [
        (&empty, "holds no OSV entries"),
        (&readme, "holds no OSV entries"),
        (&dir.path().join("missing"), "no such directory"),
        (&dropped, "none of its 2 entries gave an affected package"),
        (&malformed, "not an OSV entry"),
    ] {
        let out = dir.path().join("out");
        let (code, stderr) = grypedb(&t, osv, &out);
        assert_eq!(code, 2, "{}: {stderr}", osv.display());
        assert!(stderr.contains(want), "{}: {stderr}", osv.display());
        assert!(
            !out.join("6/vulnerability.db").exists(),
            "{}: a database was written",
            osv.display()
        );
    }
}

fn tool_args(t: &Tools) -> Vec<String> {
    vec![
        "--grype".into(),
        t.grype.display().to_string(),
        "--grypedb".into(),
        t.grypedb.display().to_string(),
    ]
}

/// `secure-mattermost scan --format json` with `extra`: (exit code, report, stderr).
fn product_scan(bin: &Path, osv: &Path, extra: &[String]) -> (i32, Value, String) {
    let mut a: Vec<String> = [
        "scan",
        "--binary",
        bin.to_str().unwrap(),
        "--vuln-db",
        osv.to_str().unwrap(),
        "--today",
        TODAY,
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().cloned());
    let r = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("scan printed no JSON ({e}): {}", r.stderr));
    (r.code, v, r.stderr)
}

fn finding<'a>(s: &'a Value, id: &str) -> Option<&'a Value> {
    s["findings"].as_array().unwrap().iter().find(|f| f["id"] == id)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `scan --grype --grypedb` on our one-entry database: grype joins the
/// finding's foundBy with the functions it saw; an entry whose only listed
/// function is not compiled in is reported by govulncheck (package
/// reachability) and our matcher, and its absence from grype is explained
/// as no-vulnerable-symbol. The temporary grype database beside --out is
/// gone afterwards and the OSV directory is untouched.
fn scan_with_grype_adds_it_to_found_by() {
    let test = "grype::scan_found_by";
    let Some(t) = tools(test) else { return };
    let Some(bin) = server(test) else { return };
    for need in ["govulncheck", "cyclonedx-gomod"] {
        if !tool_on_path(need) {
            skip(test, &format!("{need} not installed (scripts/test.sh installs it with go install)"));
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut absent = pq_entry("99.0.0", &["NoSuchFunction"]);
    absent["id"] = json!("GO-2099-0002");
    let osv = osv_dir(dir.path(), "osv", &[pq_entry("99.0.0", &["ParseURL", "Open"]), absent]);
    let before = listing(&osv);
    let out_parent = dir.path().join("evidence");
    std::fs::create_dir(&out_parent).unwrap();
    let out = out_parent.join("out");
    let mut extra = tool_args(&t);
    extra.extend(["--out".to_string(), out.display().to_string()]);
    let (code, s, stderr) = product_scan(&bin, &osv, &extra);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(s["grype"]["run"], true, "{:#}", s["grype"]);
    assert!(s["scanners"].as_array().unwrap().iter().any(|x| x == "grype v0.121.3"), "{}", s["scanners"]);
    let f = finding(&s, "GO-2099-0001").expect("the finding");
    assert_eq!(f["foundBy"], json!(["govulncheck", "osv-matcher", "grype"]), "{f:#}");
    let syms: BTreeSet<String> = f["grypeSymbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert!(!syms.is_empty(), "{f:#}");
    assert!(
        syms.is_subset(&["github.com/lib/pq.ParseURL", "github.com/lib/pq.Open"].map(String::from).into()),
        "{syms:?}"
    );
    assert_eq!(f["status"], "fail", "grype changes no verdict");
    let g = finding(&s, "GO-2099-0002").expect("govulncheck and our matcher report the module");
    assert_eq!(g["foundBy"], json!(["govulncheck", "osv-matcher"]), "{g:#}");
    assert_ne!(g["level"], "symbol");
    let d = s["disagreements"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["id"], "GO-2099-0002");
    assert_eq!(d[0]["notFoundBy"], json!(["grype"]));
    assert_eq!(d[0]["categories"], json!(["no-vulnerable-symbol"]));
    assert_eq!(s["unexplainedDisagreements"], 0);
    // What was written; nothing left beside it, nothing added to the OSV directory.
    let written: Value = serde_json::from_str(&std::fs::read_to_string(out.join("vulnerabilities.json")).unwrap()).unwrap();
    assert_eq!(written["grype"]["run"], true);
    assert_eq!(listing(&out_parent), ["out"], "grype's temporary database was left behind");
    assert_eq!(listing(&osv), before);
    // The two flags go together.
    let r = run(&["scan", "--binary", bin.to_str().unwrap(), "--vuln-db", osv.to_str().unwrap(), "--grype", t.grype.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A grypedb that is not one: the scan is refused, nothing is written.
    let out2 = out_parent.join("out2");
    let r = run(&[
        "scan", "--binary", bin.to_str().unwrap(), "--vuln-db", osv.to_str().unwrap(),
        "--grype", t.grype.to_str().unwrap(), "--grypedb", "/bin/false", "--out", out2.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("grypedb"), "{}", r.stderr);
    assert!(!out2.exists());
}

/// Our own entry for lib/pq (v1.10.9 in the server, no listed packages, so
/// grype matches on the module): standard and custom range events only.
fn ranged_entry(id: &str, standard: Value, custom: Option<Value>) -> Value {
    let mut e = json!({
        "schema_version": "1.3.1",
        "id": id,
        "modified": "2099-01-01T00:00:00Z",
        "published": "2099-01-01T00:00:00Z",
        "affected": [{
            "package": {"name": "github.com/lib/pq", "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": standard}]
        }]
    });
    if let Some(c) = custom {
        e["affected"][0]["ecosystem_specific"] = json!({"custom_ranges": [{"type": "ECOSYSTEM", "events": c}]});
    }
    e
}

/// Custom-range shapes, grype the oracle: for each, our matcher reports
/// v1.10.9 exactly when grype does, and every difference from govulncheck
/// is explained as custom-range. One entry whose standard events are out of
/// order (govulncheck and we sort them, grype reads them as written) is the
/// one difference no category explains: it is listed as unexplained in
/// vulnerabilities.json, on stderr, and in report.md and report.html.
fn our_custom_ranges_are_grypes_and_the_unexplained_is_listed() {
    let test = "grype::custom_ranges";
    let Some(t) = tools(test) else { return };
    let Some(bin) = server(test) else { return };
    for need in ["govulncheck", "cyclonedx-gomod"] {
        if !tool_on_path(need) {
            skip(test, &format!("{need} not installed (scripts/test.sh installs it with go install)"));
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let i = |v: &str| json!({"introduced": v});
    let f = |v: &str| json!({"fixed": v});
    let shapes = [
        ranged_entry("GO-2099-0011", json!([i("0")]), Some(json!([i("0"), f("1.10.0")]))),
        ranged_entry("GO-2099-0012", json!([i("0")]), Some(json!([i("1.10.0"), f("1.11.0")]))),
        ranged_entry("GO-2099-0013", json!([i("0"), f("1.0.0")]), Some(json!([i("1.10.0"), f("1.11.0")]))),
        ranged_entry("GO-2099-0014", json!([i("1.10.5")]), Some(json!([i("0"), f("1.10.7")]))),
        ranged_entry("GO-2099-0015", json!([i("1.11.0")]), Some(json!([i("0"), f("2.0.0")]))),
        ranged_entry("GO-2099-0016", json!([i("0"), f("1.0.0")]), Some(json!([i("1.10.0")]))),
        ranged_entry("GO-2099-0017", json!([i("0"), f("99.0.0")]), Some(json!([{"introduced": 0}, {"fixed": 2}]))),
        ranged_entry("GO-2099-0019", json!([i("1.10.0"), f("1.10.5")]), Some(json!([i("1.10.8"), {"last_affected": "1.10.9"}]))),
    ];
    let mut entries = shapes.to_vec();
    entries.push(ranged_entry("GO-2099-0018", json!([i("1.11.0"), i("0"), f("99.0.0")]), None));
    let osv = osv_dir(dir.path(), "osv", &entries);
    let (code, s, stderr) = product_scan(&bin, &osv, &tool_args(&t));
    assert_eq!(code, 1, "{stderr}");
    let has = |id: &str, who: &str| finding(&s, id).is_some_and(|f| f["foundBy"].as_array().unwrap().iter().any(|x| x == who));
    let mut reported = 0;
    for e in &shapes {
        let id = e["id"].as_str().unwrap();
        assert_eq!(has(id, "osv-matcher"), has(id, "grype"), "{id}: our matcher and grype read the custom ranges differently: {:#}", finding(&s, id).cloned().unwrap_or_default());
        reported += usize::from(has(id, "grype"));
    }
    assert!(reported > 0 && reported < shapes.len(), "the shapes must both keep and remove findings ({reported})");
    // The fixed shapes that decide something: out, in, added, floor.
    assert!(has("GO-2099-0011", "govulncheck") && !has("GO-2099-0011", "grype"));
    assert!(has("GO-2099-0012", "grype"));
    assert!(has("GO-2099-0013", "grype") && !has("GO-2099-0013", "govulncheck"));
    assert!(finding(&s, "GO-2099-0015").is_none());
    let d = s["disagreements"].as_array().unwrap();
    let unexplained: Vec<&Value> = d.iter().filter(|d| d["categories"] == json!(["unexplained"])).collect();
    assert_eq!(unexplained.len(), 1, "{d:#?}");
    assert_eq!(unexplained[0]["id"], "GO-2099-0018");
    assert_eq!(unexplained[0]["notFoundBy"], json!(["grype"]));
    assert_eq!(s["unexplainedDisagreements"], 1);
    for x in d.iter().filter(|d| d["id"] != "GO-2099-0018") {
        assert_eq!(x["categories"], json!(["custom-range"]), "{x:#}");
    }
    assert!(stderr.contains("unexplained scanner disagreement: GO-2099-0018"), "{stderr}");

    // render --scan-binary with grype: the report lists it as unexplained.
    let mut waivers = serde_json::Map::new();
    for f in s["findings"].as_array().unwrap() {
        waivers.insert(
            f["id"].as_str().unwrap().to_string(),
            json!({"reason": "Driver upgrade scheduled with the next server release", "approvedBy": "ISSO J. Doe", "expires": "2027-03-31"}),
        );
    }
    let doc = patched(load("examples/kubernetes.json"), &json!({"vulnerabilityWaivers": waivers}));
    let out = dir.path().join("rendered");
    let mut a: Vec<String> = [
        "render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY,
        "--scan-binary", bin.to_str().unwrap(), "--vuln-db", osv.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(tool_args(&t));
    let r = run_stdin(&a.iter().map(String::as_str).collect::<Vec<_>>(), &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out.join("vulnerabilities.json")).unwrap()).unwrap();
    assert_eq!(v["grype"]["run"], true);
    assert_eq!(v["unexplainedDisagreements"], 1);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("(1 unexplained)"), "{md}");
    assert!(md.contains("| GO-2099-0018 | github.com/lib/pq | govulncheck, osv-matcher | grype | **unexplained** |"), "{md}");
    assert!(md.contains("| GO-2099-0011 | github.com/lib/pq | govulncheck | osv-matcher, grype | custom-range |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("data-disagreement=\"GO-2099-0018\""), "{html}");
    assert!(html.contains("<strong>unexplained</strong>"));
    assert_eq!(listing(dir.path()), ["osv", "rendered"], "grype's temporary database was left beside the output");
}

/// A (major.minor.patch, pre-release identifiers) reading of a Go module
/// version, leading `v` and build metadata (`+incompatible`) dropped.
fn semver(v: &str) -> (Vec<u64>, Vec<String>) {
    let v = v.trim_start_matches('v');
    let v = v.split('+').next().unwrap_or(v);
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let core = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
    let pre = if pre.is_empty() {
        vec![]
    } else {
        pre.split('.').map(str::to_string).collect()
    };
    (core, pre)
}

fn semver_cmp(a: &str, b: &str) -> Ordering {
    let ((ac, ap), (bc, bp)) = (semver(a), semver(b));
    ac.cmp(&bc)
        .then_with(|| match (ap.is_empty(), bp.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (x, y) in ap.iter().zip(&bp) {
                    let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                ap.len().cmp(&bp.len())
            }
        })
}

/// Whether `version` is in the OSV ranges' events (in order: introduced opens, fixed and last_affected close).
fn in_ranges(ranges: &[Value], version: &str) -> bool {
    ranges.iter().any(|r| {
        let mut affected = false;
        for e in r["events"].as_array().into_iter().flatten() {
            if let Some(i) = e["introduced"].as_str() {
                affected |= i == "0" || semver_cmp(version, i) != Ordering::Less;
            } else if let Some(f) = e["fixed"].as_str() {
                affected &= semver_cmp(version, f) == Ordering::Less;
            } else if let Some(l) = e["last_affected"].as_str() {
                affected &= semver_cmp(version, l) != Ordering::Greater;
            }
        }
        affected
    })
}

fn has_upper_bound(ranges: &[Value]) -> bool {
    ranges
        .iter()
        .flat_map(|r| r["events"].as_array().into_iter().flatten())
        .any(|e| e.get("fixed").is_some() || e.get("last_affected").is_some())
}

/// Why only one side reports (id, module), read from the data, or None.
fn explain(
    db: &Path,
    id: &str,
    module: &str,
    version: &str,
    ours: Option<&Value>,
) -> Option<&'static str> {
    let entry: Value =
        serde_json::from_str(&std::fs::read_to_string(db.join(format!("{id}.json"))).ok()?).ok()?;
    let affected: Vec<&Value> = entry["affected"]
        .as_array()?
        .iter()
        .filter(|a| a["package"]["name"] == module)
        .collect();
    if affected.is_empty() {
        return None;
    }
    let standard: Vec<Value> = affected
        .iter()
        .flat_map(|a| a["ranges"].as_array().cloned().unwrap_or_default())
        .collect();
    let custom: Vec<Value> = affected
        .iter()
        .flat_map(|a| {
            a["ecosystem_specific"]["custom_ranges"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let imports: Vec<&Value> = affected
        .iter()
        .flat_map(|a| {
            a["ecosystem_specific"]["imports"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .collect();
    let symbol_scoped = !imports.is_empty()
        && imports
            .iter()
            .all(|i| i["symbols"].as_array().is_some_and(|s| !s.is_empty()));
    match ours {
        // We report it, grype does not.
        Some(f) => {
            if f["level"] != "symbol" && symbol_scoped {
                return Some("no vulnerable function compiled in (govulncheck's reachability is module or package); grype's go-imports qualifier needs one of the entry's symbols in the binary");
            }
            if !custom.is_empty()
                && !has_upper_bound(&standard)
                && in_ranges(&standard, version)
                && !in_ranges(&custom, version)
            {
                return Some("the entry's standard range only opens (introduced, no fix) and its ecosystem_specific.custom_ranges, which grype applies and govulncheck does not, leave this version out");
            }
            None
        }
        // grype reports it, we do not.
        None => {
            if !custom.is_empty() && !in_ranges(&standard, version) && in_ranges(&custom, version) {
                return Some("only the entry's ecosystem_specific.custom_ranges, which grype applies and govulncheck does not, take this version in");
            }
            None
        }
    }
}

/// The real database (shared/vulndb/go-osv): grype's findings (run here)
/// against `secure-mattermost scan --grype`'s findings (the union of
/// govulncheck, our OSV matcher and grype), by id and module, every
/// difference explained by a category derived here from the entries; the
/// product reports the same grype matches, the same categories, and none
/// unexplained.
fn grype_agrees_with_our_scan_on_the_real_database() {
    let test = "grype::real_database";
    let Some(t) = tools(test) else { return };
    let Some(bin) = server(test) else { return };
    for need in ["govulncheck", "cyclonedx-gomod"] {
        if !tool_on_path(need) {
            skip(
                test,
                &format!("{need} not installed (scripts/test.sh installs it with go install)"),
            );
            return;
        }
    }
    let osv = root().join("../shared/vulndb/go-osv");
    if !osv.is_dir() {
        skip(test, "shared/vulndb/go-osv is not beside the repository");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    built(&t, &osv, &db);
    let g = grype(&t, &db, &bin);
    let theirs = by_id_and_module(&g);

    // The product runs grype itself (its own temporary database, beside the system temp dir).
    let (code, s, stderr) = product_scan(&bin, &osv, &tool_args(&t));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(s["grype"]["run"], true, "{:#}", s["grype"]);
    let ours: BTreeMap<(String, String), &Value> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["module"].as_str().unwrap().to_string(),
                ),
                f,
            )
        })
        .collect();
    assert!(
        ours.len() > 50 && theirs.len() > 50,
        "ours {}, grype {}",
        ours.len(),
        theirs.len()
    );
    assert!(
        theirs.contains_key(&(
            "GO-2026-5845".to_string(),
            "github.com/mattermost/mattermost/server/v8".to_string()
        )),
        "grype misses the pinned release's known vulnerability"
    );

    // Where both report an id, the SBOM tools (syft inside grype, ours) agree on the module's version.
    let plain = |v: &str| {
        v.trim_start_matches("go")
            .trim_start_matches('v')
            .to_string()
    };
    for (k, m) in &theirs {
        if let Some(f) = ours.get(k) {
            assert_eq!(
                plain(m["artifact"]["version"].as_str().unwrap_or("")),
                plain(f["version"].as_str().unwrap_or("")),
                "{k:?}"
            );
        }
    }

    let mut explained: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for (k, f) in ours.iter().filter(|(k, _)| !theirs.contains_key(*k)) {
        match explain(
            &osv,
            &k.0,
            &k.1,
            f["version"].as_str().unwrap_or(""),
            Some(f),
        ) {
            Some(why) => explained
                .entry(why)
                .or_default()
                .push(format!("{} {}", k.0, k.1)),
            None => unexplained.push(format!("only ours: {} {} (level {})", k.0, k.1, f["level"])),
        }
    }
    for (k, m) in theirs.iter().filter(|(k, _)| !ours.contains_key(*k)) {
        match explain(
            &osv,
            &k.0,
            &k.1,
            m["artifact"]["version"].as_str().unwrap_or(""),
            None,
        ) {
            Some(why) => explained
                .entry(why)
                .or_default()
                .push(format!("{} {}", k.0, k.1)),
            None => unexplained.push(format!(
                "only grype: {} {} {}",
                k.0, k.1, m["artifact"]["version"]
            )),
        }
    }
    let common = ours.keys().filter(|k| theirs.contains_key(*k)).count();
    eprintln!(
        "grype {} (id, module) pairs, ours {}, both {common}",
        theirs.len(),
        ours.len()
    );
    for (why, ids) in &explained {
        eprintln!("  {} only one side: {why}: {}", ids.len(), ids.join(", "));
    }
    assert!(
        unexplained.is_empty(),
        "differences no category explains:\n{}",
        unexplained.join("\n")
    );

    // The product's view: grype in foundBy exactly where grype (run here) matched,
    // every finding reported by someone, and its categories the ones derived here.
    let product_grype: BTreeSet<&(String, String)> = ours
        .iter()
        .filter(|(_, f)| f["foundBy"].as_array().unwrap().iter().any(|x| x == "grype"))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(product_grype, theirs.keys().collect::<BTreeSet<_>>(), "the product's grype run and this test's differ");
    assert!(ours.values().all(|f| !f["foundBy"].as_array().unwrap().is_empty()));
    assert_eq!(s["unexplainedDisagreements"], 0, "{:#}", s["disagreements"]);
    let derived: BTreeMap<String, &str> = explained
        .iter()
        .flat_map(|(why, ids)| {
            let category = if why.starts_with("no vulnerable function") { "no-vulnerable-symbol" } else { "custom-range" };
            ids.iter().map(move |k| (k.clone(), category))
        })
        .collect();
    let mut product: BTreeMap<String, &str> = BTreeMap::new();
    for d in s["disagreements"].as_array().unwrap() {
        let k = format!("{} {}", d["id"].as_str().unwrap(), d["module"].as_str().unwrap());
        let c = d["categories"].as_array().unwrap();
        assert_eq!(c.len(), 1, "{d:#}");
        product.insert(k, c[0].as_str().unwrap());
    }
    // Where grype and the union differ the product names the same category;
    // it may name more (govulncheck against our matcher, grype agreeing with one).
    for (k, c) in &derived {
        assert_eq!(product.get(k), Some(c), "{k}");
    }
    for (k, c) in product.iter().filter(|(k, _)| !derived.contains_key(*k)) {
        panic!("the product names a disagreement this test does not derive: {k} ({c})");
    }
    let count = |who: &str| ours.values().filter(|f| f["foundBy"].as_array().unwrap().iter().any(|x| x == who)).count();
    eprintln!(
        "findings {} (union): govulncheck {}, osv-matcher {}, grype {}; disagreements {} ({} custom-range, {} no-vulnerable-symbol)",
        ours.len(),
        count("govulncheck"),
        count("osv-matcher"),
        count("grype"),
        product.len(),
        product.values().filter(|c| **c == "custom-range").count(),
        product.values().filter(|c| **c == "no-vulnerable-symbol").count()
    );
}

tests![
    grype_on_a_one_entry_database_finds_exactly_that,
    grypedb_refuses_an_empty_database,
    scan_with_grype_adds_it_to_found_by,
    our_custom_ranges_are_grypes_and_the_unexplained_is_listed,
    grype_agrees_with_our_scan_on_the_real_database
];
