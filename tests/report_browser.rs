//! report.html in a real browser: headless Chromium driven by playwright-core
//! opens the page, every rule has its row in the DOM, and the page makes no
//! request that leaves it (every request and CSP violation is recorded). The
//! same check catches a control page with a loopback <img>. A screenshot is
//! kept at target/report-html.png.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHECK_JS: &str = r#"const { chromium } = require('playwright-core');
(async () => {
  const [pagePath, shot] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: process.env.SM_CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  const url = 'file://' + pagePath;
  const requests = [];
  page.on('request', r => { if (r.url() !== url) requests.push(r.url()); });
  await page.addInitScript(() => { window.__v = []; document.addEventListener('securitypolicyviolation', e => window.__v.push(e.blockedURI)); });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  const rules = await page.$$eval('tr[data-rule]', rs => rs.map(r => r.getAttribute('data-rule')));
  const violations = await page.evaluate(() => window.__v);
  if (shot) await page.screenshot({ path: shot });
  await browser.close();
  console.log(JSON.stringify({ rules, requests, violations }));
})().catch(e => { console.error(String(e)); process.exit(2); });
"#;

struct Browser {
    chromium: PathBuf,
    node_modules: PathBuf,
    script: PathBuf,
}

fn browser(dir: &Path) -> Option<Browser> {
    let chromium = std::env::var_os("SM_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_modules = std::env::var_os("SM_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("secure-mattermost/node/node_modules"));
    if !chromium.is_file() {
        skip_missing("chromium", "report_browser", "Debian chromium not installed (scripts/test.sh installs it)");
        return None;
    }
    if !node_modules.join("playwright-core").is_dir() || Command::new("node").arg("--version").output().is_err() {
        skip_missing("chromium", "report_browser", "node or playwright-core missing (scripts/test.sh installs playwright-core into ~/.cache/secure-mattermost/node)");
        return None;
    }
    let script = dir.join("check.js");
    std::fs::write(&script, CHECK_JS).unwrap();
    Some(Browser { chromium, node_modules, script })
}

fn open(b: &Browser, page: &Path, shot: Option<&Path>) -> Value {
    let mut c = Command::new("node");
    c.arg(&b.script).arg(page).env("NODE_PATH", &b.node_modules).env("SM_CHROMIUM", &b.chromium);
    if let Some(s) = shot {
        c.arg(s);
    }
    let o = c.output().expect("node runs");
    assert!(o.status.success(), "browser check failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("check.js prints JSON")
}

fn every_rule_has_its_row_and_nothing_leaves_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let Some(b) = browser(dir.path()) else { return };
    let out = dir.path().join("out");
    let doc = patched(
        load("examples/kubernetes.json"),
        &serde_json::json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": {"reason": "Partner agencies collaborate under ISA-2031", "approvedBy": "ISSO J. Doe", "expires": "2027-06-30"}}}),
    );
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shot = root().join("target/report-html.png");
    let page = out.join("report.html");
    let seen = open(&b, &page, Some(&shot));
    let outcomes: Value = serde_json::from_str(&std::fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap();
    let rows: Vec<&str> = seen["rules"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for rule in outcomes["rules"].as_array().unwrap() {
        let id = rule["id"].as_str().unwrap();
        assert!(rows.contains(&id), "no row for {id} in the rendered page");
    }
    assert_eq!(seen["requests"], serde_json::json!([]), "the report fetched something");
    assert_eq!(seen["violations"], serde_json::json!([]));
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "no screenshot at {}", shot.display());

    // The same check is not blind: a loopback image in the report, and a
    // control page of its own, are both caught.
    let html = std::fs::read_to_string(&page).unwrap();
    let injected = dir.path().join("injected.html");
    std::fs::write(&injected, html.replacen("<h1>", "<img src=\"http://127.0.0.1:9/pixel.png\"><h1>", 1)).unwrap();
    let seen = open(&b, &injected, None);
    assert!(
        seen["requests"].to_string().contains("127.0.0.1") || seen["violations"].to_string().contains("127.0.0.1"),
        "a loopback <img> went unnoticed: {seen}"
    );
    let control = dir.path().join("control.html");
    std::fs::write(&control, "<!DOCTYPE html><html><body><h1>Control</h1><img src=\"http://127.0.0.1:9/pixel.png\"></body></html>").unwrap();
    let seen = open(&b, &control, None);
    assert!(seen["requests"].to_string().contains("127.0.0.1:9/pixel.png"), "{seen}");
}

/// `$XDG_CACHE_HOME`, else `~/.cache` (where scripts/test.sh installs tools).
fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"))
}

tests![
    every_rule_has_its_row_and_nothing_leaves_the_page,
];
