//! The host around the server: every rendered unit and timer under systemd's
//! own analyzer, and the commands the timers and the start-time check run,
//! driven directly (systemd is not PID 1 here): `health` against a small
//! HTTP server of ours and a dead port, the drift check's `verify` against a
//! TLS server in a network namespace of its own, the start-time `check`
//! against a declaration whose waiver has expired by the clock, and
//! `install --root` into a staging tree.
//!
//! Left untested without systemd as PID 1: timers firing on their calendar,
//! the sandbox and IPAddressAllow= being applied, DynamicUser= and
//! SupplementaryGroups= reading the installed declaration, LoadCredential=
//! filling %d, and the journal's fields (SYSLOG_IDENTIFIER, PRIORITY).

mod common;
use common::*;

use secure_mattermost::dates::Date;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 5] = ["mattermost.service", "mattermost-health.service", "mattermost-health.timer", "mattermost-drift.service", "mattermost-drift.timer"];

fn helper() -> String {
    assert_cmd::cargo::cargo_bin("secure-mattermost").display().to_string()
}

fn example() -> Value {
    load("examples/baremetal.json")
}

/// Renders `doc` into `out` with this helper as the units' helper.
fn render(doc: &Value, out: &Path, today: &str, extra: &[&str]) -> Run {
    let mut args = vec!["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", today, "--mattermost-bin", "/bin/true"];
    let h = helper();
    args.extend(["--helper-bin", h.as_str()]);
    args.extend(extra);
    run_stdin(&args, &doc.to_string())
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

/// The argv of every `key=` line of a unit (the words here are bare: no
/// quotes, escapes or specifiers but %d, which the caller replaces).
fn exec(unit: &str, key: &str) -> Vec<Vec<String>> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(|v| {
            assert!(!v.contains(['"', '\'', '\\', '$']), "not a bare command line: {v}");
            v.split_whitespace().map(str::to_string).collect()
        })
        .collect()
}

fn run_argv(argv: &[String]) -> Run {
    let o = Command::new(&argv[0]).args(&argv[1..]).output().expect("runs");
    let r = Run { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&o.stdout).into(), stderr: String::from_utf8_lossy(&o.stderr).into() };
    assert!(!r.stderr.contains("panicked at"), "{}", r.stderr);
    r
}

fn analyze(dir: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new("systemd-analyze").current_dir(dir).args(args).output().expect("systemd-analyze");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn have_systemd_analyze() -> bool {
    Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Every unit and timer the render writes (other helpers' too) verifies;
/// every service rates 2.0 or lower, the server's own 1.7 or lower; and the
/// threshold bites once the health unit's sandboxing is removed.
fn every_unit_and_timer_verifies_and_each_service_is_sandboxed() {
    if !have_systemd_analyze() {
        return skip_missing("systemd", "host_timers/units", "systemd-analyze not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = render(&example(), &out, TODAY, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut units: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".service") || n.ends_with(".timer"))
        .collect();
    units.sort();
    for u in UNITS {
        assert!(units.iter().any(|x| x == u), "{u} not rendered: {units:?}");
    }
    let args: Vec<String> = units.iter().map(|u| format!("./{u}")).collect();
    let mut verify = vec!["verify"];
    verify.extend(args.iter().map(String::as_str));
    let (ok, text) = analyze(&out, &verify);
    assert!(ok && text.trim().is_empty(), "systemd-analyze verify {units:?}:\n{text}");
    for u in units.iter().filter(|u| u.ends_with(".service")) {
        let threshold = if u == "mattermost.service" { "--threshold=17" } else { "--threshold=20" };
        let (ok, text) = analyze(&out, &["security", "--offline=true", threshold, &format!("./{u}")]);
        let level = text.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_default().to_string();
        eprintln!("{level}");
        assert!(ok, "{u}: exposure above {threshold}:\n{level}");
    }
    // The timers' schedules as systemd reads them.
    let timer = read(&out, "mattermost-drift.timer");
    assert!(timer.lines().any(|l| l == "OnCalendar=hourly"), "{timer}");
    assert!(read(&out, "mattermost-health.timer").lines().any(|l| l == "OnCalendar=minutely"));
    // Without its sandboxing the health unit fails the same threshold.
    let bare: String = read(&out, "mattermost-health.service")
        .lines()
        .filter(|l| !["Protect", "Restrict", "Private", "SystemCall", "Capability", "DynamicUser", "IPAddress", "NoNewPrivileges", "MemoryDeny", "LockPersonality", "Remove", "ProcSubset", "DevicePolicy", "UMask", "KeyringMode"].iter().any(|p| l.starts_with(p)))
        .map(|l| format!("{l}\n"))
        .collect();
    let weak = dir.path().join("weak");
    std::fs::create_dir(&weak).unwrap();
    std::fs::write(weak.join("mattermost-health.service"), bare).unwrap();
    let (ok, text) = analyze(&weak, &["security", "--offline=true", "--threshold=20", "./mattermost-health.service"]);
    assert!(!ok, "an unsandboxed health unit passed the threshold:\n{text}");
}

/// A tiny HTTP server answering each connection with the next of `answers`;
/// returns its port and the request lines it saw (when it is done).
fn serve(answers: Vec<Vec<u8>>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut seen = vec![];
        for answer in answers {
            let Ok((mut s, _)) = listener.accept() else { break };
            s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            seen.push(String::from_utf8_lossy(&req).lines().next().unwrap_or_default().to_string());
            let _ = s.write_all(&answer);
        }
        seen
    });
    (port, handle)
}

fn answer(code: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.0 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// The health unit's command, as rendered from the effective listener,
/// against answers like the server's ping and a port nothing listens on.
fn health_check_answers_ok_only_for_a_healthy_ping() {
    let dir = tempfile::tempdir().unwrap();
    // The default: the hardened ServiceSettings.ListenAddress.
    let out = dir.path().join("default");
    let r = render(&example(), &out, TODAY, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let unit = read(&out, "mattermost-health.service");
    let argv = &exec(&unit, "ExecStart")[0];
    assert_eq!(argv[1..], ["health", "--address", "127.0.0.1:8065", "--timeout", "5"], "{unit}");
    assert!(unit.contains("IPAddressAllow=127.0.0.1\n") && unit.contains("IPAddressDeny=any\n"), "{unit}");

    let healthy = answer("200 OK", r#"{"status":"OK","database_status":"OK","filestore_status":"OK","ActiveSearchBackend":"database"}"#);
    let sick = answer("500 Internal Server Error", r#"{"status":"UNHEALTHY","database_status":"UNHEALTHY","filestore_status":"OK"}"#);
    let lying = answer("200 OK", r#"{"status":"UNHEALTHY"}"#);
    let garbage = b"SSH-2.0-OpenSSH_9.2\r\n".to_vec();
    let (port, server) = serve(vec![healthy, sick, lying, garbage]);
    let doc = patched(example(), &json!({"settings": {"ServiceSettings": {"ListenAddress": format!("127.0.0.1:{port}")}}}));
    let out = dir.path().join("served");
    let r = render(&doc, &out, TODAY, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let argv = exec(&read(&out, "mattermost-health.service"), "ExecStart").remove(0);
    assert_eq!(argv[..4], [helper(), "health".into(), "--address".into(), format!("127.0.0.1:{port}")]);

    let r = run_argv(&argv);
    assert_eq!(r.code, 0, "healthy ping: {} {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("mattermost health: OK") && r.stdout.contains("database OK"), "{}", r.stdout);
    let r = run_argv(&argv);
    assert_eq!(r.code, 1, "a 500 UNHEALTHY ping passed: {}", r.stdout);
    assert!(r.stderr.contains("FAILED") && r.stderr.contains("HTTP 500") && r.stderr.contains("database UNHEALTHY"), "{}", r.stderr);
    let r = run_argv(&argv);
    assert_eq!(r.code, 1, "a 200 with status UNHEALTHY passed: {}", r.stdout);
    // In the journal (JOURNAL_STREAM set by systemd) a failure is logged at priority err.
    let o = Command::new(&argv[0]).args(&argv[1..]).env("JOURNAL_STREAM", "8:1234").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("<3>mattermost health: FAILED"), "{}", String::from_utf8_lossy(&o.stderr));
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 4);
    for line in &seen {
        assert_eq!(line, "GET /api/v4/system/ping?get_server_status=true HTTP/1.0");
    }

    // Nothing listening: no answer, exit 2.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let doc = patched(example(), &json!({"settings": {"ServiceSettings": {"ListenAddress": format!("127.0.0.1:{port}")}}}));
    let out = dir.path().join("dead");
    assert_eq!(render(&doc, &out, TODAY, &[]).code, 0);
    let argv = exec(&read(&out, "mattermost-health.service"), "ExecStart").remove(0);
    let r = run_argv(&argv);
    assert_eq!(r.code, 2, "a dead port: {} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no answer") && r.stderr.contains("refused"), "{}", r.stderr);
}

/// A waiver with an expiry date, for allowGuestUsers.
fn waived(expires: Date, install_dir: &Path) -> Value {
    patched(
        example(),
        &json!({
            "allowGuestUsers": true,
            "justification": {"allowGuestUsers": {
                "reason": "Contractors of the joint exercise need scoped guest access",
                "approvedBy": "ISSO J. Doe", "expires": expires.to_string(), "ticket": "POAM-12"}},
            "baremetal": {"installDir": install_dir.display().to_string()}
        }),
    )
}

/// The unit's first ExecStartPre re-checks the installed declaration on the
/// clock's date: it fails once the waiver has expired, though the build
/// (an earlier policy date) passed, and passes while the waiver holds.
fn start_recheck_refuses_an_expired_waiver() {
    let today = Date::today_utc();
    for (expires, rendered_on, want) in [(today.plus_days(-1), today.plus_days(-2), 1), (today.plus_days(30), today, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let install_dir = dir.path().join("installed");
        let out = dir.path().join("out");
        let r = render(&waived(expires, &install_dir), &out, &rendered_on.to_string(), &[]);
        assert_eq!(r.code, 0, "the build on {rendered_on} (waiver until {expires}) must pass: {}", r.stderr);
        let unit = read(&out, "mattermost.service");
        let pre = exec(&unit, "ExecStartPre");
        let declaration = format!("{}/declaration.json", install_dir.display());
        assert_eq!(pre[0], [helper(), "check".into(), "--input".into(), declaration.clone()], "{unit}");
        assert!(!unit.contains("--today"), "the start-time check must use the clock's date:\n{unit}");
        // Installed where the unit looks.
        std::fs::create_dir_all(&install_dir).unwrap();
        std::fs::copy(out.join("declaration.json"), &declaration).unwrap();
        let r = run_argv(&pre[0]);
        assert_eq!(r.code, want, "waiver until {expires}, started on {today}:\n{}\n{}", r.stdout, r.stderr);
        if want == 1 {
            assert!(r.stderr.contains(&format!("justification.allowGuestUsers expired on {expires}")), "{}", r.stderr);
        } else {
            assert!(r.stderr.contains("waived by justification.allowGuestUsers"), "{}", r.stderr);
        }
    }
}

/// The drift timer's service runs the real `verify` with the rendered
/// arguments against a TLS server (openssl s_server on 443 in a network
/// namespace of its own): the chain verifies against driftCheckCaFile and not
/// against the system bundle, the installed declaration is the expectation,
/// the token reaches verify as a credential, and what differs fails the unit.
fn drift_check_runs_verify_with_the_rendered_arguments() {
    let test = "host_timers/drift";
    let works = |c: &mut Command| c.output().is_ok_and(|o| o.status.success());
    if !works(Command::new("openssl").arg("version")) {
        return skip_missing("openssl", test, "openssl not installed");
    }
    if !works(Command::new("unshare").args(["-n", "true"])) {
        return skip_missing("netns", test, "unshare -n does not work here (needs root and network namespaces)");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ossl = |args: &[&str]| assert!(works(Command::new("openssl").current_dir(d).args(args)), "openssl {args:?}");
    ossl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Drift Test CA", "-keyout", "ca.key", "-out", "ca.crt"]);
    ossl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=chat.example.com", "-keyout", "site.key", "-out", "site.csr"]);
    std::fs::write(d.join("ext"), "subjectAltName=DNS:chat.example.com\n").unwrap();
    ossl(&["x509", "-req", "-in", "site.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "site.crt"]);
    let token = d.join("token");
    std::fs::write(&token, "not-a-real-session-token\n").unwrap();

    let install_dir = d.join("etc");
    let ca = d.join("ca.crt").display().to_string();
    let drift = |extra: Value, name: &str| -> (Vec<String>, String) {
        let mut patch = json!({"baremetal": {"installDir": install_dir.display().to_string(), "driftCheckSchedule": "*-*-* 04:15:00"}});
        merge(&mut patch, &extra);
        let out = d.join(name);
        let r = render(&patched(example(), &patch), &out, TODAY, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::create_dir_all(&install_dir).unwrap();
        std::fs::copy(out.join("declaration.json"), install_dir.join("declaration.json")).unwrap();
        assert!(read(&out, "mattermost-drift.timer").contains("\nOnCalendar=*-*-* 04:15:00\n"));
        let unit = read(&out, "mattermost-drift.service");
        (exec(&unit, "ExecStart").remove(0), unit)
    };
    // Run the unit's command in a namespace where s_server answers on 443.
    let script = "ip link set lo up && openssl s_server -accept 443 -cert site.crt -key site.key -www -quiet >/dev/null 2>&1 & srv=$!\n\
        trap 'kill $srv' EXIT\n\
        for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null && break; sleep 0.1; done\n\
        \"$@\"";
    let in_namespace = |argv: &[String]| -> (i32, Value, String) {
        let mut full = argv.to_vec();
        full.extend(["--address", "127.0.0.1", "--timeout", "5", "--format", "json"].map(String::from));
        let o = Command::new("unshare").current_dir(d).args(["-n", "bash", "-c", script, "bash"]).args(&full).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!stderr.contains("panicked at"), "{stderr}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stderr}"));
        (o.status.code().unwrap_or(-1), v, stderr)
    };
    let outcome = |v: &Value, id: &str| v["checks"].as_array().and_then(|c| c.iter().find(|c| c["id"] == id)).map(|c| c["outcome"].as_str().unwrap_or_default().to_string()).unwrap_or_else(|| panic!("no check {id}: {v}"));

    // The site's CA named in the declaration.
    let (argv, unit) = drift(json!({"baremetal": {"driftCheckCaFile": ca}}), "own-ca");
    let decl = format!("{}/declaration.json", install_dir.display());
    assert_eq!(argv, [helper(), "verify".into(), "https://chat.example.com".into(), "--ca-file".into(), ca.clone(), "--input".into(), decl.clone()], "{unit}");
    assert!(unit.contains("\nSyslogIdentifier=mattermost-drift\n") && !unit.contains("LoadCredential"), "{unit}");
    let (code, v, stderr) = in_namespace(&argv);
    assert_eq!(outcome(&v, "certificate-verifies"), "pass", "{v}");
    assert_eq!(outcome(&v, "declaration-matches-url"), "pass", "{v}");
    assert_eq!(outcome(&v, "server-config"), "not-applicable", "{v}");
    // s_server sends no HSTS and is no Mattermost: drift, and the unit fails.
    assert_eq!(outcome(&v, "hsts"), "fail", "{v}");
    assert_eq!(code, 1, "drift must fail the unit: {stderr}");

    // The default, the system bundle, does not hold the test CA.
    let (argv, _) = drift(json!({}), "system-ca");
    assert_eq!(argv[4], "/etc/ssl/certs/ca-certificates.crt");
    let (_, v, _) = in_namespace(&argv);
    assert_eq!(outcome(&v, "certificate-verifies"), "fail", "{v}");

    // The token file becomes a credential the command reads from %d.
    let (argv, unit) = drift(json!({"baremetal": {"driftCheckCaFile": ca, "driftCheckTokenFile": token.display().to_string()}}), "with-token");
    assert!(unit.contains(&format!("\nLoadCredential=drift-token:{}\n", token.display())), "{unit}");
    assert_eq!(argv[7..], ["--token-file", "%d/drift-token"]);
    let creds = d.join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::copy(&token, creds.join("drift-token")).unwrap();
    let argv: Vec<String> = argv.iter().map(|a| a.replace("%d", &creds.display().to_string())).collect();
    let (_, v, _) = in_namespace(&argv);
    assert_ne!(outcome(&v, "server-config"), "not-applicable", "the token did not reach verify: {v}");
}

/// declaration.json is the document the build was checked on: it judges the
/// same, and holds references only.
fn declaration_is_the_checked_document_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let canary = "CANARY-4f1e-never-in-an-artifact";
    let secret = dir.path().join("db-password");
    std::fs::write(&secret, canary).unwrap();
    let doc = patched(example(), &json!({"database": {"passwordFile": secret.display().to_string()}}));
    let out = dir.path().join("out");
    let r = render(&doc, &out, TODAY, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in files_under(&out) {
        assert!(!std::fs::read_to_string(&f).unwrap_or_default().contains(canary), "{} holds the secret", f.display());
    }
    let decl: Value = serde_json::from_str(&read(&out, "declaration.json")).unwrap();
    assert_eq!(decl["secureMattermost"]["database"]["passwordFile"], json!(secret.display().to_string()));
    assert_eq!(decl["secureMattermost"], doc["secureMattermost"], "declaration.json is not the rendered declaration");
    let r = run(&["check", "--input", out.join("declaration.json").to_str().unwrap(), "--today", TODAY, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let outcomes: Value = serde_json::from_str(&read(&out, "outcomes.json")).unwrap();
    let again: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(again["rules"], outcomes["rules"]);
}

fn staging_root(dir: &Path, accounts: &[(&str, u32)]) -> PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc/postgresql/16/main")).unwrap();
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    let mut group = String::from("root:x:0:\n");
    for (name, id) in accounts {
        passwd.push_str(&format!("{name}:x:{id}:{id}::/var/lib/{name}:/usr/sbin/nologin\n"));
        group.push_str(&format!("{name}:x:{id}:\n"));
    }
    std::fs::write(root.join("etc/passwd"), passwd).unwrap();
    std::fs::write(root.join("etc/group"), group).unwrap();
    root
}

fn install(from: &Path, root: &Path) -> Run {
    run(&["install", "--from", from.to_str().unwrap(), "--root", root.to_str().unwrap()])
}

/// `install --root` puts every file where the units and nginx look, with
/// its owner and mode; again it changes nothing; it repairs what changed;
/// it refuses symlinked targets, unknown files, a missing account and a
/// render for another directory, each before writing anything.
fn install_places_every_file_with_owner_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(render(&example(), &out, TODAY, &[]).code, 0);
    let (mm, pg) = (4242u32, 4243u32);
    let root = staging_root(dir.path(), &[("mattermost", mm), ("postgres", pg)]);
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want: &[(&str, &str, u32, u32, u32)] = &[
        ("config.json", "/etc/secure-mattermost/config.json", 0o640, 0, mm),
        ("secret-env.json", "/etc/secure-mattermost/secret-env.json", 0o640, 0, mm),
        ("declaration.json", "/etc/secure-mattermost/declaration.json", 0o640, 0, mm),
        ("mattermost.service", "/etc/systemd/system/mattermost.service", 0o644, 0, 0),
        ("mattermost-health.service", "/etc/systemd/system/mattermost-health.service", 0o644, 0, 0),
        ("mattermost-health.timer", "/etc/systemd/system/mattermost-health.timer", 0o644, 0, 0),
        ("mattermost-drift.service", "/etc/systemd/system/mattermost-drift.service", 0o644, 0, 0),
        ("mattermost-drift.timer", "/etc/systemd/system/mattermost-drift.timer", 0o644, 0, 0),
        ("nginx.conf", "/etc/nginx/sites-available/mattermost.conf", 0o644, 0, 0),
        ("outcomes.json", "/etc/secure-mattermost/evidence/outcomes.json", 0o644, 0, 0),
    ];
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    for (src, dst, mode, uid, gid) in want {
        let m = std::fs::symlink_metadata(at(dst)).unwrap_or_else(|e| panic!("{dst}: {e}\n{}", r.stdout));
        assert!(m.is_file(), "{dst}");
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (*mode, *uid, *gid), "{dst}");
        assert_eq!(std::fs::read(at(dst)).unwrap(), std::fs::read(out.join(src)).unwrap(), "{dst}");
        assert!(r.stdout.contains(&format!("installed {dst} ")), "{}", r.stdout);
    }
    // Other helpers' files are placed too (PostgreSQL's where a cluster is), none is left out.
    let placed = r.stdout.lines().count();
    let rendered = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(placed, rendered + 3, "one line per file, the site link, the backup account and directory:\n{}", r.stdout);
    if out.join("pg_hba.conf").exists() {
        let m = std::fs::metadata(at("/etc/postgresql/16/main/pg_hba.conf")).unwrap();
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 0, pg));
    }
    assert_eq!(std::fs::read_link(at("/etc/nginx/sites-enabled/mattermost.conf")).unwrap(), Path::new("/etc/nginx/sites-available/mattermost.conf"));
    // The unit refers to the install directory, not to where it was rendered.
    let unit = std::fs::read_to_string(at("/etc/systemd/system/mattermost.service")).unwrap();
    assert!(unit.contains(" /etc/secure-mattermost/config.json ") && unit.contains("--spec /etc/secure-mattermost/secret-env.json "), "{unit}");
    assert!(!unit.contains(out.to_str().unwrap()), "{unit}");

    // Again: nothing changes, nothing is rewritten.
    let inode = std::fs::metadata(at("/etc/secure-mattermost/config.json")).unwrap().ino();
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.lines().all(|l| l.starts_with("unchanged") || l.starts_with("skipped")), "{}", r.stdout);
    assert_eq!(std::fs::metadata(at("/etc/secure-mattermost/config.json")).unwrap().ino(), inode);

    // Changed content and a loosened mode are repaired.
    std::fs::write(at("/etc/secure-mattermost/config.json"), "{}").unwrap();
    std::fs::set_permissions(at("/etc/secure-mattermost/secret-env.json"), std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("updated   /etc/secure-mattermost/config.json ") && r.stdout.contains("updated   /etc/secure-mattermost/secret-env.json "), "{}", r.stdout);
    assert_eq!(std::fs::read(at("/etc/secure-mattermost/config.json")).unwrap(), std::fs::read(out.join("config.json")).unwrap());
    assert_eq!(std::fs::metadata(at("/etc/secure-mattermost/secret-env.json")).unwrap().mode() & 0o7777, 0o640);

    // A symlinked target, or a symlinked directory on the way: refused, nothing written.
    std::fs::write(at("/etc/secure-mattermost/config.json"), "{}").unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::write(&elsewhere, "untouched").unwrap();
    std::fs::remove_file(at("/etc/systemd/system/mattermost.service")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, at("/etc/systemd/system/mattermost.service")).unwrap();
    let r = install(&out, &root);
    assert_eq!(r.code, 3, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("symbolic link") && r.stderr.contains("mattermost.service"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "untouched");
    assert_eq!(std::fs::read_to_string(at("/etc/secure-mattermost/config.json")).unwrap(), "{}", "a refusal still installed files");
    std::fs::remove_file(at("/etc/systemd/system/mattermost.service")).unwrap();
    std::fs::rename(at("/etc/nginx/sites-available"), dir.path().join("sites")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("sites"), at("/etc/nginx/sites-available")).unwrap();
    let r = install(&out, &root);
    assert_eq!(r.code, 3, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("sites-available") && r.stderr.contains("symbolic link"), "{}", r.stderr);

    // An unknown file, or no mattermost account: refused before anything is written.
    let odd = dir.path().join("odd");
    assert_eq!(render(&example(), &odd, TODAY, &[]).code, 0);
    std::fs::write(odd.join("notes.txt"), "?").unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let froot = staging_root(fresh.path(), &[("mattermost", mm), ("postgres", pg)]);
    let r = install(&odd, &froot);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("notes.txt"), "{}", r.stderr);
    assert!(!froot.join("etc/secure-mattermost").exists() && !froot.join("etc/systemd").exists());
    let fresh = tempfile::tempdir().unwrap();
    let froot = staging_root(fresh.path(), &[("postgres", pg)]);
    let r = install(&out, &froot);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no group `mattermost`") || r.stderr.contains("no user `mattermost`"), "{}", r.stderr);
    assert!(!froot.join("etc/secure-mattermost").exists());

    // Another installDir: the files go there and the units say so; a render
    // for a directory the declaration does not name is not installed.
    let custom = dir.path().join("custom");
    let doc = patched(example(), &json!({"baremetal": {"installDir": "/srv/mm/etc"}}));
    assert_eq!(render(&doc, &custom, TODAY, &[]).code, 0);
    let croot = staging_root(&dir.path().join("c"), &[("mattermost", mm), ("postgres", pg)]);
    let r = run(&["install", "--from", custom.to_str().unwrap(), "--root", croot.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["installDir"], "/srv/mm/etc");
    assert!(v["files"].as_array().unwrap().iter().any(|f| f["path"] == "/srv/mm/etc/declaration.json" && f["mode"] == "0640" && f["group"] == "mattermost"), "{v}");
    assert!(croot.join("srv/mm/etc/config.json").is_file());
    let unit = std::fs::read_to_string(croot.join("etc/systemd/system/mattermost.service")).unwrap();
    assert!(unit.contains("check --input /srv/mm/etc/declaration.json\n") && unit.contains("--spec /srv/mm/etc/secret-env.json "), "{unit}");
    assert!(std::fs::read_to_string(croot.join("etc/systemd/system/mattermost-drift.service")).unwrap().contains("--input /srv/mm/etc/declaration.json"));
    let elsewhere = dir.path().join("nixos-like");
    assert_eq!(render(&example(), &elsewhere, TODAY, &["--install-dir", "/nix/store/00000000000000000000000000000000-x/share/secure-mattermost"]).code, 0);
    assert!(read(&elsewhere, "mattermost.service").contains("--spec /nix/store/00000000000000000000000000000000-x/share/secure-mattermost/secret-env.json "));
    let r = install(&elsewhere, &staging_root(&dir.path().join("n"), &[("mattermost", mm)]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("another install directory"), "{}", r.stderr);
}

fn passwd_entry(root: &Path, name: &str) -> Option<Vec<String>> {
    std::fs::read_to_string(root.join("etc/passwd")).ok()?.lines().find(|l| l.starts_with(&format!("{name}:"))).map(|l| l.split(':').map(str::to_string).collect())
}

fn group_id(root: &Path, name: &str) -> Option<u32> {
    std::fs::read_to_string(root.join("etc/group")).ok()?.lines().find(|l| l.starts_with(&format!("{name}:"))).and_then(|l| l.split(':').nth(2)?.parse().ok())
}

/// With backups on, `install --root` creates the `mattermost-backup` system
/// account (useradd --prefix, in the staging tree's etc/passwd and
/// etc/group only) and the backup directory, 0700, owned by it; again it
/// changes nothing; it repairs a loosened directory and keeps its contents;
/// it uses an existing account (or group) as it is; a symlinked or
/// non-directory backup path is refused before anything is written; with
/// backups off it makes neither.
fn install_makes_the_backup_account_and_directory() {
    const TEST: &str = "host_timers/install_backup_account_and_directory";
    if !on_path("useradd") {
        return skip_missing("useradd", TEST, "useradd (Debian's passwd package) is not installed");
    }
    let host_passwd = std::fs::read("/etc/passwd").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(render(&example(), &out, TODAY, &[]).code, 0);
    assert!(out.join("mattermost-backup.service").exists(), "the example has backups on");
    let unit = read(&out, "mattermost-backup.service");
    let backups = example()["secureMattermost"]["baremetal"]["backups"]["directory"].as_str().unwrap().to_string();
    assert!(unit.contains("User=mattermost-backup\n") && unit.contains(&format!("ReadWritePaths=-{backups}\n")), "{unit}");
    let (mm, pg) = (4242u32, 4243u32);
    let root = staging_root(&dir.path().join("a"), &[("mattermost", mm), ("postgres", pg)]);
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let entry = passwd_entry(&root, "mattermost-backup").unwrap_or_else(|| panic!("no mattermost-backup in the staging etc/passwd:\n{}", r.stdout));
    let (uid, gid): (u32, u32) = (entry[2].parse().unwrap(), entry[3].parse().unwrap());
    assert!(uid > 0 && uid < 1000, "not a system account: uid {uid}");
    assert_eq!(Some(gid), group_id(&root, "mattermost-backup"), "its own group is its primary group");
    assert_eq!((entry[5].as_str(), entry[6].as_str()), ("/nonexistent", "/usr/sbin/nologin"), "no home, no login shell");
    assert!(!root.join("nonexistent").exists());
    assert_eq!(std::fs::read("/etc/passwd").unwrap(), host_passwd, "the host's /etc/passwd was changed");
    assert!(r.stdout.contains(&format!("created   account mattermost-backup (uid {uid}, gid {gid}")), "{}", r.stdout);
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    let m = std::fs::symlink_metadata(at(&backups)).unwrap();
    assert!(m.is_dir());
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o700, uid, gid), "{backups}");
    assert!(r.stdout.contains(&format!("installed {backups}/ (0700 mattermost-backup:mattermost-backup")), "{}", r.stdout);
    // The parents the install made are root's, 0755.
    let parent = std::fs::metadata(at(&backups).parent().unwrap()).unwrap();
    assert_eq!((parent.mode() & 0o7777, parent.uid()), (0o755, 0));

    // Again: nothing changes.
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("unchanged account mattermost-backup") && r.stdout.contains(&format!("unchanged {backups}/")), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(root.join("etc/passwd")).unwrap().matches("mattermost-backup:").count(), 1);

    // Loosened and given away: repaired, the backups in it kept.
    std::fs::write(at(&backups).join("20261122T023000Z"), "a set").unwrap();
    std::fs::set_permissions(at(&backups), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(at(&backups), Some(mm), Some(mm)).unwrap();
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("updated   {backups}/")), "{}", r.stdout);
    let m = std::fs::metadata(at(&backups)).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o700, uid, gid));
    assert_eq!(std::fs::read_to_string(at(&backups).join("20261122T023000Z")).unwrap(), "a set");

    // An existing account is used as it is; an existing group becomes the new user's.
    let root = staging_root(&dir.path().join("b"), &[("mattermost", mm), ("postgres", pg), ("mattermost-backup", 4321)]);
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("unchanged account mattermost-backup (uid 4321, gid 4321"), "{}", r.stdout);
    let m = std::fs::metadata(root.join(backups.trim_start_matches('/'))).unwrap();
    assert_eq!((m.uid(), m.gid()), (4321, 4321));
    let root = staging_root(&dir.path().join("c"), &[("mattermost", mm), ("postgres", pg)]);
    std::fs::OpenOptions::new().append(true).open(root.join("etc/group")).unwrap().write_all(b"mattermost-backup:x:4555:\n").unwrap();
    let r = install(&out, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(passwd_entry(&root, "mattermost-backup").unwrap()[3], "4555", "the existing group is the new user's");

    // A symbolic link or a file where the directory goes: refused, nothing written.
    for (what, make) in [("symlink", true), ("file", false)] {
        let root = staging_root(&dir.path().join(format!("bad-{what}")), &[("mattermost", mm), ("postgres", pg)]);
        let p = root.join(backups.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        if make {
            std::os::unix::fs::symlink(dir.path(), &p).unwrap();
        } else {
            std::fs::write(&p, "").unwrap();
        }
        let r = install(&out, &root);
        assert_eq!(r.code, 3, "a {what} at the backup directory: {} {}", r.stdout, r.stderr);
        assert!(r.stderr.contains(&backups) || r.stderr.contains("backup directory"), "{}", r.stderr);
        assert!(!root.join("etc/secure-mattermost").exists() && passwd_entry(&root, "mattermost-backup").is_none(), "a refusal still installed something");
    }

    // Another directory; and with backups off neither the account nor a directory.
    let custom = dir.path().join("custom");
    assert_eq!(render(&patched(example(), &json!({"baremetal": {"backups": {"directory": "/srv/backup/mm"}}})), &custom, TODAY, &[]).code, 0);
    let root = staging_root(&dir.path().join("d"), &[("mattermost", mm), ("postgres", pg)]);
    let r = install(&custom, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::metadata(root.join("srv/backup/mm")).unwrap().mode() & 0o7777, 0o700);
    let off = dir.path().join("off");
    assert_eq!(render(&patched(example(), &json!({"baremetal": {"backups": {"enable": false}}, "justification": {"backup-scheduled": {"reason": "Backups of this host are taken by the storage array's snapshots", "approvedBy": "ISSO J. Doe", "expires": "2027-06-30", "ticket": "POAM-77"}}})), &off, TODAY, &[]).code, 0);
    let root = staging_root(&dir.path().join("e"), &[("mattermost", mm), ("postgres", pg)]);
    assert!(!off.join("mattermost-backup.service").exists());
    let r = install(&off, &root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(passwd_entry(&root, "mattermost-backup").is_none() && !root.join(backups.trim_start_matches('/')).exists(), "{}", r.stdout);
    assert!(!r.stdout.contains("mattermost-backup"), "{}", r.stdout);
}

tests![
    every_unit_and_timer_verifies_and_each_service_is_sandboxed,
    health_check_answers_ok_only_for_a_healthy_ping,
    start_recheck_refuses_an_expired_waiver,
    drift_check_runs_verify_with_the_rendered_arguments,
    declaration_is_the_checked_document_without_secrets,
    install_places_every_file_with_owner_and_mode,
    install_makes_the_backup_account_and_directory,
];
