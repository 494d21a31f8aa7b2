//! Bare metal: `nftables.conf`, the host firewall. One `nft -f` ruleset in a
//! table of its own (`inet secure_mattermost`), replaced as a whole in one
//! transaction; no other table is touched.
//!
//! Ingress (policy drop): each service port only from the networks the
//! declaration names for it (`baremetal.networks.*`), on every interface,
//! loopback included; SSH from `networks.admin`; then the rest of loopback
//! (the host's own local services, SSH included), the ICMP and ICMPv6 messages a host needs (neighbour discovery,
//! packet too big, errors), replies of established connections.
//!
//! Egress: the traffic of the `mattermost` account (`meta skuid`, the user
//! the unit runs as) goes to a chain that ends in a reject: only the
//! destinations the declaration names, on their port, pass. nftables cannot
//! match a name, so a destination given as an IP literal is an element of
//! the ruleset, and one given as a name is listed on a `#@resolve` line that
//! `secure-mattermost firewall-sets` resolves and adds, with a timeout, to
//! the `resolved4`/`resolved6` sets (and the resolvers of resolv.conf to
//! `dns4`/`dns6`). Other accounts' traffic is not filtered here.
//!
//! Why `meta skuid` and not the service's cgroup: `socket cgroupv2` resolves
//! the cgroup path to its inode when the ruleset is loaded, so it cannot be
//! loaded before mattermost.service first starts and goes stale at each
//! restart (a new cgroup); the account's uid is stable, and nft resolves the
//! name at load time (it refuses to load the ruleset when the account is
//! missing: fail closed, never open).
//!
//! One ruleset for every role: the default deployment is one host (proxy,
//! server and database). On a split deployment the same file is correct on
//! each host: a port nothing listens on is still allowed only from its
//! declared sources; the account must exist there (a system account without
//! login).
//!
//! Every value written is checked again here: networks by `validate::cidr`
//! (and rendered from their parsed form), host names by their option's kind,
//! ports numeric and non-zero, so `nft` reads back exactly what was meant.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::document::{Deployment, Provider, StorageDriver};
use crate::error::Error;
use crate::validate;

/// The table the ruleset owns.
pub const TABLE: &str = "secure_mattermost";
/// The account whose traffic the egress chain filters (`User=` of the unit).
pub const SERVICE_USER: &str = "mattermost";
/// Mattermost's inter-node port (besides the gossip port of the config).
pub const CLUSTER_PORT: u16 = 8075;
/// SSH, from `baremetal.networks.admin` (and loopback).
pub const SSH_PORT: u16 = 22;
/// `baremetal.logCollector` without a port: syslog over TLS (RFC 5425).
pub const LOG_COLLECTOR_DEFAULT_PORT: u16 = 6514;
/// Starts a line naming a host name for `firewall-sets` to resolve:
/// `#@resolve tcp HOST PORT WHAT`.
pub const RESOLVE_MARK: &str = "#@resolve";
/// Sets `firewall-sets` fills (flushed and refilled at each run).
pub const RESOLVED_SETS: [&str; 2] = ["resolved4", "resolved6"];
pub const DNS_SETS: [&str; 2] = ["dns4", "dns6"];

/// A network in CIDR form, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u32,
}

impl Net {
    fn max(&self) -> u32 {
        if self.addr.is_ipv4() {
            32
        } else {
            128
        }
    }

    fn bits(&self) -> u128 {
        match self.addr {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        }
    }

    /// Whether every address of `other` is in `self`.
    pub fn covers(&self, other: &Net) -> bool {
        if self.addr.is_ipv4() != other.addr.is_ipv4() || self.len > other.len {
            return false;
        }
        let shift = self.max() - self.len;
        shift >= 128 || (self.bits() >> shift) == (other.bits() >> shift)
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.len == self.max() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// A value `validate::cidr` accepts, parsed.
pub fn parse_cidr(s: &str) -> Option<Net> {
    if !validate::cidr(s) {
        return None;
    }
    let (addr, len) = match s.split_once('/') {
        Some((a, p)) => (a.parse().ok()?, p.parse().ok()?),
        None => {
            let a: IpAddr = s.parse().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    Some(Net { addr, len })
}

/// The option's networks, each checked, as (IPv4, IPv6) lists without the
/// networks another one covers (nft refuses overlapping intervals in a set;
/// the union is the same).
pub fn networks(option: &str, list: &[String]) -> Result<(Vec<Net>, Vec<Net>), Error> {
    let mut nets = Vec::new();
    for (i, s) in list.iter().enumerate() {
        validate::check(&format!("{option}[{i}]"), s, &validate::CIDR)?;
        nets.push(parse_cidr(s).ok_or_else(|| validate::refusal(&format!("{option}[{i}]"), &validate::CIDR))?);
    }
    nets.sort_by_key(|n| (n.addr.is_ipv6(), n.len, n.addr));
    let mut kept: Vec<Net> = Vec::new();
    for n in nets {
        if !kept.iter().any(|k| k.covers(&n)) {
            kept.push(n);
        }
    }
    kept.sort();
    Ok(kept.into_iter().partition(|n| n.addr.is_ipv4()))
}

/// Where an egress destination is: an address, or a name to resolve.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    Literal(IpAddr),
    Name(String),
}

/// A destination the service may open TCP connections to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub what: &'static str,
    pub host: Host,
    pub port: u16,
}

/// A `host` value (`validate::host`): a bracketed IPv6 literal, an IPv4
/// address in canonical dotted form, else a name. A name that only looks
/// numeric (`010.1.1.1`, `127.1`) stays a name: `firewall-sets` refuses to
/// resolve it rather than guess how a resolver would read it.
pub fn host_of(s: &str) -> Host {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        if let Ok(v6) = inner.parse::<Ipv6Addr>() {
            return Host::Literal(IpAddr::V6(v6));
        }
    }
    match s.parse::<Ipv4Addr>() {
        Ok(v4) => Host::Literal(IpAddr::V4(v4)),
        Err(_) => Host::Name(s.to_string()),
    }
}

/// `host[:port]` split as `validate::host_port` reads it.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    match s.rfind(']') {
        Some(i) => (&s[..i + 1], s[i + 1..].strip_prefix(':')),
        None => match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        },
    }
}

fn numeric_port(option: &str, p: &str) -> Result<u16, Error> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(port_refusal(option)),
    }
}

fn port_refusal(option: &str) -> Error {
    Error::InvalidOption {
        file: "declaration".into(),
        option: format!("services.secureMattermost.{option}"),
        detail: "must be a port number 1-65535 (it is written into nftables.conf)".into(),
    }
}

fn nonzero(option: &str, p: u16) -> Result<u16, Error> {
    if p == 0 {
        Err(port_refusal(option))
    } else {
        Ok(p)
    }
}

/// A `hostPort` option: checked, then split (no port: `default`).
fn host_port_dest(what: &'static str, option: &str, s: &str, default: u16) -> Result<Destination, Error> {
    validate::check(option, s, &validate::HOST_PORT)?;
    let (h, p) = split_host_port(s);
    let port = match p {
        Some(p) => numeric_port(option, p)?,
        None => default,
    };
    Ok(Destination { what, host: host_of(h), port })
}

/// A `url` option: checked, then its authority (no port: the scheme's).
fn url_dest(what: &'static str, option: &str, s: &str) -> Result<Destination, Error> {
    validate::check(option, s, &validate::URL)?;
    let (scheme_port, rest) = match s.strip_prefix("https://") {
        Some(r) => (443, r),
        None => (80, s.strip_prefix("http://").unwrap_or(s)),
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    host_port_dest(what, option, authority, scheme_port)
}

fn host_dest(what: &'static str, option: &str, s: &str, port: u16, port_option: &str) -> Result<Destination, Error> {
    validate::check(option, s, &validate::HOST)?;
    Ok(Destination { what, host: host_of(s), port: nonzero(port_option, port)? })
}

/// Every destination the declaration names for the service, on its port.
pub fn destinations(d: &Deployment, config: &Value) -> Result<Vec<Destination>, Error> {
    let mut out = vec![host_dest("database", "database.host", &d.database.host, d.database.port, "database.port")?];
    let a = &d.auth;
    match a.provider {
        Provider::Oidc => {
            if let Some(u) = &a.oidc.discovery_endpoint {
                out.push(url_dest("identity provider (OIDC discovery)", "auth.oidc.discoveryEndpoint", u)?);
            }
        }
        Provider::Gitlab => {
            if let Some(u) = &a.gitlab.url {
                out.push(url_dest("identity provider (GitLab)", "auth.gitlab.url", u)?);
            }
        }
        Provider::Saml => {
            if let Some(u) = &a.saml.idp_metadata_url {
                out.push(url_dest("identity provider (SAML metadata)", "auth.saml.idpMetadataUrl", u)?);
            }
        }
        _ => {}
    }
    // LDAP as the sign-in provider or beside another one (synchronisation).
    if let Some(s) = &a.ldap.server {
        out.push(host_dest("LDAP", "auth.ldap.server", s, a.ldap.port, "auth.ldap.port")?);
    }
    if let Some(s) = &d.smtp.server {
        out.push(host_dest("SMTP", "smtp.server", s, d.smtp.port, "smtp.port")?);
    }
    if d.file_storage.driver == StorageDriver::S3 {
        if let Some(e) = &d.file_storage.s3.endpoint {
            let tls = config.pointer("/FileSettings/AmazonS3SSL").and_then(Value::as_bool).unwrap_or(true);
            out.push(host_port_dest("object store (S3)", "fileStorage.s3.endpoint", e, if tls { 443 } else { 80 })?);
        }
    }
    if let Some(u) = &d.push_notifications.server {
        out.push(url_dest("push proxy", "pushNotifications.server", u)?);
    }
    if let Some(l) = &d.baremetal.log_collector {
        out.push(host_port_dest("log collector", "baremetal.logCollector", l, LOG_COLLECTOR_DEFAULT_PORT)?);
    }
    Ok(out)
}

/// The port of a `host:port` listen address in the effective configuration.
fn listen_port(config: &Value, pointer: &str, setting: &str, default: u16) -> Result<u16, Error> {
    let Some(v) = config.pointer(pointer) else { return Ok(default) };
    let refused = || Error::InvalidOption {
        file: "config.json".into(),
        option: setting.into(),
        detail: "must end in a numeric port (the firewall opens that port)".into(),
    };
    match v {
        Value::String(s) => s.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()).filter(|p| *p > 0).ok_or_else(refused),
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0).ok_or_else(refused),
        _ => Err(refused()),
    }
}

/// The service ports of the ruleset (read from the effective configuration).
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub app: u16,
    pub metrics: u16,
    pub gossip: u16,
    pub cluster: u16,
    pub database: u16,
}

pub fn ports(d: &Deployment, config: &Value) -> Result<Ports, Error> {
    Ok(Ports {
        app: listen_port(config, "/ServiceSettings/ListenAddress", "ServiceSettings.ListenAddress", 8065)?,
        metrics: listen_port(config, "/MetricsSettings/ListenAddress", "MetricsSettings.ListenAddress", 8067)?,
        gossip: listen_port(config, "/ClusterSettings/GossipPort", "ClusterSettings.GossipPort", 8074)?,
        cluster: CLUSTER_PORT,
        database: nonzero("database.port", d.database.port)?,
    })
}

fn set(out: &mut String, name: &str, ty: &str, flags: &str, elements: &[String]) {
    let _ = write!(out, "\tset {name} {{\n\t\ttype {ty}\n");
    if !flags.is_empty() {
        let _ = writeln!(out, "\t\tflags {flags}");
    }
    if !elements.is_empty() {
        let _ = writeln!(out, "\t\telements = {{ {} }}", elements.join(", "));
    }
    out.push_str("\t}\n");
}

fn port_list(ports: &BTreeSet<u16>) -> String {
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    if list.len() == 1 {
        list[0].clone()
    } else {
        format!("{{ {} }}", list.join(", "))
    }
}

pub fn render(d: &Deployment, config: &Value) -> Result<String, Error> {
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    let n = &d.baremetal.networks;
    let p = ports(d, config)?;
    let clustered = d.replicas > 1;
    let mut sources = vec![
        ("users", "baremetal.networks.users", &n.users),
        ("proxy", "baremetal.networks.proxy", &n.proxy),
        ("apphosts", "baremetal.networks.appHosts", &n.app_hosts),
        ("monitoring", "baremetal.networks.monitoring", &n.monitoring),
        ("admin", "baremetal.networks.admin", &n.admin),
    ];
    if clustered {
        sources.push(("cluster", "baremetal.networks.clusterNodes", &n.cluster_nodes));
    }
    let dests = destinations(d, config)?;

    let mut out = format!(
        "#!/usr/sbin/nft -f\n\
# Rendered by secure-mattermost for {domain}; do not edit.\n\
# The host firewall: load with `nft -f nftables.conf`, then fill the name sets\n\
# with `secure-mattermost firewall-sets --ruleset nftables.conf --apply` (and\n\
# again from a timer, before the timeout of its elements). Only table\n\
# inet {TABLE} is replaced, atomically; other tables are left alone.\n\
table inet {TABLE}\n\
delete table inet {TABLE}\n\
\n\
table inet {TABLE} {{\n",
        domain = d.domain,
    );

    out.push_str("\t# Sources allowed to reach the service ports (baremetal.networks.*).\n");
    for (name, option, list) in &sources {
        let (v4, v6) = networks(option, list)?;
        let show = |v: &[Net]| v.iter().map(Net::to_string).collect::<Vec<_>>();
        set(&mut out, &format!("{name}4"), "ipv4_addr", "interval", &show(&v4));
        set(&mut out, &format!("{name}6"), "ipv6_addr", "interval", &show(&v6));
    }

    let literal: BTreeSet<(IpAddr, u16)> = dests
        .iter()
        .filter_map(|x| match x.host {
            Host::Literal(a) => Some((a, x.port)),
            Host::Name(_) => None,
        })
        .collect();
    let elems = |v4: bool| literal.iter().filter(|(a, _)| a.is_ipv4() == v4).map(|(a, p)| format!("{a} . {p}")).collect::<Vec<_>>();
    out.push_str("\t# Egress of the service to destinations the declaration names as addresses (address . TCP port).\n");
    set(&mut out, "egress4", "ipv4_addr . inet_service", "", &elems(true));
    set(&mut out, "egress6", "ipv6_addr . inet_service", "", &elems(false));
    out.push_str(
        "\t# Egress to destinations named by host name: `secure-mattermost firewall-sets`\n\
\t# resolves each name below and replaces these sets' elements (with a timeout).\n",
    );
    for x in &dests {
        if let Host::Name(h) = &x.host {
            let _ = writeln!(out, "\t{RESOLVE_MARK} tcp {h} {} {}", x.port, x.what);
        }
    }
    set(&mut out, RESOLVED_SETS[0], "ipv4_addr . inet_service", "timeout", &[]);
    set(&mut out, RESOLVED_SETS[1], "ipv6_addr . inet_service", "timeout", &[]);
    out.push_str("\t# The resolvers the service may ask (DNS), filled by firewall-sets from resolv.conf.\n");
    set(&mut out, DNS_SETS[0], "ipv4_addr", "", &[]);
    set(&mut out, DNS_SETS[1], "ipv6_addr", "", &[]);

    // Ingress.
    let mut tcp_ports = BTreeSet::from([80, 443, p.app, p.database, p.metrics]);
    out.push_str(
        "\n\tchain input {\n\
\t\ttype filter hook input priority filter; policy drop;\n\
\t\tct state established,related accept\n\
\t\tct state invalid drop\n\
\t\t# Each service port only from its declared sources, on every interface (loopback too).\n",
    );
    let mut allow = |ports: &BTreeSet<u16>, proto: &str, set: &str| {
        let _ = writeln!(out, "\t\t{proto} dport {} ip saddr @{set}4 accept", port_list(ports));
        let _ = writeln!(out, "\t\t{proto} dport {} ip6 saddr @{set}6 accept", port_list(ports));
    };
    allow(&BTreeSet::from([80, 443]), "tcp", "users");
    allow(&BTreeSet::from([p.app]), "tcp", "proxy");
    allow(&BTreeSet::from([p.database]), "tcp", "apphosts");
    allow(&BTreeSet::from([p.metrics]), "tcp", "monitoring");
    // SSH is not a service port: from the admin networks, and over loopback below.
    allow(&BTreeSet::from([SSH_PORT]), "tcp", "admin");
    if clustered {
        allow(&BTreeSet::from([p.gossip, p.cluster]), "tcp", "cluster");
        allow(&BTreeSet::from([p.gossip]), "udp", "cluster");
        tcp_ports.extend([p.gossip, p.cluster]);
    }
    let _ = writeln!(out, "\t\ttcp dport {} drop", port_list(&tcp_ports));
    if clustered {
        let _ = writeln!(out, "\t\tudp dport {} drop", p.gossip);
    }
    out.push_str(
        "\t\t# The rest of loopback: the host's own local services.\n\
\t\tiif \"lo\" accept\n\
\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } accept\n\
\t\ticmp type echo-request limit rate 10/second accept\n\
\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept\n\
\t\t# Neighbour discovery and router advertisements: link-local only (hop limit 255).\n\
\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n\
\t\ticmpv6 type { mld-listener-query, mld-listener-report, mld2-listener-report } ip6 saddr fe80::/10 accept\n\
\t\ticmpv6 type echo-request limit rate 10/second accept\n\
\t}\n",
    );

    // Egress.
    let _ = write!(
        out,
        "\n\tchain output {{\n\
\t\ttype filter hook output priority filter; policy accept;\n\
\t\t# Only the service's account is filtered (the account must exist when this loads).\n\
\t\tmeta skuid \"{SERVICE_USER}\" jump mattermost_egress\n\
\t}}\n\
\n\
\tchain mattermost_egress {{\n\
\t\tct state established,related accept\n\
\t\tip daddr . tcp dport @egress4 accept\n\
\t\tip6 daddr . tcp dport @egress6 accept\n\
\t\tip daddr . tcp dport @{r4} accept\n\
\t\tip6 daddr . tcp dport @{r6} accept\n\
\t\tmeta l4proto {{ tcp, udp }} th dport 53 ip daddr @{d4} accept\n\
\t\tmeta l4proto {{ tcp, udp }} th dport 53 ip6 daddr @{d6} accept\n",
        r4 = RESOLVED_SETS[0],
        r6 = RESOLVED_SETS[1],
        d4 = DNS_SETS[0],
        d6 = DNS_SETS[1],
    );
    if clustered {
        let peers = port_list(&BTreeSet::from([p.gossip, p.cluster]));
        let _ = writeln!(out, "\t\ttcp dport {peers} ip daddr @cluster4 accept\n\t\ttcp dport {peers} ip6 daddr @cluster6 accept");
        let _ = writeln!(out, "\t\tudp dport {g} ip daddr @cluster4 accept\n\t\tudp dport {g} ip6 daddr @cluster6 accept", g = p.gossip);
    }
    out.push_str(
        "\t\tlimit rate 6/minute burst 10 packets log prefix \"secure-mattermost egress refused: \" level warn\n\
\t\tmeta l4proto tcp counter reject with tcp reset\n\
\t\tcounter reject with icmpx admin-prohibited\n\
\t}\n\
}\n",
    );
    Ok(out)
}

/// A `#@resolve` line of a rendered ruleset: (host name, TCP port, what).
/// Checked as it was when rendered: a host of `validate::host` that is not
/// an address literal, and a port 1-65535.
pub fn parse_resolve_line(line: &str) -> Option<Result<(String, u16, String), String>> {
    let rest = line.trim_start().strip_prefix(RESOLVE_MARK)?;
    let mut words = rest.split_whitespace();
    let parsed = (|| {
        if words.next() != Some("tcp") {
            return Err("expected `tcp`".to_string());
        }
        let host = words.next().ok_or("no host")?;
        if !validate::host(host) || matches!(host_of(host), Host::Literal(_)) {
            return Err("the host is not a host name".into());
        }
        let port = words.next().and_then(|p| p.parse::<u16>().ok()).filter(|p| *p > 0).ok_or("no port 1-65535")?;
        Ok((host.to_string(), port, words.collect::<Vec<_>>().join(" ")))
    })();
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_networks_are_folded() {
        let list: Vec<String> = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "192.168.0.0/24", "::/0", "fd00::1", "0.0.0.0/0"].iter().map(|s| s.to_string()).collect();
        let (v4, v6) = networks("x", &list).unwrap();
        assert_eq!(v4.iter().map(Net::to_string).collect::<Vec<_>>(), ["0.0.0.0/0"]);
        assert_eq!(v6.iter().map(Net::to_string).collect::<Vec<_>>(), ["::/0"]);
        let list: Vec<String> = ["10.0.0.0/25", "10.0.0.128/25", "10.0.0.128/25"].iter().map(|s| s.to_string()).collect();
        assert_eq!(networks("x", &list).unwrap().0.len(), 2);
        assert!(networks("x", &["10.0.0.1/8".to_string()]).is_err());
    }

    #[test]
    fn hosts_and_resolve_lines() {
        assert_eq!(host_of("10.0.0.5"), Host::Literal("10.0.0.5".parse().unwrap()));
        assert_eq!(host_of("[fd00::5]"), Host::Literal("fd00::5".parse().unwrap()));
        assert_eq!(host_of("010.0.0.5"), Host::Name("010.0.0.5".into()));
        assert_eq!(split_host_port("[::1]:9000"), ("[::1]", Some("9000")));
        assert_eq!(parse_resolve_line("\t#@resolve tcp idp.example.com 443 identity provider"), Some(Ok(("idp.example.com".into(), 443, "identity provider".into()))));
        assert!(matches!(parse_resolve_line("#@resolve tcp 10.0.0.1 443 x"), Some(Err(_))));
        assert!(matches!(parse_resolve_line("#@resolve tcp a;b 443 x"), Some(Err(_))));
        assert!(matches!(parse_resolve_line("#@resolve tcp a 0 x"), Some(Err(_))));
        assert_eq!(parse_resolve_line("# a comment"), None);
    }
}
