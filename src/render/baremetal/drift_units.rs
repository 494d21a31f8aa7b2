//! Bare metal: `mattermost-drift.service`, `mattermost-drift.timer` and the
//! `declaration.json` they read. On `baremetal.driftCheckSchedule` the
//! helper's `verify` probes the live site through its proxy (TLS, chain
//! against `baremetal.driftCheckCaFile`, headers, redirect, WebSocket, ping,
//! the unauthenticated client config) and, with `baremetal.driftCheckTokenFile`
//! loaded as a credential, compares the effective server configuration with
//! the catalog rule by rule; what differs is logged to the journal
//! (`SyslogIdentifier=mattermost-drift`) and fails the unit.
//!
//! `declaration.json` is the evaluated declaration the artifacts were
//! rendered from: option values and file paths only (literal secrets are
//! refused before anything renders, and again here). The drift check and
//! the main unit's start-time `check` judge the live host against it.

use crate::document::{Deployment, Document, SCHEMA_VERSION};
use crate::error::Error;
use crate::render::baremetal::systemd::{self, exec_word};
use crate::render::Binaries;
use crate::validate;

/// A file option as one word of the unit: validated for the path grammar and
/// for what systemd carries literally.
fn path_option(option: &str, value: &str) -> Result<String, Error> {
    validate::check(option, value, &systemd::CREDENTIAL_PATH)?;
    if !systemd::unit_path(value) {
        return Err(validate::refusal(option, &systemd::CREDENTIAL_PATH));
    }
    Ok(exec_word(value))
}

pub fn service(d: &Deployment, bins: &Binaries) -> Result<String, Error> {
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    let b = &d.baremetal;
    let ca = path_option("baremetal.driftCheckCaFile", &b.drift_check_ca_file)?;
    let declaration = exec_word(&systemd::installed(bins, "declaration.json")?);
    let (credential, token) = match &b.drift_check_token_file {
        Some(file) => (
            format!("LoadCredential=drift-token:{}\n", path_option("baremetal.driftCheckTokenFile", file)?),
            // %d: the unit's credentials directory.
            " --token-file %d/drift-token",
        ),
        None => (String::new(), ""),
    };
    Ok(format!(
        "# Rendered by secure-mattermost for {domain}; do not edit.\n\
[Unit]\n\
Description=Mattermost drift check (the live site against the declaration)\n\
After=network-online.target nginx.service mattermost.service\n\
Wants=network-online.target\n\
\n\
[Service]\n\
Type=oneshot\n\
ExecStart={helper} verify https://{domain} --ca-file {ca} --input {declaration}{token}\n\
TimeoutStartSec=5min\n\
SyslogIdentifier=mattermost-drift\n\
DynamicUser=yes\n\
# Reads the installed declaration (root:mattermost 0640).\n\
SupplementaryGroups=mattermost\n\
{credential}\
# AF_NETLINK: the resolver's address configuration check.\n\
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK\n\
{sandbox}",
        sandbox = super::sandbox::helper(),
        domain = d.domain,
        helper = exec_word(&bins.helper),
    ))
}

pub fn timer(d: &Deployment) -> Result<String, Error> {
    let schedule = &d.baremetal.drift_check_schedule;
    validate::check("baremetal.driftCheckSchedule", schedule, &validate::SYSTEMD_CALENDAR)?;
    Ok(format!(
        "# Rendered by secure-mattermost; do not edit.\n\
[Unit]\n\
Description=Mattermost drift check on schedule\n\
\n\
[Timer]\n\
OnCalendar={schedule}\n\
Persistent=true\n\
\n\
[Install]\n\
WantedBy=timers.target\n"
    ))
}

/// The declaration as `check --input` and `verify --input` read it.
pub fn declaration(d: &Deployment) -> Result<String, Error> {
    let doc = Document { schema_version: SCHEMA_VERSION, secure_mattermost: d.clone() };
    let value = serde_json::to_value(&doc).unwrap_or_default();
    crate::secrets::refuse_literals(&value)?;
    Ok(serde_json::to_string_pretty(&value).unwrap_or_default() + "\n")
}
