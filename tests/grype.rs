//! grype, the product card's second scanner, run fully offline on the pinned
//! Mattermost server binary with a database that tools/grypedb writes from
//! the OSV entries a site supplies (grype's own db.Build and OSV transformer;
//! both built by scripts/grype-build.sh). A one-entry database of our own
//! gives exactly that finding, and moving its range or its symbols away
//! gives none; the real Go vulnerability database gives a subset of what
//! `secure-mattermost scan` reports, and every id only one side reports is
//! explained from the data (the finding's reachability, the entry's
//! symbols and ranges) or the test fails; an empty database is refused.
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

/// The real database (shared/vulndb/go-osv): grype's findings against
/// `secure-mattermost scan`'s (govulncheck and our OSV matcher, which agree),
/// by id and module, every difference explained by a category.
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

    let r = run(&[
        "scan",
        "--binary",
        bin.to_str().unwrap(),
        "--vuln-db",
        osv.to_str().unwrap(),
        "--today",
        TODAY,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        s["disagreements"],
        json!([]),
        "our two scanners disagree: compare with tests/vulns.rs first"
    );
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
}

tests![
    grype_on_a_one_entry_database_finds_exactly_that,
    grypedb_refuses_an_empty_database,
    grype_agrees_with_our_scan_on_the_real_database
];
