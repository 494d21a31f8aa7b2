//! grype, the product card's second scanner, run offline beside our own
//! two: its database is written by `grypedb` (tools/grypedb: grype's own
//! db.Build over the same OSV entries `--vuln-db` holds) into a temporary
//! directory beside the output, and grype reads nothing else: no update,
//! age or application check, a cleared environment whose HOME, TMPDIR and
//! XDG directories are that temporary directory (so no configuration file
//! of the host is read), and no network at all where a network namespace
//! can be made (`unshare --net`). Both binaries come from
//! scripts/grype-build.sh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::error::Error;

use crate::evidence::diag::{bad_input, find_tool, io};

/// The two binaries scripts/grype-build.sh builds (`--print-path` prints them).
#[derive(Debug, Clone)]
pub struct GrypeTools {
    pub grype: PathBuf,
    pub grypedb: PathBuf,
}

/// What grype reported, by `<id>\u{1f}<module>` (the scan's key).
pub struct GrypeRun {
    /// `grype v0.121.3`.
    pub name: String,
    /// The database schema grype read (`v6.1.10`), from its own report.
    pub schema: String,
    /// How grype was kept off the network.
    pub network: &'static str,
    pub matches: BTreeMap<String, GrypeMatch>,
}

pub struct GrypeMatch {
    pub version: String,
    /// The entry's symbols grype found in the binary (empty: matched on the module).
    pub symbols: Vec<String>,
}

const HELP: &str = "--grype and --grypedb take the two paths `bash scripts/grype-build.sh --print-path` prints";

/// Where the temporary database goes: beside `beside` (the output
/// directory), unless that is in the Nix store or does not exist yet; then
/// the system's temporary directory. Never the OSV directory itself.
fn work_parent(beside: Option<&Path>) -> PathBuf {
    let parent = beside.and_then(|o| {
        let abs = if o.is_absolute() { o.to_path_buf() } else { std::env::current_dir().ok()?.join(o) };
        abs.parent().map(Path::to_path_buf)
    });
    match parent {
        Some(p) if p.is_dir() && !p.starts_with("/nix/store") => p,
        _ => std::env::temp_dir(),
    }
}

/// A clean environment for both tools: everything they may write or read
/// for themselves is under `home`.
fn clean(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_CONFIG_DIRS", home)
        .env("XDG_CACHE_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("XDG_DATA_DIRS", home)
        .current_dir(home)
        .stdin(Stdio::null());
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
}

/// `unshare` when it can make a network namespace here, else None.
fn netns() -> Option<PathBuf> {
    let unshare = find_tool(None, "unshare").or_else(|| ["/usr/bin/unshare", "/bin/unshare"].iter().map(PathBuf::from).find(|p| p.is_file()))?;
    let ok = Command::new(&unshare).args(["--net", "true"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    ok.then_some(unshare)
}

pub fn run(tools: &GrypeTools, osv: &Path, bin: &Path, beside: Option<&Path>) -> Result<GrypeRun, Error> {
    let osv = std::fs::canonicalize(osv).map_err(|e| io(osv, e))?;
    let bin = std::fs::canonicalize(bin).map_err(|e| io(bin, e))?;
    let parent = work_parent(beside);
    let work = tempfile::Builder::new().prefix(".secure-mattermost-grype-").tempdir_in(&parent).map_err(|e| io(&parent, e))?;
    let home = work.path().join("home");
    let db = work.path().join("db");
    std::fs::create_dir(&home).map_err(|e| io(&home, e))?;

    // The database, from the same entries the other two scanners read.
    let mut build = Command::new(&tools.grypedb);
    clean(&mut build, &home);
    let out = build
        .args(["build", "--osv"])
        .arg(&osv)
        .arg("--out")
        .arg(&db)
        .output()
        .map_err(|e| bad_input(format!("{}: cannot run grypedb: {e}", tools.grypedb.display()), Some(HELP)))?;
    if !out.status.success() {
        return Err(bad_input(
            format!("grypedb could not build grype's database from {}: {}", osv.display(), last_line(&out.stderr)),
            Some("the OSV directory must hold Go vulnerability entries (<ID>.json)"),
        ));
    }

    let network = netns();
    let mut cmd = match &network {
        Some(unshare) => {
            let mut c = Command::new(unshare);
            c.args(["--net", "--"]).arg(&tools.grype);
            c
        }
        None => Command::new(&tools.grype),
    };
    clean(&mut cmd, &home);
    let out = cmd
        .env("GRYPE_DB_AUTO_UPDATE", "false")
        .env("GRYPE_DB_VALIDATE_AGE", "false")
        .env("GRYPE_DB_REQUIRE_UPDATE_CHECK", "false")
        .env("GRYPE_CHECK_FOR_APP_UPDATE", "false")
        .env("GRYPE_DB_CACHE_DIR", &db)
        .args(["-o", "json"])
        .arg(format!("file:{}", bin.display()))
        .output()
        .map_err(|e| bad_input(format!("{}: cannot run grype: {e}", tools.grype.display()), Some(HELP)))?;
    if !out.status.success() {
        return Err(bad_input(format!("grype failed on {}: {}", bin.display(), last_line(&out.stderr)), Some(HELP)));
    }
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| bad_input(format!("grype wrote no JSON report: {e}"), Some(HELP)))?;
    let d = &report["descriptor"];
    // The report must be grype's, over the database written here (not one it found elsewhere).
    let status = &d["db"]["status"];
    let used = status["path"].as_str().map(Path::new);
    if d["name"] != "grype" || !report["matches"].is_array() || !used.is_some_and(|p| p.starts_with(&db)) || status["valid"] != true {
        return Err(bad_input(
            format!("{}: not a grype report over the database grypedb wrote (database {})", tools.grype.display(), status["path"]),
            Some(HELP),
        ));
    }
    let mut matches = BTreeMap::new();
    for m in report["matches"].as_array().into_iter().flatten() {
        let (Some(id), Some(module)) = (m["vulnerability"]["id"].as_str(), m["artifact"]["name"].as_str()) else { continue };
        let mut symbols: Vec<String> = m["matchDetails"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|x| x["found"]["matchedSymbols"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        symbols.sort();
        symbols.dedup();
        let e = matches.entry(format!("{id}\u{1f}{module}")).or_insert(GrypeMatch { version: m["artifact"]["version"].as_str().unwrap_or("").to_string(), symbols: vec![] });
        e.symbols.extend(symbols);
        e.symbols.sort();
        e.symbols.dedup();
    }
    Ok(GrypeRun {
        name: format!("grype {}", d["version"].as_str().unwrap_or("?")),
        schema: status["schemaVersion"].as_str().unwrap_or("?").to_string(),
        network: if network.is_some() { "none (network namespace)" } else { "not isolated (no network namespace here); offline by configuration" },
        matches,
    })
}
