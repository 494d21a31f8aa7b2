//! Differential test of `src/semantic` against the pinned server's own
//! libraries: tools/oracle (built by scripts/oracle-build.sh against the
//! server release's module set) answers for lib/pq, Go's net package and the
//! server's allow-list splitting; the Rust functions must agree on every
//! field, for a named table of edge cases and a few hundred seeded random
//! variations, all sent to ONE oracle process.
//!
//! The oracle is found through SECURE_MATTERMOST_ORACLE or the build cache
//! (`scripts/oracle-build.sh --path`, which builds nothing). Without it the
//! tests say SKIPPED, unless SECURE_MATTERMOST_REQUIRE contains `oracle`.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use secure_mattermost::semantic::dsn;
use secure_mattermost::semantic::net::{self, Entry, ListenScope};

fn oracle(test: &str) -> Option<PathBuf> {
    let why = match std::env::var_os("SECURE_MATTERMOST_ORACLE") {
        Some(p) => return Some(PathBuf::from(p)),
        None => match Command::new("bash").arg(common::root().join("scripts/oracle-build.sh")).arg("--path").output() {
            Ok(out) if out.status.success() => {
                let stdout = String::from_utf8_lossy(&out.stdout);
                if let Some(p) = stdout.lines().last().filter(|l| !l.is_empty()) {
                    return Some(PathBuf::from(p));
                }
                "scripts/oracle-build.sh --path printed no path".to_string()
            }
            Ok(out) => format!(
                "the oracle for the current tools/oracle sources is not built (run scripts/oracle-build.sh){}",
                String::from_utf8_lossy(&out.stderr).lines().last().map(|l| format!(": {l}")).unwrap_or_default()
            ),
            Err(e) => format!("cannot run scripts/oracle-build.sh --path: {e}"),
        },
    };
    let required = std::env::var("SECURE_MATTERMOST_REQUIRE").is_ok_and(|r| r.contains("oracle"));
    assert!(!required, "SECURE_MATTERMOST_REQUIRE contains oracle, but {why}");
    common::skip_missing("oracle", test, &why);
    None
}

/// One oracle process for all requests; one verdict per request, in order.
fn ask(bin: &PathBuf, requests: &[Value]) -> Vec<Value> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("oracle runs");
    writer.join().expect("writer thread").expect("requests written");
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("oracle printed {l:?}: {e}")))
        .collect();
    assert_eq!(verdicts.len(), requests.len(), "one verdict per request");
    for (r, v) in requests.iter().zip(&verdicts) {
        let answered = !v["ok"].is_null() || !v["scope"].is_null() || !v["entries"].is_null();
        assert!(answered, "oracle refused {r}: {v}");
        assert_eq!(v["value"], r["value"], "verdicts out of order");
    }
    verdicts
}

// ---------------------------------------------------------------------------
// Cases.

const NAMED_DSNS: &[&str] = &[
    "postgres://r/mm?sslmode=disable&sslmode=verify-full",
    "postgres://r/mm?sslmode=&sslmode=disable",
    "host=h sslmode = disable",
    "host=h sslmode\t=\n'verify-full'",
    "sslmode='verify-full' sslmode=disable",
    "sslmode=disable sslmode='verify-full'",
    r"sslmode=verify\-full host=db",
    "host= sslmode=verify-full",
    "host='' sslmode=verify-full",
    "host=db sslmode",
    "host='db",
    r"host=db\",
    "postgres://db/mm?ssl%6Dode=disable",
    "postgres://db/mm?pass%77ord=pw&sslmode=verify-full",
    "postgres://db/mm?sslmode=disable#sslmode=verify-full",
    "postgres://db/mm#?sslmode=disable",
    "postgres://db/mm?sslmode=disable#%zz",
    "postgresql://db/mm?sslmode=verify-full",
    "POSTGRES://db/mm?sslmode=disable",
    "postgres:/db/mm",
    "postgres://db/mm",
    "host=db",
    "",
    "postgres://db/mm?sslmode=verify-ca",
    "postgres://10.0.0.5/mm?sslmode=verify-ca",
    "host=db sslmode=verify-ca sslsni=0",
    "host=db sslmode=verify-ca sslsni=10",
    "host=DB.Example.COM. sslmode=verify-ca",
    "host=db sslrootcert=root.crt",
    "host=db sslmode=require sslrootcert='my ca.pem'",
    "host=db sslrootcert=",
    "postgres://db/mm?sslrootcert=root.crt&sslmode=require",
    "host=10.0.0.5 sslmode=verify-full sslsni=0",
    "postgres://[2001:db8::5]:5432/mm?sslmode=verify-full",
    "postgres://[::1]/mm?sslmode=verify-full",
    "postgres://[10.0.0.1]/mm",
    "postgres://[fe80::1%25lo]:5432/mm?sslmode=verify-ca",
    "postgres://[fe80::1%25%C3%A9]:5432/mm",
    "postgres://[fe80::1%25%20x]:5432/mm",
    "postgres://[fe80::1%25é]:5432/mm",
    "postgres://d%C3%A9.example/mm",
    "postgres://d%C3%A9.example/mm?sslmode=verify-full",
    "host=dé.example sslmode=verify-ca",
    "host=dé.example sslmode=verify-ca sslsni=0",
    "postgres://d%41.example/mm",
    "postgres://d%25b/mm",
    "postgres://d b/mm",
    "postgres://u:p w@db/mm",
    "postgres://üser:pw@db/mm",
    "postgres://db:x/mm",
    "postgres://db:/mm?sslmode=verify-full",
    "postgres://a,b/mm?sslmode=verify-full",
    "postgres://a/mm?host=%2Frun%2Fpostgresql&sslmode=verify-full",
    "postgres:///mm?host=%2Frun%2Fpostgresql&sslmode=verify-full",
    "postgres://zz/mm?host=aa&sslmode=verify-full",
    "host=/run/postgresql sslmode=verify-full",
    "sslmode=prefer",
    "sslmode=allow",
    "SSLMODE=disable",
    "postgres://db/mm?x%3D1%20sslmode=disable",
    "postgres://db/mm?sslmode=disable;x=1",
    "postgres://db/mm?sslmode=verify-full&x=1;y=2",
    "postgres://u:pw@db/mm?sslmode=verify-full",
    "postgres://u:@db/mm",
    "postgres://m%40m:p%3Aw@db/mm",
    "postgres://u:p@ss@db/mm",
    "postgres://db/mm?password=&password=pw",
    "password=pw password=",
    "host=db password = 'p w'",
    "connect_timeout=00",
    "connect_timeout=-1",
    "connect_timeout=+5",
    "connect_timeout=x",
    "binary_parameters=true",
    "client_encoding=UTF-8",
    "client_encoding=latin1",
    "datestyle=ISO",
    "port=99999",
    "port=+5432",
    "port=http",
    "host=[::1]",
    "host=::1 sslmode=verify-full",
    "sslinline=true sslmode=require",
];

/// (DSN, environment) pairs: lib/pq reads PG* variables below the DSN.
fn named_env_dsns() -> Vec<(String, Value)> {
    vec![
        ("host=db".into(), json!({"PGSSLMODE": "verify-full"})),
        ("host=db sslmode=disable".into(), json!({"PGSSLMODE": "verify-full"})),
        ("host=db".into(), json!({"PGSSLROOTCERT": "root.crt"})),
        ("sslmode=verify-ca".into(), json!({"PGHOST": "db.example.com", "PGSSLSNI": "0"})),
        ("sslmode=verify-full".into(), json!({"PGHOST": "/run/postgresql"})),
        ("host=db".into(), json!({"PGSERVICE": "x"})),
        ("host=db".into(), json!({"PGSSLMODE": ""})),
    ]
}

const NAMED_LISTS: &[&str] = &[
    "0.0.0.0/1 128.0.0.0/1",
    "10.0.0.0/8,\t192.168.0.0/16\nexample.com\r\nlocalhost",
    "::ffff:0:0/96",
    "::/0, ::ffff:10.0.0.0/104,::ffff:0.0.0.0/80",
    "010.0.0.1/8 10.0.0.0/08 10.0.0.0/33 10.0.0.0/+8 10.0.0.0/ /8",
    "fe80::1%eth0/64 fe80::1%eth0 [::1] [::1]/128",
    "1.2.3.4 ::ffff:1.2.3.4 ::1.2.3.4 127.1 0x7f.0.0.1",
    "10.0.0.0/8;192.168.0.0/16",
    "a\u{a0}b\u{2003}c\u{3000}d\u{85}e\u{200b}f",
    ",,, ,",
    "",
    "1::2:3:4:5:6:7:8/64 2001:DB8::1/64",
];

const NAMED_LISTENS: &[&str] = &[
    ":8067",
    "[::0]:8067",
    "[::]:8067",
    "0:8067",
    "0.0.0.0:8067",
    "0.0.0.0",
    "[::ffff:0.0.0.0]:8067",
    "localhost:8067",
    "LOCALHOST:8067",
    "localhost.:8067",
    "127.1:8067",
    "127.0.0.2:8067",
    "[::1]:8067",
    "[::ffff:127.0.0.1]:8067",
    "[127.0.0.1]:8067",
    "[::1%lo]:8067",
    "[fe80::1%lo]:8067",
    "[::ffff:10.1.2.3]:8067",
    "10.9.9.9:8067",
    "::1:8067",
    "",
    ":",
    ":65536",
    ":-0",
    ":+80",
    ":https",
    ":HTTP",
    ":x",
    "[a]b:80",
    "mm.example.invalid:8067",
];

/// The addresses tools/oracle tests each CIDR entry against (its probeIPs).
const PROBES: &[&str] = &[
    "0.0.0.0", "10.1.2.3", "127.0.0.1", "169.254.169.254", "172.16.0.1", "192.168.1.1", "8.8.8.8",
    "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "2001:db8::1", "::ffff:10.1.2.3", "::ffff:8.8.8.8",
    "64:ff9b::a01:203",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const MODES: &[&str] = &[
    "disable", "require", "verify-ca", "verify-ca", "verify-full", "verify-full", "", "prefer", "DISABLE", "verify%2Dfull",
    "verify-full%20",
];

fn random_url(r: &mut Rng) -> String {
    let mut s = r.pick(&["postgres://", "postgresql://"]).to_string();
    s += r.pick(&["", "", "mm@", "mm:pw@", "mm:@", ":pw@", "m%40m:p%3Aw@", "mm:p@ss@"]);
    s += r.pick(&[
        "db", "db", "db.example.com", "DB.Example.COM.", "10.0.0.5", "10.0.0.5", "[::1]", "", "db:5433", "db:", "[2001:db8::5]:5432",
        "db:99999", "db:x", "a,b", "db", "10.0.0.5:5432",
    ]);
    s += r.pick(&["", "/", "/mm", "/mm", "/mm", "/m%20m", "/mm%zz"]);
    let n = r.below(5);
    let mut params = Vec::new();
    for _ in 0..n {
        let p = r.pick(&[
            "sslmode={m}", "sslmode={m}", "sslmode={m}", "sslmode=verify-ca", "sslsni=0", "ssl%6Dode={m}", "SSLMODE={m}", "x%3D1%20sslmode={m}", "sslmode",
            "sslrootcert=root.crt", "sslrootcert=ca.pem", "sslrootcert=", "sslrootcert=my+ca.pem", "sslsni=0", "sslsni=1",
            "sslsni=", "host=%2Frun%2Fpostgresql", "host=zz.example", "host=aa.example", "password=pw", "pass%77ord=pw",
            "password=", "user=u", "connect_timeout=5", "connect_timeout=00", "binary_parameters=yes",
            "binary_parameters=1", "application_name=a+b", "x=1;y=2", "port=5433", "dbname=other",
            "client_encoding=utf-8", "datestyle=ISO", "",
        ]);
        params.push(p.replace("{m}", r.pick(MODES)));
    }
    if !params.is_empty() || r.below(8) == 0 {
        s += "?";
        s += &params.join(r.pick(&["&", "&", "&&"]));
    }
    s += r.pick(&["", "", "", "#sslmode=disable", "#%zz", "#x"]);
    s
}

fn random_kv(r: &mut Rng) -> String {
    let n = 1 + r.below(5);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s += r.pick(&[" ", " ", "  ", "\t", "\n"]);
        }
        let (key, values): (&str, &[&str]) = match r.below(11) {
            0 | 1 => ("host", &["db", "10.0.0.5", "::1", "/run/postgresql", "''", "db.example.com", "DB.Example.COM.", "[::1]", "", "localhost"]),
            2..=4 => ("sslmode", &[
                "disable", "require", "verify-ca", "verify-ca", "verify-full", "verify-full", "prefer", "''", "'verify-full'",
                r"verify\-ca", "DISABLE", "",
            ]),
            5 => ("sslrootcert", &["root.crt", "'my ca.pem'", r"my\ ca.pem", "''", "ca.pem"]),
            6 => ("sslsni", &["0", "0", "1", "''", "10"]),
            7 => ("password", &["pw", "'p w'", "''"]),
            8 => ("port", &["5432", "5432", "5433", "+5432", "''", "http", "99999", "abc"]),
            9 => ("connect_timeout", &["5", "0", "10", "10", "00", "-1", "x"]),
            _ => (r.pick(&["user", "sslinline", "binary_parameters", "SSLMODE", "application_name"]), &["u", "true", "yes", "disable", "'a b'"]),
        };
        s += key;
        s += r.pick(&["=", "=", " = ", "\t=", "= ", " ="]);
        s += r.pick(values);
    }
    match r.below(30) {
        0 => s + " sslmode",
        1 => s + " host='db",
        2 => s + r"\",
        _ => s,
    }
}

fn random_env(r: &mut Rng) -> Value {
    if r.below(6) != 0 {
        return json!({});
    }
    let (k, v) = [
        ("PGSSLMODE", "verify-full"),
        ("PGSSLMODE", "disable"),
        ("PGSSLMODE", "prefer"),
        ("PGSSLROOTCERT", "root.crt"),
        ("PGHOST", "db.example.com"),
        ("PGHOST", "/run/postgresql"),
        ("PGSSLSNI", "0"),
        ("PGREQUIRESSL", "1"),
    ][r.below(8)];
    json!({ k: v })
}

fn random_list(r: &mut Rng) -> String {
    const ENTRIES: &[&str] = &[
        "10.0.0.0/8", "10.0.0.0/08", "0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "::/0", "::ffff:0:0/96", "::ffff:10.0.0.0/104",
        "::ffff:0.0.0.0/80", "fe80::/10", "fe80::1%eth0/64", "010.0.0.1/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
        "10.0.0.0/", "/8", "1.2.3.4", "::ffff:1.2.3.4", "::1.2.3.4", "127.1", "0x7f.0.0.1", "localhost", "Example.COM",
        "example.com.", "*.example.com", "[::1]", "[::1]/128", "2001:db8::/32", "2001:DB8::1/64", "1::2:3:4:5:6:7:8/64",
        "169.254.169.254/32", "10.0.0.0/8;192.168.0.0/16", "100.64.0.0/10", "64:ff9b::/96", "::ffff:127.0.0.1/128",
    ];
    const SEPS: &[&str] = &[" ", ",", ", ", "\t", "\n", "\r\n", "\u{a0}", ",,", "\u{2003}", "\u{3000}", " , ", "\u{85}", "\u{200b}", "\u{b}"];
    let n = 1 + r.below(6);
    let mut s = r.pick(&["", "", " ", ","]).to_string();
    for i in 0..n {
        if i > 0 {
            s += r.pick(SEPS);
        }
        s += r.pick(ENTRIES);
    }
    s + r.pick(&["", "", "\n", ","])
}

fn random_listen(r: &mut Rng) -> String {
    let host = r.pick(&[
        "", "0.0.0.0", "127.0.0.1", "127.0.0.2", "127.1", "0", "localhost", "LOCALHOST", "localhost.", "[::]", "[::0]", "[::1]",
        "[::ffff:0.0.0.0]", "[::ffff:127.0.0.1]", "[::ffff:10.1.2.3]", "10.9.9.9", "[fe80::1%lo]", "[::1%lo]", "::1",
        "[127.0.0.1]", "mm.example.invalid", "[0.0.0.0]", "01.2.3.4", "[::127.0.0.1]", "[2001:db8::7]",
    ]);
    let port = r.pick(&[":8067", ":8067", ":0", ":", "", ":65535", ":65536", ":-1", ":-0", ":+80", ":http", ":HTTPS", ":x", "::8067"]);
    format!("{host}{port}")
}

// ---------------------------------------------------------------------------
// Comparisons: each returns the disagreements, described.

fn compare_dsn(value: &str, env: &Value, v: &Value) -> Vec<String> {
    let vars: Vec<(String, String)> = env
        .as_object()
        .map(|m| m.iter().map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, x)| x.clone());
    let rust = dsn::postgres_tls_with_env(value, &lookup);
    let mut out = Vec::new();
    match (&rust, v["ok"].as_bool()) {
        (Err(e), Some(false)) => {
            let _ = e;
        }
        (Ok(t), Some(true)) => {
            let fields = [
                ("sslmode", json!(t.sslmode)),
                ("requests_tls", json!(t.requests_tls)),
                ("verifies_chain", json!(t.verifies_chain)),
                ("verifies_host", json!(t.verifies_host)),
            ];
            for (name, ours) in fields {
                if v[name] != ours {
                    out.push(format!("{name}: rust {ours}, lib/pq {}", v[name]));
                }
            }
            if vars.is_empty() {
                let eff = dsn::postgres_effective_password(value);
                if eff != Ok(v["password"] == true) {
                    out.push(format!("effective password: rust {eff:?}, lib/pq {}", v["password"]));
                }
                if v["password"] == true && !dsn::postgres_password(value) {
                    out.push("postgres_password: false, but lib/pq sent a password".into());
                }
            }
        }
        (Ok(t), _) => out.push(format!("rust {t:?}, lib/pq refused: {}", v["error"])),
        (Err(e), _) => out.push(format!("rust Err({e}), lib/pq connected: {v}")),
    }
    out
}

fn ip(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

fn compare_list(value: &str, v: &Value) -> Vec<String> {
    let ours = net::split_address_list(value);
    let theirs = v["entries"].as_array().cloned().unwrap_or_default();
    let texts: Vec<&str> = theirs.iter().map(|e| e["text"].as_str().unwrap_or_default()).collect();
    if ours != texts {
        return vec![format!("split: rust {ours:?}, server {texts:?}")];
    }
    let mut out = Vec::new();
    for (text, e) in ours.iter().zip(&theirs) {
        let bad = match (net::classify_entry(text), e["class"].as_str()) {
            (Entry::Cidr { addr, prefix }, Some("cidr")) => {
                let covers: BTreeSet<&str> =
                    PROBES.iter().copied().filter(|p| p.parse().is_ok_and(|ip| net::cidr_contains(addr, prefix, ip))).collect();
                let theirs: BTreeSet<&str> =
                    e["covers"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                Some(addr) != ip(&e["addr"]) || e["prefix"] != json!(prefix) || covers != theirs
            }
            (Entry::Ip(a), Some("ip")) => Some(a) != ip(&e["addr"]),
            (Entry::Host(h), Some("host")) => h != *text,
            _ => true,
        };
        if bad {
            out.push(format!("entry {text:?}: rust {:?}, server {e}", net::classify_entry(text)));
        }
    }
    out
}

fn compare_listen(value: &str, v: &Value) -> Vec<String> {
    let ours = net::listen_scope(value);
    let scope = v["scope"].as_str().unwrap_or_default();
    let literal = v["literal"] == true;
    let ok = match &ours {
        ListenScope::Invalid => scope == "invalid",
        ListenScope::AllInterfaces => literal && scope == "all",
        ListenScope::Loopback => scope == "loopback",
        ListenScope::Specific(a) => literal && scope == "specific" && Some(*a) == ip(&v["ip"]),
        // A name: Go resolves it (here from /etc/hosts only), whatever it finds.
        ListenScope::Hostname(h) => !literal && scope != "invalid" && net::split_host_port(value).is_some_and(|(host, _)| host == h),
    };
    if ok {
        vec![]
    } else {
        vec![format!("rust {ours:?}, net.Listen {v}")]
    }
}

fn rust_agrees_with_the_servers_own_parsers() {
    let Some(bin) = oracle("oracle::rust_agrees_with_the_servers_own_parsers") else { return };
    let mut requests: Vec<Value> = Vec::new();
    for d in NAMED_DSNS {
        requests.push(json!({"kind": "dsn", "value": d, "env": {}}));
    }
    for (d, env) in named_env_dsns() {
        requests.push(json!({"kind": "dsn", "value": d, "env": env}));
    }
    for l in NAMED_LISTS {
        requests.push(json!({"kind": "list", "value": l}));
    }
    for l in NAMED_LISTENS {
        requests.push(json!({"kind": "listen", "value": l}));
    }
    let named = requests.len();
    let mut r = Rng(0x5ec0_e3a7_7e57_0001);
    for i in 0..300 {
        let d = if i % 2 == 0 { random_url(&mut r) } else { random_kv(&mut r) };
        requests.push(json!({"kind": "dsn", "value": d, "env": random_env(&mut r)}));
    }
    for _ in 0..150 {
        requests.push(json!({"kind": "list", "value": random_list(&mut r)}));
    }
    for _ in 0..150 {
        requests.push(json!({"kind": "listen", "value": random_listen(&mut r)}));
    }

    let verdicts = ask(&bin, &requests);
    let mut disagreements = Vec::new();
    for (i, (req, v)) in requests.iter().zip(&verdicts).enumerate() {
        let value = req["value"].as_str().unwrap_or_default();
        let found = match req["kind"].as_str() {
            Some("dsn") => compare_dsn(value, &req["env"], v),
            Some("list") => compare_list(value, v),
            _ => compare_listen(value, v),
        };
        let origin = if i < named { "named" } else { "random" };
        disagreements.extend(found.into_iter().map(|d| format!("[{origin}] {} {}: {d}", req["kind"], req)));
    }

    assert!(disagreements.is_empty(), "{} disagreement(s) with the server's libraries:\n{}", disagreements.len(), disagreements.join("\n"));

    // The oracle must have seen every outcome, or agreement proves little.
    let dsn_verdicts: Vec<&Value> = verdicts.iter().filter(|v| v["kind"] == "dsn").collect();
    let count = |f: &dyn Fn(&Value) -> bool| dsn_verdicts.iter().filter(|v| f(v)).count();
    for (what, n) in [
        ("refused", count(&|v| v["ok"] == false)),
        ("plain", count(&|v| v["ok"] == true && v["requests_tls"] == false)),
        ("unverified TLS", count(&|v| v["requests_tls"] == true && v["verifies_chain"] == false)),
        ("chain only", count(&|v| v["verifies_chain"] == true && v["verifies_host"] == false)),
        ("chain and host", count(&|v| v["verifies_host"] == true)),
    ] {
        eprintln!("{n} DSN verdicts: {what}");
        assert!(n >= 10, "only {n} DSN verdicts of kind {what}: the oracle or the generator is broken");
    }
    let anchor = |value: &str, want: Value| {
        let v = verdicts[..named].iter().find(|v| v["kind"] == "dsn" && v["value"] == value).expect("named case present");
        for (k, x) in want.as_object().into_iter().flatten() {
            assert_eq!(&v[k], x, "oracle verdict for {value:?}: {v}");
        }
    };
    anchor("postgres://r/mm?sslmode=disable&sslmode=verify-full", json!({"ok": true, "sslmode": "disable", "requests_tls": false}));
    anchor("postgres://db/mm", json!({"ok": true, "sslmode": "require", "requests_tls": true, "verifies_chain": false}));
    anchor("postgres://db/mm?sslmode=verify-ca", json!({"ok": true, "verifies_chain": true, "verifies_host": true}));
    anchor("postgres://10.0.0.5/mm?sslmode=verify-ca", json!({"ok": true, "verifies_chain": true, "verifies_host": false}));
    anchor("sslmode=prefer", json!({"ok": false}));

}

fn secret_settings_catalog_is_what_the_server_masks() {
    let Some(bin) = oracle("oracle::secret_settings_catalog_is_what_the_server_masks") else { return };
    let out = Command::new(&bin).arg("secrets").output().unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(out.status.success(), "oracle secrets failed: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: Value = serde_json::from_slice(&out.stdout).expect("oracle secrets prints JSON");
    let ours = common::load("catalog/server-secret-settings.json");
    assert!(theirs["settings"].as_array().is_some_and(|s| s.len() >= 10), "implausible oracle output: {theirs}");
    assert_eq!(
        ours,
        theirs,
        "catalog/server-secret-settings.json is stale; regenerate it with `$(bash scripts/oracle-build.sh | tail -n1) secrets > catalog/server-secret-settings.json`"
    );
}

tests![
    rust_agrees_with_the_servers_own_parsers,
    secret_settings_catalog_is_what_the_server_masks,
];
