//! `secure-mattermost verify URL`: the live deployment judged from outside,
//! as a client sees it — any deployment, not only one rendered here.
//!
//! Checks, each a finding with what was expected and what was found:
//! the TLS versions offered and refused (1.0 and 1.1 attempted with a client
//! that allows them, so a refusal is the server's), the certificate chain
//! against `--ca-file` and the host name, HSTS and the security headers, the
//! HTTP→HTTPS redirect, the WebSocket upgrade through the proxy,
//! `/api/v4/system/ping`, the settings the unauthenticated client
//! configuration exposes (judged by the catalog, and compared with the
//! declaration when one is given) and, with `--token-file` (an admin session
//! token), the server's whole configuration judged rule by rule by the same
//! code path as `audit`, plus its drift from the declaration.
//!
//! Exit codes, as for every command: 0 every check passed (waived and
//! advisory findings allowed), 1 findings, 2 bad input or usage, or the URL
//! unreachable (no TCP connection to its port: nothing could be judged),
//! 3 I/O (an unreadable `--ca-file`, `--token-file` or declaration).
//! The token is read from its file, sent only over a connection whose
//! certificate verified, and never printed.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use openssl::ssl::{HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslStream, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use serde::Serialize;
use serde_json::{json, Value};

use crate::catalog::{Catalog, Predicate, Severity};
use crate::cli::Format;
use crate::commands::audit;
use crate::dates::Date;
use crate::error::{exit, Error};
use crate::evidence::diag::{bad_input, io};
use crate::output;
use crate::policy::{label, Outcome, Report, RuleResult};

#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 every check passed (waived and advisory allowed), 1 findings, 2 bad input or usage, or the URL unreachable, 3 an unreadable file.")]
pub struct VerifyUrlArgs {
    /// The deployment's address: https://HOST[:PORT][/PATH].
    #[arg(value_name = "URL")]
    pub url: String,
    /// PEM file of the CA certificate(s) the server's chain must verify against (the only trust anchors used).
    #[arg(long, value_name = "FILE")]
    pub ca_file: PathBuf,
    /// File holding an admin session token: the server's configuration is then judged rule by rule (never printed).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The deployment's evaluated declaration (JSON): its effective configuration and waivers are the expectation.
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub input: Option<PathBuf>,
    /// The deployment's declaration in Nix (built-in evaluator), instead of --input.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The policy date for the declaration's waivers (YYYY-MM-DD). Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Connect to this IP address instead of resolving the URL's host (like curl --resolve); names and certificates are still the URL's.
    #[arg(long, value_name = "IP")]
    pub address: Option<IpAddr>,
    /// The port of the plain-HTTP listener that must redirect to HTTPS.
    #[arg(long, value_name = "PORT", default_value_t = 80)]
    pub http_port: u16,
    /// Seconds to wait for a connection or an answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    /// The SARIF rule: the check's id, or the catalog rule a configuration finding judged.
    #[serde(skip)]
    rule: String,
    pub title: String,
    pub severity: Severity,
    pub outcome: Outcome,
    pub controls: Vec<String>,
    pub expected: String,
    pub found: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
}

/// The checks this command runs itself (catalog rules come on top).
struct Check {
    id: &'static str,
    title: &'static str,
    severity: Severity,
    controls: &'static [&'static str],
    fix: &'static str,
}

const CHECKS: &[Check] = &[
    Check { id: "reachable", title: "The URL accepts TCP connections", severity: Severity::High, controls: &["sc-8"], fix: "start the proxy, or check the address, port and firewall" },
    Check { id: "declaration-matches-url", title: "The declaration describes the host verified", severity: Severity::Medium, controls: &["cm-6"], fix: "give the declaration of this deployment, or verify its domain" },
    Check { id: "tls-1.0-refused", title: "TLS 1.0 is refused", severity: Severity::High, controls: &["sc-8.1", "sc-13"], fix: "ssl_protocols TLSv1.2 TLSv1.3" },
    Check { id: "tls-1.1-refused", title: "TLS 1.1 is refused", severity: Severity::High, controls: &["sc-8.1", "sc-13"], fix: "ssl_protocols TLSv1.2 TLSv1.3" },
    Check { id: "tls-1.2-accepted", title: "TLS 1.2 is accepted", severity: Severity::Medium, controls: &["sc-8.1", "sc-13"], fix: "ssl_protocols TLSv1.2 TLSv1.3" },
    Check { id: "tls-1.3-accepted", title: "TLS 1.3 is accepted", severity: Severity::Medium, controls: &["sc-8.1", "sc-13"], fix: "ssl_protocols TLSv1.2 TLSv1.3" },
    Check { id: "certificate-verifies", title: "The certificate chain verifies against the CA and names the host", severity: Severity::High, controls: &["sc-8.1", "sc-17", "ia-5.2"], fix: "serve the full chain of a certificate for this host name issued under the given CA" },
    Check { id: "hsts", title: "HSTS for at least a year, subdomains included", severity: Severity::Medium, controls: &["sc-8.1", "sc-23"], fix: "add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always" },
    Check { id: "header-content-type-options", title: "X-Content-Type-Options: nosniff", severity: Severity::Low, controls: &["si-10"], fix: "add_header X-Content-Type-Options nosniff always" },
    Check { id: "header-frame-options", title: "Framing by other sites is refused (X-Frame-Options or CSP frame-ancestors)", severity: Severity::Medium, controls: &["sc-23"], fix: "add_header X-Frame-Options SAMEORIGIN always" },
    Check { id: "header-referrer-policy", title: "Referrer-Policy keeps URLs on the site", severity: Severity::Low, controls: &["sc-8", "ac-4"], fix: "add_header Referrer-Policy same-origin always" },
    Check { id: "server-version-hidden", title: "The Server header names no version", severity: Severity::Low, controls: &["cm-7", "si-11"], fix: "server_tokens off" },
    Check { id: "http-redirects-to-https", title: "Plain HTTP is redirected to HTTPS on the same host", severity: Severity::Medium, controls: &["sc-8", "sc-8.1"], fix: "a port-80 server block with `return 301 https://DOMAIN$request_uri`" },
    Check { id: "websocket-upgrade", title: "The WebSocket upgrade passes the proxy both ways", severity: Severity::Medium, controls: &["sc-8", "sc-23"], fix: "proxy_set_header Upgrade $http_upgrade and Connection upgrade for /api/v4/websocket" },
    Check { id: "ping", title: "The server answers /api/v4/system/ping with status OK", severity: Severity::High, controls: &["si-4", "cp-10"], fix: "check the application behind the proxy" },
    Check { id: "client-config", title: "The unauthenticated client configuration can be read", severity: Severity::Medium, controls: &["cm-6"], fix: "check the application behind the proxy" },
    Check { id: "client-config-drift", title: "What the client configuration exposes matches the declaration", severity: Severity::Medium, controls: &["cm-3", "cm-6"], fix: "re-render and redeploy; find what changed the live settings" },
    Check { id: "server-config", title: "The server configuration can be read with the admin token", severity: Severity::High, controls: &["cm-6", "ca-7"], fix: "give a current session token of a system admin" },
    Check { id: "server-config-drift", title: "The server's rule-checked settings match the declaration", severity: Severity::Medium, controls: &["cm-3", "cm-6", "ca-7"], fix: "re-render and redeploy; find what changed the live settings" },
];

fn check(id: &str) -> &'static Check {
    CHECKS.iter().find(|c| c.id == id).unwrap_or(&CHECKS[0])
}

impl Finding {
    fn new(id: &str, outcome: Outcome, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        let c = check(id);
        Finding {
            id: id.to_string(),
            rule: id.to_string(),
            title: c.title.to_string(),
            severity: c.severity,
            outcome,
            controls: c.controls.iter().map(|x| label(x)).collect(),
            expected: expected.into(),
            found: clean(&found.into()),
            settings: vec![],
            waiver: None,
        }
    }
    fn pass(id: &str, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        Finding::new(id, Outcome::Pass, expected, found)
    }
    fn fail(id: &str, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        Finding::new(id, Outcome::Fail, expected, found)
    }
    fn judged(id: &str, ok: bool, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        Finding::new(id, if ok { Outcome::Pass } else { Outcome::Fail }, expected, found)
    }
    fn not_run(id: &str, expected: impl Into<String>, why: &str) -> Finding {
        Finding::new(id, Outcome::NotApplicable, expected, format!("not run: {why}"))
    }
}

/// Text from the server as a report may show it: no control characters
/// (a terminal must not be steered), at most 300 characters.
fn clean(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------- the target

struct Target {
    host: String,
    ip: Option<IpAddr>,
    port: u16,
    base: String,
    address: Option<IpAddr>,
    timeout: Duration,
    url: String,
}

fn parse_url(url: &str, address: Option<IpAddr>, timeout: Duration) -> Result<Target, Error> {
    let usage = |why: &str| Error::Usage { detail: format!("URL {}: {why}", clean(url)) };
    let rest = url.strip_prefix("https://").ok_or_else(|| usage("must start with https://"))?;
    if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(usage("give https://HOST[:PORT][/PATH], without user, query or fragment"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !crate::validate::host_port(authority) {
        return Err(usage("the host is not a host name or IP address (or the port is not 1-65535)"));
    }
    let (host, port) = match authority.rfind(']') {
        Some(i) => (authority[1..i].to_string(), authority[i + 1..].strip_prefix(':').map(str::to_string)),
        None => match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.to_string())),
            None => (authority.to_string(), None),
        },
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| usage("bad port"))?,
        None => 443,
    };
    let base = path.trim_end_matches('/');
    if !base.chars().all(|c| c.is_ascii_alphanumeric() || "-._~/%".contains(c)) {
        return Err(usage("the path may hold letters, digits and - . _ ~ / % only"));
    }
    Ok(Target {
        host: host.to_ascii_lowercase(),
        ip: host.parse().ok(),
        port,
        base: base.to_string(),
        address,
        timeout,
        url: url.to_string(),
    })
}

/// Why a connection gave nothing usable.
enum Failure {
    /// No TCP connection: refused, unroutable, timed out, name unknown.
    Unreachable(String),
    /// Connected, but the TLS handshake did not complete.
    Tls { detail: String, verify: Option<String> },
}

impl Failure {
    fn text(&self) -> String {
        match self {
            Failure::Unreachable(d) => format!("no connection: {d}"),
            Failure::Tls { detail, verify: Some(v) } => format!("TLS handshake failed: {v} ({detail})"),
            Failure::Tls { detail, verify: None } => format!("TLS handshake failed: {detail}"),
        }
    }
}

#[derive(Clone, Copy)]
enum Tls {
    /// Exactly this version, any cipher OpenSSL knows (security level 0), no verification.
    Probe(SslVersion),
    /// TLS 1.2 or later, verified against the CA and the host name.
    Verified,
    /// TLS 1.2 or later, unverified (only when verification already failed; no token is ever sent).
    Unverified,
}

impl Target {
    fn host_header(&self, port: u16, default: u16) -> String {
        let h = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if port == default {
            h
        } else {
            format!("{h}:{port}")
        }
    }

    fn tcp(&self, port: u16) -> Result<TcpStream, Failure> {
        let addrs: Vec<SocketAddr> = match self.address.or(self.ip) {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => (self.host.as_str(), port).to_socket_addrs().map_err(|e| Failure::Unreachable(format!("cannot resolve {}: {e}", self.host)))?.collect(),
        };
        let mut last = format!("{} resolves to no address", self.host);
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(self.timeout));
                    let _ = s.set_write_timeout(Some(self.timeout));
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = format!("{a}: {e}"),
            }
        }
        Err(Failure::Unreachable(last))
    }

    fn tls(&self, mode: Tls, ca: &[X509]) -> Result<SslStream<TcpStream>, Failure> {
        let tls_err = |e: openssl::error::ErrorStack| Failure::Tls { detail: e.to_string(), verify: None };
        let mut b: SslContextBuilder = SslContext::builder(SslMethod::tls_client()).map_err(tls_err)?;
        match mode {
            Tls::Probe(v) => {
                b.set_min_proto_version(Some(v)).map_err(tls_err)?;
                b.set_max_proto_version(Some(v)).map_err(tls_err)?;
                if v != SslVersion::TLS1_3 {
                    // Everything this OpenSSL can still speak: a refusal is the server's, not ours.
                    b.set_cipher_list("ALL:@SECLEVEL=0").map_err(tls_err)?;
                }
                b.set_security_level(0);
                b.set_verify(SslVerifyMode::NONE);
            }
            Tls::Verified => {
                b.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(tls_err)?;
                for c in ca {
                    b.cert_store_mut().add_cert(c.clone()).map_err(tls_err)?;
                }
                b.set_verify(SslVerifyMode::PEER);
            }
            Tls::Unverified => {
                b.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(tls_err)?;
                b.set_verify(SslVerifyMode::NONE);
            }
        }
        let ctx = b.build();
        let mut ssl = Ssl::new(&ctx).map_err(tls_err)?;
        match self.ip {
            Some(ip) => {
                if matches!(mode, Tls::Verified) {
                    ssl.param_mut().set_ip(ip).map_err(tls_err)?;
                }
            }
            None => {
                ssl.set_hostname(&self.host).map_err(tls_err)?;
                if matches!(mode, Tls::Verified) {
                    ssl.param_mut().set_host(&self.host).map_err(tls_err)?;
                }
            }
        }
        let tcp = self.tcp(self.port)?;
        match ssl.connect(tcp) {
            Ok(s) => Ok(s),
            Err(HandshakeError::Failure(mid)) => {
                let v = mid.ssl().verify_result();
                let verify = (matches!(mode, Tls::Verified) && v.as_raw() != 0).then(|| v.error_string().to_string());
                Err(Failure::Tls { detail: describe_ssl_error(mid.error()), verify })
            }
            Err(HandshakeError::SetupFailure(e)) => Err(tls_err(e)),
            Err(HandshakeError::WouldBlock(_)) => Err(Failure::Tls { detail: "timed out".into(), verify: None }),
        }
    }
}

fn describe_ssl_error(e: &openssl::ssl::Error) -> String {
    if let Some(stack) = e.ssl_error() {
        let reasons: Vec<String> = stack.errors().iter().filter_map(|x| x.reason().map(str::to_string)).collect();
        if !reasons.is_empty() {
            return reasons.join("; ");
        }
    }
    match e.io_error() {
        Some(io) if matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => "no answer (timed out)".into(),
        Some(io) => io.to_string(),
        None if e.code() == openssl::ssl::ErrorCode::SYSCALL => "the peer closed the connection".into(),
        None => e.to_string(),
    }
}

// ---------------------------------------------------------------- HTTP/1.1

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

struct Conn<S> {
    s: S,
    buf: Vec<u8>,
    eof: bool,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
}

impl<S: Read + Write> Conn<S> {
    fn new(s: S) -> Self {
        Conn { s, buf: Vec::new(), eof: false }
    }

    /// Reads more; false at the end of the stream (a TLS close without
    /// close_notify counts as the end).
    fn fill(&mut self) -> Result<bool, String> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.s.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => Err("no answer (timed out)".into()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => Err(format!("connection reset: {e}")),
            Err(_) => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err("the connection ended in the middle of the answer".into());
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l: Vec<u8> = self.buf.drain(..i + 2).collect();
                return Ok(String::from_utf8_lossy(&l[..i]).into_owned());
            }
            if self.buf.len() > MAX_HEAD {
                return Err("a line longer than 64 KiB".into());
            }
            if !self.fill()? {
                return Err("the connection ended in the middle of the answer".into());
            }
        }
    }

    fn send(&mut self, method: &str, path: &str, host: &str, extra: &[(&str, &str)]) -> Result<(), String> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: secure-mattermost-verify/{}\r\nAccept: */*\r\n", env!("CARGO_PKG_VERSION"));
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("connection")) {
            req.push_str("Connection: close\r\n");
        }
        req.push_str("\r\n");
        self.s.write_all(req.as_bytes()).and_then(|()| self.s.flush()).map_err(|e| format!("sending the request: {e}"))
    }

    /// The status line and headers; the body is read by [`Conn::body`].
    fn head(&mut self) -> Result<Response, String> {
        while !self.buf.windows(4).any(|w| w == b"\r\n\r\n") {
            if self.buf.len() > MAX_HEAD {
                return Err("no end of the response headers within 64 KiB".into());
            }
            if !self.fill()? {
                break;
            }
        }
        if !self.buf.starts_with(b"HTTP/1.") {
            return Err(if self.buf.is_empty() { "no answer: the connection closed without a response".into() } else { format!("not an HTTP response: {}", preview(&self.buf)) });
        }
        let status_line = self.line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .filter(|s| s.len() == 3)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("bad status line: {}", clean(&status_line)))?;
        let mut headers = Vec::new();
        loop {
            let l = self.line()?;
            if l.is_empty() {
                break;
            }
            match l.split_once(':') {
                Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
                None => return Err(format!("bad header line: {}", clean(&l))),
            }
        }
        Ok(Response { status, headers, body: vec![] })
    }

    fn body(&mut self, r: &mut Response, head_request: bool) -> Result<(), String> {
        if head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304 {
            return Ok(());
        }
        if r.header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
            loop {
                let size_line = self.line()?;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16).map_err(|_| format!("bad chunk size: {}", clean(&size_line)))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    return Ok(());
                }
                if r.body.len() + size > MAX_BODY {
                    return Err("a response body larger than 16 MiB".into());
                }
                let chunk = self.take(size)?;
                r.body.extend(chunk);
                self.take(2)?;
            }
        }
        if let Some(len) = r.header("content-length") {
            let len: usize = len.parse().map_err(|_| format!("bad Content-Length: {}", clean(len)))?;
            if len > MAX_BODY {
                return Err("a response body larger than 16 MiB".into());
            }
            r.body = self.take(len)?;
            return Ok(());
        }
        while self.fill()? {
            if self.buf.len() > MAX_BODY {
                return Err("a response body larger than 16 MiB".into());
            }
        }
        r.body = std::mem::take(&mut self.buf);
        Ok(())
    }

    fn request(&mut self, method: &str, path: &str, host: &str, extra: &[(&str, &str)]) -> Result<Response, String> {
        self.send(method, path, host, extra)?;
        let mut r = self.head()?;
        self.body(&mut r, method == "HEAD")?;
        Ok(r)
    }
}

fn preview(bytes: &[u8]) -> String {
    let b = &bytes[..bytes.len().min(32)];
    let text: String = b.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }).collect();
    format!("{} bytes, starting {:?}", bytes.len(), text)
}

// ---------------------------------------------------------------- the run

struct Declared {
    mode: &'static str,
    domain: String,
    config: Value,
    report: Report,
}

fn declared(args: &VerifyUrlArgs) -> Result<Option<Declared>, Error> {
    let (doc, raw) = match (&args.input, &args.config) {
        (Some(path), _) => {
            let (text, name) = crate::cli::read_input(path)?;
            crate::document::parse(&text, &name)?
        }
        (None, Some(path)) => crate::document::from_value(crate::cli::evaluate_nix(path)?, &path.display().to_string())?,
        (None, None) => return Ok(None),
    };
    let d = &doc.secure_mattermost;
    if !d.enable {
        return Err(Error::Usage { detail: "the declaration has enable = false: it describes no deployment to verify".into() });
    }
    let today = match &args.today {
        Some(t) => Date::parse(t).ok_or_else(|| Error::Today { value: t.clone() })?,
        None => Date::today_utc(),
    };
    let catalog = Catalog::load();
    let eff = crate::effective::build(d, catalog)?;
    let report = crate::policy::evaluate(catalog, d, &raw["secureMattermost"], &eff.config, today)?;
    let mode = match d.mode {
        crate::document::Mode::Kubernetes => "kubernetes",
        crate::document::Mode::Baremetal => "baremetal",
    };
    Ok(Some(Declared { mode, domain: d.domain.to_ascii_lowercase(), config: eff.config, report }))
}

fn read_ca(path: &Path) -> Result<Vec<X509>, Error> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let certs = X509::stack_from_pem(&bytes).unwrap_or_default();
    if certs.is_empty() {
        return Err(bad_input(format!("--ca-file {}: no PEM certificate in it", path.display()), Some("give the CA certificate(s) in PEM (-----BEGIN CERTIFICATE-----)")));
    }
    Ok(certs)
}

/// The token, checked for the characters a session token has; its value is
/// never part of a message.
fn read_token(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let token = String::from_utf8(bytes).map_err(|_| bad_input(format!("--token-file {}: not text (the token is not shown)", path.display()), None))?;
    let token = token.trim();
    if token.is_empty() || token.len() > 512 || !token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(bad_input(
            format!("--token-file {}: not a session token (one line of letters, digits, - _ .; the content is not shown)", path.display()),
            Some("a Mattermost session token, from the `Token` header of POST /api/v4/users/login or the MMAUTHTOKEN cookie"),
        ));
    }
    Ok(token.to_string())
}

pub fn run(args: VerifyUrlArgs, format: Format) -> Result<i32, Error> {
    let target = parse_url(&args.url, args.address, Duration::from_secs(args.timeout))?;
    let ca = read_ca(&args.ca_file)?;
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let declared = declared(&args)?;
    let started = Instant::now();
    let (findings, unreachable) = verify(&target, &ca, token.as_deref(), declared.as_ref(), args.http_port);
    let elapsed = started.elapsed();
    let text = match format {
        Format::Text => table(&target, &findings, elapsed),
        Format::Json => json_report(&target, &findings, elapsed),
        Format::Sarif => sarif(&target, &findings),
    };
    output::stdout(&text)?;
    if unreachable {
        output::stderr(&format!("error: {} is unreachable: nothing could be verified", clean(&target.url)));
        return Ok(exit::INVALID_INPUT);
    }
    let failed = findings.iter().filter(|f| f.outcome.is_failure()).count();
    if failed > 0 {
        output::stderr(&format!("verify: {failed} finding(s)"));
        return Ok(exit::POLICY_FAILED);
    }
    Ok(exit::OK)
}

fn verify(t: &Target, ca: &[X509], token: Option<&str>, decl: Option<&Declared>, http_port: u16) -> (Vec<Finding>, bool) {
    let mut out = Vec::new();
    // Reachability first: without a TCP connection nothing else can be judged.
    match t.tcp(t.port) {
        Ok(_) => out.push(Finding::pass("reachable", format!("a TCP connection to port {}", t.port), "connected")),
        Err(f) => {
            out.push(Finding::fail("reachable", format!("a TCP connection to port {}", t.port), f.text()));
            return (out, true);
        }
    }
    if let Some(d) = decl {
        out.push(Finding::judged("declaration-matches-url", d.domain == t.host, format!("the URL's host is the declared domain {}", d.domain), t.host.clone()));
    }

    // Protocol versions.
    for (id, v, name, want) in [
        ("tls-1.0-refused", SslVersion::TLS1, "TLSv1", false),
        ("tls-1.1-refused", SslVersion::TLS1_1, "TLSv1.1", false),
        ("tls-1.2-accepted", SslVersion::TLS1_2, "TLSv1.2", true),
        ("tls-1.3-accepted", SslVersion::TLS1_3, "TLSv1.3", true),
    ] {
        let expected = if want { format!("a {name} handshake completes") } else { format!("a {name} handshake is refused (the client offered it with every cipher, security level 0)") };
        match t.tls(Tls::Probe(v), ca) {
            Ok(s) => {
                let got = s.ssl().version_str();
                let cipher = s.ssl().current_cipher().map(|c| c.name()).unwrap_or("?");
                out.push(Finding::judged(id, want && got == name, expected, format!("accepted ({got}, {cipher})")));
            }
            Err(f @ Failure::Unreachable(_)) => out.push(Finding::fail(id, expected, f.text())),
            Err(f) => out.push(Finding::judged(id, !want, expected, format!("refused: {}", f.text()))),
        }
    }

    // The certificate: every HTTP check below runs over a verified connection
    // when it verifies, over an unverified one (and without the token) when not.
    let verified = match t.tls(Tls::Verified, ca) {
        Ok(s) => {
            let cert = s.ssl().peer_certificate();
            let about = cert
                .map(|c| format!("verified: subject {}, issuer {}, valid until {}", name_of(c.subject_name()), name_of(c.issuer_name()), c.not_after()))
                .unwrap_or_else(|| "verified".into());
            out.push(Finding::pass("certificate-verifies", format!("a chain to the CA in --ca-file, for {}", t.host), about));
            true
        }
        Err(f) => {
            let plain = match &f {
                Failure::Tls { verify: None, .. } => plain_probe(t),
                _ => None,
            };
            let found = match plain {
                Some(p) => format!("{}; {p}", f.text()),
                None => f.text(),
            };
            out.push(Finding::fail("certificate-verifies", format!("a chain to the CA in --ca-file, for {}", t.host), found));
            false
        }
    };
    let mode = if verified { Tls::Verified } else { Tls::Unverified };
    let tls_ok = verified || t.tls(Tls::Unverified, ca).is_ok();
    let host = t.host_header(t.port, 443);

    // Ping, and the headers on its answer.
    let ping_path = format!("{}/api/v4/system/ping", t.base);
    let ping = if tls_ok { get(t, mode, ca, &ping_path, &host, &[]) } else { Err("no TLS connection".into()) };
    match &ping {
        Ok(r) => {
            let status = serde_json::from_slice::<Value>(&r.body).ok().and_then(|v| v["status"].as_str().map(str::to_string));
            out.push(Finding::judged(
                "ping",
                r.status == 200 && status.as_deref() == Some("OK"),
                "200 with {\"status\":\"OK\"}",
                format!("{} with status {}", r.status, status.unwrap_or_else(|| format!("missing ({})", preview(&r.body)))),
            ));
            out.extend(header_checks(r));
        }
        Err(e) => {
            out.push(Finding::fail("ping", "200 with {\"status\":\"OK\"}", e.clone()));
            for id in ["hsts", "header-content-type-options", "header-frame-options", "header-referrer-policy", "server-version-hidden"] {
                out.push(Finding::not_run(id, "the header on the HTTPS answer", "no HTTPS answer"));
            }
        }
    }

    out.push(redirect(t, http_port, &ping_path));
    out.push(if tls_ok { websocket(t, mode, ca, &host) } else { Finding::fail("websocket-upgrade", "101 Switching Protocols", "no TLS connection") });

    // What anyone may read.
    let client_path = format!("{}/api/v4/config/client?format=old", t.base);
    match if tls_ok { get(t, mode, ca, &client_path, &host, &[]) } else { Err("no TLS connection".into()) } {
        Ok(r) if r.status == 200 => match serde_json::from_slice::<Value>(&r.body) {
            Ok(Value::Object(m)) => {
                out.push(Finding::pass("client-config", "200 with a JSON object", format!("{} keys", m.len())));
                out.extend(client_config(&Value::Object(m), decl));
            }
            _ => out.push(Finding::fail("client-config", "200 with a JSON object", format!("not JSON: {}", preview(&r.body)))),
        },
        Ok(r) => out.push(Finding::fail("client-config", "200 with a JSON object", format!("status {}", r.status))),
        Err(e) => out.push(Finding::fail("client-config", "200 with a JSON object", e)),
    }

    // What only an admin may read.
    match token {
        None => out.push(Finding::not_run("server-config", "GET /api/v4/config with an admin session token", "no --token-file given")),
        Some(_) if !verified => out.push(Finding::fail(
            "server-config",
            "GET /api/v4/config with an admin session token",
            "not run: the certificate did not verify, and the token is only sent over a verified connection",
        )),
        Some(token) => out.extend(server_config(t, ca, &host, token, decl)),
    }
    (out, false)
}

fn name_of(n: &openssl::x509::X509NameRef) -> String {
    n.entries()
        .map(|e| format!("{}={}", e.object().nid().short_name().unwrap_or("?"), e.data().to_string().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

/// What a port that does not speak TLS answers to plain HTTP, for the report.
fn plain_probe(t: &Target) -> Option<String> {
    let s = t.tcp(t.port).ok()?;
    let _ = s.set_read_timeout(Some(t.timeout.min(Duration::from_secs(3))));
    let mut c = Conn::new(s);
    c.send("GET", "/", &t.host_header(t.port, 443), &[]).ok()?;
    let _ = c.fill();
    if c.buf.starts_with(b"HTTP/") {
        Some("the port answers plain HTTP, not TLS".into())
    } else if !c.buf.is_empty() {
        Some(format!("the port answers neither TLS nor HTTP ({})", preview(&c.buf)))
    } else {
        None
    }
}

fn get(t: &Target, mode: Tls, ca: &[X509], path: &str, host: &str, extra: &[(&str, &str)]) -> Result<Response, String> {
    let s = t.tls(mode, ca).map_err(|f| f.text())?;
    Conn::new(s).request("GET", path, host, extra)
}

fn header_checks(r: &Response) -> Vec<Finding> {
    let mut out = Vec::new();
    let missing = || "absent".to_string();
    // A browser takes only the first Strict-Transport-Security header (RFC 6797, 8.1).
    let all_sts = r.all("strict-transport-security");
    let hsts = all_sts.first().copied();
    let (age, subdomains) = hsts.map(parse_hsts).unwrap_or((None, false));
    out.push(Finding::judged(
        "hsts",
        age.is_some_and(|a| a >= 31_536_000) && subdomains,
        "Strict-Transport-Security with max-age >= 31536000 and includeSubDomains (the first such header: browsers ignore the rest)",
        match all_sts.len() {
            0 => missing(),
            1 => all_sts[0].to_string(),
            n => format!("{n} headers, browsers use the first: {}", all_sts.join(" | ")),
        },
    ));
    let xcto = r.header("x-content-type-options");
    out.push(Finding::judged("header-content-type-options", xcto.is_some_and(|v| v.eq_ignore_ascii_case("nosniff")), "X-Content-Type-Options: nosniff", xcto.map(str::to_string).unwrap_or_else(missing)));
    let xfo = r.header("x-frame-options");
    let ancestors: Vec<String> = r
        .all("content-security-policy")
        .iter()
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter_map(|d| d.strip_prefix("frame-ancestors").map(|x| x.trim().to_ascii_lowercase()))
        .collect();
    let xfo_ok = xfo.is_some_and(|v| v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin"));
    let csp_ok = !ancestors.is_empty() && ancestors.iter().all(|a| a == "'none'" || a == "'self'");
    out.push(Finding::judged(
        "header-frame-options",
        xfo_ok || csp_ok,
        "X-Frame-Options DENY or SAMEORIGIN, or CSP frame-ancestors 'none' or 'self'",
        format!("X-Frame-Options: {}; frame-ancestors: {}", xfo.unwrap_or("absent"), if ancestors.is_empty() { "absent".into() } else { ancestors.join(" | ") }),
    ));
    // Several headers or comma-separated policies: the browser uses the last it knows.
    let rp_all = r.all("referrer-policy").join(", ");
    let rp = (!rp_all.is_empty()).then_some(rp_all.as_str());
    let strict = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"];
    let last = rp.and_then(|v| v.split(',').map(|p| p.trim().to_ascii_lowercase()).rfind(|p| !p.is_empty()));
    out.push(Finding::judged(
        "header-referrer-policy",
        last.as_deref().is_some_and(|p| strict.contains(&p)),
        format!("Referrer-Policy one of {}", strict.join(", ")),
        rp.map(str::to_string).unwrap_or_else(missing),
    ));
    let server = r.header("server");
    let versioned = server.is_some_and(|s| s.split(['/', ' ']).skip(1).any(|p| p.chars().next().is_some_and(|c| c.is_ascii_digit())));
    out.push(Finding::judged("server-version-hidden", !versioned, "no version in the Server header", server.map(str::to_string).unwrap_or_else(missing)));
    out
}

fn parse_hsts(v: &str) -> (Option<u64>, bool) {
    let mut age = None;
    let mut sub = false;
    for d in v.split(';').map(str::trim) {
        let lower = d.to_ascii_lowercase();
        if let Some(x) = lower.strip_prefix("max-age=") {
            age = x.trim_matches('"').parse().ok();
        } else if lower == "includesubdomains" {
            sub = true;
        }
    }
    (age, sub)
}

fn redirect(t: &Target, http_port: u16, probe: &str) -> Finding {
    let expected = format!("301 or 308 to https://{}{probe} from http port {http_port}", t.host_header(443, 443));
    let s = match t.tcp(http_port) {
        Ok(s) => s,
        Err(f) => return Finding::fail("http-redirects-to-https", expected, f.text()),
    };
    let r = match Conn::new(s).request("GET", probe, &t.host_header(http_port, 80), &[]) {
        Ok(r) => r,
        Err(e) => return Finding::fail("http-redirects-to-https", expected, e),
    };
    let location = r.header("location").unwrap_or("");
    let ok = matches!(r.status, 301 | 308) && same_host_https(location, &t.host, probe);
    Finding::judged("http-redirects-to-https", ok, expected, format!("{} Location: {}", r.status, if location.is_empty() { "absent" } else { location }))
}

/// `https://HOST[:PORT]PATH` with the verified host and the path asked for.
fn same_host_https(location: &str, host: &str, path: &str) -> bool {
    let Some(rest) = location.strip_prefix("https://") else { return false };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let h = match authority.rfind(']') {
        Some(i) => &authority[1..i],
        None => authority.split(':').next().unwrap_or(""),
    };
    h.eq_ignore_ascii_case(host) && tail == path
}

/// Proof that the proxy passes the upgrade: a 101 whose Sec-WebSocket-Accept
/// answers this request's key (so it was computed by the WebSocket server
/// behind the proxy, not made up in front of it), then a ping answered by a
/// pong carrying the same payload (frames pass both ways after the switch).
fn websocket(t: &Target, mode: Tls, ca: &[X509], host: &str) -> Finding {
    let expected = "101 with the Sec-WebSocket-Accept of our key, then a pong to our ping";
    let key = {
        let mut b = [0u8; 16];
        if openssl::rand::rand_bytes(&mut b).is_err() {
            return Finding::fail("websocket-upgrade", expected, "no random bytes for the key");
        }
        openssl::base64::encode_block(&b)
    };
    let accept = openssl::base64::encode_block(&openssl::sha::sha1(format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes()));
    let s = match t.tls(mode, ca) {
        Ok(s) => s,
        Err(f) => return Finding::fail("websocket-upgrade", expected, f.text()),
    };
    let mut c = Conn::new(s);
    let path = format!("{}/api/v4/websocket", t.base);
    let headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", key.as_str())];
    if let Err(e) = c.send("GET", &path, host, &headers) {
        return Finding::fail("websocket-upgrade", expected, e);
    }
    let mut r = match c.head() {
        Ok(r) => r,
        Err(e) => return Finding::fail("websocket-upgrade", expected, e),
    };
    if r.status != 101 {
        let _ = c.body(&mut r, false);
        let body = String::from_utf8_lossy(&r.body[..r.body.len().min(160)]).into_owned();
        return Finding::fail("websocket-upgrade", expected, format!("{} (the upgrade did not reach a WebSocket server): {}", r.status, body.trim()));
    }
    if r.header("sec-websocket-accept") != Some(accept.as_str()) {
        return Finding::fail("websocket-upgrade", expected, format!("101 with Sec-WebSocket-Accept {:?}, not the one our key asks for", r.header("sec-websocket-accept").unwrap_or("(absent)")));
    }
    match ping_pong(&mut c) {
        Ok(()) => Finding::pass("websocket-upgrade", expected, "101 with the matching Sec-WebSocket-Accept; ping answered by pong"),
        Err(e) => Finding::fail("websocket-upgrade", expected, format!("101 with the matching Sec-WebSocket-Accept, but {e}")),
    }
}

fn ping_pong<S: Read + Write>(c: &mut Conn<S>) -> Result<(), String> {
    let payload = b"secure-mattermost-verify";
    let mask = [0x5a, 0x17, 0xc3, 0x88];
    let mut frame = vec![0x89, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    c.s.write_all(&frame).and_then(|()| c.s.flush()).map_err(|e| format!("the ping could not be sent: {e}"))?;
    for _ in 0..32 {
        let h = c.take(2).map_err(|e| format!("no pong: {e}"))?;
        let opcode = h[0] & 0x0f;
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let b = c.take(2)?;
            len = u64::from(u16::from_be_bytes([b[0], b[1]]));
        } else if len == 127 {
            let b = c.take(8)?;
            len = u64::from_be_bytes(b.try_into().unwrap_or([0xff; 8]));
        }
        if len > MAX_BODY as u64 {
            return Err("a frame larger than 16 MiB".into());
        }
        let key = if h[1] & 0x80 != 0 { Some(c.take(4)?) } else { None };
        let mut data = c.take(len as usize)?;
        if let Some(k) = key {
            for (i, b) in data.iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        match opcode {
            0xA if data == payload => return Ok(()),
            0x8 => {
                let code = if data.len() >= 2 { u16::from_be_bytes([data[0], data[1]]).to_string() } else { "none".into() };
                return Err(format!("the server closed the WebSocket (code {code}) instead of answering the ping"));
            }
            _ => {}
        }
    }
    Err("no pong among the first 32 frames".into())
}

// ---------------------------------------------------------------- configuration

/// Client-configuration keys the server fills from one setting whatever its
/// licence, and the setting (config/client.go of the pinned release).
const CLIENT_KEYS: &[(&str, &str)] = &[
    ("EnableUserCreation", "TeamSettings.EnableUserCreation"),
    ("EnableOpenServer", "TeamSettings.EnableOpenServer"),
    ("EnableSignUpWithEmail", "EmailSettings.EnableSignUpWithEmail"),
    ("EnableSignInWithEmail", "EmailSettings.EnableSignInWithEmail"),
    ("EnableSignInWithUsername", "EmailSettings.EnableSignInWithUsername"),
    ("EnableDiagnostics", "LogSettings.EnableDiagnostics"),
    ("EnableClientMetrics", "MetricsSettings.EnableClientMetrics"),
    ("EnableComplianceExport", "MessageExportSettings.EnableExport"),
    ("AllowDownloadLogs", "SupportSettings.AllowDownloadLogs"),
    ("EnableCustomEmoji", "ServiceSettings.EnableCustomEmoji"),
    ("EnableBotAccountCreation", "ServiceSettings.EnableBotAccountCreation"),
    ("HasImageProxy", "ImageProxySettings.Enable"),
    ("PluginsEnabled", "PluginSettings.Enable"),
    ("PasswordMinimumLength", "PasswordSettings.MinimumLength"),
    ("PasswordRequireLowercase", "PasswordSettings.Lowercase"),
    ("PasswordRequireUppercase", "PasswordSettings.Uppercase"),
    ("PasswordRequireNumber", "PasswordSettings.Number"),
    ("PasswordRequireSymbol", "PasswordSettings.Symbol"),
    ("PasswordEnableForgotLink", "PasswordSettings.EnableForgotLink"),
    ("SiteURL", "ServiceSettings.SiteURL"),
    ("SiteName", "TeamSettings.SiteName"),
    ("WebsocketURL", "ServiceSettings.WebsocketURL"),
    ("EnableMultifactorAuthentication", "ServiceSettings.EnableMultifactorAuthentication"),
    ("EnableGuestAccounts", "GuestAccountsSettings.Enable"),
    ("GuestAccountsEnforceMultifactorAuthentication", "GuestAccountsSettings.EnforceMultifactorAuthentication"),
    ("EnableGuestMagicLink", "GuestAccountsSettings.EnableGuestMagicLink"),
];

/// Keys the server shows only when its licence has the feature (otherwise
/// "false" or absent whatever the setting): "true" is conclusive, "false" not.
const LICENSED_KEYS: &[(&str, &str)] = &[
    ("EnableLdap", "LdapSettings.Enable"),
    ("EnableSaml", "SamlSettings.Enable"),
    ("EnableSignUpWithGoogle", "GoogleSettings.Enable"),
    ("EnableSignUpWithOffice365", "Office365Settings.Enable"),
    ("EnableSignUpWithOpenId", "OpenIdSettings.Enable"),
    ("EnableSignUpWithGitLab", "GitLabSettings.Enable"),
    ("EnforceMultifactorAuthentication", "ServiceSettings.EnforceMultifactorAuthentication"),
];

/// A client-config string as the setting's JSON type (from the defaults).
fn typed(default: &Value, s: &str) -> Value {
    match default {
        Value::Bool(_) => match s {
            "true" => json!(true),
            "false" => json!(false),
            _ => json!(s),
        },
        Value::Number(_) => s.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(s)),
        _ => json!(s),
    }
}

/// A setting's value as the client configuration prints it.
fn as_client_string(v: &Value, setting: &str) -> String {
    match v {
        Value::String(s) if setting.ends_with("URL") => s.trim_end_matches('/').to_string(),
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn config_paths(p: Option<&Predicate>) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(p) = p {
        p.paths(&mut v);
    }
    v.into_iter().map(str::to_string).collect()
}

/// A catalog rule judged on the live server, with the declaration's waiver applied.
fn rule_finding(source: &str, r: &RuleResult, decl: Option<&Declared>) -> Finding {
    let d = decl.and_then(|d| d.report.results.iter().find(|x| x.id == r.id));
    let mut outcome = r.outcome;
    let mut waiver = None;
    let mut found = match &r.found {
        Value::Object(m) => m.iter().map(|(k, v)| format!("{} = {v}", k.trim_start_matches("config."))).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    if outcome.is_failure() {
        if let Some(d) = d.filter(|d| d.outcome == Outcome::Waived) {
            outcome = Outcome::Waived;
            waiver = d.justification.as_ref().map(|j| {
                format!("{} (approved by {}, expires {})", j.reason, j.approved_by.as_deref().unwrap_or("nobody"), j.expires.as_deref().unwrap_or("never"))
            });
        } else if let Some(j) = d.and_then(|d| d.justification.as_ref()).filter(|j| !j.problems.is_empty()) {
            found.push_str(&format!("; the declaration's justification.{} is not acceptable: {}", j.key, j.problems.join("; ")));
        }
    }
    Finding {
        id: format!("{source}/{}", r.id),
        rule: r.id.clone(),
        title: r.title.clone(),
        severity: r.severity,
        outcome,
        controls: r.controls.clone(),
        expected: if r.outcome == Outcome::Pass { "compliant".into() } else { r.message.clone() },
        found: clean(&found),
        settings: r.settings.clone(),
        waiver,
    }
}

fn client_config(client: &Value, decl: Option<&Declared>) -> Vec<Finding> {
    let catalog = Catalog::load();
    let defaults = crate::defaults::defaults();
    // The settings the server showed, on the release defaults: only rules
    // that read nothing else are judged from it.
    let mut config = defaults.clone();
    let mut covered: Vec<String> = Vec::new();
    for (key, setting) in CLIENT_KEYS {
        if let Some(s) = client[*key].as_str() {
            let default = crate::catalog::lookup(&defaults, setting);
            crate::effective::set(&mut config, setting, typed(default, s));
            covered.push(format!("config.{setting}"));
        }
    }
    for (key, setting) in LICENSED_KEYS {
        if client[*key].as_str() == Some("true") {
            crate::effective::set(&mut config, setting, json!(true));
        }
    }
    let mode = decl.map(|d| d.mode).unwrap_or("baremetal");
    let report = audit::judge_all(catalog, &config, mode, &[]);
    let mut out = Vec::new();
    for (rule, r) in catalog.rules.iter().zip(&report.results) {
        let mut paths = config_paths(Some(&rule.compliant));
        paths.extend(config_paths(rule.when.as_ref()));
        let reads: Vec<&String> = paths.iter().filter(|p| p.starts_with("config.")).collect();
        if !reads.is_empty() && reads.iter().all(|p| covered.contains(p)) && !paths.iter().any(|p| (p.starts_with("deployment.") && p != "deployment.mode") || p.starts_with("manifests.")) {
            out.push(rule_finding("client-config", r, decl));
        }
    }
    // An SSO switch the licence shows as on must be one the declaration turns on.
    let Some(d) = decl else {
        out.push(Finding::not_run("client-config-drift", "the exposed settings equal the declaration's", "no --input or --config given"));
        return out;
    };
    let mut drift = Vec::new();
    let mut compared = 0;
    for (key, setting) in CLIENT_KEYS {
        let Some(live) = client[*key].as_str() else { continue };
        compared += 1;
        let want = as_client_string(crate::catalog::lookup(&d.config, setting), setting);
        if live != want {
            drift.push(format!("{key} ({setting}): declared {want:?}, live {live:?}"));
        }
    }
    for (key, setting) in LICENSED_KEYS {
        if client[*key].as_str() == Some("true") && crate::catalog::lookup(&d.config, setting) != &json!(true) {
            drift.push(format!("{key} ({setting}): declared off, live on"));
        }
    }
    out.push(if drift.is_empty() {
        Finding::pass("client-config-drift", "the exposed settings equal the declaration's", format!("{compared} settings equal"))
    } else {
        Finding::fail("client-config-drift", "the exposed settings equal the declaration's", drift.join("; "))
    });
    out
}

fn server_config(t: &Target, ca: &[X509], host: &str, token: &str, decl: Option<&Declared>) -> Vec<Finding> {
    let expected = "200 with the configuration, for a system admin's session token";
    let auth = format!("Bearer {token}");
    let path = format!("{}/api/v4/config", t.base);
    let r = match get(t, Tls::Verified, ca, &path, host, &[("Authorization", &auth), ("X-Requested-With", "XMLHttpRequest")]) {
        Ok(r) => r,
        Err(e) => return vec![Finding::fail("server-config", expected, e)],
    };
    drop(auth);
    match r.status {
        200 => {}
        401 => return vec![Finding::fail("server-config", expected, "401: the token is not a current session (expired, revoked, or not a session token)")],
        403 => return vec![Finding::fail("server-config", expected, "403: the token's user is not a system admin")],
        s => return vec![Finding::fail("server-config", expected, format!("status {s}"))],
    }
    let live: Value = match serde_json::from_slice(&r.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return vec![Finding::fail("server-config", expected, format!("not a JSON object: {}", preview(&r.body)))],
    };
    if crate::document::depth(&live) > crate::limits::MAX_NESTING {
        return vec![Finding::fail("server-config", expected, format!("nested deeper than {} levels", crate::limits::MAX_NESTING))];
    }
    if live.get("ServiceSettings").is_none_or(|v| !v.is_object()) {
        return vec![Finding::fail("server-config", expected, format!("not a Mattermost configuration: {}", preview(&r.body)))];
    }
    // Judged rule by rule as `audit` judges a config.json. Settings the
    // server masks in its answer (connection strings, secrets) cannot be
    // judged from it: rules reading them are advisory, as for a value audit
    // only sees referenced.
    let masked = masked_settings(&live);
    let mode = decl.map(|d| d.mode).unwrap_or("baremetal");
    let mut report = audit::judge_all(Catalog::load(), &live, mode, &masked);
    for r in report.results.iter_mut().filter(|r| r.outcome == Outcome::Advisory) {
        let hidden: Vec<&str> = r.settings.iter().map(String::as_str).filter(|s| masked.iter().any(|m| m == s)).collect();
        if !hidden.is_empty() {
            r.message = format!("the server masks {} in its API answer, so the live value cannot be judged here; verify it on the host (audit config.json)", hidden.join(", "));
        }
    }
    let audited = Audited { report };
    let mut out = vec![Finding::pass("server-config", expected, format!("{} rules judged, {} masked settings", audited.report.results.len(), masked.len()))];
    out.extend(audited.report.results.iter().map(|r| rule_finding("server-config", r, decl)));
    out.push(match decl {
        None => Finding::not_run("server-config-drift", "every rule-checked setting as declared", "no --input or --config given"),
        Some(d) => config_drift(&live, d),
    });
    out
}

struct Audited {
    report: Report,
}

/// What Mattermost's config sanitiser writes in place of a value.
const MASK: &str = "********************************";

/// Dotted paths whose live value is masked (a string, or a list holding one).
fn masked_settings(live: &Value) -> Vec<String> {
    fn walk(v: &Value, path: String, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s == MASK => out.push(path),
            Value::Array(xs) if xs.iter().any(|x| x.as_str() == Some(MASK)) => out.push(path),
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(live, String::new(), &mut out);
    out
}

/// Every setting a catalog rule constrains, live against declared. Secret
/// and connection-string settings are left out: the server masks them.
fn config_drift(live: &Value, d: &Declared) -> Finding {
    let expected = "every rule-checked setting as declared";
    let secrets = crate::secrets::Secrets::get();
    let mut settings: Vec<&str> = Catalog::load().rules.iter().flat_map(|r| r.settings.iter().map(String::as_str)).collect();
    settings.sort_unstable();
    settings.dedup();
    let mut drift = Vec::new();
    let mut compared = 0;
    for s in settings {
        let segments: Vec<String> = s.split('.').map(str::to_string).collect();
        if secrets.is_data_source_setting(&segments) || secrets.is_secret_setting(&segments, &|_, _| false) || s.contains("[]") {
            continue;
        }
        let (want, got) = (crate::catalog::lookup(&d.config, s), crate::catalog::lookup(live, s));
        if got.as_str() == Some(MASK) || (got.is_null() && !want.is_null()) {
            continue; // not a setting this server reports
        }
        compared += 1;
        if want != got {
            let show = |v: &Value| if v.as_str().is_some_and(|x| secrets.looks_like_credential(x)) { "(holds a credential: not shown)".to_string() } else { v.to_string() };
            drift.push(format!("{s}: declared {}, live {}", show(want), show(got)));
        }
    }
    if drift.is_empty() {
        Finding::pass("server-config-drift", expected, format!("{compared} settings equal"))
    } else {
        Finding::fail("server-config-drift", expected, drift.join("; "))
    }
}

// ---------------------------------------------------------------- output

fn summary(f: &[Finding]) -> Value {
    let n = |o: &[Outcome]| f.iter().filter(|x| o.contains(&x.outcome)).count();
    json!({
        "pass": n(&[Outcome::Pass]),
        "fail": n(&[Outcome::Fail, Outcome::IneffectiveWithoutLicence]),
        "waived": n(&[Outcome::Waived]),
        "advisory": n(&[Outcome::Advisory]),
        "notApplicable": n(&[Outcome::NotApplicable]),
    })
}

fn table(t: &Target, findings: &[Finding], elapsed: Duration) -> String {
    let mut out = format!("verify {}{}\n", clean(&t.url), t.address.map(|a| format!(" (at {a})")).unwrap_or_default());
    // Rules that passed or do not apply are counted, not listed: there are many.
    let shown: Vec<&Finding> = findings.iter().filter(|f| !(f.id.contains('/') && matches!(f.outcome, Outcome::Pass | Outcome::NotApplicable))).collect();
    let w = shown.iter().map(|f| f.id.len()).max().unwrap_or(5).max(5);
    out.push_str(&format!("{:<8} {:<8} {:<w$} FOUND\n", "OUTCOME", "SEVERITY", "CHECK"));
    for f in &shown {
        let sev = format!("{:?}", f.severity).to_lowercase();
        out.push_str(&format!("{:<8} {:<8} {:<w$} {}\n", crate::report::word(f.outcome), sev, f.id, f.found));
        if f.outcome.is_failure() || f.outcome == Outcome::Advisory {
            out.push_str(&format!("{:<8} {:<8} {:<w$} expected: {}\n", "", "", "", f.expected));
        }
        if let Some(w8) = &f.waiver {
            out.push_str(&format!("{:<8} {:<8} {:<w$} waiver: {}\n", "", "", "", clean(w8)));
        }
    }
    let hidden = findings.len() - shown.len();
    if hidden > 0 {
        out.push_str(&format!("({hidden} configuration rules passed or do not apply; --format json lists them)\n"));
    }
    let s = summary(findings);
    out.push_str(&format!(
        "\n{} checks: {} pass, {} failed, {} waived, {} advisory, {} n/a ({:.1}s)\n",
        findings.len(),
        s["pass"],
        s["fail"],
        s["waived"],
        s["advisory"],
        s["notApplicable"],
        elapsed.as_secs_f64()
    ));
    out
}

fn json_report(t: &Target, findings: &[Finding], elapsed: Duration) -> String {
    let doc = json!({
        "url": t.url,
        "address": t.address.map(|a| a.to_string()),
        "summary": summary(findings),
        "seconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
        "checks": findings,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn sarif(t: &Target, findings: &[Finding]) -> String {
    let catalog = Catalog::load();
    let mut rules: Vec<Value> = CHECKS
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.id,
                "shortDescription": {"text": c.title},
                "help": {"text": c.fix},
                "properties": {"controls": c.controls.iter().map(|x| label(x)).collect::<Vec<_>>(), "severity": format!("{:?}", c.severity).to_lowercase()}
            })
        })
        .collect();
    let own = rules.len();
    rules.extend(crate::sarif::rules(catalog));
    let index = |f: &Finding| {
        CHECKS.iter().position(|c| c.id == f.rule).or_else(|| catalog.rules.iter().position(|r| r.id == f.rule).map(|i| i + own)).unwrap_or(0)
    };
    let results: Vec<Value> = findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::IneffectiveWithoutLicence | Outcome::Advisory | Outcome::Waived))
        .map(|f| {
            let (level, kind) = match f.outcome {
                Outcome::Advisory => ("warning", "review"),
                Outcome::Waived => ("note", "pass"),
                _ => ("error", "fail"),
            };
            let mut r = json!({
                "ruleId": f.rule,
                "ruleIndex": index(f),
                "level": level,
                "kind": kind,
                "message": {"text": format!("{}: expected {}; found {}", f.title, f.expected, f.found)},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": t.url}},
                    "logicalLocations": f.settings.iter().map(|s| json!({"fullyQualifiedName": s, "kind": "member"})).collect::<Vec<_>>()
                }],
                "properties": {"check": f.id, "outcome": f.outcome, "controls": f.controls, "severity": format!("{:?}", f.severity).to_lowercase()}
            });
            if let Some(w) = &f.waiver {
                r["suppressions"] = json!([{"kind": "external", "status": "accepted", "justification": w}]);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": crate::sarif::SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "secure-mattermost-verify", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_parsing() {
        assert_eq!(parse_hsts("max-age=63072000; includeSubDomains"), (Some(63072000), true));
        assert_eq!(parse_hsts("max-age=\"100\""), (Some(100), false));
    }

    #[test]
    fn redirect_targets() {
        assert!(same_host_https("https://chat.example.com/api/v4/system/ping", "chat.example.com", "/api/v4/system/ping"));
        assert!(same_host_https("https://CHAT.example.com:8443/x", "chat.example.com", "/x"));
        assert!(!same_host_https("https://chat.example.com.evil/x", "chat.example.com", "/x"));
        assert!(!same_host_https("http://chat.example.com/x", "chat.example.com", "/x"));
        assert!(!same_host_https("https://chat.example.com/", "chat.example.com", "/x"));
    }

    #[test]
    fn urls() {
        let t = parse_url("https://Chat.example.com:8443/mm/", None, Duration::from_secs(1)).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.base.as_str()), ("chat.example.com", 8443, "/mm"));
        assert!(parse_url("http://chat.example.com", None, Duration::from_secs(1)).is_err());
        assert!(parse_url("https://u@chat.example.com", None, Duration::from_secs(1)).is_err());
        let t = parse_url("https://[::1]:9/", None, Duration::from_secs(1)).unwrap();
        assert_eq!((t.host.as_str(), t.ip.is_some(), t.port), ("::1", true, 9));
    }
}
