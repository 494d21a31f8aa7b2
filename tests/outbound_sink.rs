//! The server makes no outbound connection attempt: counted, not assumed.
//!
//! The real Mattermost server (the pinned Team Edition build) runs with the
//! hardened example declaration rendered as is, apart from where its
//! database, certificates and file store live (the declared SMTP relay and
//! identity provider stay declared: the server must not contact them
//! unprompted), started through `secure-mattermost launch` on PostgreSQL
//! from the rendered files over `verify-full`, inside a network namespace
//! "app". Its only way out is a veth pair whose other end is a namespace
//! "sink": the app's default routes (IPv4 and IPv6) point there, and its
//! /etc/resolv.conf (bind-mounted in the server's own mount namespace)
//! names the sink. The sink, a Python program written below and run inside
//! "sink", answers every DNS query (UDP and TCP 53; A and AAAA with its own
//! address), accepts every other TCP connection and UDP datagram (nftables
//! redirects any port to its listeners, and it records the original
//! destination) and captures every frame that arrives on its end of the
//! veth (AF_PACKET) — the count is taken from that capture, so nothing the
//! app sends can go unseen, whatever the protocol.
//!
//! The window: from the server's start until `SECURE_MATTERMOST_SINK_SECONDS`
//! (default 120) after its first answered ping. Every outbound path of the
//! 11.4.0 server the catalog turns off (security update check, telemetry,
//! notices, marketplace, link previews, push) runs at start or from the job
//! server, whose watcher polls every 15 s, so two minutes after start-up
//! covers start-up itself and eight polls; set a longer window to watch
//! longer. Then a control from the same namespaces (`getent hosts`, curl to
//! an outside address and to a name, a UDP datagram) must be counted, or
//! the sink is not seeing traffic and the zero means nothing.
//!
//! Needs root, the server built by scripts/mattermost-build.sh, Debian's
//! PostgreSQL, python3 and nft (scripts/firewall-deps.sh); otherwise it
//! says SKIPPED.

mod common;
#[path = "common/servers.rs"]
mod servers;

use servers::*;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TEST: &str = "outbound_sink/server_makes_no_outbound_attempt";
const SINK4: &str = "10.231.0.1";
const APP4: &str = "10.231.0.2";
const SINK6: &str = "fd00:231::1";
const APP6: &str = "fd00:231::2";
/// Outside addresses for the control (documentation ranges: nobody's).
const CONTROL_TCP: (&str, u16) = ("192.0.2.44", 8443);
const CONTROL_UDP: (&str, u16) = ("198.51.100.7", 4000);

/// The sink. One JSON object per line on stdout: `ready`, then `dns`,
/// `tcp`, `udp` (what the listeners got) and `packet` (every frame that
/// arrived on the veth, from the capture).
const SINK: &str = r#"
import json, os, select, socket, struct, sys, threading, time

IFACE, ADDR4, ADDR6 = sys.argv[1], sys.argv[2], sys.argv[3]
CATCH = 9
lock = threading.Lock()

def log(kind, **kw):
    kw["kind"] = kind
    kw["t"] = round(time.time(), 3)
    with lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

def dns_answer(q):
    if len(q) < 12:
        return None, None, None
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        n = q[i]
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0] if i + 3 <= len(q) else 0
    question = q[12:i + 5]
    name = ".".join(labels)
    answers = b""
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_pton(socket.AF_INET, ADDR4)
    elif qtype == 28:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 5, 16) + socket.inet_pton(socket.AF_INET6, ADDR6)
    head = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if answers else 0, 0, 0)
    return head + question + answers, name, qtype

def original_dst(conn, family):
    try:
        if family == socket.AF_INET:
            raw = conn.getsockopt(socket.SOL_IP, 80, 16)
            return socket.inet_ntop(socket.AF_INET, raw[4:8]), struct.unpack("!H", raw[2:4])[0]
        raw = conn.getsockopt(socket.IPPROTO_IPV6, 80, 28)
        return socket.inet_ntop(socket.AF_INET6, raw[8:24]), struct.unpack("!H", raw[2:4])[0]
    except OSError:
        return None, None

def serve_tcp(conn, peer, family, dns):
    conn.settimeout(3)
    try:
        if dns:
            data = conn.recv(2)
            if len(data) == 2:
                q = conn.recv(struct.unpack("!H", data)[0])
                a, name, qtype = dns_answer(q)
                log("dns", proto="tcp", src=peer[0], name=name, qtype=qtype)
                if a:
                    conn.sendall(struct.pack("!H", len(a)) + a)
            return
        dst, port = original_dst(conn, family)
        try:
            first = conn.recv(512)
        except OSError:
            first = b""
        log("tcp", src=peer[0], dst=dst, port=port, first=first[:64].hex())
        if first[:4] in (b"GET ", b"POST", b"HEAD", b"PUT "):
            conn.sendall(b"HTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n")
    finally:
        conn.close()

def capture():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
    s.bind((IFACE, 0))
    ready.set()
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        ethertype = struct.unpack("!H", frame[12:14])[0]
        p = frame[14:]
        rec = {"ethertype": hex(ethertype)}
        if ethertype == 0x0800 and len(p) >= 20:
            ihl = (p[0] & 15) * 4
            rec.update(proto=p[9], src=socket.inet_ntop(socket.AF_INET, p[12:16]), dst=socket.inet_ntop(socket.AF_INET, p[16:20]))
            l4 = p[ihl:]
        elif ethertype == 0x86DD and len(p) >= 40:
            rec.update(proto=p[6], src=socket.inet_ntop(socket.AF_INET6, p[8:24]), dst=socket.inet_ntop(socket.AF_INET6, p[24:40]))
            l4 = p[40:]
            # Past the extension headers (hop-by-hop, routing, destination
            # options) to the upper-layer protocol: a multicast listener
            # report travels behind a hop-by-hop router alert.
            while rec["proto"] in (0, 43, 60) and len(l4) >= 8:
                rec["proto"], l4 = l4[0], l4[(l4[1] + 1) * 8:]
        else:
            log("packet", **rec)
            continue
        if rec["proto"] in (6, 17) and len(l4) >= 4:
            rec["sport"], rec["dport"] = struct.unpack("!HH", l4[:4])
            if rec["proto"] == 6 and len(l4) >= 14:
                rec["flags"] = l4[13]
        elif rec["proto"] in (1, 58) and l4:
            rec["icmp_type"] = l4[0]
        log("packet", **rec)

ready = threading.Event()
threading.Thread(target=capture, daemon=True).start()
ready.wait(10)
socks = {}
for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in (53, CATCH):
        t = socket.socket(family, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        t.bind((addr, port))
        t.listen(64)
        socks[t] = ("tcp", family, port == 53)
        u = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        u.bind((addr, port))
        socks[u] = ("udp", family, port == 53)
log("ready", pid=os.getpid())
while True:
    for s in select.select(list(socks), [], [])[0]:
        kind, family, dns = socks[s]
        if kind == "tcp":
            conn, peer = s.accept()
            threading.Thread(target=serve_tcp, args=(conn, peer, family, dns), daemon=True).start()
            continue
        data, peer = s.recvfrom(65535)
        if dns:
            a, name, qtype = dns_answer(data)
            log("dns", proto="udp", src=peer[0], name=name, qtype=qtype)
            if a:
                s.sendto(a, peer)
        else:
            log("udp", src=peer[0], bytes=len(data), first=data[:32].hex())
"#;

/// The sink process, killed on drop; its log is a file.
struct Sink {
    child: Child,
    log: std::path::PathBuf,
}

impl Sink {
    fn records(&self) -> Vec<Value> {
        fs::read_to_string(&self.log).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection attempt, a datagram or another packet the app sent:
/// everything the capture saw but ARP, the kernel's own IPv6 router and
/// neighbour discovery and multicast listener reports, ICMP errors (the
/// kernel's answer to a late reply of the sink's, e.g. a DNS answer to a
/// socket already closed), and the TCP segments after a connection's SYN.
fn attempt(p: &Value) -> bool {
    if p["kind"] != "packet" {
        return false;
    }
    let icmp = p["icmp_type"].as_u64();
    match p["proto"].as_u64() {
        None => p["ethertype"] != "0x806",
        Some(6) => p["flags"].as_u64().is_some_and(|f| f & 0x02 != 0 && f & 0x10 == 0),
        Some(1) => !icmp.is_some_and(|t| [3, 4, 5, 11, 12].contains(&t)),
        Some(58) => !icmp.is_some_and(|t| (1..=4).contains(&t) || (130..=137).contains(&t) || t == 143),
        Some(_) => true,
    }
}

fn describe(p: &Value) -> String {
    format!("{} -> {}:{} proto {} flags {} icmp {}", p["src"], p["dst"], p["dport"], p["proto"], p["flags"], p["icmp_type"])
}

fn window() -> Duration {
    let secs = std::env::var("SECURE_MATTERMOST_SINK_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(120);
    Duration::from_secs(secs)
}

/// With the declared SMTP relay removed (nothing is left for the server
/// to call), zero attempts beyond loopback over the window.
fn server_makes_no_outbound_attempt() {
    let Some((attempts, listened)) = watch(TEST, false, window()) else { return };
    assert!(
        attempts.is_empty() && listened.is_empty(),
        "the server tried to reach beyond loopback {} time(s): {:?}\nwhat the sink's listeners got: {listened:?}",
        attempts.len(),
        attempts.iter().map(describe).collect::<Vec<_>>()
    );
}

/// The example as shipped declares an SMTP relay: the 11.4.0 server tests
/// its connection to it at every start (`mail.TestConnection` while
/// SendEmailNotifications is on). That is the only destination it may
/// try: DNS for the relay's name and TCP to the relay's port, nothing else
/// (start-up plus 20 s).
fn with_a_declared_relay_only_the_relay_is_contacted() {
    const T: &str = "outbound_sink/with_a_declared_relay_only_the_relay_is_contacted";
    let Some((attempts, listened)) = watch(T, true, Duration::from_secs(20)) else { return };
    let relay = "smtp.example.internal";
    let port = 587;
    let other: Vec<&Value> = listened
        .iter()
        .filter(|r| !(r["kind"] == "dns" && r["name"] == relay) && !(r["kind"] == "tcp" && (r["dst"] == SINK4 || r["dst"] == SINK6) && r["port"] == port))
        .collect();
    assert!(other.is_empty(), "the server contacted what the declaration does not name: {other:?}");
    let stray: Vec<String> = attempts
        .iter()
        .filter(|p| !(p["dport"] == 53 && p["proto"] == 17) && !(p["dport"] == port && p["proto"] == 6 && (p["dst"] == SINK4 || p["dst"] == SINK6)))
        .map(describe)
        .collect();
    assert!(stray.is_empty(), "attempts beyond the relay: {stray:?}");
    eprintln!("[sink] with the relay declared: {} attempts, all to the relay ({listened:?})", attempts.len());
}

/// Runs the server in the app namespace for start-up plus `window` and the
/// control after it; returns the attempts the capture counted during the
/// window and what the sink's listeners got (None: skipped).
fn watch(test: &str, relay: bool, window: Duration) -> Option<(Vec<Value>, Vec<Value>)> {
    let env = match Env::detect(false) {
        Ok(e) => e,
        Err((prereq, why)) => {
            common::skip_missing(prereq, test, &why);
            return None;
        }
    };
    for tool in ["python3", "nft", "getent", "ss"] {
        if !common::on_path(tool) {
            common::skip_missing("nftables", test, &format!("{tool} is not installed (scripts/firewall-deps.sh, scripts/mattermost-test-deps.sh)"));
            return None;
        }
    }
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("outbound-sink-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let d = tmp.path();

    // Two namespaces and a veth pair between them; the app's way out is the sink.
    let app = Netns::new();
    let sink_ns = Netns::new();
    run_ok(app.cmd("ip").args(["link", "add", "app0", "type", "veth", "peer", "name", "sink0", "netns"]).arg(sink_ns.pid().to_string()));
    for (ns, dev, v4, v6) in [(&app, "app0", APP4, APP6), (&sink_ns, "sink0", SINK4, SINK6)] {
        run_ok(ns.cmd("ip").args(["addr", "add", &format!("{v4}/24"), "dev", dev]));
        run_ok(ns.cmd("ip").args(["-6", "addr", "add", &format!("{v6}/64"), "dev", dev, "nodad"]));
        run_ok(ns.cmd("ip").args(["link", "set", dev, "up"]));
    }
    run_ok(app.cmd("ip").args(["route", "add", "default", "via", SINK4]));
    run_ok(app.cmd("ip").args(["-6", "route", "add", "default", "via", SINK6]));
    // In the sink every TCP and UDP port but DNS lands on its catch-all listeners.
    let mut nft = sink_ns.cmd("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(
        nft.stdin.as_mut().unwrap(),
        b"table inet sink {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  iifname \"sink0\" tcp dport != 53 redirect to :9\n  iifname \"sink0\" udp dport != 53 redirect to :9\n }\n}\n",
    )
    .unwrap();
    drop(nft.stdin.take());
    assert!(nft.wait().unwrap().success(), "nft in the sink namespace");
    let script = d.join("sink.py");
    fs::write(&script, SINK).unwrap();
    let log = d.join("sink.jsonl");
    let child = sink_ns.cmd("python3").arg("-u").arg(&script).args(["sink0", SINK4, SINK6]).stdin(Stdio::null()).stdout(fs::File::create(&log).unwrap()).stderr(fs::File::create(d.join("sink.err")).unwrap()).spawn().unwrap();
    let sink = Sink { child, log };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sink.records().iter().any(|r| r["kind"] == "ready") {
        assert!(Instant::now() < deadline, "the sink did not start: {}", fs::read_to_string(d.join("sink.err")).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(100));
    }
    let resolv = d.join("resolv.conf");
    fs::write(&resolv, format!("nameserver {SINK4}\nnameserver {SINK6}\n")).unwrap();

    // The site, from the example declaration.
    let ca = make_ca(d);
    let mut pg = Postgres::new(&app, &env.pg_bin, &d.join("pg"));
    let (pg_cert, pg_key) = (pg.dir.join("server.crt"), pg.dir.join("server.key"));
    issue(d, "localhost", "DNS:localhost,IP:127.0.0.1", &pg_cert, &pg_key);
    run_ok(Command::new("chown").arg("postgres:").arg(&pg_cert).arg(&pg_key));
    let (site_cert, site_key) = (d.join("site.pem"), d.join("site.key"));
    issue(d, DOMAIN, &format!("DNS:{DOMAIN}"), &site_cert, &site_key);
    let mut secrets = Secrets::default();
    let db_password = common::random_secret("db");
    secrets.add(&db_password);
    let pw_file = pg.dir.join("database-password");
    pg.write_private(&pw_file, db_password.as_bytes());
    let mm_dir = d.join("mm");
    let store = mm_dir.join("data");
    fs::create_dir_all(&store).unwrap();
    let var_log = d.join("var-log");
    fs::create_dir_all(var_log.join("mattermost")).unwrap();
    let paths = SitePaths { ca: &ca, db_password: &pw_file, pg_cert: &pg_cert, pg_key: &pg_key, site_cert: &site_cert, site_key: &site_key, file_store: &store };
    let mut doc = example_declaration(&env, &paths);
    let sm = &mut doc["secureMattermost"];
    assert!(sm["smtp"]["server"] == "smtp.example.internal" && sm["auth"]["oidc"]["discoveryEndpoint"].is_string(), "the example declares an SMTP relay and an IdP");
    if !relay {
        sm["smtp"]["server"] = Value::Null;
        sm["smtp"]["username"] = Value::Null;
    }
    let out = d.join("out");
    render(&doc, &d.join("decl.json"), &out);
    pg.start_rendered(&out);
    // The other secrets of the spec (OIDC client secret, SMTP password) as systemd credentials, random stand-ins.
    let creds = d.join("credentials");
    fs::create_dir(&creds).unwrap();
    fs::set_permissions(&creds, fs::Permissions::from_mode(0o700)).unwrap();
    let spec: Value = serde_json::from_str(&fs::read_to_string(out.join("secret-env.json")).unwrap()).unwrap();
    for s in spec["secrets"].as_array().unwrap() {
        if s["env"] != "MM_SQLSETTINGS_DATASOURCE" && s["pathOnly"] != json!(true) {
            let v = common::random_secret("cred");
            secrets.add(&v);
            write_private(&creds.join(s["credential"].as_str().unwrap()), v.as_bytes());
        }
    }
    let config = mm_dir.join("config.json");
    write_private(&config, &fs::read(out.join("config.json")).unwrap());
    eprintln!("[sink] namespaces, sink, render, PostgreSQL: {:.1}s", started.elapsed().as_secs_f64());

    // The window: start-up plus `window()` after the first ping.
    let before_server = sink.records().len();
    let spec_path = out.join("secret-env.json");
    let l = Launch { spec: &spec_path, config: &config, cwd: &mm_dir, var_log: &var_log, resolv: Some(&resolv), credentials: Some(&creds), output: d.join("server.out") };
    let t0 = Instant::now();
    let mut server = Server::start(&app, &env, &l);
    let up = server.wait_for_ping(&app, Duration::from_secs(180));
    let pid = server.pid().unwrap();
    // The server's own view: its resolver is the sink, its route goes there.
    let resolv_seen = fs::read_to_string(format!("/proc/{pid}/root/etc/resolv.conf")).unwrap_or_default();
    assert!(resolv_seen.contains(SINK4), "the server does not see the sink as its resolver: {resolv_seen}");
    let w = window;
    eprintln!("[sink] server up after {:.1}s; watching {}s more", up.as_secs_f64(), w.as_secs());
    let end = Instant::now() + w;
    while Instant::now() < end {
        let (code, _) = ping(&app);
        assert_eq!(code, 200, "the server stopped answering during the window");
        std::thread::sleep(Duration::from_secs(5).min(end.saturating_duration_since(Instant::now())));
    }
    let watched = t0.elapsed();
    let during = sink.records()[before_server..].to_vec();
    let attempts: Vec<&Value> = during.iter().filter(|r| attempt(r)).collect();
    let listened: Vec<&Value> = during.iter().filter(|r| ["dns", "tcp", "udp"].contains(&r["kind"].as_str().unwrap_or_default())).collect();
    let ignored: Vec<String> = during
        .iter()
        .filter(|r| r["kind"] == "packet" && !attempt(r))
        .map(|r| match r["icmp_type"].as_u64() {
            Some(t) => format!("ICMP{} type {t}", if r["proto"] == 58 { "v6" } else { "" }),
            None if r["proto"] == 6 => "TCP segment after a SYN".into(),
            None => format!("ethertype {}", r["ethertype"].as_str().unwrap_or("?")),
        })
        .collect();
    eprintln!(
        "[sink] {:.0}s watched: {} frames captured ({} not attempts: {ignored:?}), {} outbound attempts, {} DNS/TCP/UDP records",
        watched.as_secs_f64(),
        during.iter().filter(|r| r["kind"] == "packet").count(),
        ignored.len(),
        attempts.len(),
        listened.len()
    );
    let result: (Vec<Value>, Vec<Value>) = (attempts.into_iter().cloned().collect(), listened.into_iter().cloned().collect());

    // The control, from the server's own namespaces: the sink must count it.
    let before_control = sink.records().len();
    let in_server = |program: &str| {
        let mut c = Command::new("nsenter");
        c.arg("--target").arg(pid.to_string()).args(["--net", "--mount", "--"]).arg(program);
        c
    };
    let getent = output(in_server("getent").args(["ahostsv4", "updates.mattermost.com"]));
    assert!(getent.contains(SINK4), "the sink's DNS answer: {getent}");
    let o = in_server("curl").args(["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}"]).arg(format!("http://{}:{}/", CONTROL_TCP.0, CONTROL_TCP.1)).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "204", "curl to {CONTROL_TCP:?}: {}", String::from_utf8_lossy(&o.stderr));
    let o = in_server("curl").args(["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://telemetry.example.org/"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "204", "curl to a name: {}", String::from_utf8_lossy(&o.stderr));
    run_ok(in_server("bash").arg("-c").arg(format!("echo control > /dev/udp/{}/{}", CONTROL_UDP.0, CONTROL_UDP.1)));
    std::thread::sleep(Duration::from_secs(1));
    let control = sink.records()[before_control..].to_vec();
    let dns_names: Vec<&str> = control.iter().filter(|r| r["kind"] == "dns").filter_map(|r| r["name"].as_str()).collect();
    assert!(dns_names.contains(&"updates.mattermost.com") && dns_names.contains(&"telemetry.example.org"), "the sink did not log the control's DNS queries: {dns_names:?}");
    let tcp: Vec<&Value> = control.iter().filter(|r| r["kind"] == "tcp").collect();
    assert!(tcp.iter().any(|r| r["dst"] == CONTROL_TCP.0 && r["port"] == CONTROL_TCP.1), "the sink did not log the control's connection to {CONTROL_TCP:?}: {tcp:?}");
    assert!(tcp.iter().any(|r| (r["dst"] == SINK4 || r["dst"] == SINK6) && r["port"] == 80), "the sink did not log the connection to the name it resolved: {tcp:?}");
    assert!(control.iter().any(|r| r["kind"] == "udp" && r["first"] == json!(hex(b"control\n"))), "the sink did not log the control's datagram");
    let counted: Vec<&Value> = control.iter().filter(|r| attempt(r)).collect();
    // Two DNS lookups (A and AAAA may be asked; at least one datagram each), two SYNs, one datagram.
    assert!(counted.len() >= 5, "the capture counted {} control attempts: {:?}", counted.len(), counted.iter().map(|p| describe(p)).collect::<Vec<_>>());
    assert!(counted.iter().any(|p| p["dst"] == CONTROL_UDP.0 && p["dport"] == CONTROL_UDP.1 && p["proto"] == 17), "the capture missed the datagram");
    assert!(counted.iter().any(|p| p["dst"] == CONTROL_TCP.0 && p["dport"] == CONTROL_TCP.1 && p["proto"] == 6), "the capture missed the SYN");
    eprintln!("[sink] control: {} attempts counted ({} DNS queries, {} TCP connections)", counted.len(), dns_names.len(), tcp.len());

    server.stop();
    secrets.assert_absent("server output", &server.output());
    for (p, t) in texts_under(&var_log) {
        secrets.assert_absent(&p.display().to_string(), &t);
    }
    pg.stop();
    eprintln!("[sink] {test}: {:.1}s in all", started.elapsed().as_secs_f64());
    Some(result)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ping(ns: &Netns) -> (u16, String) {
    let o = ns.cmd("curl").args(["-sS", "--max-time", "5", "--noproxy", "*", "-w", "\n%{http_code}"]).arg(format!("http://127.0.0.1:{MM_PORT}/api/v4/system/ping")).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

tests![server_makes_no_outbound_attempt, with_a_declared_relay_only_the_relay_is_contacted];
