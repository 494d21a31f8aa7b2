//! Property tests on the policy, over random declarations driven through
//! the real binary: every rule yields exactly one outcome; removing a
//! justification never turns a failure into a pass; a literal secret
//! planted anywhere appears in no output; the built-in evaluator
//! (`--config`) and the `--input` path give the same outcomes (and, where
//! real Nix with nixpkgs' lib is at hand, the same document as Nix).
//!
//! Declarations are drawn from the module's own option schema
//! (modules/options-schema.json: every bool, enum and integer option) and
//! the catalog's hardened settings (`rules --json`), over the shipped
//! examples, with justifications of every shape. The runs are reproducible:
//! a fixed seed per property (`SECURE_MATTERMOST_PROPTEST_SEED` changes
//! it), `PROPTEST_CASES` cases (default 64).

mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

// ---------------------------------------------------------------- running

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
}

fn runner(property: &str) -> TestRunner {
    let extra = std::env::var("SECURE_MATTERMOST_PROPTEST_SEED").unwrap_or_default();
    let mut seed = [0u8; 32];
    for (i, b) in format!("{property}/{extra}").bytes().enumerate() {
        seed[i % 32] = seed[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    let config = Config { cases: cases(), failure_persistence: None, max_shrink_iters: 24, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Runs `test` on `strategy`'s values; a failure panics with the smallest
/// failing declaration proptest found.
fn check_property<S: Strategy>(property: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(property).run(&strategy, test) {
        panic!("{property}: {e}");
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

/// Runs the binary on several argument lists at once (2 cores).
fn run_all(jobs: Vec<(Vec<String>, String)>) -> Vec<Run> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(args, stdin)| {
                s.spawn(move || {
                    let a: Vec<&str> = args.iter().map(String::as_str).collect();
                    run_stdin(&a, stdin)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a run")).collect()
    })
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------- what to draw

struct Catalog {
    /// Rule ids in catalog order.
    ids: Vec<String>,
    /// (Section.Key, hardened value, the rules hardening it).
    harden: Vec<(String, Value, Vec<String>)>,
}

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let r = run(&["rules", "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let rules: Vec<Value> = serde_json::from_str(&r.stdout).expect("rules --json");
        let ids = rules.iter().map(|r| r["id"].as_str().expect("id").to_string()).collect();
        let mut harden = vec![];
        for r in &rules {
            let id = r["id"].as_str().unwrap_or_default().to_string();
            for (k, v) in r["harden"].as_object().into_iter().flatten() {
                match harden.iter_mut().find(|(h, _, _): &&mut (String, Value, Vec<String>)| h == k) {
                    Some((_, _, ids)) => ids.push(id.clone()),
                    None => harden.push((k.clone(), v.clone(), vec![id.clone()])),
                }
            }
        }
        assert!(harden.len() > 50, "the catalog hardens {} settings", harden.len());
        Catalog { ids, harden }
    })
}

/// The bool, enum and integer options of the module, with the values a
/// declaration may give them and the rules they answer.
fn scalar_options() -> &'static Vec<(Vec<String>, Vec<Value>, Vec<String>)> {
    static O: OnceLock<Vec<(Vec<String>, Vec<Value>, Vec<String>)>> = OnceLock::new();
    O.get_or_init(|| {
        let schema = load("modules/options-schema.json");
        let mut out = vec![];
        for o in schema["options"].as_array().expect("options") {
            let path: Vec<String> = o["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
            if path == ["enable"] {
                continue;
            }
            let values: Vec<Value> = match o["type"]["kind"].as_str().unwrap_or_default() {
                "bool" => vec![json!(true), json!(false)],
                "enum" => o["type"]["values"].as_array().cloned().unwrap_or_default(),
                "port" => vec![json!(1), json!(443), json!(5432), json!(65535)],
                "positiveInt" => vec![json!(1), json!(2), json!(3), json!(400)],
                "int" => vec![json!(0), json!(1000), json!(65534)],
                _ => continue,
            };
            let answers = o["meta"]["answers"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
            if values.len() > 1 {
                out.push((path, values, answers));
            }
        }
        assert!(out.len() >= 20, "only {} scalar options in the schema", out.len());
        out
    })
}

fn nested(path: &[String], v: Value) -> Value {
    path.iter().rev().fold(v, |acc, k| json!({ k.as_str(): acc }))
}

/// A deviation from a hardened setting: the other boolean, or another value.
fn setting_value(hardened: &Value, pick: u32) -> Value {
    match hardened {
        Value::Bool(b) => json!(!b),
        Value::Number(n) => [json!(0), json!(n.as_u64().unwrap_or(1) * 20), json!(1), n.clone().into()][pick as usize % 4].clone(),
        Value::String(s) => [json!(""), json!("DEBUG"), json!("0.0.0.0:8065"), json!(s)][pick as usize % 4].clone(),
        Value::Array(_) => [json!([]), json!(["X-Forwarded-For"]), hardened.clone(), json!(["X-Real-IP", "X-Forwarded-For"])][pick as usize % 4].clone(),
        other => other.clone(),
    }
}

/// A deviation (a patch) and the rules it may affect.
fn deviation() -> impl Strategy<Value = (Value, Vec<String>)> {
    let options = scalar_options().clone();
    let harden = catalog().harden.clone();
    prop_oneof![
        (prop::sample::select(options), any::<prop::sample::Index>()).prop_map(|((path, values, answers), i)| (nested(&path, i.get(&values).clone()), answers)),
        (prop::sample::select(harden), any::<u32>()).prop_map(|((key, hardened, ids), pick)| {
            let path: Vec<String> = std::iter::once("settings".to_string()).chain(key.split('.').map(str::to_string)).collect();
            (nested(&path, setting_value(&hardened, pick)), ids)
        }),
    ]
}

/// Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> String {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// `TODAY` plus `n` days.
fn today_plus(n: i64) -> String {
    let (y, m, d) = (&TODAY[0..4], &TODAY[5..7], &TODAY[8..10]);
    civil_from_days(days_from_civil(y.parse().unwrap(), m.parse().unwrap(), d.parse().unwrap()) + n)
}

const REASONS: &[&str] = &[
    "Partner agencies collaborate under ISA 2031",
    "Pilot enclave behind the boundary proxy with compensating controls",
    "Vendor support case requires this until the patch lands",
    "Legacy clients cannot negotiate the hardened setting yet",
];

fn record(reason: &str, approved_by: Option<&str>, expires: Option<String>, ticket: Option<&str>) -> Value {
    json!({"reason": reason, "approvedBy": approved_by, "expires": expires, "ticket": ticket})
}

/// A justification of any shape: valid, plain string, placeholder,
/// expired, beyond the waiver window, without approver, impossible date.
fn justification_value() -> impl Strategy<Value = Value> {
    let reason = prop::sample::select(REASONS);
    prop_oneof![
        4 => (reason.clone(), 1i64..=365).prop_map(|(r, n)| record(r, Some("ISSO J. Doe"), Some(today_plus(n)), Some("POAM-1"))),
        1 => reason.clone().prop_map(|r| json!(r)),
        1 => prop::sample::select(&["TODO", "TBD?", "---", "n/a", "TODO: write"][..]).prop_map(|r| record(r, Some("ISSO"), Some(today_plus(30)), None)),
        1 => (reason.clone(), 1i64..=400).prop_map(|(r, n)| record(r, Some("ISSO"), Some(today_plus(-n)), None)),
        1 => (reason.clone(), 366i64..=900).prop_map(|(r, n)| record(r, Some("ISSO"), Some(today_plus(n)), None)),
        1 => reason.clone().prop_map(|r| record(r, None, Some(today_plus(60)), None)),
        1 => reason.prop_map(|r| record(r, Some(" "), Some("2027-02-30".into()), None)),
    ]
}

/// A justification key: mostly a rule the deviations may affect, else any
/// rule, or an option named by a rule.
fn justification_key(related: Vec<String>) -> BoxedStrategy<String> {
    let ids = catalog().ids.clone();
    let options = prop::sample::select(&["allowGuestUsers", "allowOpenSignup", "airGapped"][..]).prop_map(str::to_string);
    if related.is_empty() {
        prop_oneof![4 => prop::sample::select(ids), 1 => options].boxed()
    } else {
        prop_oneof![4 => prop::sample::select(related), 2 => prop::sample::select(ids), 1 => options].boxed()
    }
}

#[derive(Debug, Clone)]
struct Decl {
    kubernetes: bool,
    deviations: Vec<Value>,
    justifications: Vec<(String, Value)>,
}

impl Decl {
    fn base_name(&self) -> &'static str {
        if self.kubernetes {
            "kubernetes"
        } else {
            "baremetal"
        }
    }

    /// What the declaration adds to its example (a JSON merge patch).
    fn patch(&self) -> Value {
        let mut p = json!({});
        for d in &self.deviations {
            merge(&mut p, d);
        }
        if !self.justifications.is_empty() {
            let mut j = Map::new();
            for (k, v) in &self.justifications {
                j.insert(k.clone(), v.clone());
            }
            merge(&mut p, &json!({ "justification": j }));
        }
        p
    }

    /// The evaluated document: the example's, with the patch applied.
    fn doc(&self) -> Value {
        patched(load(&format!("examples/{}.json", self.base_name())), &self.patch())
    }

    fn without_justification(&self, key: Option<&str>) -> Decl {
        let mut d = self.clone();
        d.justifications.retain(|(k, _)| key.is_some_and(|key| k != key));
        d
    }
}

fn declaration() -> impl Strategy<Value = Decl> {
    (any::<bool>(), prop::collection::vec(deviation(), 0..6)).prop_flat_map(|(kubernetes, deviations)| {
        let related: Vec<String> = deviations.iter().flat_map(|(_, ids)| ids.clone()).collect();
        let patches: Vec<Value> = deviations.into_iter().map(|(p, _)| p).collect();
        prop::collection::vec((justification_key(related), justification_value()), 0..5)
            .prop_map(move |justifications| Decl { kubernetes, deviations: patches.clone(), justifications })
    })
}

// -------------------------------------------------------------- outcomes

/// `(rule id, outcome)` in the order `check --json` prints them.
fn outcomes(r: &Run) -> Result<Vec<(String, String)>, TestCaseError> {
    let v: Value = serde_json::from_str(&r.stdout).map_err(|e| fail(format!("check --json printed no JSON ({e}): {}", r.stdout)))?;
    Ok(v["rules"]
        .as_array()
        .ok_or_else(|| fail(format!("no rules: {v}")))?
        .iter()
        .map(|r| (r["id"].as_str().unwrap_or_default().to_string(), r["outcome"].as_str().unwrap_or_default().to_string()))
        .collect())
}

fn is_failure(outcome: &str) -> bool {
    outcome == "fail" || outcome == "ineffective-without-licence"
}

fn check_args(input: &str, format: &str) -> Vec<String> {
    args(&["check", "--input", input, "--today", TODAY, "--format", format])
}

// ------------------------------------------------------------ properties

/// Every rule of the catalog has exactly one outcome, the same in the JSON
/// outcomes, the text table and SARIF; the summary counts them and the exit
/// code follows from them.
fn every_rule_yields_exactly_one_outcome() {
    let cat = catalog();
    let judged = AtomicUsize::new(0);
    check_property("one-outcome", declaration(), |decl| {
        let doc = decl.doc().to_string();
        let runs = run_all(vec![(check_args("-", "json"), doc.clone()), (check_args("-", "text"), doc.clone()), (check_args("-", "sarif"), doc)]);
        let (json_run, text_run, sarif_run) = (&runs[0], &runs[1], &runs[2]);
        prop_assert!(runs.iter().all(|r| r.code == json_run.code), "formats disagree on the exit code: {:?}", runs.iter().map(|r| r.code).collect::<Vec<_>>());
        if json_run.code == 2 {
            prop_assert!(json_run.stdout.is_empty() && json_run.stderr.contains("services.secureMattermost"), "{}", json_run.stderr);
            return Ok(());
        }
        prop_assert!(json_run.code <= 1, "exit {}: {}", json_run.code, json_run.stderr);
        judged.fetch_add(1, Ordering::Relaxed);
        let got = outcomes(json_run)?;
        let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        prop_assert_eq!(&ids, &cat.ids.iter().map(String::as_str).collect::<Vec<_>>(), "not every rule once, in catalog order");
        let known = ["pass", "not-applicable", "advisory", "waived", "fail", "ineffective-without-licence"];
        for (id, o) in &got {
            prop_assert!(known.contains(&o.as_str()), "{}: outcome {:?}", id, o);
        }
        let failed = got.iter().filter(|(_, o)| is_failure(o)).count();
        prop_assert_eq!(json_run.code == 1, failed > 0, "exit {} with {} failed rule(s)", json_run.code, failed);
        let v: Value = serde_json::from_str(&json_run.stdout).unwrap();
        let sum: u64 = v["summary"].as_object().map(|m| m.values().filter_map(Value::as_u64).sum()).unwrap_or(0);
        prop_assert_eq!(sum as usize, cat.ids.len(), "the summary counts {} outcomes", sum);
        // The table: one row per rule, its outcome word matching.
        let word = |o: &str| match o {
            "pass" => "pass",
            "not-applicable" => "n/a",
            "advisory" => "advisory",
            "waived" => "WAIVED",
            "fail" => "FAIL",
            _ => "FAIL (no licence)",
        };
        let rows: Vec<(String, String)> = text_run
            .stdout
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| !l.starts_with(' '))
            .map(|l| (l.get(18..).and_then(|r| r.split_whitespace().next()).unwrap_or_default().to_string(), l.get(..17).unwrap_or(l).trim().to_string()))
            .collect();
        prop_assert_eq!(rows.len(), cat.ids.len(), "table rows:\n{}", text_run.stdout);
        for (id, o) in &got {
            prop_assert_eq!(rows.iter().filter(|(r, _)| r == id).map(|(_, w)| w.as_str()).collect::<Vec<_>>(), vec![word(o)], "table row of {}", id);
        }
        // SARIF: one result per reported rule (failed, advisory, waived), none for pass and n/a.
        let sarif: Value = serde_json::from_str(&sarif_run.stdout).map_err(|e| fail(format!("SARIF: {e}")))?;
        let mut reported: Vec<&str> = sarif["runs"][0]["results"].as_array().into_iter().flatten().filter_map(|r| r["ruleId"].as_str()).collect();
        reported.sort();
        let mut want: Vec<&str> = got.iter().filter(|(_, o)| o != "pass" && o != "not-applicable").map(|(id, _)| id.as_str()).collect();
        want.sort();
        prop_assert_eq!(reported, want, "SARIF results");
        Ok(())
    });
    let n = judged.into_inner();
    assert!(cases() < 16 || n * 2 >= cases() as usize, "only {n} of {} declarations were judged (the rest refused): the generator is off", cases());
}

/// Removing a justification (one key, or all of them) never turns a failed
/// rule into a passing one, nor a failed check into a passing one, but
/// where the failure was that very justification's own defect (a
/// placeholder reason, no approver, an impossible or too distant expiry:
/// refused "whatever the rule's state", src/policy.rs), which removing it
/// takes away.
fn removing_a_justification_never_turns_a_fail_into_a_pass() {
    let compared = AtomicUsize::new(0);
    let unwaived = AtomicUsize::new(0);
    let strategy = declaration()
        .prop_filter("has a justification", |d| !d.justifications.is_empty())
        .prop_flat_map(|d| {
            let n = d.justifications.len();
            (Just(d), prop::option::of(0..n))
        });
    check_property("justification-removal", strategy, |(decl, which)| {
        let key = which.map(|i| decl.justifications[i].0.clone());
        let removed: Vec<String> = match &key {
            Some(k) => vec![k.clone()],
            None => decl.justifications.iter().map(|(k, _)| k.clone()).collect(),
        };
        let after_decl = decl.without_justification(key.as_deref());
        let runs = run_all(vec![(check_args("-", "json"), decl.doc().to_string()), (check_args("-", "json"), after_decl.doc().to_string())]);
        let (before, after) = (&runs[0], &runs[1]);
        if before.code == 2 {
            return Ok(());
        }
        prop_assert!(before.code <= 1 && after.code <= 1, "exit {} then {} after removing {:?}:\n{}", before.code, after.code, key, after.stderr);
        compared.fetch_add(1, Ordering::Relaxed);
        let rules = |r: &Run| -> Vec<Value> { serde_json::from_str::<Value>(&r.stdout).ok().and_then(|v| v["rules"].as_array().cloned()).unwrap_or_default() };
        let (b, a) = (rules(before), rules(after));
        prop_assert_eq!(b.len(), a.len());
        let own_defect = |r: &Value| {
            let k = r["justification"]["key"].as_str().unwrap_or_default();
            removed.iter().any(|x| x == k) && r["message"].as_str().is_some_and(|m| m.starts_with(&format!("justification.{k} is not acceptable")))
        };
        let mut excused = false;
        for (rb, ra) in b.iter().zip(&a) {
            let (ob, oa) = (rb["outcome"].as_str().unwrap_or_default(), ra["outcome"].as_str().unwrap_or_default());
            if is_failure(ob) && !is_failure(oa) {
                prop_assert!(own_defect(rb), "{}: {} became {} once the justification {:?} was removed: {}", rb["id"], ob, oa, key, rb["message"]);
                excused = true;
            }
            if ob == "waived" && is_failure(oa) {
                unwaived.fetch_add(1, Ordering::Relaxed);
            }
        }
        if before.code == 1 && !excused {
            prop_assert_eq!(after.code, 1, "the check passed once {:?} was removed", key);
        }
        Ok(())
    });
    let (c, u) = (compared.into_inner(), unwaived.into_inner());
    if cases() >= 16 {
        assert!(c * 2 >= cases() as usize, "only {c} declarations compared");
        assert!(u > 0, "no waived rule lost its waiver in {c} comparisons: the generator never exercised the property");
    }
}

/// Where a secret can be planted, relative to `services.secureMattermost`.
#[derive(Debug, Clone)]
enum Plant {
    /// A refused literal-secret option (catalog trapOptions).
    Trap(usize),
    /// A server secret setting (catalog/server-secret-settings.json, DSNs aside).
    SecretSetting(usize),
    /// A setting whose key names a secret (`…Password`, `…ApiKey`, …).
    SecretLikeKey(usize),
    /// A plugin setting (secret unless declared public).
    Plugin,
    /// A password in a DSN setting, in one of lib/pq's forms.
    Dsn(usize, usize),
    /// A credential-shaped string in any string leaf of the declaration.
    Anywhere(prop::sample::Index, usize),
    /// The contents of a secret file an option names (read by nothing but `launch`).
    FileContents(usize),
}

fn traps() -> &'static Vec<Vec<String>> {
    static T: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    T.get_or_init(|| {
        load("catalog/controls.json")["secrets"]["trapOptions"]
            .as_array()
            .expect("trapOptions")
            .iter()
            .map(|t| t["option"].as_str().unwrap().split('.').map(str::to_string).collect())
            .collect()
    })
}

fn server_secret_settings() -> &'static Vec<String> {
    static S: OnceLock<Vec<String>> = OnceLock::new();
    S.get_or_init(|| {
        let v = load("catalog/server-secret-settings.json");
        let list = v.get("settings").unwrap_or(&v);
        // A DSN setting is secret only for the password it carries (Plant::Dsn).
        let dsn = load("catalog/controls.json")["secrets"]["dataSourceSettings"].clone();
        let dsn: Vec<&str> = dsn.as_array().expect("dataSourceSettings").iter().filter_map(Value::as_str).collect();
        let out: Vec<String> = list
            .as_array()
            .expect("a list of settings")
            .iter()
            .filter_map(|s| s.as_str().or_else(|| s["setting"].as_str()))
            .filter(|s| !dsn.contains(s))
            .map(str::to_string)
            .collect();
        assert!(out.len() > 10, "server secret settings: {out:?}");
        out
    })
}

const SECRET_LIKE_KEYS: &[&str] = &["FooSettings.BarPassword", "EmailSettings.SMTPPassword", "ExtraSettings.ApiKey", "X.ClientSecret", "Y.PrivateKey", "Z.AuthToken"];
const DSN_SETTINGS: &[&str] = &["SqlSettings.DataSource", "SqlSettings.DataSourceReplicas", "SqlSettings.DataSourceSearchReplicas"];

/// The secret inside a credential-shaped string (each shape is one the
/// catalog's valuePatterns name).
fn credential(shape: usize, secret: &str) -> String {
    match shape % 4 {
        0 => format!("https://admin:{secret}@idp.example.com/x"),
        1 => format!("host=db password={secret} sslmode=verify-full"),
        2 => format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----"),
        _ => format!("postgres://mm:{secret}@db.example.internal/mm?sslmode=verify-full"),
    }
}

fn string_leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                string_leaves(x, path, out);
                path.pop();
            }
        }
        Value::String(_) => out.push(path.clone()),
        _ => {}
    }
}

/// The patch that plants `secret`, and whether the declaration is then
/// refused (exit 2) or accepted (the secret only in a file it names).
fn plant(p: &Plant, secret: &str, base: &Value, dir: &Path) -> (Value, bool) {
    let at = |path: Vec<String>, v: Value| nested(&path, v);
    let settings = |key: &str, v: Value| at(std::iter::once("settings".to_string()).chain(key.split('.').map(str::to_string)).collect(), v);
    match p {
        Plant::Trap(i) => (at(traps()[i % traps().len()].clone(), json!(secret)), true),
        Plant::SecretSetting(i) => (settings(&server_secret_settings()[i % server_secret_settings().len()], json!(secret)), true),
        Plant::SecretLikeKey(i) => (settings(SECRET_LIKE_KEYS[i % SECRET_LIKE_KEYS.len()], json!(format!("x{secret}"))), true),
        Plant::Plugin => (settings("PluginSettings.Plugins", json!({"com.example.fuzz": {"Webhook": {"Signing": secret}}})), true),
        Plant::Dsn(i, shape) => {
            let dsn = match shape % 3 {
                0 => format!("postgres://mm:{secret}@db/mm?sslmode=verify-full"),
                1 => format!("host=db password='{secret}' sslmode=verify-full"),
                _ => format!("postgres://db/mm?sslmode=verify-full&password={secret}"),
            };
            let key = DSN_SETTINGS[i % DSN_SETTINGS.len()];
            (settings(key, if key.ends_with("Replicas") { json!([dsn]) } else { json!(dsn) }), true)
        }
        Plant::Anywhere(i, shape) => {
            let mut leaves = vec![];
            string_leaves(&base["secureMattermost"], &mut vec![], &mut leaves);
            (at(i.get(&leaves).clone(), json!(credential(*shape, secret))), true)
        }
        Plant::FileContents(i) => {
            let file = dir.join("planted-secret");
            if !file.exists() {
                write_private(&file, format!("{secret}\n").as_bytes());
            }
            let f = json!(file.to_str().unwrap());
            let patch = match i % 3 {
                0 => json!({"database": {"passwordFile": f}}),
                1 => json!({"smtp": {"passwordFile": f}}),
                _ => json!({"tls": {"keyFile": f}}),
            };
            (patch, false)
        }
    }
}

fn plant_strategy() -> impl Strategy<Value = Plant> {
    prop_oneof![
        1 => any::<usize>().prop_map(Plant::Trap),
        1 => any::<usize>().prop_map(Plant::SecretSetting),
        1 => any::<usize>().prop_map(Plant::SecretLikeKey),
        1 => Just(Plant::Plugin),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Plant::Dsn(a, b)),
        2 => (any::<prop::sample::Index>(), any::<usize>()).prop_map(|(a, b)| Plant::Anywhere(a, b)),
        1 => any::<usize>().prop_map(Plant::FileContents),
    ]
}

fn everything_written(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir).into_iter().map(|f| (f.display().to_string(), std::fs::read(&f).unwrap_or_default())).collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A high-entropy secret planted in any secret-bearing place (or a
/// credential-shaped string anywhere) never appears in what `check`,
/// `render` (every format), `eval`, `lint` print or write: the declaration
/// is refused naming the option, or (a secret file's contents) passes with
/// references only.
fn a_planted_secret_never_appears_in_any_output() {
    let via_nix = AtomicUsize::new(0);
    // Letters and digits: escaping (JSON, HTML, URL, YAML) leaves it as it is, so a leak cannot hide.
    let secret = "[A-Z][A-Za-z0-9]{23,31}";
    let strategy = (declaration(), plant_strategy(), secret, any::<bool>());
    check_property("planted-secret", strategy, |(decl, place, secret, nix)| {
        let dir = tempfile::tempdir().unwrap();
        let base = decl.doc();
        let (patch, refused) = plant(&place, &secret, &base, dir.path());
        let doc = patched(base, &patch).to_string();
        let out = dir.path().join("out");
        let o = out.to_str().unwrap().to_string();
        let mut jobs = vec![
            (check_args("-", "json"), doc.clone()),
            (args(&["render", "--input", "-", "--out", &format!("{o}-text"), "--today", TODAY]), doc.clone()),
            (args(&["render", "--input", "-", "--out", &format!("{o}-sarif"), "--today", TODAY, "--format", "sarif"]), doc.clone()),
        ];
        // The same plant in a Nix declaration: eval, check --config and lint.
        if nix && refused {
            let file = dir.path().join("planted.nix");
            std::fs::write(dir.path().join("base.nix"), std::fs::read(root().join(format!("examples/{}.nix", decl.base_name()))).unwrap()).unwrap();
            std::fs::write(&file, module_text(&patch, &[])).unwrap();
            let f = file.to_str().unwrap();
            jobs.push((args(&["eval", "--config", f]), String::new()));
            jobs.push((args(&["check", "--config", f, "--today", TODAY, "--format", "sarif"]), String::new()));
            jobs.push((args(&["lint", f]), String::new()));
            via_nix.fetch_add(1, Ordering::Relaxed);
        }
        let runs = run_all(jobs);
        for (i, r) in runs.iter().enumerate() {
            prop_assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret), "run {} printed the secret:\n{}\n{}", i, r.stdout, r.stderr);
        }
        for (name, bytes) in everything_written(dir.path()) {
            if !name.ends_with("planted-secret") && !name.ends_with("planted.nix") {
                prop_assert!(!contains(&bytes, &secret), "{} holds the secret", name);
            }
        }
        let check_runs = &runs[..3];
        if refused {
            for r in check_runs.iter().chain(runs.get(3..5).into_iter().flatten()) {
                prop_assert_eq!(r.code, 2, "a planted secret was not refused: {}", r.stderr);
                prop_assert!(r.stderr.contains("services.secureMattermost") || r.stderr.contains("secret"), "the refusal names no option: {}", r.stderr);
            }
        } else {
            prop_assert!(check_runs.iter().all(|r| r.code == check_runs[0].code), "formats disagree");
        }
        Ok(())
    });
    assert!(cases() < 16 || via_nix.into_inner() > 0, "the Nix half never ran");
}

// ------------------------------------------------------------------- Nix

fn nix_value(v: &Value, style: &[u8], depth: usize) -> String {
    let s = style[depth % style.len()];
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // Sometimes split through an interpolation of a literal.
        Value::String(x) if s % 3 == 0 && x.is_ascii() && x.len() > 2 => {
            let (a, b) = x.split_at(x.len() / 2);
            let a = nix_string(a);
            format!("{}${{{}}}\"", &a[..a.len() - 1], nix_string(b))
        }
        Value::String(x) => nix_string(x),
        Value::Array(xs) => format!("[ {} ]", xs.iter().map(|x| format!("({})", nix_value(x, style, depth + 1))).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let body: Vec<String> = m.iter().map(|(k, x)| format!("{} = {};", nix_string(k), nix_value(x, style, depth + 1))).collect();
            format!("{{ {} }}", body.join(" "))
        }
    }
}

/// Bindings for a patch, each relative to `path[..rel]`: nested sets or
/// dotted paths (chosen by `style`), leaves outside `settings` and
/// `justification` forced over the example's own definitions
/// (`lib.mkForce`, or `lib.mkOverride 10`).
fn nix_bindings(path: &mut Vec<String>, rel: usize, v: &Value, style: &[u8], out: &mut Vec<String>) {
    let s = style[path.len() % style.len()];
    let lhs = |path: &[String]| path[rel..].iter().map(|k| nix_string(k)).collect::<Vec<_>>().join(".");
    match v {
        Value::Object(m) if path.is_empty() || (!m.is_empty() && !is_record(path)) => {
            if path.len() > rel && s % 2 == 1 {
                let here = path.len();
                let mut inner = vec![];
                for (k, x) in m {
                    path.push(k.clone());
                    nix_bindings(path, here, x, style, &mut inner);
                    path.pop();
                }
                out.push(format!("{} = {{ {} }};", lhs(path), inner.join(" ")));
            } else {
                for (k, x) in m {
                    path.push(k.clone());
                    nix_bindings(path, rel, x, style, out);
                    path.pop();
                }
            }
        }
        _ => {
            let free = path.first().is_some_and(|k| k == "settings" || k == "justification");
            let value = nix_value(v, style, path.len());
            let value = if free && s % 4 != 3 {
                value
            } else if s % 2 == 0 {
                format!("lib.mkForce ({value})")
            } else {
                format!("lib.mkOverride 10 ({value})")
            };
            out.push(format!("{} = {value};", lhs(path)));
        }
    }
}

/// A justification record is one value (its fields are not separate definitions).
fn is_record(path: &[String]) -> bool {
    path.len() == 2 && path[0] == "justification"
}

/// A module importing ./base.nix (the example) and adding the patch under
/// `services.secureMattermost`, directly or through a `let` binding.
fn module_text(patch: &Value, style: &[u8]) -> String {
    let style = if style.is_empty() { &[0u8][..] } else { style };
    let mut bindings = vec![];
    nix_bindings(&mut vec![], 0, patch, style, &mut bindings);
    let body = bindings.iter().map(|b| format!("    {b}\n")).collect::<String>();
    if style[0] % 2 == 0 {
        format!("{{ lib, ... }}:\n{{\n  imports = [ ./base.nix ];\n  services.secureMattermost = {{\n{body}  }};\n}}\n")
    } else {
        format!("{{ lib, config, ... }}:\nlet\n  cfg = {{\n{body}  }};\nin\n{{\n  imports = [ ./base.nix ];\n  services.secureMattermost = cfg;\n}}\n")
    }
}

fn real_nix_available() -> bool {
    std::process::Command::new("nix-instantiate")
        .args(["--eval", "-E", "builtins.pathExists <nixpkgs/lib>"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "true")
        .unwrap_or(false)
}

/// Random declarations written as Nix: the built-in evaluator gives the
/// example's document with the patch applied (the generator's attribute
/// set), `check --config` and `check --input` on that document give the
/// same outcomes, and for the first few, real Nix gives the same document.
fn builtin_evaluator_and_input_path_agree() {
    let real_nix = real_nix_available();
    if !real_nix {
        skip_part("nix", "policy_properties/builtin_evaluator_and_input_path_agree", "nix-instantiate or <nixpkgs/lib> (NIX_PATH=nixpkgs=...) not available: the comparison with real Nix is not run");
    }
    let real_nix_runs = AtomicUsize::new(0);
    let compared = AtomicUsize::new(0);
    let strategy = (declaration(), prop::collection::vec(any::<u8>(), 1..6));
    check_property("evaluator-vs-input", strategy, |(decl, style)| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.nix"), std::fs::read(root().join(format!("examples/{}.nix", decl.base_name()))).unwrap()).unwrap();
        let nix = dir.path().join("declaration.nix");
        let text = module_text(&decl.patch(), &style);
        std::fs::write(&nix, &text).unwrap();
        let expected = decl.doc();
        let json_file = dir.path().join("declaration.json");
        std::fs::write(&json_file, expected.to_string()).unwrap();
        let n = nix.to_str().unwrap();
        let j = json_file.to_str().unwrap();
        let runs = run_all(vec![
            (args(&["eval", "--config", n]), String::new()),
            (args(&["check", "--config", n, "--today", TODAY, "--json"]), String::new()),
            (args(&["check", "--input", j, "--today", TODAY, "--json"]), String::new()),
        ]);
        let (eval, by_config, by_input) = (&runs[0], &runs[1], &runs[2]);
        if eval.code == 0 {
            let got: Value = serde_json::from_str(&eval.stdout).map_err(|e| fail(format!("eval printed no JSON: {e}")))?;
            prop_assert_eq!(&got, &expected, "the built-in evaluator's document differs from the attribute set for\n{}", text);
        } else {
            // Refused at evaluation: the document is one --input refuses too.
            prop_assert_eq!(eval.code, 2, "eval exit {}: {}\n{}", eval.code, eval.stderr, text);
            prop_assert_eq!(by_input.code, 2, "--config refused what --input took: {}\n{}", eval.stderr, text);
        }
        prop_assert_eq!(by_config.code, by_input.code, "--config exit {} but --input exit {}:\n{}\n{}\n{}", by_config.code, by_input.code, by_config.stderr, by_input.stderr, text);
        if by_config.code <= 1 {
            prop_assert_eq!(&by_config.stdout, &by_input.stdout, "--config and --input outcomes differ for\n{}", text);
            compared.fetch_add(1, Ordering::Relaxed);
        }
        if real_nix && real_nix_runs.load(Ordering::Relaxed) < 4 {
            real_nix_runs.fetch_add(1, Ordering::Relaxed);
            let expr = format!(
                "let lib = import <nixpkgs/lib>; in (import {}/modules/standalone.nix {{ inherit lib; modules = [ {} ]; }}).evaluated",
                root().display(),
                n
            );
            let out = std::process::Command::new("nix-instantiate").args(["--eval", "--strict", "--json", "-E", &expr]).output().expect("nix-instantiate runs");
            if out.status.success() {
                let real: Value = serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("nix printed no JSON: {e}")))?;
                prop_assert_eq!(eval.code, 0, "real Nix evaluated what the built-in evaluator refused: {}\n{}", eval.stderr, text);
                let got: Value = serde_json::from_str(&eval.stdout).unwrap();
                prop_assert_eq!(got, real, "real Nix and the built-in evaluator differ for\n{}", text);
            } else {
                prop_assert!(eval.code != 0, "real Nix refused what the built-in evaluator took:\n{}\n{}", String::from_utf8_lossy(&out.stderr), text);
            }
        }
        Ok(())
    });
    let c = compared.into_inner();
    assert!(cases() < 16 || c * 2 >= cases() as usize, "only {c} declarations compared");
    if real_nix {
        assert!(real_nix_runs.into_inner() > 0, "real Nix never ran");
    }
}

/// The generators themselves: dates, Nix strings and the module text.
fn generators_are_sound() {
    assert_eq!(today_plus(0), TODAY);
    assert_eq!(today_plus(38), "2026-12-31");
    assert_eq!(today_plus(39), "2027-01-01");
    assert_eq!(today_plus(-365), "2025-11-23");
    assert_eq!(civil_from_days(days_from_civil(2028, 2, 29)), "2028-02-29");
    assert_eq!(nix_string("a\"b\\c${d}\n"), r#""a\"b\\c\${d}\n""#);
    let patch = json!({"allowGuestUsers": true, "settings": {"ServiceSettings": {"EnableLinkPreviews": true}}, "justification": {"hsts": {"reason": "x", "approvedBy": null, "expires": null, "ticket": null}}});
    for style in [[0u8], [1], [2], [3]] {
        let text = module_text(&patch, &style);
        assert!(text.contains("./base.nix") && text.contains("\"EnableLinkPreviews\""), "{text}");
        assert!(text.contains("lib.mkForce") || text.contains("lib.mkOverride 10"), "{text}");
    }
    assert!(scalar_options().iter().any(|(p, _, answers)| p == &["allowGuestUsers"] && answers.iter().any(|a| a == "guest-accounts-disabled")));
}

tests![
    generators_are_sound,
    every_rule_yields_exactly_one_outcome,
    removing_a_justification_never_turns_a_fail_into_a_pass,
    a_planted_secret_never_appears_in_any_output,
    builtin_evaluator_and_input_path_agree
];
