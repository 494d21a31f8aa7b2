//! `secure-mattermost firewall-sets`: fill the name sets of the rendered
//! `nftables.conf` (src/render/baremetal/nftables.rs). nftables matches
//! addresses, not names: the ruleset lists every egress destination that the
//! declaration gives as a host name on a `#@resolve tcp HOST PORT WHAT` line.
//! This command resolves each name with the system resolver (getaddrinfo:
//! /etc/hosts, then DNS, as the server itself resolves it), reads the
//! resolvers from resolv.conf, and replaces the elements of `resolved4`,
//! `resolved6`, `dns4` and `dns6` in one `nft -f -` transaction (flush, then
//! add, atomically: no moment without them). Resolved addresses carry a
//! timeout, so a name that stops resolving or moves loses its old addresses
//! unless a timer runs this again first.
//!
//! Without `--apply` it prints the nft script and changes nothing.
//!
//! Exit codes: 0 every name resolved (and, with `--apply`, loaded); 1 some
//! name did not resolve (the others are still loaded; the unresolved one
//! stays unreachable for the service); 2 bad input (a ruleset without our
//! table, a malformed `#@resolve` line, a bad --timeout); 3 the ruleset or
//! resolv.conf unreadable, or `nft` failing.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;
use serde_json::json;

use crate::cli::Format;
use crate::error::{exit, Error};
use crate::output;
use crate::render::baremetal::nftables::{self, DNS_SETS, RESOLVED_SETS, TABLE};

#[derive(Args, Debug)]
pub struct FirewallSetsArgs {
    /// The rendered nftables.conf as installed: its `#@resolve` lines name what to resolve.
    #[arg(long, value_name = "FILE")]
    pub ruleset: PathBuf,
    /// Resolver configuration: its `nameserver` addresses are the only DNS servers the service may ask.
    #[arg(long, value_name = "FILE", default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,
    /// Seconds a resolved address stays allowed unless this runs again (60-604800).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u32,
    /// Load the elements with `nft -f -`; without it, print the nft script and change nothing.
    #[arg(long)]
    pub apply: bool,
    /// The nft program.
    #[arg(long, value_name = "PATH", default_value = "nft")]
    pub nft: PathBuf,
}

/// One element to add: (set, address, port).
type Element = (&'static str, IpAddr, Option<u16>);

pub fn run(args: FirewallSetsArgs, format: Format) -> Result<i32, Error> {
    if format == Format::Sarif {
        return Err(Error::Usage { detail: "`firewall-sets` reports no findings; --format sarif is for check and render".into() });
    }
    if !(60..=604_800).contains(&args.timeout) {
        return Err(Error::Usage { detail: "--timeout must be 60-604800 seconds".into() });
    }
    let ruleset = std::fs::read_to_string(&args.ruleset).map_err(|e| Error::io(&args.ruleset, e))?;
    let file = args.ruleset.display().to_string();
    if !ruleset.lines().any(|l| l.trim() == format!("table inet {TABLE} {{")) {
        return Err(Error::InvalidOption {
            file,
            option: "--ruleset".into(),
            detail: format!("not a ruleset rendered by secure-mattermost (no `table inet {TABLE}`)"),
        });
    }
    let mut names = Vec::new();
    for (i, line) in ruleset.lines().enumerate() {
        match nftables::parse_resolve_line(line) {
            None => {}
            Some(Ok(x)) => names.push(x),
            Some(Err(why)) => {
                return Err(Error::InvalidOption {
                    file: file.clone(),
                    option: format!("line {}", i + 1),
                    detail: format!("malformed {} line: {why}", nftables::RESOLVE_MARK),
                })
            }
        }
    }

    let mut elements: BTreeSet<Element> = BTreeSet::new();
    let mut resolved = Vec::new();
    let mut unresolved = Vec::new();
    for (host, port, what) in &names {
        match resolve(host, *port) {
            Ok(addrs) if !addrs.is_empty() => {
                for a in &addrs {
                    elements.insert((if a.is_ipv4() { RESOLVED_SETS[0] } else { RESOLVED_SETS[1] }, *a, Some(*port)));
                }
                resolved.push(json!({"host": host, "port": port, "what": what, "addresses": addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>()}));
            }
            Ok(_) => unresolved.push(json!({"host": host, "port": port, "what": what, "error": "no address"})),
            Err(e) => unresolved.push(json!({"host": host, "port": port, "what": what, "error": e})),
        }
    }
    let resolv = std::fs::read_to_string(&args.resolv_conf).map_err(|e| Error::io(&args.resolv_conf, e))?;
    let resolvers = nameservers(&resolv);
    for r in &resolvers {
        elements.insert((if r.is_ipv4() { DNS_SETS[0] } else { DNS_SETS[1] }, *r, None));
    }

    let script = script(&elements, args.timeout);
    if args.apply {
        apply(&args.nft, &script)?;
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&json!({
            "applied": args.apply,
            "table": format!("inet {TABLE}"),
            "resolved": resolved,
            "unresolved": unresolved,
            "resolvers": resolvers.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "timeoutSeconds": args.timeout,
            "script": script,
        }))
        .unwrap_or_default()
            + "\n",
        _ => {
            let mut t = String::new();
            if !args.apply {
                t.push_str(&script);
            }
            for u in &unresolved {
                output::stderr(&format!(
                    "warning: {} {}:{} did not resolve ({}); the service cannot reach it",
                    u["what"].as_str().unwrap_or_default(),
                    u["host"].as_str().unwrap_or_default(),
                    u["port"],
                    u["error"].as_str().unwrap_or_default()
                ));
            }
            if args.apply {
                t.push_str(&format!("loaded {} element(s) into inet {TABLE} ({} name(s) resolved, {} not, {} resolver(s))\n", elements.len(), resolved.len(), unresolved.len(), resolvers.len()));
            }
            t
        }
    };
    output::stdout(&text)?;
    Ok(if unresolved.is_empty() { exit::OK } else { exit::POLICY_FAILED })
}

/// The name's addresses as the system resolver gives them.
fn resolve(host: &str, port: u16) -> Result<Vec<IpAddr>, String> {
    let addrs: BTreeSet<IpAddr> = (host, port).to_socket_addrs().map_err(|e| e.to_string())?.map(|s| s.ip()).collect();
    Ok(addrs.into_iter().collect())
}

/// The `nameserver` addresses of a resolv.conf (a zone suffix `%if` dropped:
/// nftables matches the address).
pub fn nameservers(text: &str) -> Vec<IpAddr> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if w.next() == Some("nameserver") {
            if let Some(a) = w.next().map(|a| a.split('%').next().unwrap_or(a)).and_then(|a| a.parse::<IpAddr>().ok()) {
                out.insert(a);
            }
        }
    }
    out.into_iter().collect()
}

/// Flush the filled sets, then add the elements: one transaction.
fn script(elements: &BTreeSet<Element>, timeout: u32) -> String {
    let mut s = String::new();
    for set in RESOLVED_SETS.iter().chain(DNS_SETS.iter()) {
        s.push_str(&format!("flush set inet {TABLE} {set}\n"));
    }
    for set in RESOLVED_SETS.iter().chain(DNS_SETS.iter()) {
        let items: Vec<String> = elements
            .iter()
            .filter(|(s, _, _)| s == set)
            .map(|(_, a, p)| match p {
                Some(p) => format!("{a} . {p} timeout {timeout}s"),
                None => a.to_string(),
            })
            .collect();
        if !items.is_empty() {
            s.push_str(&format!("add element inet {TABLE} {set} {{ {} }}\n", items.join(", ")));
        }
    }
    s
}

fn apply(nft: &std::path::Path, script: &str) -> Result<(), Error> {
    let mut child = Command::new(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(nft, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).map_err(|e| Error::io(nft, e))?;
    }
    let out = child.wait_with_output().map_err(|e| Error::io(nft, e))?;
    if !out.status.success() {
        return Err(Error::Io {
            path: nft.display().to_string(),
            detail: format!(
                "nft -f - failed ({}); is the ruleset loaded (nft -f nftables.conf)? {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers() {
        let t = "# x\nnameserver 10.0.0.53\nnameserver fe80::1%eth0\nnameserver bogus\nsearch example\nnameserver 10.0.0.53\n";
        assert_eq!(nameservers(t), vec!["10.0.0.53".parse::<IpAddr>().unwrap(), "fe80::1".parse().unwrap()]);
    }
}
