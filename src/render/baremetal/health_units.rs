//! Bare metal: `mattermost-health.service` and `mattermost-health.timer`.
//! Every minute the helper's `health` command asks the app listener for
//! `/api/v4/system/ping?get_server_status=true` (the server then also writes
//! to its database and tests its file store) and logs a failure to the
//! journal, exiting non-zero, so the unit's state and the journal show it.
//!
//! A timer rather than `WatchdogSec=`: the pinned server sends systemd
//! `READY=1` once at start-up (cmd/mattermost/commands/server.go,
//! `notifyReady`) but never `WATCHDOG=1`, so a watchdog would kill a healthy
//! server; and a ping exercises the HTTP path, database and file store,
//! which a liveness ping from inside the process would not.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::Error;
use crate::render::baremetal::systemd::{exec_word};
use crate::render::Binaries;
use crate::semantic::net::{self, ListenScope};
use crate::validate;

/// Where the app listener is reached from this host, from the effective
/// `ServiceSettings.ListenAddress` as `net.Listen` binds it: an address that
/// binds every interface is asked on loopback. `(host:port, address the
/// sandbox allows)`; a host name is resolved at run time (no address filter).
pub fn target(config: &Value) -> Result<(String, Option<IpAddr>), Error> {
    let listen = config["ServiceSettings"]["ListenAddress"].as_str().unwrap_or(":8065");
    let refuse = |why: &str| Error::InvalidOption {
        file: "declaration".into(),
        option: "services.secureMattermost.settings.ServiceSettings.ListenAddress".into(),
        detail: format!("the health check cannot reach it: {why} (the value is not shown)"),
    };
    let port = match net::split_host_port(listen) {
        Some((_, p)) => net::lookup_port(p).filter(|p| *p != 0).ok_or_else(|| refuse("no fixed port"))?,
        None => return Err(refuse("no fixed port")),
    };
    let host = net::split_host_port(listen).map(|(h, _)| h).unwrap_or_default();
    let ip = match net::listen_scope(listen) {
        ListenScope::Invalid => return Err(refuse("net.Listen refuses it")),
        ListenScope::AllInterfaces => IpAddr::from([127, 0, 0, 1]),
        ListenScope::Loopback | ListenScope::Specific(_) => match host.parse::<IpAddr>() {
            Ok(ip) => net::unmap(ip),
            // `localhost` (any case) or a zoned address: loopback.
            Err(_) if host.eq_ignore_ascii_case("localhost") => IpAddr::from([127, 0, 0, 1]),
            Err(_) => match net::listen_scope(listen) {
                ListenScope::Specific(ip) => ip,
                _ => IpAddr::from([127, 0, 0, 1]),
            },
        },
        ListenScope::Hostname(h) => {
            if !validate::host(&h) {
                return Err(refuse("a host name the unit could not carry"));
            }
            return Ok((format!("{h}:{port}"), None));
        }
    };
    Ok((net::join_host_port(&ip.to_string(), &port.to_string()), Some(ip)))
}

pub fn service(config: &Value, bins: &Binaries) -> Result<String, Error> {
    let (address, ip) = target(config)?;
    let filter = match ip {
        Some(ip) => format!("IPAddressDeny=any\nIPAddressAllow={ip}\n"),
        None => String::new(),
    };
    Ok(format!(
        "# Rendered by secure-mattermost; do not edit.\n\
[Unit]\n\
Description=Mattermost health check (/api/v4/system/ping on {address})\n\
After=mattermost.service\n\
\n\
[Service]\n\
Type=oneshot\n\
ExecStart={helper} health --address {address} --timeout 5\n\
TimeoutStartSec=30\n\
SyslogIdentifier=mattermost-health\n\
DynamicUser=yes\n\
PrivateUsers=yes\n\
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n\
{filter}\
{sandbox}",
        sandbox = super::sandbox::helper(),
        helper = exec_word(&bins.helper),
    ))
}

pub fn timer() -> String {
    "# Rendered by secure-mattermost; do not edit.\n\
[Unit]\n\
Description=Mattermost health check every minute\n\
\n\
[Timer]\n\
OnCalendar=minutely\n\
AccuracySec=5s\n\
\n\
[Install]\n\
WantedBy=timers.target\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_to_target() {
        let t = |a: &str| target(&serde_json::json!({"ServiceSettings": {"ListenAddress": a}})).map(|(s, _)| s).ok();
        assert_eq!(t("127.0.0.1:8065").as_deref(), Some("127.0.0.1:8065"));
        assert_eq!(t(":8065").as_deref(), Some("127.0.0.1:8065"));
        assert_eq!(t("[::]:8065").as_deref(), Some("127.0.0.1:8065"));
        assert_eq!(t("[::1]:9000").as_deref(), Some("[::1]:9000"));
        assert_eq!(t("LocalHost:8065").as_deref(), Some("127.0.0.1:8065"));
        assert_eq!(t("10.0.2.11:8065").as_deref(), Some("10.0.2.11:8065"));
        assert_eq!(t("app.internal:8065").as_deref(), Some("app.internal:8065"));
        assert_eq!(t("127.0.0.1:0"), None);
        assert_eq!(t("127.0.0.1"), None);
        assert_eq!(t("a b:80"), None);
    }
}
