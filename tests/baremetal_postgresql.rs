//! PostgreSQL for the bare-metal host: the rendered
//! `postgresql-secure-mattermost.conf`, `pg_hba.conf` and `init.sql`, proven
//! on Debian's real PostgreSQL.
//!
//! The real-server test renders a declaration with hostile database and
//! role names (quotes, a backslash, `=`, spaces, non-ASCII) and a password
//! full of characters that need quoting, starts a cluster in a network
//! namespace of its own with exactly the rendered fragment and pg_hba.conf
//! (plus the socket directory, a test-environment setting the fragment does
//! not make), applies init.sql with the command its header documents, twice
//! (the second time with a rotated password), and then connects from the
//! declared application host (127.0.0.2) and from outside it (127.0.0.1):
//! Linux loopback holds all of 127/8, and the namespace's local route picks
//! the source address. While init.sql runs, every process's command line
//! and environment are sampled for the password. Needs Debian's PostgreSQL
//! (`/usr/lib/postgresql/*/bin`), openssl and root (the namespace, and the
//! cluster run as the postgres user); otherwise it is reported skipped.

mod common;
use common::{on_path, postgres_bindir};

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const REAL_TEST: &str = "baremetal_postgresql/real_postgresql_enforces_the_rendered_files";
/// Not PostgreSQL's default: the server listens here only because the
/// rendered fragment says so.
const PORT: u16 = 55432;
const APP_HOST: &str = "127.0.0.2";
const OUTSIDER: &str = "127.0.0.1";
/// Names that need every kind of quoting the three files do.
const DB_NAME: &str = "mm \"chat\" db'=x\\ é";
const DB_USER: &str = "mm \"app\" 'u'=\\ ü #";

// ---- rendering only -----------------------------------------------------------

fn render_doc(doc: &Value, out: &Path) -> common::Run {
    let out = out.display().to_string();
    common::run_stdin(&["render", "--input", "-", "--out", &out, "--today", common::TODAY], &doc.to_string())
}

fn setting<'a>(conf: &'a str, key: &str) -> Vec<&'a str> {
    conf.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix(" = ")).collect()
}

fn renders_listen_addresses_and_refuses_inexpressible_names() {
    let tmp = tempfile::tempdir().unwrap();
    let base = common::base("baremetal");
    let cases = [
        // The fixture: a host name, app hosts on loopback only -> localhost.
        (json!({}), "'localhost'", vec!["127.0.0.1/32", "::1/128"]),
        // App hosts elsewhere: the server listens where database.host resolves.
        (json!({"baremetal": {"networks": {"appHosts": ["10.0.2.11/32", "10.0.2.12"]}}}), "'db.example.internal'", vec!["10.0.2.11/32", "10.0.2.12/32"]),
        // An IP literal is the address, brackets dropped.
        (json!({"database": {"host": "[fd00::5]"}, "baremetal": {"networks": {"appHosts": ["fd00::/64"]}}}), "'fd00::5'", vec!["fd00::/64"]),
        (json!({"database": {"host": "127.0.0.1"}}), "'127.0.0.1'", vec!["127.0.0.1/32", "::1/128"]),
    ];
    for (i, (patch, listen, hosts)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("ok-{i}"));
        let r = render_doc(&common::patched(base.clone(), patch), &out);
        assert_eq!(r.code, 0, "{patch}: {}", r.stderr);
        let conf = fs::read_to_string(out.join("postgresql-secure-mattermost.conf")).unwrap();
        assert_eq!(setting(&conf, "listen_addresses"), vec![*listen], "{patch}");
        assert_eq!(setting(&conf, "port"), vec!["5432"]);
        let hba = fs::read_to_string(out.join("pg_hba.conf")).unwrap();
        let app: Vec<&str> = hba.lines().filter(|l| l.starts_with("hostssl")).collect();
        let want: Vec<String> = hosts.iter().map(|h| format!("hostssl    \"mattermost\" \"mmuser\" {h} scram-sha-256")).collect();
        assert_eq!(app, want, "{patch}");
        let init_sql = fs::read_to_string(out.join("init.sql")).unwrap();
        assert!(init_sql.contains("CREATE ROLE \"mmuser\" WITH LOGIN NOSUPERUSER"));
        assert!(init_sql.contains("\n--   runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -f /etc/secure-mattermost/init.sql\n"), "the apply command names init.sql in baremetal.installDir");
    }
    // The longest name PostgreSQL keeps whole, in multi-byte characters.
    let longest = "é".repeat(31) + "x";
    let r = render_doc(&common::patched(base.clone(), &json!({"database": {"name": longest}})), &tmp.path().join("longest"));
    assert_eq!(r.code, 0, "a 63-byte name: {}", r.stderr);

    // What pg_hba.conf or PostgreSQL cannot carry is refused, naming the
    // option and not echoing the value, and nothing is written.
    let refused = [
        ("name", "mattermost\nhost all all 0.0.0.0/0 trust"),
        ("user", "mm\ruser"),
        ("name", "/^.*$"),
        ("user", &"u".repeat(64)),
        ("name", &("é".repeat(32))),
        ("user", ""),
    ];
    for (i, (key, value)) in refused.iter().enumerate() {
        let out = tmp.path().join(format!("refused-{i}"));
        let r = render_doc(&common::patched(base.clone(), &json!({"database": {*key: value}})), &out);
        assert_eq!(r.code, 2, "database.{key} = {value:?} was not refused: {}", r.stderr);
        assert!(r.stderr.contains(&format!("services.secureMattermost.database.{key}")), "{key}: {}", r.stderr);
        if value.len() > 5 {
            assert!(!r.stderr.contains(*value), "the refusal echoes the value: {}", r.stderr);
        }
        assert!(!out.exists(), "artifacts written despite the refusal of database.{key}");
    }
}

// ---- the real server ------------------------------------------------------------

struct Env {
    pg_bin: PathBuf,
}

impl Env {
    fn detect() -> Result<Env, String> {
        let pg_bin = postgres_bindir().ok_or("no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb; scripts/mattermost-test-deps.sh installs it)")?;
        for tool in ["pg_ctl", "psql"] {
            if !pg_bin.join(tool).is_file() {
                return Err(format!("{} is missing", pg_bin.join(tool).display()));
            }
        }
        if output(Command::new("id").arg("-u")).trim() != "0" {
            return Err("needs root (a network namespace, PostgreSQL run as the postgres user)".into());
        }
        for tool in ["openssl", "runuser", "unshare", "nsenter", "ip"] {
            if !on_path(tool) {
                return Err(format!("{tool} is not installed (scripts/mattermost-test-deps.sh)"));
            }
        }
        Ok(Env { pg_bin })
    }
}

/// What a client run returned.
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Owns the namespace and the cluster; stops both on drop, pass or fail.
struct Harness {
    pg_bin: PathBuf,
    pg_dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    netns: Child,
    started: bool,
    secrets: Vec<String>,
}

impl Harness {
    fn new(env: &Env, dir: &Path) -> Harness {
        let pg_dir = dir.join("pg");
        fs::create_dir(&pg_dir).unwrap();
        fs::set_permissions(&pg_dir, fs::Permissions::from_mode(0o700)).unwrap();
        run_ok(Command::new("chown").arg("postgres:").arg(&pg_dir));
        let netns = Command::new("unshare").args(["--net", "sleep", "3600"]).stdin(Stdio::null()).spawn().unwrap();
        let h = Harness {
            pg_bin: env.pg_bin.clone(),
            data: pg_dir.join("data"),
            log: pg_dir.join("server.log"),
            pg_dir,
            netns,
            started: false,
            secrets: vec![],
        };
        let ours = fs::read_link("/proc/self/ns/net").unwrap();
        let theirs = format!("/proc/{}/ns/net", h.netns.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs::read_link(&theirs).map(|l| l == ours).unwrap_or(true) {
            assert!(Instant::now() < deadline, "unshare --net did not take effect");
            std::thread::sleep(Duration::from_millis(20));
        }
        run_ok(h.cmd("ip").args(["link", "set", "lo", "up"]));
        h
    }

    /// A command inside the test's network namespace.
    fn cmd(&self, program: impl Into<OsString>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.netns.id())).arg("--").arg(program.into());
        c
    }

    /// A PostgreSQL tool run as the postgres user, inside the namespace.
    fn as_postgres(&self, tool: &str) -> Command {
        let mut c = self.cmd("runuser");
        c.args(["-u", "postgres", "--", "env"]);
        c.arg(format!("PGHOST={}", self.pg_dir.display())).arg(format!("PGPORT={PORT}"));
        c.arg(self.pg_bin.join(tool));
        c
    }

    /// Connections from here leave from `source` (the local route's preferred source).
    fn source(&self, source: &str) {
        run_ok(self.cmd("ip").args(["route", "replace", "local", "127.0.0.1", "dev", "lo", "table", "local", "proto", "kernel", "scope", "host", "src", source]));
    }

    /// psql over TCP to the server as the Mattermost role, from `source`.
    fn app(&self, source: &str, sslmode: &str, root_cert: &Path, password: &str, sql: &str) -> Out {
        self.source(source);
        let mut c = self.cmd(self.pg_bin.join("psql"));
        c.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", &self.pg_dir);
        c.envs([("PGHOST", OUTSIDER), ("PGPORT", &PORT.to_string()), ("PGUSER", DB_USER), ("PGDATABASE", DB_NAME)]);
        c.envs([("PGSSLMODE", sslmode), ("PGPASSWORD", password), ("PGPASSFILE", "/dev/null"), ("PGCONNECT_TIMEOUT", "10")]);
        c.env("PGSSLROOTCERT", root_cert);
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        out(&mut c)
    }

    /// psql through the socket as the superuser, in `db`.
    fn admin(&self, db: &str, sql: &str) -> String {
        let mut c = self.as_postgres("psql");
        c.env("PGDATABASE", db);
        output(c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]))
    }

    fn start(&mut self) {
        run_ok(self.as_postgres("pg_ctl").arg("-D").arg(&self.data).arg("-l").arg(&self.log).args(["-w", "-t", "60", "start"]));
        self.started = true;
    }

    fn reload(&self) {
        run_ok(self.as_postgres("pg_ctl").arg("-D").arg(&self.data).arg("reload"));
        std::thread::sleep(Duration::from_millis(500));
    }

    fn server_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The TLS handshake alone, as openssl's client makes it after
    /// PostgreSQL's SSLRequest: (handshake done, what it printed).
    fn handshake(&self, ca: &Path, args: &[&str]) -> (bool, String) {
        let mut c = self.cmd("openssl");
        c.args(["s_client", "-connect", &format!("127.0.0.1:{PORT}"), "-starttls", "postgres", "-verify_return_error", "-CAfile"]).arg(ca).args(args);
        let o = c.stdin(Stdio::null()).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        (o.status.success() && !text.contains("Cipher is (NONE)"), text)
    }

    fn mask(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "<password>"))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.started {
            if std::thread::panicking() {
                eprintln!("--- server log (tail) ---\n{}", self.mask(&tail(&self.server_log(), 30)));
            }
            let _ = self.as_postgres("pg_ctl").arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "-t", "30", "stop"]).stdout(Stdio::null()).status();
        }
        let _ = self.netns.kill();
        let _ = self.netns.wait();
    }
}

/// What a sampler of every process's command line and environment saw
/// while init.sql ran (the password is never stored, only whether it was seen).
#[derive(Default)]
struct Sampled {
    rounds: usize,
    saw_psql: bool,
    saw_reader: bool,
    leaks: Vec<String>,
}

fn sample_processes(stop: Arc<AtomicBool>, secrets: Vec<String>, password_file: String) -> std::thread::JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let mut s = Sampled::default();
        let needles: Vec<Vec<u8>> = secrets.iter().map(|p| p.as_bytes().to_vec()).collect();
        loop {
            let last = stop.load(Ordering::SeqCst);
            for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
                let pid = e.file_name().to_string_lossy().into_owned();
                if !pid.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
                let environ = fs::read(e.path().join("environ")).unwrap_or_default();
                let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                s.saw_psql |= shown.contains("psql") && shown.contains("init.sql");
                s.saw_reader |= shown.contains(&password_file);
                for (what, bytes) in [("command line", &cmdline), ("environment", &environ)] {
                    if needles.iter().any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice())) {
                        s.leaks.push(format!("pid {pid} ({what})"));
                    }
                }
            }
            s.rounds += 1;
            if last {
                return s;
            }
        }
    })
}

/// The documented apply command (init.sql's header, which names init.sql
/// in `baremetal.installDir`: here the cluster's directory), run as
/// written: only the connection (PGHOST, PGPORT: the test's socket) and
/// PATH are added. PATH puts a `cat` first that waits a
/// moment before the real one reads the file, so that the sampler is sure to
/// see the process that reads the password.
fn apply_init_sql(h: &Harness, init_sql: &str, shim_dir: &Path, extra: &[&str]) -> (Out, Sampled) {
    let line = init_sql.lines().find_map(|l| l.strip_prefix("--   ")).expect("init.sql documents its apply command");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&words[..5], ["runuser", "-u", "postgres", "--", "psql"], "the documented command: {line}");
    let installed = h.pg_dir.join("init.sql").display().to_string();
    assert!(words.contains(&"ON_ERROR_STOP=1") && words.ends_with(&["-f", installed.as_str()]), "{line}");
    let mut c = h.cmd("runuser");
    c.args(["-u", "postgres", "--", "env"]);
    c.arg(format!("PGHOST={}", h.pg_dir.display())).arg(format!("PGPORT={PORT}")).arg(format!("PATH={}:/usr/bin:/bin", shim_dir.display()));
    c.arg(h.pg_bin.join("psql")).args(&words[5..]).args(extra);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_processes(stop.clone(), h.secrets.clone(), h.pg_dir.join("database-password").display().to_string());
    let o = out(&mut c);
    stop.store(true, Ordering::SeqCst);
    (o, sampler.join().unwrap())
}

fn real_postgresql_enforces_the_rendered_files() {
    let env = match Env::detect() {
        Ok(env) => env,
        Err(why) => {
            common::skip_missing("postgresql", REAL_TEST, &why);
            return;
        }
    };
    let started = Instant::now();
    let mut phase = Instant::now();
    let mut lap = |what: &str| {
        eprintln!("[baremetal_postgresql] {what}: {:.1}s", phase.elapsed().as_secs_f64());
        phase = Instant::now();
    };
    let tmp = tempfile::Builder::new().prefix("bm-postgresql-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let dir = tmp.path();
    let mut h = Harness::new(&env, dir);

    // A CA and a server certificate for 127.0.0.1, the key the postgres user's alone.
    let ca = make_certs(dir, &h.pg_dir);
    let (p1, needles1) = random_password("first");
    let (p2, needles2) = random_password("second");
    h.secrets = [needles1, needles2].concat();
    let password_file = h.pg_dir.join("database-password");
    write_for_postgres(&password_file, format!("{p1}\n").as_bytes());

    // The declaration: the database on 127.0.0.1, one application host, 127.0.0.2.
    let doc = common::patched(
        common::base("baremetal"),
        &json!({
            "database": {
                "host": "127.0.0.1", "port": PORT, "name": DB_NAME, "user": DB_USER,
                "passwordFile": password_file, "caFile": ca, "sslMode": "verify-full",
            },
            "baremetal": {
                "installDir": h.pg_dir,
                "networks": {"appHosts": [format!("{APP_HOST}/32")]},
                "postgresql": {"certificateFile": h.pg_dir.join("server.crt"), "keyFile": h.pg_dir.join("server.key")},
            },
        }),
    );
    let out_dir = dir.join("out");
    let r = render_doc(&doc, &out_dir);
    assert_eq!(r.code, 0, "render: {}", r.stderr);
    let rendered = |f: &str| fs::read_to_string(out_dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    for f in common::files_under(&out_dir) {
        let text = fs::read(&f).unwrap();
        for p in &h.secrets {
            assert!(!text.windows(p.len()).any(|w| w == p.as_bytes()), "{} holds the password", f.display());
        }
    }
    let fragment = rendered("postgresql-secure-mattermost.conf");
    let init_sql = rendered("init.sql");
    lap("certificates and render");

    // The cluster: initdb's defaults, then what a Debian host does (conf.d
    // read last), the rendered pg_hba.conf as the whole file.
    run_ok(h.as_postgres("initdb").arg("-D").arg(&h.data).args(["-U", "postgres", "--auth-local=peer", "--auth-host=reject"]).stdout(Stdio::null()));
    let conf_d = h.data.join("conf.d");
    fs::create_dir(&conf_d).unwrap();
    fs::write(conf_d.join("postgresql-secure-mattermost.conf"), &fragment).unwrap();
    fs::write(h.data.join("pg_hba.conf"), rendered("pg_hba.conf")).unwrap();
    fs::write(h.pg_dir.join("init.sql"), &init_sql).unwrap();
    assert!(!fragment.contains("unix_socket_directories"));
    append(&h.data.join("postgresql.conf"), &format!("\n# test environment\nunix_socket_directories = '{}'\ninclude_dir = 'conf.d'\n", h.pg_dir.display()));
    run_ok(Command::new("chown").arg("-R").arg("postgres:").arg(&conf_d).arg(h.data.join("pg_hba.conf")).arg(h.pg_dir.join("init.sql")));
    h.start();
    let listening: Vec<String> = h.server_log().lines().filter(|l| l.contains("listening on IP")).map(|l| l.split("LOG:").last().unwrap_or(l).trim().to_string()).collect();
    assert_eq!(listening, vec![format!("listening on IPv4 address \"127.0.0.1\", port {PORT}")], "the server listens where the fragment says");
    lap("initdb and start");

    // init.sql, the documented way, while every process is watched.
    let shim = h.pg_dir.join("shim");
    fs::create_dir(&shim).unwrap();
    fs::write(shim.join("cat"), "#!/bin/sh\nsleep 0.5\nexec /bin/cat \"$@\"\n").unwrap();
    fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(shim.join("cat"), fs::Permissions::from_mode(0o755)).unwrap();
    run_ok(Command::new("chown").arg("-R").arg("postgres:").arg(&shim));
    let (first, seen) = apply_init_sql(&h, &init_sql, &shim, &[]);
    assert!(first.ok, "init.sql failed:\n{}", h.mask(&first.stderr));
    // Again, with the password rotated in the file: creates nothing, sets it anew.
    write_for_postgres(&password_file, format!("{p2}\r\n").as_bytes());
    let (second, seen2) = apply_init_sql(&h, &init_sql, &shim, &[]);
    assert!(second.ok, "init.sql (again) failed:\n{}", h.mask(&second.stderr));
    assert!(!second.stdout.contains("CREATE ROLE") && !second.stdout.contains("CREATE DATABASE"), "the second run created again:\n{}", h.mask(&second.stdout));
    for (n, s) in [(1, &seen), (2, &seen2)] {
        eprintln!("[baremetal_postgresql] apply {n}: {} sampling rounds, psql seen: {}, password reader seen: {}", s.rounds, s.saw_psql, s.saw_reader);
        assert!(s.saw_psql && s.saw_reader, "apply {n}: the sampler did not see psql and the process reading the password file ({} rounds)", s.rounds);
        assert!(s.leaks.is_empty(), "apply {n}: the password was visible in {:?}", s.leaks);
    }
    // An empty password file (given with -v sm_password_file) fails the script.
    let empty = h.pg_dir.join("empty-password");
    write_for_postgres(&empty, b"\n");
    let (refused, _) = apply_init_sql(&h, &init_sql, &shim, &["-v", &format!("sm_password_file={}", empty.display())]);
    assert!(!refused.ok && refused.stderr.contains("the password file is missing, empty"), "an empty password file was accepted:\n{}", h.mask(&refused.stderr));
    let missing = h.pg_dir.join("no-such-password-file");
    let (refused, _) = apply_init_sql(&h, &init_sql, &shim, &["-v", &format!("sm_password_file={}", missing.display())]);
    assert!(!refused.ok && refused.stderr.contains("No such file") && refused.stderr.contains("the password file is missing, empty"), "a missing password file was accepted:\n{}", h.mask(&refused.stderr));
    lap("init.sql applied twice (password rotated), and refused with an empty or a missing password file");

    // Without TLS: refused by pg_hba.conf, whatever the password.
    let no_tls = h.app(APP_HOST, "disable", &ca, &p2, "SELECT 1");
    assert!(!no_tls.ok && no_tls.stderr.contains("pg_hba.conf rejects connection") && no_tls.stderr.contains("no encryption"), "sslmode=disable: {}", h.mask(&no_tls.stderr));
    // TLS, the certificate verified against the test CA, SCRAM: in.
    let who = h.app(APP_HOST, "verify-full", &ca, &p2, "SELECT current_user, current_database(), host(inet_client_addr()), ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assert!(who.ok, "verify-full from the app host: {}", h.mask(&who.stderr));
    let fields: Vec<&str> = who.stdout.trim_end_matches('\n').split('|').collect();
    assert_eq!(&fields[..4], [DB_USER, DB_NAME, APP_HOST, "t"], "names read back exactly, from the app host, over TLS");
    assert!(fields[4] == "TLSv1.3" || fields[4] == "TLSv1.2", "{fields:?}");
    // A certificate the client cannot verify is not accepted.
    let other_ca = h.app(APP_HOST, "verify-full", Path::new("/etc/ssl/certs/ca-certificates.crt"), &p2, "SELECT 1");
    assert!(!other_ca.ok && other_ca.stderr.contains("certificate verify failed"), "verify-full against another CA: {}", h.mask(&other_ca.stderr));
    // Wrong passwords: the first one (rotated away) and a made-up one.
    for (what, p) in [("the rotated-away password", p1.as_str()), ("a wrong password", "not-the-password")] {
        let o = h.app(APP_HOST, "verify-full", &ca, p, "SELECT 1");
        assert!(!o.ok && o.stderr.contains("password authentication failed"), "{what}: {}", h.mask(&o.stderr));
    }
    // From outside appHosts: rejected, right password and TLS notwithstanding.
    let outsider = h.app(OUTSIDER, "verify-full", &ca, &p2, "SELECT 1");
    assert!(!outsider.ok && outsider.stderr.contains(&format!("pg_hba.conf rejects connection for host \"{OUTSIDER}\"")), "from {OUTSIDER}: {}", h.mask(&outsider.stderr));
    lap("connections");

    // What the role may do: tables in its database, nothing more.
    let attrs = h.app(APP_HOST, "verify-full", &ca, &p2, "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = current_user");
    assert_eq!(attrs.stdout.trim(), "f|f|f|f|f|t", "{}", h.mask(&attrs.stderr));
    for (sql, refusal) in [
        ("CREATE ROLE sm_probe", "permission denied to create role"),
        ("CREATE DATABASE sm_probe", "permission denied to create database"),
        ("ALTER ROLE CURRENT_USER CREATEROLE", "permission denied"),
    ] {
        let o = h.app(APP_HOST, "verify-full", &ca, &p2, sql);
        assert!(!o.ok && o.stderr.contains(refusal), "{sql}: {}{}", o.stdout, h.mask(&o.stderr));
    }
    let table = h.app(APP_HOST, "verify-full", &ca, &p2, "CREATE TABLE sm_probe (id int PRIMARY KEY, note text); INSERT INTO sm_probe VALUES (1, 'kept'); SELECT note FROM sm_probe");
    assert!(table.ok && table.stdout.trim() == "kept", "creating a table: {}{}", table.stdout, h.mask(&table.stderr));
    // The database and its public schema, as the superuser sees them.
    let user_lit = DB_USER.replace('\'', "''");
    let db_facts = h.admin(
        DB_NAME,
        &format!(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype, pg_get_userbyid(datdba) = '{user_lit}', \
             NOT EXISTS (SELECT FROM aclexplode(datacl) a WHERE a.grantee = 0) FROM pg_database WHERE datname = current_database()"
        ),
    );
    assert_eq!(db_facts.trim(), "UTF8|C.UTF-8|C.UTF-8|t|t", "database encoding, locale, owner, no PUBLIC grants");
    let schema = h.admin(DB_NAME, &format!("SELECT pg_get_userbyid(nspowner) = '{user_lit}', NOT EXISTS (SELECT FROM aclexplode(nspacl) a WHERE a.grantee = 0) FROM pg_namespace WHERE nspname = 'public'"));
    assert_eq!(schema.trim(), "t|t", "public schema owned by the role, nothing granted to PUBLIC");
    let mut other = h.as_postgres("psql");
    other.env("PGDATABASE", DB_NAME).args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE ROLE sm_other NOLOGIN; SET ROLE sm_other; CREATE TABLE public.sm_other_probe (id int)"]);
    let other = out(&mut other);
    assert!(!other.ok && other.stderr.contains("permission denied for schema public"), "another role in public: {}", other.stderr);
    lap("privileges");

    // Mattermost's DSN: config.json's DataSource with the password filled in
    // by `secure-mattermost launch`, read by libpq (which lib/pq follows).
    let config: Value = serde_json::from_str(&rendered("config.json")).unwrap();
    let ds = config["SqlSettings"]["DataSource"].as_str().expect("SqlSettings.DataSource");
    assert!(ds.contains("sslmode=verify-full") && !ds.contains(&p2), "config.json's DataSource: {ds}");
    // The other secrets of the spec (OIDC, SMTP) come as systemd credentials
    // with stand-in values; the database password from database.passwordFile.
    let spec: Value = serde_json::from_str(&rendered("secret-env.json")).unwrap();
    let creds = dir.join("credentials");
    fs::create_dir(&creds).unwrap();
    for s in spec["secrets"].as_array().expect("secret-env.json lists secrets") {
        let name = s["credential"].as_str().unwrap();
        if name == "database-password" {
            assert_eq!(s["file"].as_str(), password_file.to_str(), "the DSN's password comes from database.passwordFile");
        } else if s["pathOnly"] != json!(true) {
            fs::write(creds.join(name), "stand-in").unwrap();
        }
    }
    let launched = Command::new(assert_cmd::cargo::cargo_bin("secure-mattermost"))
        .env("CREDENTIALS_DIRECTORY", &creds)
        .arg("launch")
        .arg("--spec")
        .arg(out_dir.join("secret-env.json"))
        .args(["--", "/usr/bin/env", "-0"])
        .output()
        .unwrap();
    assert!(launched.status.success(), "launch: {}", h.mask(&String::from_utf8_lossy(&launched.stderr)));
    let dsn = String::from_utf8(launched.stdout)
        .unwrap()
        .split('\0')
        .find_map(|kv| kv.strip_prefix("MM_SQLSETTINGS_DATASOURCE=").map(str::to_string))
        .expect("launch sets MM_SQLSETTINGS_DATASOURCE");
    h.source(APP_HOST);
    // The DSN (with the password) goes on this psql's command line: a test
    // connection after the apply, outside what the sampler judged.
    let mut c = h.cmd(h.pg_bin.join("psql"));
    c.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", &h.pg_dir).env("PGPASSFILE", "/dev/null");
    c.args(["-X", "-q", "-A", "-t", "-c", "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &dsn]);
    let mm = out(&mut c);
    assert!(mm.ok && mm.stdout.trim() == format!("{DB_USER}|t"), "Mattermost's DSN: {}{}", mm.stdout, h.mask(&mm.stderr));
    lap("Mattermost's DSN through launch");

    // The TLS floor and the suites are the fragment's: refused as rendered,
    // accepted by the same client once the test lowers them (control).
    let refusals = [("TLS 1.1", vec!["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]), ("a CBC suite on TLS 1.2", vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"])];
    for (what, args) in &refusals {
        let (ok, text) = h.handshake(&ca, args);
        assert!(!ok, "{what} was accepted:\n{text}");
    }
    for args in [["-tls1_2"], ["-tls1_3"]] {
        let (ok, text) = h.handshake(&ca, &args);
        assert!(ok, "{args:?} was refused:\n{text}");
    }
    append(&h.data.join("postgresql.conf"), "# control: the test lowers the floor\nssl_min_protocol_version = 'TLSv1'\nssl_ciphers = 'DEFAULT:@SECLEVEL=0'\n");
    h.reload();
    for (what, args) in &refusals {
        let (ok, text) = h.handshake(&ca, args);
        assert!(ok, "control: {what} is refused even with the floor lowered, so the refusal above proves nothing:\n{text}");
    }
    lap("TLS versions and suites");

    // The server log: connections, disconnections and DDL with user,
    // database and client; the rejections; never the password.
    let log = h.server_log();
    let has = |needle: &str| log.lines().any(|l| l.contains(needle));
    assert!(has(&format!("connection authorized: user={DB_USER} database={DB_NAME}")) && log.contains("SSL enabled (protocol=TLSv1"), "log_connections");
    assert!(has("disconnection: session time:") && has(&format!("user={DB_USER} database={DB_NAME} host={APP_HOST}")), "log_disconnections");
    let prefix = format!("user={DB_USER} db={DB_NAME} client={APP_HOST}(");
    assert!(log.lines().any(|l| l.contains(&prefix) && l.contains("statement: CREATE TABLE sm_probe")), "the app's DDL with user, database and client");
    assert!(has("statement: CREATE ROLE") && has("statement: CREATE DATABASE"), "init.sql's DDL is logged");
    assert!(!has("statement: INSERT") && !has("statement: SELECT"), "log_statement logs more than DDL");
    assert!(has(&format!("pg_hba.conf rejects connection for host \"{OUTSIDER}\"")), "the outsider's rejection is logged");
    for p in &h.secrets {
        assert!(!log.contains(p.as_str()), "the server log holds a password (or part of one)");
    }
    assert!(!log.contains("PASSWORD"), "a statement carrying a password was logged");
    lap("server log");
    eprintln!("[baremetal_postgresql] total {:.1}s", started.elapsed().as_secs_f64());
}

// ---- helpers ------------------------------------------------------------------------

/// A throwaway CA and a server certificate for 127.0.0.1 in `pg_dir`.
fn make_certs(dir: &Path, pg_dir: &Path) -> PathBuf {
    let openssl = |args: &[&str]| run_ok(Command::new("openssl").current_dir(dir).args(args));
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];
    let key = pg_dir.join("server.key").display().to_string();
    let crt = pg_dir.join("server.crt").display().to_string();
    openssl(&[&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=secure-mattermost-postgresql-test-CA"]].concat());
    openssl(&[&["req"][..], &ec, &["-keyout", &key, "-out", "server.csr", "-subj", "/CN=127.0.0.1"]].concat());
    fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", &crt]);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    run_ok(Command::new("chown").arg("postgres:").arg(&key).arg(&crt));
    dir.join("ca.pem")
}

/// A password with what needs quoting in SQL, psql, a shell and a URL, and
/// what to look for: itself and its two random runs, which no quoting or
/// escaping changes (an SQL literal of it would not hold it verbatim).
fn random_password(tag: &str) -> (String, Vec<String>) {
    let mut bytes = [0u8; 12];
    fs::File::open("/dev/urandom").unwrap().read_exact(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let (a, b) = (&hex[..12], &hex[12..]);
    let password = format!("{tag}-{a}'\"\\ $x`é:%@/?#&+={b}");
    (password.clone(), vec![password, a.to_string(), b.to_string()])
}

/// A private file the postgres user reads (the password files).
fn write_for_postgres(path: &Path, data: &[u8]) {
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
    f.write_all(data).unwrap();
    run_ok(Command::new("chown").arg("postgres:").arg(path));
}

fn append(path: &Path, text: &str) {
    fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}



fn out(cmd: &mut Command) -> Out {
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    Out { ok: o.status.success(), stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() }
}

fn run_ok(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?} failed:\n{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

fn output(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

tests![renders_listen_addresses_and_refuses_inexpressible_names, real_postgresql_enforces_the_rendered_files];
