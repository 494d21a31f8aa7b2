//! The restore procedure of docs/restore.md against the real Mattermost
//! server and real PostgreSQL, with the configuration in the database
//! (`MM_CONFIG` a PostgreSQL DSN, as the Helm chart and the operator run it).
//!
//! The stored configuration keeps `SqlSettings.DataSource` with the password
//! of the first start. The test shows that (the stale-DSN quirk), dumps the
//! database, restores it into a fresh cluster whose role has a new password,
//! shows what the server does then, runs `secure-mattermost restore-config`,
//! and starts the server again through `launch` with the new password.
//!
//! Needs the server built by scripts/mattermost-build.sh (CI runs
//! scripts/mattermost-test-deps.sh first), Debian's PostgreSQL, and root
//! (a private network namespace with loopback only, PostgreSQL as the
//! postgres user); otherwise it is reported skipped. Helpers are copied from
//! tests/real_mattermost.rs, trimmed to what this test needs.

mod common;
use common::{on_path, postgres_bindir, random_secret, write_private};

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TEST: &str = "restore/config_in_database_survives_restore_under_new_password";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a server that cannot reach its database gets to give up.
const FAILURE_TIMEOUT: Duration = Duration::from_secs(120);
const DB_PORT: u16 = 5432;
/// The pinned release's default ServiceSettings.ListenAddress (":8065"):
/// the stored configuration starts from the defaults.
const MM_PORT: u16 = 8065;

fn config_in_database_survives_restore_under_new_password() {
    let env = match Env::detect() {
        Ok(env) => env,
        Err((prereq, why)) => {
            common::skip_missing(prereq, TEST, &why);
            return;
        }
    };
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("restore-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let dir = tmp.path();
    let mut h = Harness::new(&env, dir);
    let mut phase = Instant::now();
    let mut lap = |what: &str| {
        eprintln!("[restore] {what}: {:.1}s", phase.elapsed().as_secs_f64());
        phase = Instant::now();
    };

    let p1 = random_secret("pone");
    let p2 = random_secret("ptwo");
    let (pw1, pw2) = (dir.join("db-password-1"), dir.join("db-password-2"));
    write_private(&pw1, p1.as_bytes());
    write_private(&pw2, p2.as_bytes());
    let oidc = random_secret("oidc");
    let at_rest = random_secret("atrest");
    let salt = random_secret("salt");
    let (oidc_file, at_rest_file, salt_file) = (dir.join("oidc-secret"), dir.join("at-rest-key"), dir.join("link-salt"));
    write_private(&oidc_file, oidc.as_bytes());
    write_private(&at_rest_file, at_rest.as_bytes());
    write_private(&salt_file, salt.as_bytes());
    h.secrets = vec![p1.clone(), p2.clone(), oidc.clone(), at_rest.clone(), salt.clone()];

    let ca = h.make_certs();
    let mm_dir = dir.join("mm");
    fs::create_dir(&mm_dir).unwrap();
    let files = Files { ca: &ca, oidc: &oidc_file, at_rest: &at_rest_file, salt: &salt_file, mm_dir: &mm_dir };
    let (decl1, spec1) = render(dir, "one", &env, &files, &pw1);
    let (decl2, spec2) = render(dir, "two", &env, &files, &pw2);
    lap("certificates and render");

    // --- Before the backup: cluster A, role password P1, config in the database.
    h.start_cluster("a", &p1);
    lap("cluster A started");
    h.launch(&spec1, &[("MM_CONFIG", config_dsn(&p1, &ca))], &mm_dir, "1-first-start");
    h.wait_for_ping();
    lap("first start (migrations) until ping OK");
    let telemetry_id = h.client_config()["DiagnosticId"].as_str().expect("client config has DiagnosticId").to_string();
    assert_eq!(telemetry_id.len(), 26, "DiagnosticId {telemetry_id:?}");
    h.stop_server();
    h.assert_no_secrets("server output (first start)", &h.server_output());
    assert_eq!(h.sql("SELECT Value FROM Systems WHERE Name = 'DiagnosticId'").trim(), telemetry_id);

    // The quirk is real: the stored configuration holds the P1 DSN.
    let stored = h.active_config();
    let ds = stored["SqlSettings"]["DataSource"].as_str().expect("stored SqlSettings.DataSource");
    assert!(ds.contains(&encode(&p1)) || ds.contains(&p1), "the stored DataSource does not carry the first password");
    eprintln!("[restore] stored DataSource after the first start carries P1: yes ({} stored row(s))", h.sql("SELECT count(*) FROM Configurations").trim());
    // The secrets launch supplied through the environment are not stored...
    let all_rows = h.sql("SELECT string_agg(Value, '') FROM Configurations");
    for (what, s) in [("OIDC secret", &oidc), ("AtRestEncryptKey", &at_rest), ("PublicLinkSalt", &salt)] {
        assert!(!all_rows.contains(s.as_str()), "the stored configuration holds the {what} supplied by launch");
    }
    // ...but what the server stores instead is reported (names and lengths only).
    for (section, key) in [("SqlSettings", "AtRestEncryptKey"), ("FileSettings", "PublicLinkSalt"), ("OpenIdSettings", "Secret")] {
        let v = stored[section][key].as_str().unwrap_or_default();
        eprintln!("[restore] stored {section}.{key}: {} characters", v.len());
    }

    let dump = h.pg_dir.join("mattermost.dump");
    run_ok(h.pg_cmd("pg_dump").arg("-h").arg(&h.pg_dir).args(["-p", &DB_PORT.to_string(), "-Fc", "-d", "mattermost", "-f"]).arg(&dump));
    h.stop_cluster();
    lap("stored config checked, pg_dump, cluster A stopped");

    // --- The restore: a fresh cluster, the role created anew with P2.
    h.start_cluster("b", &p2);
    run_ok(h.pg_cmd("pg_restore").arg("-h").arg(&h.pg_dir).args(["-p", &DB_PORT.to_string(), "--exit-on-error", "-d", "mattermost"]).arg(&dump));
    assert_eq!(h.sql("SELECT Value FROM Systems WHERE Name = 'DiagnosticId'").trim(), telemetry_id, "the restore lost data");
    lap("cluster B started, dump restored");

    // P1 no longer opens the database (restore-config itself says so, without echoing it).
    let r = h.restore_config(&decl1, &pw1, false);
    assert_eq!(r.code, 2, "restore-config with the old password: {}", h.mask(r.all()));
    assert!(r.stderr.contains("password authentication failed"), "{}", h.mask(r.all()));
    h.assert_no_secrets("restore-config output (old password)", &r.all());

    // What the server does with the stale stored DSN and MM_CONFIG (P2) alone:
    // it reads the configuration through MM_CONFIG, then connects with the
    // stored DataSource (P1) and gives up.
    let mm_config_p2 = config_dsn(&p2, &ca);
    h.start_plain(&[("MM_CONFIG", mm_config_p2.clone())], &mm_dir, "2-stale-mm-config-only");
    let failed = h.wait_for_failure();
    eprintln!("[restore] MM_CONFIG only, stale stored DSN: {failed}");
    assert!(h.server_output().contains("password authentication failed"), "the server did not fail on the stale password:\n{}", h.mask(tail(&h.server_output(), 30)));
    h.assert_no_secrets("server output (stale DSN)", &h.server_output());
    lap("server with MM_CONFIG only and the stale stored DSN");

    // The environment wins over the stored configuration for the database
    // store too: launch's MM_SQLSETTINGS_DATASOURCE (P2) starts it although
    // the stored DataSource is still the stale P1 one.
    h.launch(&spec2, &[("MM_CONFIG", mm_config_p2.clone())], &mm_dir, "3-stale-with-env-pin");
    h.wait_for_ping();
    assert_eq!(h.client_config()["DiagnosticId"].as_str(), Some(telemetry_id.as_str()));
    h.stop_server();
    let still = h.active_config();
    let ds = still["SqlSettings"]["DataSource"].as_str().unwrap_or_default();
    assert!(ds.contains(&encode(&p1)) || ds.contains(&p1), "the server itself replaced the stored DataSource");
    lap("server with the env pin before the fix (ping OK, stored DSN untouched)");

    // --- The fix. A dry run first: exit 1, the plan, nothing written.
    let plan = h.restore_config(&decl2, &pw2, false);
    assert_eq!(plan.code, 1, "dry run: {}", h.mask(plan.all()));
    assert!(plan.stdout.contains("SqlSettings.DataSource carried a password"), "{}", plan.stdout);
    assert!(plan.stdout.contains("dry run: nothing written"), "{}", plan.stdout);
    // The server stored at-rest key and link salt of its own making (launch
    // supplied others from files, which win): named, never shown.
    for (section, key) in [("SqlSettings", "AtRestEncryptKey"), ("FileSettings", "PublicLinkSalt")] {
        assert!(!stored[section][key].as_str().unwrap_or_default().is_empty(), "the server stored no {section}.{key}");
        assert!(plan.stdout.contains(&format!("{section}.{key}")), "{section}.{key} not reported:\n{}", plan.stdout);
    }
    assert!(!plan.stdout.contains("ElasticsearchSettings.Password"), "a default value reported as a stored secret");
    h.assert_no_secrets("restore-config dry run", &plan.all());
    let rows = h.sql("SELECT string_agg(Value, '') FROM Configurations");
    assert!(rows.contains(&encode(&p1)) || rows.contains(&p1), "the dry run wrote");
    eprintln!("[restore] restore-config dry run:\n{}", plan.stdout);

    // As on Kubernetes through `kubectl port-forward`: database.host is a
    // Service name this machine cannot resolve; --connect-to gives the
    // address, and the certificate is still verified against the name.
    let mut k8s: Value = serde_json::from_str(&fs::read_to_string(&decl2).unwrap()).unwrap();
    k8s["secureMattermost"]["database"]["host"] = json!("mattermost-postgresql");
    k8s["secureMattermost"]["database"]["caFile"] = json!("/mattermost/database-ca/ca.crt");
    let decl_k8s = dir.join("decl-k8s.json");
    fs::write(&decl_k8s, k8s.to_string()).unwrap();
    let ca_arg = ca.display().to_string();
    let unresolved = h.restore_config_with(&decl_k8s, &pw2, &["--ca-file", &ca_arg]);
    assert_eq!(unresolved.code, 2, "an unresolvable host: {}", h.mask(unresolved.all()));
    let forwarded = h.restore_config_with(&decl_k8s, &pw2, &["--connect-to", &format!("127.0.0.1:{DB_PORT}"), "--ca-file", &ca_arg, "--format", "json"]);
    assert_eq!(forwarded.code, 1, "--connect-to: {}", h.mask(forwarded.all()));
    let plan_json: Value = serde_json::from_str(&forwarded.stdout).expect("--format json");
    assert_eq!(plan_json["applied"], json!(false));
    assert_eq!(
        plan_json["rows"][0]["changes"][0]["now"],
        json!(format!("postgres://mmuser@mattermost-postgresql:{DB_PORT}/mattermost?sslmode=verify-full&connect_timeout=10&sslrootcert=/mattermost/database-ca/ca.crt")),
        "{}",
        forwarded.stdout
    );
    h.assert_no_secrets("restore-config --connect-to", &format!("{}{}", unresolved.all(), forwarded.all()));

    let applied = h.restore_config(&decl2, &pw2, true);
    assert_eq!(applied.code, 0, "--apply: {}", h.mask(applied.all()));
    h.assert_no_secrets("restore-config --apply", &applied.all());
    eprintln!("[restore] restore-config --apply:\n{}", applied.stdout);
    let fixed = h.active_config();
    let want = format!(
        "postgres://mmuser@localhost:{DB_PORT}/mattermost?sslmode=verify-full&connect_timeout=10&sslrootcert={}",
        encode(&ca.display().to_string()).replace("%2F", "/")
    );
    let got = fixed["SqlSettings"]["DataSource"].as_str().unwrap_or_default();
    assert!(got == want, "stored DataSource after --apply: {}", h.mask(got.to_string()));
    // No row, active or earlier, keeps either password; the whole database neither.
    let all_rows = h.sql("SELECT string_agg(Value, '') FROM Configurations");
    h.assert_no_secrets("the Configurations table after --apply", &all_rows);
    for p in [&p1, &p2] {
        assert!(!all_rows.contains(&encode(p)), "a stored configuration row still holds a password");
    }
    // The row's SHA column matches its new value (the server compares it before persisting).
    let sha_ok = h.sql("SELECT bool_and(encode(sha256(convert_to(Value, 'UTF8')), 'hex') = trim(SHA)) FROM Configurations WHERE Active");
    assert_eq!(sha_ok.trim(), "t", "SHA of the rewritten row");
    let plain_dump = h.pg_dir.join("after.sql");
    run_ok(h.pg_cmd("pg_dump").arg("-h").arg(&h.pg_dir).args(["-p", &DB_PORT.to_string(), "-d", "mattermost", "-f"]).arg(&plain_dump));
    let dumped = fs::read_to_string(&plain_dump).unwrap();
    for p in [&p1, &p2] {
        assert!(!dumped.contains(p.as_str()) && !dumped.contains(&encode(p)), "a password is still in the database's dump");
    }
    // Run again: nothing left to change.
    let again = h.restore_config(&decl2, &pw2, false);
    assert_eq!(again.code, 0, "second dry run: {}", h.mask(again.all()));
    assert!(again.stdout.contains("nothing to change"), "{}", again.stdout);
    lap("restore-config (old password, dry run, --apply, again)");

    // MM_CONFIG alone no longer suffices after the fix either: the stored DSN
    // has no password, so the environment pin is what carries it.
    h.start_plain(&[("MM_CONFIG", mm_config_p2.clone())], &mm_dir, "4-fixed-mm-config-only");
    let failed = h.wait_for_failure();
    eprintln!("[restore] MM_CONFIG only, password-free stored DSN: {failed}");
    assert!(h.server_output().contains("password authentication failed"), "the server did not fail without a password:\n{}", h.mask(tail(&h.server_output(), 30)));
    lap("server with MM_CONFIG only after the fix");

    // --- After the fix: launch with the new password; the old data is served.
    h.launch(&spec2, &[("MM_CONFIG", mm_config_p2)], &mm_dir, "5-after-fix");
    h.wait_for_ping();
    assert_eq!(h.client_config()["DiagnosticId"].as_str(), Some(telemetry_id.as_str()), "the restored server does not serve the backed-up data");
    let tls = h.psql_in(
        "postgres",
        "SELECT count(*), coalesce(bool_and(ssl), false) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'mmuser'",
    );
    let (count, all_ssl) = tls.trim().split_once('|').expect("psql output");
    assert!(count.parse::<u32>().unwrap_or(0) > 0, "no mmuser session after the restore");
    assert_eq!(all_ssl, "t", "an mmuser session is not using TLS");
    h.stop_server();
    h.assert_no_secrets("server output (after the fix)", &h.server_output());
    let fixed_after_start = h.active_config();
    let got = fixed_after_start["SqlSettings"]["DataSource"].as_str().unwrap_or_default();
    assert!(got == want, "the server changed the stored DataSource: {}", h.mask(got.to_string()));
    h.assert_no_secrets("the Configurations table after the last start", &h.sql("SELECT string_agg(Value, '') FROM Configurations"));
    lap("start after the fix until ping OK, data check");
    eprintln!("[restore] total: {:.1}s", started.elapsed().as_secs_f64());
}

/// The refusals need no server: the documented exit codes, and never the
/// password in what is printed, whatever fails.
fn restore_config_refusals_keep_the_password_out() {
    let dir = tempfile::tempdir().unwrap();
    let secret = random_secret("refusal");
    let pw = dir.path().join("pw");
    write_private(&pw, format!("{secret}\n").as_bytes());
    // A "database" that refuses TLS: it answers the SSLRequest with 'N'.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < 2 && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    let mut req = [0u8; 8];
                    let _ = std::io::Read::read_exact(&mut s, &mut req);
                    let _ = s.write_all(b"N");
                    served += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let decl = |ca: Option<&Path>| {
        let doc = common::patched(
            common::load("examples/baremetal.json"),
            &json!({"database": {"host": "127.0.0.1", "port": port, "caFile": ca, "sslMode": "verify-full"}}),
        );
        let p = dir.path().join(format!("decl-{}.json", ca.is_some()));
        fs::write(&p, doc.to_string()).unwrap();
        p
    };
    let no_ca = decl(None);
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(helper()).arg("restore-config").args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(!text.contains("panicked at"), "{text}");
        assert!(!text.contains(&secret) && !text.contains(&encode(&secret)), "the password was printed");
        (o.status.code().unwrap_or(-1), text)
    };
    let os = |p: &Path| p.as_os_str().to_owned();
    let (input, pwf) = ("--input".as_ref(), "--password-file".as_ref());

    let (code, text) = run(&[input, &os(&no_ca), pwf, &os(&pw)]);
    assert_eq!(code, 2, "a database refusing TLS: {text}");
    assert!(text.contains("sm::restore::connect") && text.contains(&format!("mmuser@127.0.0.1:{port}/mattermost")), "{text}");

    // A Kubernetes declaration: refused unless the rendered deployment gives
    // the server MM_SQLSETTINGS_DATASOURCE (removing the stored password would
    // otherwise leave it with none). Judged here on the rendering itself.
    let k8s = common::load("examples/kubernetes.json");
    let k8s_decl = dir.path().join("k8s.json");
    fs::write(&k8s_decl, k8s.to_string()).unwrap();
    let out = dir.path().join("k8s-out");
    let r = Command::new(helper()).args(["render", "--today", common::TODAY, "--input"]).arg(&k8s_decl).arg("--out").arg(&out).output().unwrap();
    assert!(r.status.success(), "render: {}", String::from_utf8_lossy(&r.stderr));
    let deployers: &[&str] = match k8s["secureMattermost"]["kubernetes"]["deployWith"].as_str() {
        Some("helm") => &["values.yaml"],
        Some("operator") => &["mattermost.yaml"],
        _ => &["values.yaml", "mattermost.yaml"],
    };
    let var = regex::Regex::new(r"MM_SQLSETTINGS_DATASOURCE([^A-Z0-9_]|$)").unwrap();
    let pinned = deployers.iter().all(|f| var.is_match(&fs::read_to_string(out.join(f)).unwrap()));
    let addr = format!("127.0.0.1:{port}");
    let (code, text) = run(&[input, &os(&k8s_decl), pwf, &os(&pw), "--connect-to".as_ref(), addr.as_ref()]);
    if pinned {
        // On to the connection (or the declaration's CA file, absent here).
        assert!((code == 2 || code == 3) && !text.contains("sm::restore::no_env_pin"), "kubernetes declaration, DSN pinned: {text}");
    } else {
        assert!(code == 2 && text.contains("sm::restore::no_env_pin"), "kubernetes declaration, DSN not pinned: {text}");
    }
    eprintln!("[restore] examples/kubernetes.json: rendered {deployers:?} pin MM_SQLSETTINGS_DATASOURCE: {pinned}");
    drop(server);

    let (code, text) = run(&[input, &os(&no_ca), pwf, &os(&dir.path().join("absent"))]);
    assert_eq!(code, 3, "a missing password file: {text}");
    let empty = dir.path().join("empty");
    write_private(&empty, b"\n");
    let (code, text) = run(&[input, &os(&no_ca), pwf, &os(&empty)]);
    assert_eq!(code, 2, "an empty password file: {text}");
    assert!(text.contains("sm::restore::empty_password"), "{text}");
    let (code, text) = run(&[input, &os(&decl(Some(&dir.path().join("no-ca.pem")))), pwf, &os(&pw)]);
    assert_eq!(code, 3, "a missing caFile: {text}");
    let (code, text) = run(&["--format".as_ref(), "sarif".as_ref(), input, &os(&no_ca), pwf, &os(&pw)]);
    assert_eq!(code, 2, "--format sarif: {text}");
    // The password is never an argument.
    let (code, text) = run(&[input, &os(&no_ca), "--password".as_ref(), secret.as_ref()]);
    assert_eq!(code, 2, "--password: {text}");
}

/// What the machine offers; anything missing names the prerequisite.
struct Env {
    mattermost: PathBuf,
    pg_bin: PathBuf,
    version: String,
}

impl Env {
    fn detect() -> Result<Env, (&'static str, String)> {
        let pin: Value = serde_json::from_str(&fs::read_to_string(repo().join("catalog/mattermost-pin.json")).map_err(|e| ("mattermost", e.to_string()))?)
            .map_err(|e| ("mattermost", e.to_string()))?;
        let version = pin["version"].as_str().ok_or(("mattermost", "pin has no version".to_string()))?.to_string();
        let mattermost = match std::env::var_os("SECURE_MATTERMOST_SERVER_BIN") {
            Some(p) => PathBuf::from(p),
            None => {
                let cache = std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                    .ok_or(("mattermost", "neither XDG_CACHE_HOME nor HOME is set".to_string()))?;
                cache.join(format!("secure-mattermost/mattermost-{version}/bin/mattermost"))
            }
        };
        if !mattermost.is_file() {
            return Err(("mattermost", format!("no Mattermost server at {} (run scripts/mattermost-test-deps.sh)", mattermost.display())));
        }
        let pg_bin = postgres_bindir().ok_or(("postgresql", "no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb; scripts/mattermost-test-deps.sh)".to_string()))?;
        for tool in ["pg_ctl", "pg_dump", "pg_restore", "psql"] {
            if !pg_bin.join(tool).is_file() {
                return Err(("postgresql", format!("{} is missing", pg_bin.join(tool).display())));
            }
        }
        if output(Command::new("id").arg("-u")).trim() != "0" {
            return Err(("mattermost", "needs root (network namespace, PostgreSQL as the postgres user)".into()));
        }
        for tool in ["openssl", "curl", "runuser", "unshare", "nsenter", "ip"] {
            if !on_path(tool) {
                return Err(("mattermost", format!("{tool} is not installed (scripts/mattermost-test-deps.sh)")));
            }
        }
        Ok(Env { mattermost, pg_bin, version })
    }
}

struct Files<'a> {
    ca: &'a Path,
    oidc: &'a Path,
    at_rest: &'a Path,
    salt: &'a Path,
    mm_dir: &'a Path,
}

/// The committed bare-metal example pointed at this test's database (with
/// the given password file) and files, rendered: (declaration, secret-env.json).
fn render(dir: &Path, tag: &str, env: &Env, f: &Files, pw_file: &Path) -> (PathBuf, PathBuf) {
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(repo().join("examples/baremetal.json")).unwrap()).unwrap();
    let sm = &mut doc["secureMattermost"];
    sm["mode"] = json!("baremetal");
    sm["domain"] = json!("chat.example.com");
    sm["mattermost"]["version"] = json!(env.version);
    let db = &mut sm["database"];
    db["host"] = json!("localhost");
    db["port"] = json!(DB_PORT);
    db["name"] = json!("mattermost");
    db["user"] = json!("mmuser");
    db["passwordFile"] = json!(pw_file);
    db["sslMode"] = json!("verify-full");
    db["caFile"] = json!(f.ca);
    db["postgresqlVersion"] = json!(15);
    sm["auth"]["oidc"]["clientSecretFile"] = json!(f.oidc);
    sm["fileStorage"]["driver"] = json!("local");
    sm["fileStorage"]["directory"] = json!(f.mm_dir.join("data"));
    sm["smtp"]["server"] = Value::Null;
    sm["smtp"]["username"] = Value::Null;
    sm["settings"]["ServiceSettings"]["EnableCustomEmoji"] = json!(false);
    // The two keys a restore needs besides the dump, from files (docs/restore.md).
    sm["secretSettings"] = json!({
        "SqlSettings.AtRestEncryptKey": {"file": f.at_rest, "kubernetesSecret": null},
        "FileSettings.PublicLinkSalt": {"file": f.salt, "kubernetesSecret": null},
    });
    let decl = dir.join(format!("decl-{tag}.json"));
    fs::write(&decl, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = dir.join(format!("out-{tag}"));
    let r = Command::new(helper()).arg("render").arg("--input").arg(&decl).arg("--out").arg(&out).output().unwrap();
    assert!(r.status.success(), "render failed:\n{}{}", String::from_utf8_lossy(&r.stdout), String::from_utf8_lossy(&r.stderr));
    (decl, out.join("secret-env.json"))
}

/// MM_CONFIG as the chart's database Secret holds it: the DSN with the password.
fn config_dsn(password: &str, ca: &Path) -> String {
    format!(
        "postgres://mmuser:{}@localhost:{DB_PORT}/mattermost?sslmode=verify-full&connect_timeout=10&sslrootcert={}",
        encode(password),
        encode(&ca.display().to_string()).replace("%2F", "/")
    )
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Owns every process the test starts and stops them all on drop, pass or fail.
struct Harness<'a> {
    env: &'a Env,
    dir: PathBuf,
    pg_dir: PathBuf,
    netns: Child,
    pg_data: Option<PathBuf>,
    server: Option<Child>,
    server_log: PathBuf,
    secrets: Vec<String>,
}

impl<'a> Harness<'a> {
    fn new(env: &'a Env, dir: &Path) -> Harness<'a> {
        let pg_dir = dir.join("pg");
        fs::create_dir(&pg_dir).unwrap();
        run_ok(Command::new("chown").arg("postgres:").arg(&pg_dir));
        let netns = Command::new("unshare").args(["--net", "sleep", "3600"]).stdin(Stdio::null()).spawn().unwrap();
        let h = Harness {
            env,
            dir: dir.to_path_buf(),
            pg_dir,
            netns,
            pg_data: None,
            server: None,
            server_log: dir.join("server.out"),
            secrets: vec![],
        };
        let ours = fs::read_link("/proc/self/ns/net").unwrap();
        let theirs = format!("/proc/{}/ns/net", h.netns.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs::read_link(&theirs).map(|l| l == ours).unwrap_or(true) {
            assert!(Instant::now() < deadline, "unshare --net did not take effect");
            std::thread::sleep(Duration::from_millis(20));
        }
        run_ok(h.cmd("ip").args(["link", "set", "lo", "up"]));
        h
    }

    /// A command that runs inside the test's network namespace.
    fn cmd(&self, program: impl Into<OsString>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.netns.id())).arg("--").arg(program.into());
        c
    }

    fn pg_cmd(&self, tool: &str) -> Command {
        let mut c = self.cmd("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.env.pg_bin.join(tool));
        c
    }

    /// A throwaway CA and a server certificate for localhost / 127.0.0.1.
    fn make_certs(&self) -> PathBuf {
        let d = &self.dir;
        let openssl = |args: &str| run_ok(Command::new("openssl").current_dir(d).args(args.split_whitespace()));
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
        openssl(&format!(
            "req -x509 {ec} -keyout ca.key -out ca.pem -subj /CN=secure-mattermost-restore-CA \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
        ));
        openssl(&format!("req {ec} -keyout pg/server.key -out server.csr -subj /CN=localhost"));
        fs::write(d.join("server.ext"), "subjectAltName=DNS:localhost,DNS:mattermost-postgresql,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n").unwrap();
        openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out pg/server.crt");
        let key = self.pg_dir.join("server.key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        run_ok(Command::new("chown").arg("postgres:").arg(&key).arg(self.pg_dir.join("server.crt")));
        d.join("ca.pem")
    }

    /// A new cluster in pg/data-NAME (TLS on loopback, scram), with role
    /// mmuser (`password`) owning an empty database `mattermost`.
    fn start_cluster(&mut self, name: &str, password: &str) {
        let data = self.pg_dir.join(format!("data-{name}"));
        run_ok(self.pg_cmd("initdb").arg("-D").arg(&data).args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--auth-local=peer", "--auth-host=reject"]));
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {DB_PORT}\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n\
             ssl_min_protocol_version = 'TLSv1.2'\npassword_encryption = 'scram-sha-256'\n",
            dir = self.pg_dir.display()
        );
        append(&data.join("postgresql.conf"), &conf);
        fs::write(data.join("pg_hba.conf"), "local all postgres peer\nhostssl mattermost mmuser 127.0.0.1/32 scram-sha-256\n").unwrap();
        self.pg_data = Some(data.clone());
        run_ok(self.pg_cmd("pg_ctl").arg("-D").arg(&data).arg("-l").arg(self.pg_dir.join(format!("log-{name}"))).args(["-w", "-t", "60", "start"]));
        // The password travels on stdin only, never in an argument.
        let sql = format!("CREATE ROLE mmuser LOGIN PASSWORD '{}';\nCREATE DATABASE mattermost OWNER mmuser;\n", password.replace('\'', "''"));
        let mut child = self.psql_base("postgres").stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "creating the role and database failed");
    }

    fn stop_cluster(&mut self) {
        if let Some(data) = self.pg_data.take() {
            let _ = self.pg_cmd("pg_ctl").arg("-D").arg(&data).args(["-m", "fast", "-w", "-t", "30", "stop"]).stdout(Stdio::null()).status();
        }
    }

    fn psql_base(&self, db: &str) -> Command {
        let mut c = self.pg_cmd("psql");
        c.arg("-h").arg(&self.pg_dir).args(["-p", &DB_PORT.to_string(), "-U", "postgres"]);
        c.args(["-d", db, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        c
    }

    fn psql_in(&self, db: &str, sql: &str) -> String {
        output(self.psql_base(db).arg("-c").arg(sql))
    }

    /// A query on the Mattermost database, as the superuser.
    fn sql(&self, sql: &str) -> String {
        self.psql_in("mattermost", sql)
    }

    /// The stored configuration in force (the row the server loads).
    fn active_config(&self) -> Value {
        let text = self.sql("SELECT Value FROM Configurations WHERE Active");
        serde_json::from_str(text.trim()).expect("the active configuration row is JSON")
    }

    fn restore_config(&self, decl: &Path, pw: &Path, apply: bool) -> Out {
        self.restore_config_with(decl, pw, if apply { &["--apply"] } else { &[] })
    }

    fn restore_config_with(&self, decl: &Path, pw: &Path, more: &[&str]) -> Out {
        let mut c = self.cmd(helper());
        c.arg("restore-config").arg("--input").arg(decl).arg("--password-file").arg(pw).args(more);
        let o = c.output().unwrap();
        let out = Out { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() };
        assert!(!out.stderr.contains("panicked at"), "restore-config panicked:\n{}", self.mask(out.all()));
        out
    }

    /// The product's way: `secure-mattermost launch --spec … -- mattermost server`,
    /// with `extra` (MM_CONFIG) in the environment it passes on.
    fn launch(&mut self, spec: &Path, extra: &[(&str, String)], cwd: &Path, tag: &str) {
        let argv: Vec<OsString> = vec![helper().into(), "launch".into(), "--spec".into(), spec.into(), "--".into(), self.env.mattermost.clone().into(), "server".into()];
        self.start(&argv, extra, cwd, tag);
    }

    /// The server alone, with only `extra` from us (no pinned settings, no DSN).
    fn start_plain(&mut self, extra: &[(&str, String)], cwd: &Path, tag: &str) {
        let argv: Vec<OsString> = vec![self.env.mattermost.clone().into(), "server".into()];
        self.start(&argv, extra, cwd, tag);
    }

    fn start(&mut self, argv: &[OsString], extra: &[(&str, String)], cwd: &Path, tag: &str) {
        assert!(self.server.is_none(), "a server is still running");
        self.server_log = self.dir.join(format!("server-{tag}.out"));
        let log = fs::File::create(&self.server_log).unwrap();
        let logs = cwd.join("logs");
        let child = self
            .cmd(&argv[0])
            .args(&argv[1..])
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .env("MM_LOGSETTINGS_FILELOCATION", &logs)
            .env("MM_EXPERIMENTALAUDITSETTINGS_FILENAME", logs.join("audit.log"))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
    }

    fn server_output(&self) -> String {
        fs::read_to_string(&self.server_log).unwrap_or_default()
    }

    fn http_get(&self, path: &str) -> (u16, String) {
        let out = self
            .cmd("curl")
            .args(["-sS", "--max-time", "5", "--noproxy", "*", "-w", "\n%{http_code}"])
            .arg(format!("http://127.0.0.1:{MM_PORT}{path}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn ping_ok(&self) -> bool {
        let (code, body) = self.http_get("/api/v4/system/ping");
        code == 200 && serde_json::from_str::<Value>(&body).map(|v| v["status"] == "OK").unwrap_or(false)
    }

    fn client_config(&self) -> Value {
        let (code, body) = self.http_get("/api/v4/config/client?format=old");
        assert_eq!(code, 200, "client config: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn wait_for_ping(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if self.ping_ok() {
                return;
            }
            if let Some(status) = self.server.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status} before answering ping:\n{}", self.mask(tail(&self.server_output(), 30)));
            }
            assert!(Instant::now() < deadline, "server did not answer ping within {STARTUP_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits for a server that should not come up: it must never answer ping
    /// OK and must exit with a failure. Returns what it did, for the log.
    fn wait_for_failure(&mut self) -> String {
        let start = Instant::now();
        let deadline = start + FAILURE_TIMEOUT;
        loop {
            assert!(!self.ping_ok(), "the server answered ping OK:\n{}", self.mask(tail(&self.server_output(), 30)));
            if let Some(status) = self.server.as_mut().unwrap().try_wait().unwrap() {
                self.server = None;
                assert!(!status.success(), "the server exited successfully");
                let out = self.server_output();
                let pings = out.matches("Failed to ping DB").count();
                let last = out.lines().rev().find(|l| l.contains("error") || l.contains("fatal")).unwrap_or_default();
                return self.mask(format!(
                    "exited with {status} after {:.1}s, {pings} failed ping(s) logged, last error line: {}",
                    start.elapsed().as_secs_f64(),
                    last.chars().take(400).collect::<String>()
                ));
            }
            assert!(Instant::now() < deadline, "the server neither came up nor exited within {FAILURE_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn stop_server(&mut self) {
        if let Some(child) = self.server.take() {
            // nsenter execs launch, which execs the server: this pid is the server.
            crate::common::terminate(child);
        }
    }

    /// Each secret, its percent-encoded form, or any long run of it.
    fn assert_no_secrets(&self, what: &str, text: &str) {
        for secret in &self.secrets {
            assert!(!text.contains(secret.as_str()) && !text.contains(&encode(secret)), "{what} contains a secret");
            for run in secret.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| r.len() >= 8) {
                assert!(!text.contains(run), "{what} contains part of a secret");
            }
        }
    }

    fn mask(&self, mut text: String) -> String {
        for secret in &self.secrets {
            text = text.replace(&encode(secret), "<secret>").replace(secret.as_str(), "<secret>");
            for run in secret.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| r.len() >= 8) {
                text = text.replace(run, "<secret>");
            }
        }
        text
    }
}

impl Drop for Harness<'_> {
    fn drop(&mut self) {
        self.stop_server();
        if std::thread::panicking() {
            eprintln!("--- server output (tail) ---\n{}", self.mask(tail(&self.server_output(), 40)));
            let logs = fs::read_dir(&self.pg_dir).into_iter().flatten().flatten().map(|e| e.path());
            for log in logs.filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("log-"))) {
                let text = fs::read_to_string(&log).unwrap_or_default();
                eprintln!("--- {} (tail) ---\n{}", log.display(), self.mask(tail(&text, 20)));
            }
        }
        self.stop_cluster();
        let _ = self.netns.kill();
        let _ = self.netns.wait();
    }
}

fn helper() -> PathBuf {
    assert_cmd::cargo::cargo_bin("secure-mattermost")
}


/// Percent-encoding of everything outside RFC 3986's unreserved set.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}


fn append(path: &Path, text: &str) {
    fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}



fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

tests![
    config_in_database_survives_restore_under_new_password,
    restore_config_refusals_keep_the_password_out,
];
