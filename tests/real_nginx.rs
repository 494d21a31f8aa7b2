//! The rendered nginx.conf under the real nginx on loopback: it loads, serves
//! TLS with HSTS, refuses a CBC suite OpenSSL would otherwise accept,
//! redirects HTTP, and overwrites a client-forged X-Real-IP.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Nginx(Child);
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(ok.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
}

fn curl(args: &[&str]) -> (bool, String) {
    let o = Command::new("curl").args(["-sS", "--max-time", "10"]).args(args).output().expect("curl");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn rendered_nginx_proxy_is_hardened() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| Path::new(p).exists());
    let tools = Command::new("curl").arg("--version").output().is_ok() && Command::new("openssl").arg("version").output().is_ok();
    let Some(nginx) = nginx.filter(|_| tools) else {
        skip_missing("nginx", "real_nginx", "nginx, curl or openssl not installed (scripts/test.sh installs them)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(d, &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=chat.example.com", "-keyout", "tls.key", "-out", "tls.csr"]);
    std::fs::write(d.join("ext.cnf"), "subjectAltName=DNS:chat.example.com\n").unwrap();
    openssl(d, &["x509", "-req", "-in", "tls.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "tls.pem"]);

    let doc = patched(
        load("examples/baremetal.json"),
        &serde_json::json!({"tls": {"certificateFile": d.join("tls.pem"), "keyFile": d.join("tls.key")}}),
    );
    let out = d.join("out");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rendered = std::fs::read_to_string(out.join("nginx.conf")).unwrap();

    // Backend standing in for Mattermost: records the request headers it got.
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let backend_port = backend.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(String::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for mut s in backend.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            seen2.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });

    // Only ports and the upstream address change; everything else is the artifact as rendered.
    let (https, http) = (free_port(), free_port());
    let site = rendered
        .replace("server 127.0.0.1:8065;", &format!("server 127.0.0.1:{backend_port};"))
        .replace("listen 443 ssl http2;", &format!("listen 127.0.0.1:{https} ssl http2;"))
        .replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
        .lines()
        .filter(|l| !l.contains("listen [::]"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(site, rendered);
    std::fs::write(d.join("site.conf"), site).unwrap();
    std::fs::write(
        d.join("nginx.conf"),
        format!(
            "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  include {p}/site.conf;\n}}\n",
            p = d.display()
        ),
    )
    .unwrap();
    std::fs::create_dir(d.join("tmp")).unwrap();
    let conf = d.join("nginx.conf");
    let t = Command::new(nginx).args(["-t", "-p"]).arg(d).arg("-c").arg(&conf).output().unwrap();
    assert!(t.status.success(), "nginx -t: {}", String::from_utf8_lossy(&t.stderr));
    let _guard = Nginx(Command::new(nginx).arg("-p").arg(d).arg("-c").arg(&conf).spawn().unwrap());

    let resolve = format!("chat.example.com:{https}:127.0.0.1");
    let url = format!("https://chat.example.com:{https}/api/v4/system/ping");
    let cacert = d.join("ca.pem");
    let mut ok = false;
    for _ in 0..50 {
        if curl(&["--resolve", &resolve, "--cacert", cacert.to_str().unwrap(), &url]).0 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "nginx did not come up: {}", std::fs::read_to_string(d.join("error.log")).unwrap_or_default());

    let (ok, body) = curl(&["-i", "--resolve", &resolve, "--cacert", cacert.to_str().unwrap(), "-H", "X-Real-IP: 203.0.113.66", &url]);
    assert!(ok && body.contains(" 200"), "{body}");
    assert!(body.to_lowercase().contains("strict-transport-security: max-age=63072000"), "{body}");
    let headers = seen.lock().unwrap().to_lowercase();
    assert!(headers.contains("x-real-ip: 127.0.0.1"), "{headers}");
    assert!(!headers.contains("203.0.113.66"), "client-forged address reached the application: {headers}");

    // A TLS 1.2 CBC suite: OpenSSL's defaults accept it, the rendered ssl_ciphers must not.
    let (cbc_ok, cbc) = curl(&["--resolve", &resolve, "--cacert", cacert.to_str().unwrap(), "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-SHA", &url]);
    assert!(!cbc_ok, "CBC suite accepted: {cbc}");
    let (gcm_ok, gcm) = curl(&["--resolve", &resolve, "--cacert", cacert.to_str().unwrap(), "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256", &url]);
    assert!(gcm_ok, "AEAD suite refused: {gcm}");

    // Redirects go to the configured name whatever Host the client sends (no open redirect).
    let (_, redirect) = curl(&["-i", "-H", "Host: evil.example", &format!("http://127.0.0.1:{http}/x")]);
    let redirect = redirect.to_lowercase();
    assert!(redirect.contains(" 301") && redirect.contains("location: https://chat.example.com/x"), "{redirect}");
}

tests![
    rendered_nginx_proxy_is_hardened,
];
