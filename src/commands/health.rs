//! `secure-mattermost health`: one request to the app listener's
//! `/api/v4/system/ping?get_server_status=true` (the server then also writes
//! to its database and tests its file store), as `mattermost-health.timer`
//! runs it every minute. Plain HTTP/1.0 over TCP: the listener is the
//! cleartext port behind the proxy, on loopback when hardened.
//!
//! Exit codes: 0 the server answered 200 with status OK; 1 it answered, but
//! not healthy (another status code, status not OK, or not an HTTP answer:
//! a finding); 2 nothing answered (refused, timed out, unresolvable).
//! Failures go to stderr, which systemd sends to the journal; there a
//! `<3>` prefix (when $JOURNAL_STREAM says stderr is the journal) marks them
//! as errors.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};

use crate::cli::Format;
use crate::error::{exit, Error};
use crate::output;

pub const PATH: &str = "/api/v4/system/ping?get_server_status=true";
/// More than any ping answer; a longer one is not a ping answer.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// The app listener as host:port (the rendered timer passes the effective ServiceSettings.ListenAddress).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8065")]
    pub address: String,
    /// Seconds the whole check may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

/// What the check found.
#[derive(Debug)]
enum Outcome {
    Healthy { answer: Answer },
    Unhealthy { answer: Answer },
    NotHttp { detail: String },
    Unreachable { detail: String },
}

#[derive(Debug)]
struct Answer {
    code: u16,
    status: Option<String>,
    database: Option<String>,
    filestore: Option<String>,
}

impl Answer {
    fn describe(&self) -> String {
        let field = |name: &str, v: &Option<String>| format!("{name} {}", v.as_deref().unwrap_or("(absent)"));
        format!("HTTP {}, {}, {}, {}", self.code, field("status", &self.status), field("database", &self.database), field("file store", &self.filestore))
    }
}

pub fn run(args: HealthArgs, format: Format) -> Result<i32, Error> {
    if format == Format::Sarif {
        return Err(Error::Usage { detail: "`health` reports no findings; --format sarif is for check and render".into() });
    }
    let outcome = probe(&args.address, Duration::from_secs(args.timeout));
    let (code, ok, line) = match &outcome {
        Outcome::Healthy { answer } => (exit::OK, true, format!("mattermost health: OK ({}: {})", args.address, answer.describe())),
        Outcome::Unhealthy { answer } => (exit::POLICY_FAILED, false, format!("mattermost health: FAILED ({}: {})", args.address, answer.describe())),
        Outcome::NotHttp { detail } => (exit::POLICY_FAILED, false, format!("mattermost health: FAILED ({}: not a ping answer: {detail})", args.address)),
        Outcome::Unreachable { detail } => (exit::INVALID_INPUT, false, format!("mattermost health: FAILED ({}: no answer: {detail})", args.address)),
    };
    if format == Format::Json {
        let answer = match &outcome {
            Outcome::Healthy { answer } | Outcome::Unhealthy { answer } => {
                json!({"httpStatus": answer.code, "status": answer.status, "databaseStatus": answer.database, "filestoreStatus": answer.filestore})
            }
            _ => Value::Null,
        };
        // One line: the journal keeps it as one record.
        output::stdout(&(json!({"address": args.address, "healthy": ok, "answer": answer, "message": line}).to_string() + "\n"))?;
    } else if ok {
        output::stdout(&(line.clone() + "\n"))?;
    }
    if !ok {
        let prefix = if std::env::var_os("JOURNAL_STREAM").is_some() { "<3>" } else { "" };
        output::stderr(&format!("{prefix}{line}"));
    }
    Ok(code)
}

fn probe(address: &str, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<SocketAddr> = match address.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Outcome::Unreachable { detail: format!("cannot resolve: {e}") },
    };
    let mut last = String::from("no address");
    let mut stream = None;
    for a in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = "timed out".into();
            break;
        }
        match TcpStream::connect_timeout(a, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    let Some(mut stream) = stream else { return Outcome::Unreachable { detail: last } };
    let request = format!("GET {PATH} HTTP/1.0\r\nHost: {address}\r\nUser-Agent: secure-mattermost-health\r\nAccept: application/json\r\n\r\n");
    let mut raw = Vec::new();
    let io = (|| -> std::io::Result<()> {
        stream.set_write_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))?;
        stream.write_all(request.as_bytes())?;
        let mut buf = [0u8; 8192];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"));
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf)? {
                0 => return Ok(()),
                n => {
                    raw.extend_from_slice(&buf[..n]);
                    if raw.len() > MAX_ANSWER {
                        return Err(std::io::Error::other(format!("more than {MAX_ANSWER} bytes")));
                    }
                }
            }
        }
    })();
    if let Err(e) = io {
        // An answer that stopped short or never came: the server is not healthy.
        return Outcome::NotHttp { detail: format!("reading the answer: {e}") };
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Outcome {
    let not_http = |d: &str| Outcome::NotHttp { detail: d.to_string() };
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return not_http("no end of headers") };
    let Ok(head) = std::str::from_utf8(&raw[..end]) else { return not_http("headers are not UTF-8") };
    let body = &raw[end + 4..];
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return not_http("no HTTP status line");
    }
    let Ok(code) = code.parse::<u16>() else { return not_http("no HTTP status code") };
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let answer = Answer { code, status: field("status"), database: field("database_status"), filestore: field("filestore_status") };
    if code == 200 && answer.status.as_deref() == Some("OK") {
        Outcome::Healthy { answer }
    } else {
        Outcome::Unhealthy { answer }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":\"OK\",\"database_status\":\"OK\"}";
        assert!(matches!(parse(ok), Outcome::Healthy { .. }));
        let sick = b"HTTP/1.0 500 Internal Server Error\r\n\r\n{\"status\":\"UNHEALTHY\"}";
        assert!(matches!(parse(sick), Outcome::Unhealthy { .. }));
        assert!(matches!(parse(b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"UNHEALTHY\"}"), Outcome::Unhealthy { .. }));
        assert!(matches!(parse(b"SSH-2.0-OpenSSH\r\n"), Outcome::NotHttp { .. }));
        assert!(matches!(parse(b"garbage\r\n\r\n"), Outcome::NotHttp { .. }));
    }
}
