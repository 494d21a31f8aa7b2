//! The rendered host firewall (`nftables.conf`), proven by probing, not by
//! reading the rules: network namespaces joined by a bridge, the real
//! ruleset loaded with `nft -f` into the host-under-test namespaces, real
//! listeners on every service port, and a probe of every (source,
//! destination port) pair, TCP and the UDP gossip port, over IPv4 and IPv6
//! (so neighbour discovery must pass the ruleset too). Egress: connections
//! opened as the `mattermost` account reach only what the declaration names
//! (an address literal, and names resolved by `secure-mattermost
//! firewall-sets` through the namespace's own hosts file), other accounts
//! are not filtered. A control run with the table deleted reaches
//! everything, so every refusal is the ruleset's.
//!
//! Needs root, `nft`, `ip netns` and /usr/bin/python3
//! (scripts/firewall-deps.sh installs them and the `mattermost` account);
//! otherwise skipped as prerequisite `nftables`.

mod common;
use common::*;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const PYTHON: &str = "/usr/bin/python3";
const TABLE: &str = "inet secure_mattermost";
/// Probe timeout (seconds): a dropped SYN gets no answer at all.
const PROBE_TIMEOUT: &str = "1.5";

fn nft_bin() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join("nft"))
        .find(|p| p.is_file());
    found
}

/// Everything the namespace tests need, or why not (skipped as `nftables`).
fn prerequisites(test: &str) -> Option<PathBuf> {
    let why = if !nix_is_root() {
        Some("not root: network namespaces and nft need CAP_NET_ADMIN".to_string())
    } else if nft_bin().is_none() {
        Some("nft not installed (bash scripts/firewall-deps.sh)".into())
    } else if !Path::new(PYTHON).exists() {
        Some("/usr/bin/python3 missing (bash scripts/firewall-deps.sh)".into())
    } else {
        // `ip netns` must work here (a container may refuse it).
        // One name per call: tests run in parallel threads of one process.
        static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let probe = format!("smfw{}-probe{n}", std::process::id() % 100_000);
        let ok = sh("ip", &["netns", "add", &probe]).is_ok();
        let _ = sh("ip", &["netns", "del", &probe]);
        (!ok).then(|| "`ip netns add` failed: network namespaces unavailable here".into())
    };
    match why {
        Some(why) => {
            skip_missing("nftables", test, &why);
            None
        }
        None => {
            ensure_account();
            nft_bin()
        }
    }
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// The account the ruleset's egress chain matches (as scripts/firewall-deps.sh makes it).
fn ensure_account() {
    let have = Command::new("getent").args(["passwd", "mattermost"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !have {
        sh("useradd", &["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", "mattermost"])
            .expect("create the mattermost account");
    }
}

fn sh(cmd: &str, args: &[&str]) -> Result<String, String> {
    let o = Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!("{cmd} {}: {}{}", args.join(" "), String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout)))
    }
}

fn must(cmd: &str, args: &[&str]) -> String {
    sh(cmd, args).unwrap_or_else(|e| panic!("{e}"))
}

// ---- the declaration and its rendering ------------------------------------

/// Renders the declaration with the real binary; the nftables.conf text.
fn render(doc: &Value, dir: &Path) -> String {
    let out = dir.join("out");
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "render failed:\n{}\n{}", r.stdout, r.stderr);
    std::fs::read_to_string(out.join("nftables.conf")).expect("nftables.conf rendered")
}

// ---- topology ---------------------------------------------------------------

/// A node of the test network: its namespace, IPv4 and IPv6 address.
struct Node {
    role: &'static str,
    v4: String,
    v6: String,
}

const ROLES: &[(&str, u8)] = &[
    ("app", 10),   // the host under test (ruleset loaded)
    ("proxy", 20), // networks.proxy
    ("db", 30),    // the database host (ruleset loaded too) and the database destination
    ("out", 40),   // an outsider, in no declared network
    ("mon", 50),   // networks.monitoring
    ("peer", 60),  // the other cluster node
    ("user", 70),  // networks.users
    ("idp", 80),   // egress sink: identity provider, SMTP, DNS, log collector (declared)
    ("ext", 90),   // egress sink nobody declared
];

/// Namespaces, bridge, listeners and /etc/netns files; all removed on drop.
struct Net {
    prefix: String,
    nodes: Vec<Node>,
    listeners: Vec<Child>,
    etc: Vec<PathBuf>,
    work: tempfile::TempDir,
}

impl Net {
    fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.prefix)
    }

    fn node(&self, role: &str) -> &Node {
        self.nodes.iter().find(|n| n.role == role).unwrap_or_else(|| panic!("no node {role}"))
    }

    fn up(tag: &str) -> Net {
        let prefix = format!("smfw{}{tag}", std::process::id() % 100_000);
        let work = tempfile::Builder::new().prefix("sm-firewall-").tempdir().expect("tempdir");
        set_mode(work.path(), 0o755);
        let mut net = Net { prefix, nodes: vec![], listeners: vec![], etc: vec![], work };
        let sw = net.ns("sw");
        must("ip", &["netns", "add", &sw]);
        must("ip", &["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        must("ip", &["-n", &sw, "link", "set", "br0", "up"]);
        for (role, n) in ROLES {
            let ns = net.ns(role);
            let (v4, v6) = (format!("10.77.0.{n}"), format!("fd77::{n}"));
            must("ip", &["netns", "add", &ns]);
            net.nodes.push(Node { role, v4: v4.clone(), v6: v6.clone() });
            let port = format!("p-{role}");
            must("ip", &["-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns", &sw]);
            must("ip", &["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
            must("ip", &["-n", &ns, "addr", "add", &format!("{v4}/24"), "dev", "eth0"]);
            must("ip", &["-n", &ns, "addr", "add", &format!("{v6}/64"), "dev", "eth0", "nodad"]);
            must("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
            must("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        }
        net
    }

    /// Files `ip netns exec` binds over /etc in the namespace (hosts, resolv.conf).
    fn etc_file(&mut self, role: &str, name: &str, text: &str) {
        let dir = PathBuf::from("/etc/netns").join(self.ns(role));
        std::fs::create_dir_all(&dir).expect("mkdir /etc/netns/…");
        std::fs::write(dir.join(name), text).expect("write /etc/netns file");
        if !self.etc.contains(&dir) {
            self.etc.push(dir);
        }
    }

    fn script(&self, name: &str, text: &str) -> PathBuf {
        let p = self.work.path().join(name);
        std::fs::write(&p, text).expect("write script");
        set_mode(&p, 0o755);
        p
    }

    /// Starts the listener in `role`'s namespace (as `user`, when given) and
    /// waits until every port is bound.
    fn listen(&mut self, role: &str, user: Option<&str>, tcp: &[u16], udp: &[u16]) {
        let script = self.script("listen.py", LISTENER);
        let ns = self.ns(role);
        let ports = |ps: &[u16]| ps.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let mut cmd = Command::new("ip");
        // The script drops to `user` itself before it opens a socket (a
        // socket belongs to the uid that created it), and stays the process
        // this handle kills.
        cmd.args(["netns", "exec", &ns, PYTHON, script.to_str().unwrap(), user.unwrap_or(""), role, &ports(tcp), &ports(udp)]);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("listener starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("listener output");
        assert_eq!(line.trim(), "ready", "listener in {role} did not come up");
        self.listeners.push(child);
    }

    fn nft(&self, role: &str, args: &[&str]) -> Result<String, String> {
        let ns = self.ns(role);
        let nft = nft_bin().unwrap();
        let mut all = vec!["netns", "exec", &ns, nft.to_str().unwrap()];
        all.extend_from_slice(args);
        sh("ip", &all)
    }

    /// Forget every neighbour, so IPv6 neighbour discovery runs again under
    /// whatever ruleset is loaded now.
    fn flush_neighbours(&self) {
        for (role, _) in ROLES.iter().chain([("sw", 0)].iter()) {
            let _ = sh("ip", &["-n", &self.ns(role), "neigh", "flush", "all"]);
        }
    }

    /// Runs the probes of each source concurrently (one prober per source,
    /// its targets in parallel); the answers, in order.
    fn probe(&self, batches: &[Batch]) -> Vec<Vec<String>> {
        let script = self.script("probe.py", PROBER);
        let children: Vec<Child> = batches
            .iter()
            .map(|(role, user, targets)| {
                let spec = serde_json::to_string(&targets.iter().map(|t| json!([t.proto, t.host, t.port])).collect::<Vec<_>>()).unwrap();
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &self.ns(role), PYTHON, script.to_str().unwrap(), user.unwrap_or(""), PROBE_TIMEOUT, &spec]);
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("prober starts")
            })
            .collect();
        children
            .into_iter()
            .map(|c| {
                let o = c.wait_with_output().expect("prober ran");
                assert!(o.status.success(), "prober failed: {}", String::from_utf8_lossy(&o.stderr));
                serde_json::from_slice(&o.stdout).expect("prober prints JSON")
            })
            .collect()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.listeners {
            let _ = c.kill();
            let _ = c.wait();
        }
        for (role, _) in ROLES.iter().chain([("sw", 0)].iter()) {
            let _ = sh("ip", &["netns", "del", &self.ns(role)]);
        }
        for d in &self.etc {
            let _ = std::fs::remove_dir_all(d);
        }
        // /etc/netns itself, if nothing else is in it.
        if !self.etc.is_empty() {
            let _ = std::fs::remove_dir("/etc/netns");
        }
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The probes of one prober: the namespace it runs in, the account it runs as, its targets.
type Batch = (String, Option<&'static str>, Vec<Target>);

#[derive(Clone)]
struct Target {
    proto: &'static str,
    host: String,
    port: u16,
}

/// Every TCP port binds its own dual-stack socket and greets with
/// `ROLE:PORT/tcp`; every UDP port echoes `ROLE:PORT/udp`. Prints `ready`
/// once all are bound.
const LISTENER: &str = r#"import os, pwd, socket, sys, threading
user, role, tcp, udp = sys.argv[1:5]
if user:
    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
ports = lambda s: [int(p) for p in s.split(",") if p]
def bind(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    return s
def serve_tcp(s, port):
    s.listen(128)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(f"{role}:{port}/tcp\n".encode())
        except OSError:
            pass
        c.close()
def serve_udp(s, port):
    while True:
        _, peer = s.recvfrom(512)
        try:
            s.sendto(f"{role}:{port}/udp\n".encode(), peer)
        except OSError:
            pass
threads = [threading.Thread(target=serve_tcp, args=(bind(socket.SOCK_STREAM, p), p), daemon=True) for p in ports(tcp)]
threads += [threading.Thread(target=serve_udp, args=(bind(socket.SOCK_DGRAM, p), p), daemon=True) for p in ports(udp)]
for t in threads:
    t.start()
print("ready", flush=True)
for t in threads:
    t.join()
"#;

/// Probes `[proto, host, port]` targets in parallel; prints, per target, the
/// greeting received, or `blocked:<why>`.
const PROBER: &str = r#"import json, os, pwd, socket, sys
from concurrent.futures import ThreadPoolExecutor
user, timeout, targets = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
if user:
    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
def tcp(host, port):
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(128).decode(errors="replace").strip() or "blocked:no-greeting"
    except OSError as e:
        return "blocked:" + (type(e).__name__ if not isinstance(e, socket.timeout) else "timeout")
def udp(host, port):
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    s = socket.socket(family, kind, proto)
    s.settimeout(timeout / 3)
    try:
        for _ in range(3):
            try:
                s.sendto(b"probe", addr)
                return s.recvfrom(128)[0].decode(errors="replace").strip()
            except socket.timeout:
                continue
            except OSError as e:
                return "blocked:" + type(e).__name__
        return "blocked:timeout"
    finally:
        s.close()
with ThreadPoolExecutor(max_workers=64) as pool:
    print(json.dumps(list(pool.map(lambda t: tcp(t[1], t[2]) if t[0] == "tcp" else udp(t[1], t[2]), targets))))
"#;

// ---- the matrix ---------------------------------------------------------------

/// The declaration of the test network: each list names the test nodes
/// that may reach the port, by both addresses; loopback is declared only
/// for the proxy (so loopback is shown to be judged like any source).
fn declaration(net: &Net) -> Value {
    let both = |role: &str| {
        let n = net.node(role);
        vec![format!("{}/32", n.v4), format!("{}/128", n.v6)]
    };
    let mut proxy = both("proxy");
    proxy.extend(["127.0.0.1/32".to_string(), "::1/128".to_string()]);
    let mut cluster = both("app");
    cluster.extend(both("peer"));
    patched(
        base("baremetal"),
        &json!({
            "replicas": 2,
            "fileStorage": {"driver": "s3", "s3": {"endpoint": format!("{}:9000", net.node("db").v4)}},
            "database": {"host": net.node("db").v4},
            "auth": {"oidc": {"discoveryEndpoint": "https://idp.fw-test.internal/.well-known/openid-configuration"}},
            "smtp": {"server": "smtp.fw-test.internal", "port": 587},
            "baremetal": {
                "logCollector": format!("[{}]:6514", net.node("idp").v6),
                "networks": {
                    // A covering network and one it covers: folded, same union.
                    "users": [format!("{}/32", net.node("user").v4), format!("{}/128", net.node("user").v6), "10.77.0.70/31"],
                    "proxy": proxy,
                    "appHosts": both("app"),
                    "clusterNodes": cluster,
                    "monitoring": both("mon"),
                    // A network, not an address: the monitoring node is in it, nobody else.
                    "admin": ["10.77.0.48/29", "fd77::50/126"],
                }
            }
        }),
    )
}

/// Which declared list opens (proto, port) on the host under test; `None`:
/// no list (ports outside the ruleset's service ports).
fn opened_by(proto: &str, port: u16) -> Option<&'static str> {
    match (proto, port) {
        ("tcp", 80 | 443) => Some("users"),
        ("tcp", 8065) => Some("proxy"),
        ("tcp", 5432) => Some("appHosts"),
        ("tcp", 8067) => Some("monitoring"),
        ("tcp", 8074 | 8075) | ("udp", 8074) => Some("clusterNodes"),
        ("tcp", 22) => Some("admin"),
        _ => None,
    }
}

/// The expected verdict, from the declaration (not from the ruleset): a
/// service port opens to the addresses its list covers; SSH also to
/// loopback; any other port only to loopback.
fn expected(doc: &Value, proto: &str, port: u16, source: IpAddr, loopback: bool) -> bool {
    match opened_by(proto, port) {
        Some(list) => {
            let listed = doc["secureMattermost"]["baremetal"]["networks"][list].as_array().unwrap().iter().any(|c| covers(c.as_str().unwrap(), source));
            listed || (loopback && list == "admin")
        }
        None => loopback,
    }
}

fn covers(cidr: &str, ip: IpAddr) -> bool {
    let (a, len) = cidr.split_once('/').map(|(a, l)| (a, l.parse::<u32>().unwrap())).unwrap_or((cidr, if cidr.contains(':') { 128 } else { 32 }));
    let a: IpAddr = a.parse().unwrap();
    let bits = |x: IpAddr| match x {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    };
    let ((net, max), (addr, max2)) = (bits(a), bits(ip));
    max == max2 && (len == 0 || (net >> (max - len)) == (addr >> (max - len)))
}

struct Row {
    source: String,
    from: IpAddr,
    target: String,
    proto: &'static str,
    port: u16,
    want: bool,
    got: String,
}

const APP_TCP: &[u16] = &[22, 80, 443, 8065, 5432, 8067, 8074, 8075, 9999];

/// The ingress probes: every source node (and the app host itself)
/// against every port of the app host, and the database host's 5432; both
/// address families.
fn ingress_probes(net: &Net, doc: &Value) -> (Vec<Batch>, Vec<Row>) {
    let mut batches = vec![];
    let mut rows = vec![];
    // `app`: the host under test to its own address (which goes over
    // loopback); `app-lo`: to 127.0.0.1 and ::1.
    let sources = ["proxy", "db", "out", "mon", "peer", "user", "app", "app-lo"];
    for src in sources {
        let mut targets = vec![];
        for v6 in [false, true] {
            let (from, dest_app, dest_db): (IpAddr, String, String) = if src == "app-lo" {
                let lo = if v6 { "::1" } else { "127.0.0.1" };
                (lo.parse().unwrap(), lo.to_string(), String::new())
            } else {
                let n = net.node(src);
                let pick = |x: &Node| if v6 { x.v6.clone() } else { x.v4.clone() };
                (pick(n).parse().unwrap(), pick(net.node("app")), pick(net.node("db")))
            };
            let mut add = |target: &str, host: &str, proto: &'static str, port: u16| {
                targets.push(Target { proto, host: host.to_string(), port });
                rows.push(Row {
                    source: format!("{src}{}", if v6 { "/6" } else { "/4" }),
                    from,
                    target: target.to_string(),
                    proto,
                    port,
                    want: expected(doc, proto, port, from, src.starts_with("app") && target == "app"),
                    got: String::new(),
                });
            };
            for &p in APP_TCP {
                add("app", &dest_app, "tcp", p);
            }
            add("app", &dest_app, "udp", 8074);
            if !dest_db.is_empty() {
                add("db", &dest_db, "tcp", 5432);
            }
        }
        let role = if src == "app-lo" { "app" } else { src };
        batches.push((role.to_string(), None, targets));
    }
    (batches, rows)
}

fn fill(rows: &mut [Row], answers: Vec<Vec<String>>) {
    let mut it = answers.into_iter().flatten();
    for r in rows.iter_mut() {
        r.got = it.next().expect("an answer per probe");
    }
}

/// A connection counts only when the intended listener greeted.
fn connected(r: &Row) -> bool {
    r.got == format!("{}:{}/{}", r.target, r.port, r.proto)
}

fn print_matrix(title: &str, rows: &[Row]) {
    let mut by_source: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_source.entry(&r.source).or_default().push(r);
    }
    let label = |r: &Row| format!("{}:{}/{}", r.target, r.port, r.proto);
    let mut cols: Vec<String> = vec![];
    for r in rows {
        if !cols.contains(&label(r)) {
            cols.push(label(r));
        }
    }
    println!("\n{title}  (ok = connected as expected, -- = refused as expected, !! = WRONG, blank = not probed)");
    println!("{:<10}{}", "source", cols.iter().map(|c| format!("{c:>14}")).collect::<String>());
    for (src, rs) in by_source {
        let cells: String = cols
            .iter()
            .map(|c| {
                let cell = rs.iter().find(|r| &label(r) == c).map_or("", |r| match (r.want, connected(r)) {
                    (true, true) => "ok",
                    (false, false) => "--",
                    (true, false) => "!!refused",
                    (false, true) => "!!open",
                });
                format!("{cell:>14}")
            })
            .collect();
        println!("{src:<10}{cells}");
    }
}

fn wrong(rows: &[Row], control: bool) -> Vec<String> {
    rows.iter()
        .filter(|r| connected(r) != (r.want || control))
        .map(|r| format!("{} ({}) -> {}:{}/{}: want {}, got {:?}", r.source, r.from, r.target, r.port, r.proto, if r.want || control { "connect" } else { "refused" }, r.got))
        .collect()
}

fn load(net: &Net, role: &str, ruleset: &Path) {
    net.nft(role, &["-f", ruleset.to_str().unwrap()]).unwrap_or_else(|e| panic!("nft -f in {role}: {e}"));
}

fn unload(net: &Net, role: &str) {
    net.nft(role, &["delete", "table", "inet", "secure_mattermost"]).unwrap_or_else(|e| panic!("delete table in {role}: {e}"));
}

/// Every (source, port) pair against the ruleset loaded on the app and
/// database hosts, then the control with the table deleted.
fn ingress_matrix() {
    let Some(_) = prerequisites("firewall/ingress_matrix") else { return };
    let t0 = Instant::now();
    let mut net = Net::up("i");
    let doc = declaration(&net);
    let ruleset = render(&doc, net.work.path());
    let file = net.script("nftables.conf", &ruleset);
    // The app host's ports: 22, 80, 443, 5432 as root (sshd's, the proxy's, the database's), the rest
    // as the mattermost account, so the egress chain sees their replies too.
    net.listen("app", None, &[22, 80, 443, 5432], &[]);
    net.listen("app", Some("mattermost"), &[8065, 8067, 8074, 8075, 9999], &[8074]);
    net.listen("db", None, &[5432], &[]);
    let setup = t0.elapsed();

    load(&net, "app", &file);
    load(&net, "db", &file);
    // The loaded table is the one rendered (our table, nothing else added).
    let listed = net.nft("app", &["list", "tables"]).unwrap();
    assert_eq!(listed.trim(), format!("table {TABLE}"), "tables after loading");
    net.flush_neighbours();
    let t1 = Instant::now();
    let (batches, mut rows) = ingress_probes(&net, &doc);
    fill(&mut rows, net.probe(&batches));
    let probed = t1.elapsed();
    print_matrix("ingress with the rendered ruleset", &rows);
    let allowed = rows.iter().filter(|r| r.want).count();
    assert!(allowed >= 20 && rows.len() - allowed >= 60, "the matrix must hold both verdicts ({allowed} allowed of {})", rows.len());
    let bad = wrong(&rows, false);

    // Control: without the table every probe connects, so each refusal
    // above is the ruleset's, not a missing listener or route.
    unload(&net, "app");
    unload(&net, "db");
    net.flush_neighbours();
    let (batches, mut control) = ingress_probes(&net, &doc);
    fill(&mut control, net.probe(&batches));
    let bad_control = wrong(&control, true);
    println!(
        "\n{} probes with the ruleset ({allowed} allowed, {} refused) and {} in the control; setup {:.1}s, probes {:.1}s, total {:.1}s",
        rows.len(),
        rows.len() - allowed,
        control.len(),
        setup.as_secs_f64(),
        probed.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    assert!(bad.is_empty(), "with the ruleset:\n{}", bad.join("\n"));
    assert!(bad_control.is_empty(), "control (table deleted):\n{}", bad_control.join("\n"));
}

/// Egress of the mattermost account from the app host: only the declared
/// destinations on their ports (the database by address, the IdP and SMTP
/// by name through firewall-sets, the log collector by IPv6 literal, DNS to
/// the resolver of resolv.conf, the cluster peer); root is not filtered; the
/// control without the table reaches everything.
fn egress_by_account() {
    let Some(_) = prerequisites("firewall/egress_by_account") else { return };
    let t0 = Instant::now();
    let mut net = Net::up("e");
    let doc = declaration(&net);
    let ruleset = render(&doc, net.work.path());
    let file = net.script("nftables.conf", &ruleset);
    let (idp, ext, db, peer) = (net.node("idp").v4.clone(), net.node("ext").v4.clone(), net.node("db").v4.clone(), net.node("peer").v4.clone());
    let (idp6, ext6) = (net.node("idp").v6.clone(), net.node("ext").v6.clone());
    // The app host resolves the IdP and SMTP names through its hosts file;
    // its resolver is the idp sink.
    net.etc_file("app", "hosts", &format!("127.0.0.1 localhost\n{idp} idp.fw-test.internal smtp.fw-test.internal\n"));
    net.etc_file("app", "resolv.conf", &format!("nameserver {idp}\noptions timeout:1 attempts:1\n"));
    for sink in ["idp", "ext"] {
        net.listen(sink, None, &[443, 587, 6514, 8443], &[53]);
    }
    net.listen("db", None, &[5432, 9000], &[]);
    net.listen("peer", None, &[8074, 8075, 9999], &[8074]);

    load(&net, "app", &file);
    let fill_run = Command::new("ip")
        .args(["netns", "exec", &net.ns("app")])
        .arg(bin().get_program())
        .args(["firewall-sets", "--ruleset", file.to_str().unwrap(), "--apply", "--timeout", "600", "--json"])
        .output()
        .expect("firewall-sets runs");
    let report: Value = serde_json::from_slice(&fill_run.stdout).unwrap_or_else(|_| panic!("firewall-sets: {}", String::from_utf8_lossy(&fill_run.stderr)));
    assert_eq!(fill_run.status.code(), Some(0), "firewall-sets: {report}");
    let resolved: Vec<String> = report["resolved"].as_array().unwrap().iter().map(|r| format!("{}={}", r["host"].as_str().unwrap(), r["addresses"][0].as_str().unwrap())).collect();
    assert_eq!(resolved, [format!("idp.fw-test.internal={idp}"), format!("smtp.fw-test.internal={idp}")], "names resolved");
    // The filled elements carry the timeout.
    let set: Value = serde_json::from_str(&net.nft("app", &["-j", "list", "set", "inet", "secure_mattermost", "resolved4"]).unwrap()).unwrap();
    let elems = set["nftables"][1]["set"]["elem"].as_array().cloned().unwrap_or_default();
    assert_eq!(elems.len(), 2, "resolved4 elements: {set}");
    assert!(elems.iter().all(|e| e["elem"]["timeout"] == 600), "resolved elements without the timeout: {set}");
    let setup = t0.elapsed();

    let t = |proto: &'static str, host: &str, port: u16| Target { proto, host: host.to_string(), port };
    // (target, label as the listener greets, allowed for the mattermost account)
    let plan: Vec<(Target, &str, bool)> = vec![
        (t("tcp", &db, 5432), "db", true),                                       // database (literal)
        (t("tcp", &db, 9000), "db", true),                                       // S3 endpoint (literal host:port)
        (t("tcp", "idp.fw-test.internal", 443), "idp", true),                    // OIDC discovery host, by name
        (t("tcp", &idp, 587), "idp", true),                                      // SMTP, by name
        (t("tcp", &idp, 8443), "idp", false),                                    // the IdP host on an undeclared port
        (t("tcp", &idp6, 6514), "idp", true),                                    // log collector (IPv6 literal)
        (t("tcp", &idp6, 443), "idp", false),                                    // the name resolved to IPv4 only
        (t("udp", &idp, 53), "idp", true),                                       // DNS to the configured resolver
        (t("tcp", &peer, 8074), "peer", true),                                   // cluster gossip
        (t("udp", &peer, 8074), "peer", true),
        (t("tcp", &peer, 8075), "peer", true),
        (t("tcp", &peer, 9999), "peer", false),
        (t("tcp", &ext, 443), "ext", false),                                     // undeclared sink
        (t("tcp", &ext, 587), "ext", false),
        (t("tcp", &ext6, 6514), "ext", false),
        (t("udp", &ext, 53), "ext", false),                                      // DNS elsewhere
    ];
    let rows_for = |user: &str, answers: &[String], control: bool| -> Vec<Row> {
        plan.iter()
            .zip(answers)
            .map(|((tg, label, allowed), got)| Row {
                source: user.to_string(),
                from: net.node("app").v4.parse().unwrap(),
                target: label.to_string(),
                proto: tg.proto,
                port: tg.port,
                want: *allowed || control || user == "root",
                got: got.clone(),
            })
            .collect()
    };
    let targets: Vec<Target> = plan.iter().map(|(t, _, _)| t.clone()).collect();
    net.flush_neighbours();
    let t1 = Instant::now();
    let answers = net.probe(&[("app".into(), Some("mattermost"), targets.clone()), ("app".into(), None, targets.clone())]);
    let probed = t1.elapsed();
    let (mm, root) = (rows_for("mattermost", &answers[0], false), rows_for("root", &answers[1], false));
    print_egress(&plan, &mm, &root);
    let mut bad = wrong(&mm, false);
    bad.extend(wrong(&root, false));

    unload(&net, "app");
    net.flush_neighbours();
    let answers = net.probe(&[("app".into(), Some("mattermost"), targets.clone())]);
    let control = rows_for("mattermost", &answers[0], true);
    let bad_control = wrong(&control, true);
    println!(
        "\negress: {} probes per account; setup {:.1}s (firewall-sets included), probes {:.1}s, total {:.1}s",
        plan.len(),
        setup.as_secs_f64(),
        probed.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    assert!(plan.iter().any(|p| p.2) && plan.iter().any(|p| !p.2));
    assert!(bad.is_empty(), "egress with the ruleset:\n{}", bad.join("\n"));
    assert!(bad_control.is_empty(), "egress control (table deleted):\n{}", bad_control.join("\n"));

    // A name that does not resolve: the dry run still lists the others,
    // warns about it and exits 1; a malformed #@resolve line is refused (2).
    let fill = |text: &str| {
        let f = net.script("variant.nft", text);
        let o = Command::new("ip")
            .args(["netns", "exec", &net.ns("app")])
            .arg(bin().get_program())
            .args(["firewall-sets", "--ruleset", f.to_str().unwrap()])
            .output()
            .expect("firewall-sets runs");
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let smtp = "#@resolve tcp smtp.fw-test.internal 587 SMTP";
    assert!(ruleset.contains(smtp), "the SMTP name is listed for resolution");
    let (code, out, err) = fill(&ruleset.replace(smtp, "#@resolve tcp nowhere.fw-test.invalid 587 SMTP"));
    assert_eq!(code, Some(1), "unresolved name: {out}{err}");
    assert!(out.contains(&format!("add element inet secure_mattermost resolved4 {{ {idp} . 443 timeout 3600s }}")), "{out}");
    assert!(out.contains(&format!("add element inet secure_mattermost dns4 {{ {idp} }}")), "{out}");
    assert!(err.contains("nowhere.fw-test.invalid:587 did not resolve"), "{err}");
    let (code, _, err) = fill(&ruleset.replace(smtp, "#@resolve tcp bad;name 587 SMTP"));
    assert_eq!(code, Some(2), "malformed line: {err}");
}

fn print_egress(plan: &[(Target, &str, bool)], mm: &[Row], root: &[Row]) {
    println!("\negress from the app host  (ok = connected as expected, -- = refused as expected, !! = WRONG)");
    println!("{:<32} {:>12} {:>12}", "destination", "mattermost", "root");
    let cell = |r: &Row| match (r.want, connected(r)) {
        (true, true) => "ok",
        (false, false) => "--",
        (true, false) => "!!refused",
        (false, true) => "!!open",
    };
    for ((t, label, _), (a, b)) in plan.iter().zip(mm.iter().zip(root)) {
        println!("{:<32} {:>12} {:>12}", format!("{label} {}:{}/{}", t.host, t.port, t.proto), cell(a), cell(b));
    }
}

// ---- the ruleset as nft reads it ----------------------------------------------

/// A throwaway namespace (its own netfilter), deleted on drop.
struct Scratch(String);
impl Scratch {
    fn new(tag: &str) -> Scratch {
        let name = format!("smfw{}-{tag}", std::process::id() % 100_000);
        must("ip", &["netns", "add", &name]);
        Scratch(name)
    }
    fn nft(&self, args: &[&str]) -> Result<String, String> {
        let nft = nft_bin().unwrap();
        let mut all = vec!["netns", "exec", &self.0, nft.to_str().unwrap()];
        all.extend_from_slice(args);
        sh("ip", &all)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = sh("ip", &["netns", "del", &self.0]);
    }
}

/// `nft -c` accepts the rendered rulesets of the shipped declaration, single
/// node and clustered; loading it twice replaces the table (atomic reload)
/// and leaves another table alone.
fn nft_accepts_the_ruleset() {
    let Some(_) = prerequisites("firewall/nft_accepts_the_ruleset") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ns = Scratch::new("c");
    ns.nft(&["add", "table", "inet", "someone_else"]).unwrap();
    for (name, doc) in [
        ("single", base("baremetal")),
        ("clustered", patched(base("baremetal"), &json!({"replicas": 3, "fileStorage": {"driver": "s3", "s3": {"endpoint": "minio.example.internal:9000"}}, "baremetal": {"networks": {"clusterNodes": ["10.0.2.0/24", "fd00:2::/64"]}}}))),
    ] {
        let text = render(&doc, &dir.path().join(name));
        let f = dir.path().join(format!("{name}.nft"));
        std::fs::write(&f, &text).unwrap();
        ns.nft(&["-c", "-f", f.to_str().unwrap()]).unwrap_or_else(|e| panic!("nft -c refused the {name} ruleset: {e}\n{text}"));
        ns.nft(&["-f", f.to_str().unwrap()]).unwrap_or_else(|e| panic!("nft -f {name}: {e}"));
        ns.nft(&["-f", f.to_str().unwrap()]).unwrap_or_else(|e| panic!("nft -f {name} (reload): {e}"));
        let tables = ns.nft(&["list", "tables"]).unwrap();
        assert_eq!(tables.lines().filter(|l| l.contains("secure_mattermost")).count(), 1, "{tables}");
        assert!(tables.contains("table inet someone_else"), "another table was touched: {tables}");
        let cluster = ns.nft(&["list", "chain", "inet", "secure_mattermost", "input"]).unwrap();
        assert_eq!(cluster.contains("@cluster4"), name == "clustered", "cluster rules only with replicas > 1:\n{cluster}");
    }
}

// ---- random networks ------------------------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A random valid CIDR (host bits clear), often near another (nested,
/// adjacent, duplicated) so the folding is exercised.
fn random_cidr(rng: &mut Rng, earlier: &[(u128, u32, bool)]) -> (u128, u32, bool) {
    if !earlier.is_empty() && rng.below(3) == 0 {
        let (a, len, v6) = earlier[rng.below(earlier.len() as u64) as usize];
        let max = if v6 { 128 } else { 32 };
        let len2 = (len + rng.below(u64::from(max - len) + 1) as u32).min(max);
        let host = if len2 == 0 { 0 } else { (u128::from(rng.next()) << 64 | u128::from(rng.next())) & mask(max, len2) & !mask(max, len) };
        return (a | host, len2, v6);
    }
    let v6 = rng.below(2) == 0;
    let max = if v6 { 128 } else { 32 };
    let len = match rng.below(6) {
        0 => 0,
        1 => max,
        _ => rng.below(u64::from(max) + 1) as u32,
    };
    let raw = if v6 { u128::from(rng.next()) << 64 | u128::from(rng.next()) } else { u128::from(rng.next() as u32) };
    (raw & mask(max, len), len, v6)
}

fn mask(max: u32, len: u32) -> u128 {
    let all = if max == 128 { u128::MAX } else { (1u128 << max) - 1 };
    all & !all.checked_shr(len).unwrap_or(0)
}

fn spell((a, len, v6): (u128, u32, bool), short: bool) -> String {
    let ip: IpAddr = if v6 { IpAddr::V6(a.into()) } else { IpAddr::V4((a as u32).into()) };
    if short && len == if v6 { 128 } else { 32 } {
        ip.to_string()
    } else {
        format!("{ip}/{len}")
    }
}

/// The union of the networks as nft lists a set: a single address, a
/// prefix, or (if nft merged any) a range.
fn read_set(json: &Value) -> Vec<(u128, u128)> {
    let num = |s: &str| match s.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32u32),
        IpAddr::V6(v) => (u128::from(v), 128u32),
    };
    let mut out = vec![];
    for e in json["nftables"][1]["set"]["elem"].as_array().into_iter().flatten() {
        if let Some(s) = e.as_str() {
            let (a, _) = num(s);
            out.push((a, a));
        } else if let Some(p) = e.get("prefix") {
            let (a, max) = num(p["addr"].as_str().unwrap());
            let len = p["len"].as_u64().unwrap() as u32;
            let span = if len == 0 { if max == 128 { u128::MAX } else { (1u128 << max) - 1 } } else { (1u128 << (max - len)) - 1 };
            out.push((a, a | span));
        } else if let Some(r) = e.get("range") {
            out.push((num(r[0].as_str().unwrap()).0, num(r[1].as_str().unwrap()).0));
        } else {
            panic!("unexpected set element {e}");
        }
    }
    out.sort();
    out
}

/// The union of networks as sorted, merged [first, last] address intervals.
fn union(nets: &[(u128, u32, bool)], v6: bool) -> Vec<(u128, u128)> {
    let max = if v6 { 128 } else { 32 };
    let mut iv: Vec<(u128, u128)> = nets.iter().filter(|n| n.2 == v6).map(|&(a, len, _)| (a, a | !mask(max, len) & if v6 { u128::MAX } else { (1u128 << 32) - 1 })).collect();
    iv.sort();
    let mut out: Vec<(u128, u128)> = vec![];
    for (a, b) in iv {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn merged(mut iv: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    iv.sort();
    let mut out: Vec<(u128, u128)> = vec![];
    for (a, b) in iv {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Random CIDR lists in every networks option: the real binary renders
/// them, `nft -c` accepts the ruleset, and loaded, each source set holds
/// exactly the declared union (nothing lost, nothing added), IPv4 and IPv6.
fn random_networks_read_back() {
    let Some(_) = prerequisites("firewall/random_networks_read_back") else { return };
    let cases: u64 = std::env::var("FIREWALL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(25);
    let dir = tempfile::tempdir().unwrap();
    let ns = Scratch::new("r");
    let mut rng = Rng(0x5eed_f12e);
    let options = [("users", "users"), ("proxy", "proxy"), ("appHosts", "apphosts"), ("monitoring", "monitoring"), ("clusterNodes", "cluster")];
    let mut checked = 0;
    for case in 0..cases {
        let mut lists = BTreeMap::new();
        let mut patch = json!({});
        for (option, _) in options {
            let mut nets = vec![];
            for _ in 0..rng.below(7) {
                let n = random_cidr(&mut rng, &nets);
                nets.push(n);
            }
            let spelled: Vec<String> = nets.iter().map(|n| spell(*n, rng.below(2) == 0)).collect();
            patch[option] = json!(spelled);
            lists.insert(option, nets);
        }
        let doc = patched(
            base("baremetal"),
            &json!({"replicas": 2, "fileStorage": {"driver": "s3", "s3": {"endpoint": "minio.example.internal:9000"}}, "baremetal": {"networks": patch}}),
        );
        let text = render(&doc, &dir.path().join(format!("c{case}")));
        let f = dir.path().join(format!("c{case}.nft"));
        std::fs::write(&f, &text).unwrap();
        ns.nft(&["-c", "-f", f.to_str().unwrap()]).unwrap_or_else(|e| panic!("case {case}: nft -c refused: {e}\nnetworks: {patch}"));
        ns.nft(&["-f", f.to_str().unwrap()]).unwrap_or_else(|e| panic!("case {case}: nft -f: {e}"));
        for (option, set) in options {
            for v6 in [false, true] {
                let name = format!("{set}{}", if v6 { 6 } else { 4 });
                let listed: Value = serde_json::from_str(&ns.nft(&["-j", "list", "set", "inet", "secure_mattermost", &name]).unwrap()).unwrap();
                let got = merged(read_set(&listed));
                let want = union(&lists[option], v6);
                assert_eq!(got, want, "case {case}: {option} ({name}) read back differently\ndeclared: {}\nlisted: {listed}", patch[option]);
                checked += 1;
            }
        }
    }
    println!("{cases} random declarations, {checked} sets read back exactly");
    // And a value that is no network is refused, naming the option, exit 2.
    let bad = patched(base("baremetal"), &json!({"baremetal": {"networks": {"users": ["10.0.0.1/8"]}}}));
    let r = run_stdin(&["render", "--input", "-", "--out", dir.path().join("bad").to_str().unwrap(), "--today", TODAY], &bad.to_string());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("baremetal.networks.users[0]"), "{}", r.stderr);
}

tests![nft_accepts_the_ruleset, random_networks_read_back, ingress_matrix, egress_by_account];
