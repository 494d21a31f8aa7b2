//! Bare metal: `pg_hba.conf` for the database host. The Mattermost role
//! reaches its database from the application hosts only, over TLS, with
//! SCRAM; the superuser only through the local socket as the `postgres`
//! system user; everything else is rejected by name, not by omission.
//!
//! Database and role names are written as pg_hba.conf's tokenizer reads
//! them back: always in double quotes (so `all`, `sameuser`, `replication`,
//! a leading `+` or `@` lose their special meaning), a literal `"` doubled.
//! What the file cannot carry is refused by [`check_names`].

use std::net::IpAddr;

use crate::document::Deployment;
use crate::error::Error;
use crate::validate;

/// PostgreSQL's NAMEDATALEN - 1: longer names are truncated (SQL
/// identifiers at a character boundary, startup packets at a byte), so
/// the role would not be the one pg_hba.conf names.
pub const MAX_NAME_BYTES: usize = 63;

/// Whether `s` can name a PostgreSQL database or role in pg_hba.conf,
/// init.sql and the connection string alike: 1-63 bytes, no control
/// characters (a line break ends a pg_hba.conf record; NUL ends any C
/// string), and not starting with `/` (PostgreSQL 16 and later read such a
/// pg_hba.conf token as a regular expression, quoted or not).
pub fn postgres_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_BYTES && !s.starts_with('/') && !s.chars().any(char::is_control)
}

const NAME: validate::Kind = validate::Kind {
    what: "a PostgreSQL name of 1-63 bytes without control characters, not starting with '/' (it names the database or role in pg_hba.conf and init.sql)",
    test: postgres_name,
};

/// The database and role names, checked for what the bare-metal database
/// files can express (exit 2 naming the option, the value not shown).
pub fn check_names(d: &Deployment) -> Result<(), Error> {
    validate::check("database.name", &d.database.name, &NAME)?;
    validate::check("database.user", &d.database.user, &NAME)
}

/// `s` as one pg_hba.conf token that matches exactly `s`.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// An app host as pg_hba.conf's address column takes it: always with a
/// prefix length (a bare address would make the next column its netmask).
pub fn address(cidr: &str) -> Result<String, Error> {
    validate::check("baremetal.networks.appHosts", cidr, &validate::CIDR)?;
    if cidr.contains('/') {
        return Ok(cidr.to_string());
    }
    let bits = match cidr.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        _ => 128,
    };
    Ok(format!("{cidr}/{bits}"))
}

pub fn render(d: &Deployment) -> Result<String, Error> {
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    check_names(d)?;
    let (db, user) = (quoted(&d.database.name), quoted(&d.database.user));
    let mut app = String::new();
    for cidr in &d.baremetal.networks.app_hosts {
        app.push_str(&format!("hostssl    {db} {user} {} scram-sha-256\n", address(cidr)?));
    }
    if app.is_empty() {
        app.push_str("# (baremetal.networks.appHosts is empty: no application host may connect)\n");
    }
    Ok(format!(
        "# Rendered by secure-mattermost for {domain}: who may connect to PostgreSQL, and how.
# Install it as the cluster's pg_hba.conf (Debian: /etc/postgresql/<version>/main/pg_hba.conf)
# and reload PostgreSQL. The first record that matches a connection decides.
# TYPE     DATABASE USER ADDRESS METHOD

# The superuser, through the local socket, as the postgres system user (init.sql runs this way).
local      all postgres peer
local      all all reject
local      replication all reject

# Nothing over TCP without TLS.
hostnossl  all all 0.0.0.0/0 reject
hostnossl  all all ::/0 reject
hostnossl  replication all 0.0.0.0/0 reject
hostnossl  replication all ::/0 reject

# The Mattermost role, to its database only, from the application hosts only (baremetal.networks.appHosts), with SCRAM.
{app}
# Everything else.
host       all all 0.0.0.0/0 reject
host       all all ::/0 reject
host       replication all 0.0.0.0/0 reject
host       replication all ::/0 reject
",
        domain = d.domain,
    ))
}
