//! Bare metal: `init.sql`, the psql script that prepares the Mattermost
//! database on its server: a role that can log in and do nothing else, a
//! UTF8 database from template0 that it owns, and the PostgreSQL 15+ rules
//! for the `public` schema (only the owner creates objects there), stated
//! explicitly so a PostgreSQL 14 server ends up the same.
//!
//! The password is never in the file: psql reads it from the secret file
//! through a backquoted `cat` (a pipe, on no command line and in no
//! environment), and the statements carrying it are kept out of the server
//! log and `pg_stat_activity`. Running the script again creates only what
//! is missing, re-asserts attributes and grants, and sets the password from
//! the file again (rotation).
//!
//! Names are written as psql and the server read them back exactly:
//! identifiers in double quotes, literals in single quotes (quotes doubled,
//! `standard_conforming_strings` on), psql meta-command arguments in
//! psql's single quotes (backslashes escaped too), and the database for
//! `\connect` as a connection string, so that no name is read as one.

use crate::document::Deployment;
use crate::error::Error;
use crate::render::baremetal::pg_hba;
use crate::validate;

/// `s` as an SQL identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `s` as an SQL string literal (with `standard_conforming_strings` on).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `s` as one argument of a psql meta-command: in single quotes, where psql
/// reads `''` as a quote and `\` as the start of an escape.
pub fn psql_arg(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// `s` as the one argument of psql's `\connect`, read back exactly: psql
/// takes that argument like an SQL identifier after unquoting it (double
/// quotes are stripped, a doubled one kept), so the text goes in double
/// quotes inside [`psql_arg`]'s single quotes.
pub fn connect_arg(s: &str) -> String {
    psql_arg(&format!("\"{}\"", s.replace('"', "\"\"")))
}

/// `s` as a value of a libpq connection string (`key='value'`).
pub fn conninfo_value(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// What the role may do: log in, nothing more.
const ROLE_ATTRIBUTES: &str = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT";

/// The command the file's header gives (and docs/baremetal.md): init.sql
/// where `secure-mattermost install` puts it, `baremetal.installDir`.
pub fn apply_command(d: &Deployment) -> Result<String, Error> {
    let dir = d.baremetal.install_dir.trim_end_matches('/');
    // A shell word as it stands: the characters file-path options may hold.
    if !crate::render::nginx::bare_path(&d.baremetal.install_dir) {
        return Err(Error::InvalidOption {
            file: "declaration".into(),
            option: "services.secureMattermost.baremetal.installDir".into(),
            detail: "must be an absolute path of letters, digits and . _ / @ + = , : ~ - only (init.sql's apply command names it; the value is not shown)".into(),
        });
    }
    Ok(format!("runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -f {dir}/init.sql"))
}

pub fn render(d: &Deployment) -> Result<String, Error> {
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    pg_hba::check_names(d)?;
    let password_file = &d.database.password_file;
    // psql quotes it for the shell itself (`:'sm_password_file'`); a line
    // break is all that neither psql nor the shell could carry.
    if !password_file.starts_with('/') || password_file.chars().any(char::is_control) {
        return Err(Error::InvalidOption {
            file: "declaration".into(),
            option: "services.secureMattermost.database.passwordFile".into(),
            detail: "must be an absolute path without control characters (init.sql reads the password from it; the value is not shown)".into(),
        });
    }
    let (db, user) = (&d.database.name, &d.database.user);
    Ok(format!(
        r#"-- Rendered by secure-mattermost for {domain}: the Mattermost database and the role that owns it.
--
-- Apply it on the database server as the PostgreSQL superuser, through the local socket:
--
--   {apply}
--
-- psql reads the role's password itself from {password_file}
-- (database.passwordFile; the file must be readable by the postgres user; `-v sm_password_file=PATH`
-- reads another copy). The password is on no command line, in no environment and in no file but that
-- one, and the statements that carry it are kept out of the server log. Do not add -a, -e or -L.
-- Running the script again is safe: it creates only what is missing, re-asserts the role's attributes
-- and the grants, and sets the password from the file again (rotation).

\set ON_ERROR_STOP on
\set ECHO none
\encoding UTF8
SET standard_conforming_strings = on;
SET password_encryption = 'scram-sha-256';

-- Mattermost needs PostgreSQL 14 or newer.
SELECT current_setting('server_version_num')::int < 140000 AS sm_too_old \gset
\if :sm_too_old
DO $$BEGIN RAISE EXCEPTION 'Mattermost needs PostgreSQL 14 or newer'; END$$;
\endif

-- The role: it logs in and owns its database, nothing more.
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {user_lit}) AS sm_create_role \gset
\if :sm_create_role
CREATE ROLE {user_id} WITH {attributes};
\else
ALTER ROLE {user_id} WITH {attributes};
\endif

-- Its password, from the file (trailing line breaks dropped, as `secure-mattermost launch` does).
-- The statements that carry it are not logged and not shown in pg_stat_activity.
\if :{{?sm_password_file}}
\else
\set sm_password_file {password_file_arg}
\endif
\set sm_password `cat -- :'sm_password_file'`
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET log_min_duration_statement = -1;
SET track_activities = off;
SELECT p = '' OR p ~ '^md5[0-9a-f]{{32}}$' OR p ~ '^SCRAM-SHA-256\$' AS sm_password_unusable
  FROM (SELECT rtrim(:'sm_password', E'\r\n') AS p) AS s \gset
\if :sm_password_unusable
\unset sm_password
DO $$BEGIN RAISE EXCEPTION 'the password file is missing, empty or holds a password hash, not a password'; END$$;
\endif
SELECT format('ALTER ROLE %I PASSWORD %L', {user_lit}, rtrim(:'sm_password', E'\r\n')) \gexec
\unset sm_password
RESET track_activities;
RESET log_min_duration_statement;
RESET log_min_error_statement;
RESET log_statement;

-- The database: UTF8 from template0, owned by the role; nobody else may connect.
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = {db_lit}) AS sm_create_database \gset
\if :sm_create_database
CREATE DATABASE {db_id} WITH OWNER {user_id} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
\endif
SELECT pg_catalog.pg_encoding_to_char(encoding) <> 'UTF8' AS sm_not_utf8 FROM pg_catalog.pg_database WHERE datname = {db_lit} \gset
\if :sm_not_utf8
DO $$BEGIN RAISE EXCEPTION 'the existing Mattermost database is not UTF8'; END$$;
\endif
ALTER DATABASE {db_id} OWNER TO {user_id};
REVOKE ALL ON DATABASE {db_id} FROM PUBLIC;

-- In the database: the public schema belongs to the role, and nobody else may create in it or use it.
\connect -reuse-previous=on {connect}
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO {user_id};
"#,
        domain = d.domain,
        apply = apply_command(d)?,
        password_file = password_file,
        password_file_arg = psql_arg(password_file),
        user_lit = literal(user),
        user_id = ident(user),
        db_lit = literal(db),
        db_id = ident(db),
        attributes = ROLE_ATTRIBUTES,
        connect = connect_arg(&format!("dbname={}", conninfo_value(db))),
    ))
}
