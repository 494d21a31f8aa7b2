//! The whole bare-metal site on real servers, end to end: PostgreSQL
//! initialised from the rendered `postgresql-secure-mattermost.conf`,
//! `pg_hba.conf` and `init.sql`; the real Mattermost server (the pinned
//! Team Edition build) started through `secure-mattermost launch` with the
//! rendered `config.json` and `secret-env.json`, on that database over
//! `verify-full`; Debian's nginx running the rendered `nginx.conf`
//! unchanged, with certificates from a CA the test makes. Everything runs
//! in a network namespace of the test's own (its ports are the rendered
//! ones: 443, 80, 8065, 5432) and every request goes through the proxy
//! over HTTPS with the test CA pinned.
//!
//! The first administrator: the hardened configuration turns sign-up off
//! (`email-sign-up-disabled`, `user-creation-restricted`), and Team
//! Edition 11.4.0 has no offline way to create a user (`mattermost user`
//! is gone; `import bulk --apply` still runs dry). So the site is first
//! started once from a bootstrap render of the same declaration that turns
//! on the local-mode socket (in a 0700 directory, socket 0600) under a
//! structured, short waiver of `local-mode-off` (the evidence of that
//! render records it); the administrator is created on that socket, the
//! way `mmctl --local user create` does, and the server is restarted from
//! the strict render, which has no waiver but `sso-only-sign-in` (Team
//! Edition has no SSO). No sign-up rule is ever weakened.
//!
//! Then, through the proxy: `verify` passes; the administrator creates a
//! user; the user logs in with a password, joins a team, creates a
//! channel, posts, uploads a file (its sha256 on disk under the file store
//! and downloaded back equal the bytes sent); the password policy refuses
//! a password one shorter than PasswordSettings.MinimumLength or missing
//! any required class, at creation and at a change; after
//! ServiceSettings.MaximumLoginAttempts wrong passwords even the right one
//! is refused.
//!
//! `stack_up_script_starts_serves_and_stops_cleanly` runs scripts/stack-up.sh
//! (the README's one command) in a namespace of its own, pings through it,
//! checks that the server runs as the unprivileged `mattermost` account
//! (real and effective uid), sends SIGINT and checks that every process it
//! started is gone, its ports are free and its directory removed.
//!
//! Needs root, the server built by scripts/mattermost-build.sh, Debian's
//! PostgreSQL and nginx; otherwise each test says SKIPPED.

mod common;
#[path = "common/servers.rs"]
mod servers;

use servers::*;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secure_mattermost::dates::Date;
use serde_json::{json, Value};

const E2E: &str = "baremetal_e2e/real_site_through_the_proxy";
const STACK: &str = "baremetal_e2e/stack_up_script";
const STARTUP: Duration = Duration::from_secs(180);

fn laps(tag: &'static str) -> impl FnMut(&str) {
    let mut t = Instant::now();
    move |what: &str| {
        eprintln!("[{tag}] {what}: {:.1}s", t.elapsed().as_secs_f64());
        t = Instant::now();
    }
}

/// A structured waiver, dated from today (the render's policy date is the
/// real clock here, as on a host).
fn waiver(reason: &str, days: i64, ticket: &str) -> Value {
    json!({"reason": reason, "approvedBy": "ISSO E2E Test Lab", "expires": Date::today_utc().plus_days(days).to_string(), "ticket": ticket})
}

fn real_site_through_the_proxy() {
    let env = match Env::detect(true) {
        Ok(e) => e,
        Err((prereq, why)) => return common::skip_missing(prereq, E2E, &why),
    };
    let nginx_bin = env.nginx.clone().unwrap();
    let started = Instant::now();
    let mut lap = laps("e2e");
    let tmp = tempfile::Builder::new().prefix("bm-e2e-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let d = tmp.path();
    let ns = Netns::new();
    let mut secrets = Secrets::default();

    // Certificates: PostgreSQL's for 127.0.0.1, the proxy's for the site name.
    let ca = make_ca(d);
    let mut pg = Postgres::new(&ns, &env.pg_bin, &d.join("pg"));
    let (pg_cert, pg_key) = (pg.dir.join("server.crt"), pg.dir.join("server.key"));
    issue(d, "localhost", "DNS:localhost,IP:127.0.0.1", &pg_cert, &pg_key);
    run_ok(Command::new("chown").arg("postgres:").arg(&pg_cert).arg(&pg_key));
    let (site_cert, site_key) = (d.join("site.pem"), d.join("site.key"));
    issue(d, DOMAIN, &format!("DNS:{DOMAIN}"), &site_cert, &site_key);
    let db_password = common::random_secret("db");
    secrets.add(&db_password);
    let pw_file = pg.dir.join("database-password");
    pg.write_private(&pw_file, format!("{db_password}\n").as_bytes());
    let mm_dir = d.join("mm");
    let store = mm_dir.join("data");
    let var_log = d.join("var-log");
    fs::create_dir_all(var_log.join("mattermost")).unwrap();
    fs::create_dir_all(&store).unwrap();
    let run_dir = d.join("run");
    fs::create_dir(&run_dir).unwrap();
    fs::set_permissions(&run_dir, fs::Permissions::from_mode(0o700)).unwrap();
    let socket = run_dir.join("mattermost_local.socket");

    // The declaration: the example, passwords instead of SSO under a
    // structured waiver (Team Edition has no SSO), no mail relay here.
    let paths = SitePaths { ca: &ca, db_password: &pw_file, pg_cert: &pg_cert, pg_key: &pg_key, site_cert: &site_cert, site_key: &site_key, file_store: &store };
    let mut doc = example_declaration(&env, &paths);
    let sm = &mut doc["secureMattermost"];
    sm["auth"]["provider"] = json!("password");
    sm["smtp"]["server"] = Value::Null;
    sm["smtp"]["username"] = Value::Null;
    let sso_waiver = waiver("The end-to-end test server is Team Edition, which has no identity provider support", 90, "E2E-SSO-1");
    sm["justification"]["sso-only-sign-in"] = sso_waiver.clone();

    // Without the waiver the declaration does not pass: the waiver is what lets passwords in.
    let mut unwaived = doc.clone();
    unwaived["secureMattermost"]["justification"].as_object_mut().unwrap().remove("sso-only-sign-in");
    let (r, outcomes) = common::check_json(&unwaived);
    assert_eq!(r.code, 1, "a password sign-in without its waiver was accepted: {}", r.stderr);
    assert_eq!(common::outcome_of(outcomes.as_ref().unwrap(), "sso-only-sign-in"), "fail");

    let out = d.join("out");
    let table = render(&doc, &d.join("decl.json"), &out);
    let sso = outcome(&out, "sso-only-sign-in");
    assert_eq!(sso["outcome"], "waived", "{sso:#}");
    for k in ["reason", "approvedBy", "expires", "ticket"] {
        assert_eq!(sso["justification"][k], sso_waiver[k], "the waiver's {k} in outcomes.json: {sso:#}");
    }
    assert!(table.lines().any(|l| l.starts_with("WAIVED") && l.contains("sso-only-sign-in")), "{table}");
    assert_eq!(outcome(&out, "local-mode-off")["outcome"], "pass");
    let waived: Vec<String> = serde_json::from_str::<Value>(&fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] != "pass" && r["outcome"] != "not-applicable" && r["outcome"] != "advisory")
        .map(|r| format!("{} {}", r["id"], r["outcome"]))
        .collect();
    assert_eq!(waived, vec!["\"sso-only-sign-in\" \"waived\""], "the strict render waives SSO only");
    let rendered: Value = serde_json::from_str(&fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    for f in common::files_under(&out) {
        secrets.assert_absent(&f.display().to_string(), &String::from_utf8_lossy(&fs::read(&f).unwrap()));
    }

    // The bootstrap render: the same declaration with the local-mode socket
    // on, for one run, under its own short waiver.
    let mut boot = doc.clone();
    let bs = &mut boot["secureMattermost"];
    bs["settings"]["ServiceSettings"]["EnableLocalMode"] = json!(true);
    bs["settings"]["ServiceSettings"]["LocalModeSocketLocation"] = json!(socket);
    bs["justification"]["local-mode-off"] = waiver(
        "Creates the first system administrator through the local socket in one bootstrap run; sign-up stays off and the server is restarted without the socket",
        1,
        "E2E-BOOTSTRAP-1",
    );
    let out_boot = d.join("out-bootstrap");
    render(&boot, &d.join("bootstrap.json"), &out_boot);
    assert_eq!(outcome(&out_boot, "local-mode-off")["outcome"], "waived");
    lap("certificates, renders (strict and bootstrap)");

    // PostgreSQL from the rendered files.
    let applied = pg.start_rendered(&out);
    secrets.assert_absent("init.sql's output", &applied);
    let pg_log = pg.server_log();
    let listening: Vec<&str> = pg_log.lines().filter(|l| l.contains("listening on IP")).collect();
    assert!(listening.len() == 1 && listening[0].contains(&format!("\"127.0.0.1\", port {DB_PORT}")), "PostgreSQL listens where the fragment says: {listening:?}");
    lap("PostgreSQL from the rendered files, init.sql applied");

    // Bootstrap run: the administrator on the local socket.
    let config = mm_dir.join("config.json");
    write_private(&config, &fs::read(out_boot.join("config.json")).unwrap());
    let boot_spec = out_boot.join("secret-env.json");
    let boot_launch = Launch { spec: &boot_spec, config: &config, cwd: &mm_dir, var_log: &var_log, resolv: None, credentials: None, output: d.join("server-bootstrap.out") };
    let mut server = Server::start(&ns, &env, &boot_launch);
    let took = server.wait_for_ping(&ns, STARTUP);
    lap(&format!("bootstrap server up (ping after {:.0}s)", took.as_secs_f64()));
    let mode = fs::metadata(&socket).map(|m| m.permissions().mode() & 0o777).unwrap_or_else(|e| panic!("no local-mode socket at {}: {e}", socket.display()));
    assert_eq!(mode, 0o600, "the local-mode socket's mode");
    let local = Api::local_socket(&ns, &socket, &d.join("api-local"));
    let admin_pw = password(24, "luns");
    secrets.add(&admin_pw);
    let r = local.call("POST", "/api/v4/users", None, Some(&json!({"username": "e2e-admin", "email": "e2e-admin@example.com", "password": admin_pw, "email_verified": true})));
    assert_eq!(r.code, 201, "creating the administrator on the local socket: {}", r.text());
    let admin = r.json();
    assert!(admin["roles"].as_str().unwrap_or_default().split(' ').any(|r| r == "system_admin"), "the first user is not a system administrator: {admin}");
    let admin_id = admin["id"].as_str().unwrap().to_string();
    server.stop();
    assert!(!socket.exists(), "the local-mode socket outlived the bootstrap run");
    lap("administrator created on the local socket, bootstrap server stopped");

    // The site as rendered.
    write_private(&config, &fs::read(out.join("config.json")).unwrap());
    let spec = out.join("secret-env.json");
    let strict_launch = Launch { spec: &spec, config: &config, cwd: &mm_dir, var_log: &var_log, resolv: None, credentials: None, output: d.join("server.out") };
    let mut server = Server::start(&ns, &env, &strict_launch);
    let took = server.wait_for_ping(&ns, STARTUP);
    assert!(!socket.exists(), "the strict server opened the local-mode socket");
    let nginx = Nginx::start(&ns, &nginx_bin, &out.join("nginx.conf"), &d.join("nginx"));
    let api = Api::through_proxy(&ns, DOMAIN, &ca, &d.join("api"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = ns.cmd("curl").args(["-sS", "--max-time", "5", "--noproxy", "*", "--resolve", &format!("{DOMAIN}:443:127.0.0.1"), "--cacert"]).arg(&ca).arg(format!("https://{DOMAIN}/api/v4/system/ping")).output().unwrap();
        if o.status.success() && serde_json::from_slice::<Value>(&o.stdout).is_ok_and(|v| v["status"] == "OK") {
            break;
        }
        assert!(Instant::now() < deadline, "nginx does not proxy to the server: {}", nginx.error_log());
        std::thread::sleep(Duration::from_millis(200));
    }
    // Another CA is not trusted: the pin is real.
    let other = ns.cmd("curl").args(["-sS", "--max-time", "5", "--noproxy", "*", "--resolve", &format!("{DOMAIN}:443:127.0.0.1"), "--cacert", "/etc/ssl/certs/ca-certificates.crt"]).arg(format!("https://{DOMAIN}/api/v4/system/ping")).output().unwrap();
    assert!(!other.status.success(), "the proxy's certificate verified against the system CAs");
    lap(&format!("strict server (ping after {:.0}s) behind nginx", took.as_secs_f64()));

    // Sign-up is off: nobody creates an account without an administrator.
    let client = api.call("GET", "/api/v4/config/client?format=old", None, None).json();
    for (key, want) in [("EnableSignUpWithEmail", "false"), ("EnableUserCreation", "false"), ("EnableOpenServer", "false")] {
        assert_eq!(client[key].as_str(), Some(want), "client config {key}");
    }
    let signup_pw = password(24, "luns");
    let r = api.call("POST", "/api/v4/users", None, Some(&json!({"username": "e2e-stranger", "email": "stranger@example.com", "password": signup_pw})));
    assert!(r.code >= 400 && r.code != 429, "self sign-up through the proxy: {} {}", r.code, r.text());

    // The administrator signs in with a password (the waiver) and verify passes.
    let (r, admin_token) = api.login("e2e-admin", &admin_pw);
    let admin_token = admin_token.unwrap_or_else(|| panic!("the administrator's login: {} {}", r.code, secrets.mask(&r.text())));
    secrets.add(&admin_token);
    let token_file = d.join("admin.token");
    write_private(&token_file, admin_token.as_bytes());
    let o = ns
        .cmd(&env.helper)
        .args(["verify", &format!("https://{DOMAIN}/"), "--address", "127.0.0.1", "--ca-file"])
        .arg(&ca)
        .arg("--token-file")
        .arg(&token_file)
        .arg("--input")
        .arg(d.join("decl.json"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    secrets.assert_absent("verify's output", &(stdout.clone() + &stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("verify: {e}: {stdout}{stderr}"));
    let checks = report["checks"].as_array().unwrap();
    let failed: Vec<&Value> = checks.iter().filter(|c| c["outcome"] == "fail").collect();
    assert!(failed.is_empty(), "verify through the proxy found: {failed:#?}");
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let by_id = |id: &str| checks.iter().find(|c| c["id"] == id).map(|c| c["outcome"].clone()).unwrap_or_else(|| panic!("verify has no {id}"));
    for id in ["certificate-verifies", "ping", "tls-1.1-refused", "server-config/local-mode-off", "server-config/login-lockout", "client-config/password-length"] {
        assert_eq!(by_id(id), "pass", "{id}");
    }
    assert_eq!(by_id("server-config/sso-only-sign-in"), "waived");
    assert!(checks.iter().filter(|c| c["id"].as_str().unwrap_or_default().starts_with("server-config/")).count() > 90, "too few catalog rules judged on the live server");
    lap("sign-up refused, admin login, verify passes");

    // The password policy, from the rendered values.
    let ps = &rendered["PasswordSettings"];
    let min = ps["MinimumLength"].as_u64().unwrap() as usize;
    assert!(min >= 15, "PasswordSettings.MinimumLength {min}");
    let max_attempts = rendered["ServiceSettings"]["MaximumLoginAttempts"].as_u64().unwrap() as usize;
    assert!((1..=5).contains(&max_attempts), "MaximumLoginAttempts {max_attempts}");
    let create = |name: &str, pw: &str| api.call("POST", "/api/v4/users", Some(&admin_token), Some(&json!({"username": name, "email": format!("{name}@example.com"), "password": pw, "email_verified": true})));
    let mut refused = vec![(format!("{} characters", min - 1), password(min - 1, "luns"))];
    for (class, setting, rest) in [("lower-case", "Lowercase", "uns"), ("upper-case", "Uppercase", "lns"), ("digit", "Number", "lus"), ("symbol", "Symbol", "lun")] {
        assert_eq!(ps[setting], json!(true), "PasswordSettings.{setting}");
        refused.push((format!("no {class} letter"), password(min + 4, rest)));
    }
    for (what, pw) in &refused {
        let r = create("e2e-weak", pw);
        assert_eq!(r.code, 400, "a password with {what} was accepted at creation: {}", r.text());
        assert!(r.error_id().starts_with("model.user.is_valid.pwd"), "{what}: {}", r.text());
    }
    let alice_pw = password(min, "luns");
    secrets.add(&alice_pw);
    let r = create("e2e-alice", &alice_pw);
    assert_eq!(r.code, 201, "a password of exactly {min} characters of every class: {}", r.text());
    let alice_id = r.json()["id"].as_str().unwrap().to_string();
    lap("password policy at creation");

    // Alice signs in, changes her password (a weak one is refused), joins a
    // team, makes a channel, posts and uploads.
    let (r, token) = api.login("e2e-alice@example.com", &alice_pw);
    let mut alice = token.unwrap_or_else(|| panic!("alice's login: {} {}", r.code, r.text()));
    secrets.add(&alice);
    for (what, pw) in &refused {
        let r = api.call("PUT", &format!("/api/v4/users/{alice_id}/password"), Some(&alice), Some(&json!({"current_password": alice_pw, "new_password": pw})));
        assert_eq!(r.code, 400, "a password with {what} was accepted at a change: {}", r.text());
        assert!(r.error_id().starts_with("model.user.is_valid.pwd"), "{what}: {}", r.text());
    }
    let alice_pw2 = password(min + 3, "luns");
    secrets.add(&alice_pw2);
    let r = api.call("PUT", &format!("/api/v4/users/{alice_id}/password"), Some(&alice), Some(&json!({"current_password": alice_pw, "new_password": alice_pw2})));
    assert_eq!(r.code, 200, "a compliant password change: {}", r.text());
    let (r, token) = api.login("e2e-alice", &alice_pw2);
    alice = token.unwrap_or_else(|| panic!("alice's login with her new password: {} {}", r.code, r.text()));
    secrets.add(&alice);
    let (r, old) = api.login("e2e-alice", &alice_pw);
    assert!(old.is_none() && r.code == 401, "the old password still signs in: {}", r.code);

    let team_name = format!("e2e-{}", random_hex(4));
    let r = api.call("POST", "/api/v4/teams", Some(&admin_token), Some(&json!({"name": team_name, "display_name": "E2E proof", "type": "I"})));
    assert_eq!(r.code, 201, "team: {}", r.text());
    let team_id = r.json()["id"].as_str().unwrap().to_string();
    let r = api.call("POST", &format!("/api/v4/teams/{team_id}/members"), Some(&admin_token), Some(&json!({"team_id": team_id, "user_id": alice_id})));
    assert_eq!(r.code, 201, "alice joins the team: {}", r.text());
    let r = api.call("POST", "/api/v4/channels", Some(&alice), Some(&json!({"team_id": team_id, "name": "proof", "display_name": "Proof", "type": "O"})));
    assert_eq!(r.code, 201, "alice's channel: {}", r.text());
    let channel_id = r.json()["id"].as_str().unwrap().to_string();

    let upload = d.join("evidence-attachment.bin");
    let mut content = format!("e2e-attachment-{}\n", random_hex(8)).into_bytes();
    content.extend(random_bytes(200 * 1024));
    fs::write(&upload, &content).unwrap();
    let sent_sha = sha256_hex(&content);
    let r = api.upload(&alice, &channel_id, &upload);
    assert_eq!(r.code, 201, "upload: {}", r.text());
    let info = r.json()["file_infos"][0].clone();
    let file_id = info["id"].as_str().unwrap().to_string();
    assert_eq!(info["size"].as_u64(), Some(content.len() as u64));
    let message = format!("e2e post {} through the hardened proxy", random_hex(6));
    let r = api.call("POST", "/api/v4/posts", Some(&alice), Some(&json!({"channel_id": channel_id, "message": message, "file_ids": [file_id]})));
    assert_eq!(r.code, 201, "post: {}", r.text());
    let post_id = r.json()["id"].as_str().unwrap().to_string();
    let r = api.call("GET", &format!("/api/v4/channels/{channel_id}/posts"), Some(&admin_token), None);
    assert_eq!(r.code, 200);
    let posts = r.json();
    assert_eq!(posts["posts"][&post_id]["message"].as_str(), Some(message.as_str()), "the post read back by another user");
    assert_eq!(posts["posts"][&post_id]["file_ids"], json!([file_id]));

    // The bytes: on disk under the file store exactly once, and downloaded back.
    let on_disk: Vec<PathBuf> = tree_hashes(&store).into_iter().filter(|(_, h)| *h == sent_sha).map(|(p, _)| p).collect();
    assert_eq!(on_disk.len(), 1, "the upload is not in {} as sent (or is there twice): {on_disk:?}", store.display());
    assert!(on_disk[0].to_string_lossy().contains(&file_id) && on_disk[0].ends_with("evidence-attachment.bin"), "{}", on_disk[0].display());
    let r = api.call("GET", &format!("/api/v4/files/{file_id}"), Some(&alice), None);
    assert_eq!(r.code, 200, "download: {}", r.text());
    assert_eq!(sha256_hex(&r.body), sent_sha, "the download differs from the upload");
    assert_eq!(r.body, content);
    let r = api.call("GET", &format!("/api/v4/files/{file_id}"), None, None);
    assert_eq!(r.code, 401, "the file is served without a session");
    lap("alice: login, password change, team, channel, post, upload, on disk, download");

    // Lockout: MaximumLoginAttempts wrong passwords, then the right one is refused.
    let carol_pw = password(min + 1, "luns");
    secrets.add(&carol_pw);
    let r = create("e2e-carol", &carol_pw);
    assert_eq!(r.code, 201, "{}", r.text());
    let carol_id = r.json()["id"].as_str().unwrap().to_string();
    let (r, ok) = api.login("e2e-carol", &carol_pw);
    assert!(ok.is_some(), "carol's first login (the control): {} {}", r.code, r.text());
    for i in 0..max_attempts {
        let (r, t) = api.login("e2e-carol", &password(min + 2, "luns"));
        assert!(t.is_none() && r.code == 401, "wrong password {}: {} {}", i + 1, r.code, r.text());
        assert_ne!(r.error_id(), "api.user.check_user_login_attempts.too_many.app_error", "locked before {max_attempts} failures ({})", i + 1);
    }
    let (r, t) = api.login("e2e-carol", &carol_pw);
    assert!(t.is_none() && r.code == 401, "the right password after {max_attempts} wrong ones signed in: {}", r.code);
    assert_eq!(r.error_id(), "api.user.check_user_login_attempts.too_many.app_error", "{}", r.text());
    let failed = pg.psql("mattermost", &format!("SELECT failedattempts FROM users WHERE id = '{carol_id}'"));
    assert_eq!(failed.trim(), max_attempts.to_string(), "the server's count of failed attempts");
    // Another account is not affected.
    let (r, t) = api.login("e2e-admin@example.com", &admin_pw);
    let t = t.unwrap_or_else(|| panic!("the lockout spilled over to another account: {}", r.code));
    secrets.add(&t);
    let me = api.call("GET", "/api/v4/users/me", Some(&t), None).json();
    assert_eq!(me["id"].as_str(), Some(admin_id.as_str()), "the administrator made on the local socket signs in through the proxy");
    lap("lockout");

    // Every server session to the database is TLS; the application role is not a superuser.
    let tls = pg.psql("postgres", "SELECT count(*), coalesce(bool_and(ssl), false) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'mmuser'");
    let (count, all_ssl) = tls.trim().split_once('|').unwrap();
    assert!(count.parse::<u32>().unwrap_or(0) > 0 && all_ssl == "t", "the server's database sessions: {tls}");
    assert_eq!(pg.psql("postgres", "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'mmuser'").trim(), "f|f|f");

    server.stop();
    drop(nginx);
    // Canary: no secret in what the servers printed, logged or wrote back.
    for f in [d.join("server-bootstrap.out"), d.join("server.out")] {
        secrets.assert_absent(&f.display().to_string(), &fs::read_to_string(&f).unwrap_or_default());
    }
    let logs = texts_under(&var_log);
    assert!(logs.iter().any(|(p, _)| p.ends_with("mattermost.log")) && logs.iter().any(|(p, _)| p.ends_with("audit.log")), "the server's log and audit log under /var/log/mattermost: {:?}", logs.iter().map(|(p, _)| p).collect::<Vec<_>>());
    let audit = &logs.iter().find(|(p, _)| p.ends_with("audit.log")).unwrap().1;
    assert!(audit.contains("login") && (audit.contains("e2e-carol") || audit.contains(&carol_id)), "the audit log does not record carol's logins");
    for (p, text) in logs.iter().chain(texts_under(&d.join("nginx")).iter()) {
        secrets.assert_absent(&p.display().to_string(), text);
    }
    secrets.assert_absent("config.json written back", &fs::read_to_string(&config).unwrap());
    secrets.assert_absent("the PostgreSQL log", &pg.server_log());
    pg.stop();
    eprintln!("[e2e] {E2E}: {:.1}s in all", started.elapsed().as_secs_f64());
}

/// scripts/stack-up.sh in a namespace of its own: up, a ping through the
/// proxy it prints, SIGINT, and nothing left behind.
fn stack_up_script_starts_serves_and_stops_cleanly() {
    let env = match Env::detect(true) {
        Ok(e) => e,
        Err((prereq, why)) => return common::skip_missing(prereq, STACK, &why),
    };
    if !common::on_path("python3") || !common::on_path("ss") {
        return common::skip_missing("mattermost", STACK, "python3 or ss (iproute2) is not installed");
    }
    let started = Instant::now();
    let ns = Netns::new();
    let log_dir = tempfile::Builder::new().prefix("bm-stack-test-").tempdir().unwrap();
    let stdout_log = log_dir.path().join("stack.out");
    let mut child = ns
        .cmd("bash")
        .arg(common::root().join("scripts/stack-up.sh"))
        .env("SM_HELPER", &env.helper)
        .env("SECURE_MATTERMOST_SERVER_BIN", &env.mattermost)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(log_dir.path().join("stack.err")).unwrap())
        .spawn()
        .unwrap();
    let script_pid = child.id();
    // A failed assertion before the SIGINT below still stops the stack.
    let _stop = StopOnPanic(script_pid);
    // Its lines, as they come (a reader thread, so a silent script cannot hang the test).
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let copy = stdout_log.clone();
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in reader.lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = fs::write(&copy, &all);
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let (mut url, mut ca, mut dir) = (None::<String>, None::<PathBuf>, None::<PathBuf>);
    let deadline = Instant::now() + Duration::from_secs(240);
    while url.is_none() || ca.is_none() || dir.is_none() || !seen.contains("Ctrl-C") {
        let line = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(l) => l,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("stack-up.sh exited with {status} before it was up:\n{seen}\n{}", fs::read_to_string(log_dir.path().join("stack.err")).unwrap_or_default());
                }
                assert!(Instant::now() < deadline, "stack-up.sh was not up within 240 s:\n{seen}");
                continue;
            }
            Err(_) => panic!("stack-up.sh closed its output before it was up:\n{seen}\n{}", fs::read_to_string(log_dir.path().join("stack.err")).unwrap_or_default()),
        };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(v) = line.strip_prefix("URL: ") {
            url = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("CA: ") {
            ca = Some(PathBuf::from(v.trim()));
        } else if let Some(v) = line.strip_prefix("Directory: ") {
            dir = Some(PathBuf::from(v.trim()));
        }
    }
    let (url, ca, dir) = (url.unwrap(), ca.unwrap(), dir.unwrap());
    eprintln!("[stack] up after {:.1}s at {url}", started.elapsed().as_secs_f64());
    // The outcome table is printed, with the rendered summary line.
    assert!(
        seen.contains("OUTCOME") && seen.lines().any(|l| l.contains(" rules: ") && l.contains(" 0 failed")) && seen.lines().any(|l| l.starts_with("WAIVED") && l.contains("sso-only-sign-in")),
        "no outcome table:\n{seen}"
    );

    // A ping through the proxy it prints, the CA pinned.
    let host = url.trim_start_matches("https://").trim_end_matches('/').to_string();
    let o = ns.cmd("curl").args(["-sS", "--max-time", "10", "--noproxy", "*", "--resolve", &format!("{host}:443:127.0.0.1"), "--cacert"]).arg(&ca).arg(format!("{}/api/v4/system/ping", url.trim_end_matches('/'))).output().unwrap();
    assert!(o.status.success(), "ping through the stack: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap_or_default()["status"], "OK");
    let ports = [443u16, 80, MM_PORT];
    for p in ports {
        assert!(ns.listening(p), "nothing listens on {p} while the stack is up");
    }
    // Its processes: the script's descendants and whatever names its directory (the daemonised PostgreSQL).
    let procs = stack_processes(script_pid, &dir);
    let names: Vec<String> = procs.iter().map(|(_, _, c)| c.split_whitespace().next().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string()).collect();
    for want in ["postgres", "mattermost", "nginx"] {
        assert!(names.iter().any(|n| n == want), "no {want} among the stack's processes: {names:?}");
    }
    // The server runs as the unprivileged mattermost account, never root:
    // real and effective uid of every process whose executable is the server.
    let id = Command::new("id").args(["-u", "mattermost"]).output().unwrap();
    assert!(id.status.success(), "no mattermost account after stack-up.sh: {}", String::from_utf8_lossy(&id.stderr));
    let mm_uid: u32 = String::from_utf8_lossy(&id.stdout).trim().parse().expect("id -u mattermost prints a uid");
    assert_ne!(mm_uid, 0, "the mattermost account is root");
    let servers: Vec<(u32, Vec<u32>)> = procs
        .iter()
        .filter(|(pid, _, cmd)| {
            let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            exe.file_name().is_some_and(|n| n == "mattermost") || cmd.split_whitespace().next().is_some_and(|a| a.rsplit('/').next() == Some("mattermost"))
        })
        .map(|(pid, _, _)| {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let uids = status.lines().find_map(|l| l.strip_prefix("Uid:")).map(|v| v.split_whitespace().filter_map(|u| u.parse().ok()).collect()).unwrap_or_default();
            (*pid, uids)
        })
        .collect();
    assert!(!servers.is_empty(), "no Mattermost server process among the stack's: {procs:?}");
    for (pid, uids) in &servers {
        assert!(uids.len() == 4 && uids[0] == mm_uid && uids[1] == mm_uid, "the server (pid {pid}) runs with real/effective/saved/fs uids {uids:?}, not the mattermost account's {mm_uid}");
    }
    eprintln!("[stack] the server runs as uid {mm_uid} (mattermost): pids {:?}", servers.iter().map(|(p, _)| p).collect::<Vec<_>>());
    let db_port: u16 = seen.lines().find_map(|l| l.strip_prefix("Database: 127.0.0.1:")).and_then(|p| p.trim().parse().ok()).expect("the script names its database port");
    assert!(ns.listening(db_port), "PostgreSQL does not listen on {db_port}");

    // Ctrl-C.
    let t = Instant::now();
    run_ok(Command::new("kill").arg("-INT").arg(script_pid.to_string()));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "stack-up.sh did not stop within 90 s of SIGINT");
        std::thread::sleep(Duration::from_millis(200));
    };
    let stopped = t.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let printed = fs::read_to_string(&stdout_log).unwrap_or_default();
    assert!(status.success(), "stack-up.sh after SIGINT: {status}\n{printed}\n{}", fs::read_to_string(log_dir.path().join("stack.err")).unwrap_or_default());
    // Survivors (given 5 s: a daemon reparented to init is reaped a moment
    // after its parent returns) are reported, then killed, so a failure
    // leaves nothing running.
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) && (procs.iter().any(|(p, s, _)| alive(*p, *s)) || !stack_processes(0, &dir).is_empty()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut survivors: Vec<String> = procs.iter().filter(|(p, s, _)| alive(*p, *s)).map(|(p, _, c)| format!("pid {p} ({c})")).collect();
    survivors.extend(stack_processes(0, &dir).iter().map(|(p, _, c)| format!("pid {p} ({c})")));
    for (pid, start, _) in procs.iter().chain(stack_processes(0, &dir).iter()) {
        if alive(*pid, *start) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
    }
    assert!(survivors.is_empty(), "survived the stop: {survivors:?}");
    for p in ports.iter().chain([&db_port]) {
        assert!(!ns.listening(*p), "port {p} is still in use after the stop");
    }
    assert!(!dir.exists(), "{} was not removed", dir.display());
    eprintln!("[stack] {} processes stopped {:.1}s after SIGINT; {STACK}: {:.1}s in all", procs.len(), stopped.as_secs_f64(), started.elapsed().as_secs_f64());
}

/// Sends SIGINT to stack-up.sh when the test panics, and gives it 60 s to
/// stop what it started.
struct StopOnPanic(u32);

impl Drop for StopOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let _ = Command::new("kill").arg("-INT").arg(self.0.to_string()).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) && fs::read_to_string(format!("/proc/{}/stat", self.0)).is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))) {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// (pid, start time, command line) of `root`'s descendants and of every
/// process whose command line names `dir`.
fn stack_processes(root_pid: u32, dir: &Path) -> Vec<(u32, u64, String)> {
    let mut all: Vec<(u32, u32, u64, String)> = vec![];
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else { continue };
        // The fields after the command name (which may hold spaces or parentheses).
        let rest: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let (Some(ppid), Some(start)) = (rest.get(1).and_then(|p| p.parse().ok()), rest.get(19).and_then(|s| s.parse().ok())) else { continue };
        let cmd = String::from_utf8_lossy(&fs::read(e.path().join("cmdline")).unwrap_or_default()).replace('\0', " ");
        all.push((pid, ppid, start, cmd));
    }
    let needle = dir.display().to_string();
    let mut keep: Vec<u32> = all.iter().filter(|(p, _, _, c)| *p == root_pid || (c.contains(&needle) && *p != std::process::id())).map(|(p, ..)| *p).collect();
    loop {
        let more: Vec<u32> = all.iter().filter(|(p, pp, ..)| keep.contains(pp) && !keep.contains(p)).map(|(p, ..)| *p).collect();
        if more.is_empty() {
            break;
        }
        keep.extend(more);
    }
    all.into_iter().filter(|(p, ..)| keep.contains(p) && *p != root_pid).map(|(p, _, s, c)| (p, s, c)).collect()
}

/// Whether `pid` is still the process that started at `start` and has not
/// exited (a zombie has: it only waits for its parent to reap it).
fn alive(pid: u32, start: u64) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let rest: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    rest.first().is_some_and(|state| *state != "Z" && *state != "X") && rest.get(19).and_then(|v| v.parse::<u64>().ok()) == Some(start)
}

tests![real_site_through_the_proxy, stack_up_script_starts_serves_and_stops_cleanly];
