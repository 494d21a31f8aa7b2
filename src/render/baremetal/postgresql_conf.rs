//! Bare metal: `postgresql-secure-mattermost.conf`, a fragment for the
//! database server's configuration (Debian's `conf.d`, or an `include` at
//! the end of postgresql.conf: later settings win). TLS 1.2 or newer with
//! forward-secret AEAD suites, SCRAM verifiers, connections and schema
//! changes logged with who, where from and which database; the server
//! listens where the application hosts reach it.
//!
//! Values are written as PostgreSQL's configuration parser reads them back:
//! single-quoted, `'` doubled and `\` escaped; control characters cannot be
//! carried and are refused.

use std::net::IpAddr;

use crate::document::Deployment;
use crate::error::Error;
use crate::validate;

/// `s` as a quoted value of postgresql.conf, or `None` when it holds a
/// control character (a line break ends the setting; the parser reads
/// `\b`, `\n` and octal escapes inside quotes, hence `\` escaped too).
pub fn conf_string(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        return None;
    }
    Some(format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")))
}

fn quoted(option: &str, value: &str) -> Result<String, Error> {
    conf_string(value).ok_or_else(|| Error::InvalidOption {
        file: "declaration".into(),
        option: format!("services.secureMattermost.{option}"),
        detail: "must not hold control characters (it is written into postgresql-secure-mattermost.conf; the value is not shown)".into(),
    })
}

/// Whether the network lies inside the loopback range (127.0.0.0/8, ::1).
fn loopback(cidr: &str) -> bool {
    let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, ""));
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback() && prefix.parse::<u8>().map_or(prefix.is_empty(), |p| p >= 8),
        Ok(IpAddr::V6(a)) => a.is_loopback() && matches!(prefix, "" | "128"),
        Err(_) => false,
    }
}

/// Where the server listens: the address the application hosts connect to.
/// An IP literal `database.host` is that address. A host name is resolved
/// by PostgreSQL at start, unless every application host is on loopback:
/// then the server listens on `localhost` only (the default declaration
/// names a Kubernetes Service, which a bare-metal host does not resolve).
pub fn listen_addresses(d: &Deployment) -> Result<String, Error> {
    validate::check("database.host", &d.database.host, &validate::HOST)?;
    for cidr in &d.baremetal.networks.app_hosts {
        validate::check("baremetal.networks.appHosts", cidr, &validate::CIDR)?;
    }
    let host = d.database.host.trim_start_matches('[').trim_end_matches(']');
    Ok(if host.parse::<IpAddr>().is_ok() || !d.baremetal.networks.app_hosts.iter().all(|c| loopback(c)) {
        host.to_string()
    } else {
        "localhost".to_string()
    })
}

pub fn render(d: &Deployment) -> Result<String, Error> {
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    let listen = quoted("database.host", &listen_addresses(d)?)?;
    let cert = quoted("baremetal.postgresql.certificateFile", &d.baremetal.postgresql.certificate_file)?;
    let key = quoted("baremetal.postgresql.keyFile", &d.baremetal.postgresql.key_file)?;
    Ok(format!(
        "# Rendered by secure-mattermost for {domain}: the PostgreSQL server of the Mattermost database.
# Later settings win, so read this file last: on Debian copy it into /etc/postgresql/<version>/main/conf.d/
# (postgresql.conf ends with include_dir = 'conf.d'); elsewhere end postgresql.conf with
#   include '/path/to/postgresql-secure-mattermost.conf'
# then restart PostgreSQL (listen_addresses and port take effect on restart only).

# Where the application hosts reach the server (database.host, database.port).
listen_addresses = {listen}
port = {port}

# TLS only: pg_hba.conf accepts hostssl records alone. TLS 1.2 or newer; for 1.2, forward-secret AEAD suites.
ssl = on
ssl_cert_file = {cert}
ssl_key_file = {key}
ssl_min_protocol_version = 'TLSv1.2'
ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL'
ssl_prefer_server_ciphers = on

# Passwords are stored as SCRAM-SHA-256 verifiers; a client has 30 seconds to authenticate.
password_encryption = 'scram-sha-256'
authentication_timeout = '30s'

# Every connection, its end, and every schema change (DDL), with who, which database and where from.
log_connections = on
log_disconnections = on
log_statement = 'ddl'
log_line_prefix = '%m [%p] %quser=%u db=%d client=%r app=%a '
",
        domain = d.domain,
        port = d.database.port,
    ))
}
