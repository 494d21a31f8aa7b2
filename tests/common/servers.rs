//! The real servers of a bare-metal site, for the end-to-end tests: a
//! network namespace of the test's own, PostgreSQL initialised from the
//! rendered `postgresql-secure-mattermost.conf`, `pg_hba.conf` and
//! `init.sql`, the Mattermost server started through `secure-mattermost
//! launch` with the rendered `config.json` and `secret-env.json`, Debian's
//! nginx running the rendered `nginx.conf` unchanged, certificates from a CA
//! made per test, and a curl-based client of the Mattermost API.
//!
//! Included by the test files that use it with
//! `#[path = "common/servers.rs"] mod servers;` (beside `mod common;`).
//! Every process started here is stopped when its owner is dropped, pass
//! or fail. Passwords, tokens and request bodies that carry them go to curl
//! and psql in files of mode 0600, never on a command line.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{on_path, postgres_bindir, root};

/// What render puts in ServiceSettings.ListenAddress for bare metal.
pub const MM_PORT: u16 = 8065;
/// The database port of the test declarations (inside the namespace).
pub const DB_PORT: u16 = 5432;
/// The site name of the test declarations and of the proxy's certificate.
pub const DOMAIN: &str = "chat.example.com";

/// What the machine offers for a real-server test; anything missing is a
/// reason to skip, with the prerequisite's name.
pub struct Env {
    pub mattermost: PathBuf,
    pub pg_bin: PathBuf,
    pub nginx: Option<PathBuf>,
    pub version: String,
    pub helper: PathBuf,
}

impl Env {
    pub fn detect(need_nginx: bool) -> Result<Env, (&'static str, String)> {
        let pin = fs::read_to_string(root().join("catalog/mattermost-pin.json")).map_err(|e| ("mattermost", format!("catalog/mattermost-pin.json: {e}")))?;
        let pin: Value = serde_json::from_str(&pin).map_err(|e| ("mattermost", format!("catalog/mattermost-pin.json: {e}")))?;
        let version = pin["version"].as_str().ok_or(("mattermost", "the pin has no version".to_string()))?.to_string();
        let mattermost = server_binary(&version).ok_or(("mattermost", "neither XDG_CACHE_HOME nor HOME is set".to_string()))?;
        if !mattermost.is_file() {
            return Err(("mattermost", format!("no Mattermost server at {} (run scripts/mattermost-build.sh)", mattermost.display())));
        }
        if output(Command::new("id").arg("-u")).trim() != "0" {
            return Err(("mattermost", "needs root (network and mount namespaces, PostgreSQL run as the postgres user)".into()));
        }
        let pg_bin = postgres_bindir().ok_or(("postgresql", "no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb; scripts/mattermost-test-deps.sh installs it)".to_string()))?;
        for tool in ["openssl", "curl", "runuser", "unshare", "nsenter", "ip", "mount"] {
            if !on_path(tool) {
                return Err(("mattermost", format!("{tool} is not installed (scripts/mattermost-test-deps.sh)")));
            }
        }
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|p| p.exists());
        if need_nginx && nginx.is_none() {
            return Err(("nginx", "nginx is not installed (scripts/test.sh installs it)".into()));
        }
        Ok(Env { mattermost, pg_bin, nginx, version, helper: helper() })
    }
}

/// The pinned server as scripts/mattermost-build.sh caches it (or
/// SECURE_MATTERMOST_SERVER_BIN).
pub fn server_binary(version: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SECURE_MATTERMOST_SERVER_BIN") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join(format!("secure-mattermost/mattermost-{version}/bin/mattermost")))
}

/// The helper under test.
pub fn helper() -> PathBuf {
    assert_cmd::cargo::cargo_bin("secure-mattermost")
}

// ---- the network namespace -----------------------------------------------------------

/// A network namespace whose only interface is loopback (until a test adds
/// one), held open by a sleeping process.
pub struct Netns {
    holder: Child,
}

impl Netns {
    pub fn new() -> Netns {
        let holder = Command::new("unshare").args(["--net", "sleep", "3600"]).stdin(Stdio::null()).spawn().unwrap();
        let ns = Netns { holder };
        // Until unshare has run, the holder is still in our namespace.
        let ours = fs::read_link("/proc/self/ns/net").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs::read_link(ns.path()).map(|l| l == ours).unwrap_or(true) {
            assert!(Instant::now() < deadline, "unshare --net did not take effect");
            std::thread::sleep(Duration::from_millis(20));
        }
        run_ok(ns.cmd("ip").args(["link", "set", "lo", "up"]));
        ns
    }

    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// `/proc/<holder>/ns/net`.
    pub fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.holder.id())
    }

    /// A command that runs inside the namespace (nsenter execs it: the
    /// child's pid is the program's).
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.path())).arg("--").arg(program);
        c
    }

    /// Whether anything listens on TCP `port` in the namespace.
    pub fn listening(&self, port: u16) -> bool {
        let o = self.cmd("ss").args(["-Hltn"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).lines().any(|l| l.split_whitespace().nth(3).is_some_and(|a| a.ends_with(&format!(":{port}"))))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

// ---- certificates ---------------------------------------------------------------------

/// A throwaway CA (`ca.pem`, `ca.key` in `dir`); returns the certificate.
pub fn make_ca(dir: &Path) -> PathBuf {
    openssl(
        dir,
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout ca.key -out ca.pem \
         -subj /CN=secure-mattermost-e2e-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
    );
    dir.join("ca.pem")
}

/// A server certificate from the CA in `dir`, for `san` (openssl's
/// subjectAltName syntax), written to `cert` and `key`.
pub fn issue(dir: &Path, cn: &str, san: &str, cert: &Path, key: &Path) {
    let tag = cn.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let ext = dir.join(format!("{tag}.ext"));
    fs::write(&ext, format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")).unwrap();
    let csr = dir.join(format!("{tag}.csr"));
    run_ok(Command::new("openssl").current_dir(dir).args(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj"]).arg(format!("/CN={cn}")).arg("-keyout").arg(key).arg("-out").arg(&csr));
    run_ok(Command::new("openssl").current_dir(dir).args(["x509", "-req", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-in"]).arg(&csr).arg("-extfile").arg(&ext).arg("-out").arg(cert));
    fs::set_permissions(key, fs::Permissions::from_mode(0o600)).unwrap();
}

fn openssl(dir: &Path, args: &str) {
    run_ok(Command::new("openssl").current_dir(dir).args(args.split_whitespace()));
}

// ---- PostgreSQL from the rendered files ----------------------------------------------------

/// A cluster in `dir` (owned by postgres, 0700), run as the postgres user
/// inside the namespace: initdb's defaults, the rendered fragment in
/// conf.d (read last, as on Debian), the rendered pg_hba.conf as the whole
/// file, init.sql applied the way its header says.
pub struct Postgres {
    bin: PathBuf,
    netns: String,
    pub dir: PathBuf,
    pub data: PathBuf,
    pub log: PathBuf,
    started: bool,
}

impl Postgres {
    pub fn new(ns: &Netns, bin: &Path, dir: &Path) -> Postgres {
        fs::create_dir(dir).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
        chown_postgres(dir);
        Postgres { bin: bin.to_path_buf(), netns: ns.path(), data: dir.join("data"), log: dir.join("server.log"), dir: dir.to_path_buf(), started: false }
    }

    /// A PostgreSQL tool as the postgres user, in the namespace, on the test's socket.
    pub fn tool(&self, tool: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.netns)).args(["--", "runuser", "-u", "postgres", "--", "env"]);
        c.arg(format!("PGHOST={}", self.dir.display())).arg(format!("PGPORT={DB_PORT}"));
        c.arg(self.bin.join(tool));
        c
    }

    /// Writes a file only the postgres user reads (the password file, keys).
    pub fn write_private(&self, path: &Path, bytes: &[u8]) {
        write_private(path, bytes);
        chown_postgres(path);
    }

    /// initdb, the rendered fragment and pg_hba.conf from `out`, start, and
    /// init.sql (its documented command, on the test's copy of the file).
    /// Returns what init.sql printed.
    pub fn start_rendered(&mut self, out: &Path) -> String {
        run_ok(self.tool("initdb").arg("-D").arg(&self.data).args(["-U", "postgres", "-E", "UTF8", "--auth-local=peer", "--auth-host=reject"]).stdout(Stdio::null()));
        let conf_d = self.data.join("conf.d");
        fs::create_dir(&conf_d).unwrap();
        fs::copy(out.join("postgresql-secure-mattermost.conf"), conf_d.join("postgresql-secure-mattermost.conf")).unwrap();
        fs::copy(out.join("pg_hba.conf"), self.data.join("pg_hba.conf")).unwrap();
        // The socket directory is the test's; the rendered fragment makes no socket setting.
        append(&self.data.join("postgresql.conf"), &format!("\n# test environment\nunix_socket_directories = '{}'\ninclude_dir = 'conf.d'\n", self.dir.display()));
        let init_sql = self.dir.join("init.sql");
        fs::copy(out.join("init.sql"), &init_sql).unwrap();
        run_ok(Command::new("chown").arg("-R").arg("postgres:").arg(&conf_d).arg(self.data.join("pg_hba.conf")).arg(&init_sql));
        self.started = true;
        run_ok(self.tool("pg_ctl").arg("-D").arg(&self.data).arg("-l").arg(&self.log).args(["-w", "-t", "60", "start"]));
        // The apply command as init.sql's header documents it, on this copy.
        let text = fs::read_to_string(&init_sql).unwrap();
        let line = text.lines().find_map(|l| l.strip_prefix("--   ")).expect("init.sql documents its apply command");
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[..5], ["runuser", "-u", "postgres", "--", "psql"], "the documented command: {line}");
        assert!(words.len() > 6 && words[words.len() - 2] == "-f" && words[words.len() - 1].ends_with("/init.sql"), "the documented command: {line}");
        let flags = &words[5..words.len() - 1];
        let o = self.tool("psql").args(flags).arg(&init_sql).output().unwrap();
        assert!(o.status.success(), "init.sql failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// SQL as the superuser through the socket, in `db`; unaligned rows.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        output(self.tool("psql").args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql]))
    }

    pub fn server_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if std::mem::take(&mut self.started) {
            let _ = self.tool("pg_ctl").arg("-D").arg(&self.data).args(["-m", "fast", "-w", "-t", "30", "stop"]).stdout(Stdio::null()).status();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.started && std::thread::panicking() {
            eprintln!("--- postgres log (tail) ---\n{}", tail(&self.server_log(), 30));
        }
        self.stop();
    }
}

fn chown_postgres(path: &Path) {
    run_ok(Command::new("chown").arg("postgres:").arg(path));
}

// ---- the Mattermost server through launch --------------------------------------------------

/// How the server is started: `secure-mattermost launch --spec SPEC --
/// mattermost server --config CONFIG`, inside the namespace and a mount
/// namespace of its own where /var/log is `var_log` (the rendered
/// LogSettings.FileLocation is /var/log/mattermost, so no override makes
/// the live configuration differ from the rendered one) and, when given,
/// /etc/resolv.conf is `resolv`.
pub struct Launch<'a> {
    pub spec: &'a Path,
    pub config: &'a Path,
    pub cwd: &'a Path,
    pub var_log: &'a Path,
    pub resolv: Option<&'a Path>,
    /// $CREDENTIALS_DIRECTORY for launch (systemd's credentials, stand-ins).
    pub credentials: Option<&'a Path>,
    /// Where the server's stdout and stderr go.
    pub output: PathBuf,
}

/// A running server; stopped (SIGTERM, then SIGKILL after 30 s) on drop.
pub struct Server {
    child: Option<Child>,
    pub output: PathBuf,
}

impl Server {
    pub fn start(ns: &Netns, env: &Env, l: &Launch) -> Server {
        const SCRIPT: &str = "mount --bind \"$1\" /var/log && if [ -n \"$2\" ]; then mount --bind \"$2\" /etc/resolv.conf; fi && shift 2 && exec \"$@\"";
        let log = fs::File::create(&l.output).unwrap();
        let mut c = ns.cmd("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c", SCRIPT, "sh"]);
        c.arg(l.var_log).arg(l.resolv.map(|p| p.as_os_str()).unwrap_or_default());
        c.arg(&env.helper).arg("launch").arg("--spec").arg(l.spec).arg("--").arg(&env.mattermost).args(["server", "--config"]).arg(l.config);
        if let Some(d) = l.credentials {
            c.env("CREDENTIALS_DIRECTORY", d);
        }
        let child = c.current_dir(l.cwd).stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
        Server { child: Some(child), output: l.output.clone() }
    }

    /// The server's pid (nsenter, unshare, sh and launch each exec the next).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits until `/api/v4/system/ping` answers OK on the application port.
    pub fn wait_for_ping(&mut self, ns: &Netns, timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let o = ns.cmd("curl").args(["-sS", "--max-time", "5", "--noproxy", "*"]).arg(format!("http://127.0.0.1:{MM_PORT}/api/v4/system/ping")).output().unwrap();
            if o.status.success() && serde_json::from_slice::<Value>(&o.stdout).is_ok_and(|v| v["status"] == "OK") {
                return started.elapsed();
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("the server exited with {status} before answering ping:\n{}", tail(&self.output(), 40));
            }
            assert!(started.elapsed() < timeout, "the server did not answer ping within {timeout:?}:\n{}", tail(&self.output(), 40));
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    pub fn output(&self) -> String {
        fs::read_to_string(&self.output).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            crate::common::terminate(child);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() && std::thread::panicking() {
            eprintln!("--- server output (tail) ---\n{}", tail(&self.output(), 40));
        }
        self.stop();
    }
}

// ---- nginx --------------------------------------------------------------------------------

/// Debian's nginx running the rendered site unchanged, included in an http
/// block of the test's (in the foreground, logs and temp files in `dir`).
pub struct Nginx {
    child: Child,
    pub dir: PathBuf,
}

impl Nginx {
    pub fn start(ns: &Netns, nginx: &Path, site: &Path, dir: &Path) -> Nginx {
        fs::create_dir_all(dir.join("tmp")).unwrap();
        fs::copy(site, dir.join("site.conf")).unwrap();
        fs::write(
            dir.join("nginx.conf"),
            format!(
                "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log {p}/access.log;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  include {p}/site.conf;\n}}\n",
                p = dir.display()
            ),
        )
        .unwrap();
        run_ok(ns.cmd(nginx).arg("-t").arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf")));
        let child = ns.cmd(nginx).arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        Nginx { child, dir: dir.to_path_buf() }
    }

    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the API client -----------------------------------------------------------------------

/// What one request returned.
pub struct Reply {
    pub code: u16,
    pub body: Vec<u8>,
    pub headers: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The server's error id (`model.user.is_valid.pwd…`), if it sent one.
    pub fn error_id(&self) -> String {
        self.json()["id"].as_str().unwrap_or_default().to_string()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let want = format!("{}:", name.to_ascii_lowercase());
        self.headers.lines().find(|l| l.to_ascii_lowercase().starts_with(&want)).map(|l| l[want.len()..].trim().to_string())
    }
}

/// curl inside the namespace, either through the proxy (HTTPS, the test CA
/// pinned, the site name resolved to loopback) or on the local-mode socket.
pub struct Api {
    netns: String,
    base: String,
    transport: Vec<OsString>,
    scratch: PathBuf,
    n: AtomicUsize,
}

impl Api {
    /// `https://<domain>` through nginx on 127.0.0.1:443, verified against `ca` only.
    pub fn through_proxy(ns: &Netns, domain: &str, ca: &Path, scratch: &Path) -> Api {
        let transport: Vec<OsString> = vec!["--resolve".into(), format!("{domain}:443:127.0.0.1").into(), "--cacert".into(), ca.into()];
        Api::new(ns, format!("https://{domain}"), transport, scratch)
    }

    /// The local-mode socket (`ServiceSettings.LocalModeSocketLocation`).
    pub fn local_socket(ns: &Netns, socket: &Path, scratch: &Path) -> Api {
        Api::new(ns, "http://localhost".into(), vec!["--unix-socket".into(), socket.into()], scratch)
    }

    fn new(ns: &Netns, base: String, transport: Vec<OsString>, scratch: &Path) -> Api {
        fs::create_dir_all(scratch).unwrap();
        fs::set_permissions(scratch, fs::Permissions::from_mode(0o700)).unwrap();
        Api { netns: ns.path(), base, transport, scratch: scratch.to_path_buf(), n: AtomicUsize::new(0) }
    }

    fn file(&self, what: &str) -> PathBuf {
        self.scratch.join(format!("{}-{what}", self.n.fetch_add(1, Ordering::SeqCst)))
    }

    /// One request; `token` goes in a header file, `body` in a body file.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let mut extra: Vec<OsString> = vec![];
        let mut temp = vec![];
        if let Some(b) = body {
            let f = self.file("body.json");
            write_private(&f, b.to_string().as_bytes());
            extra.extend(["-H".into(), "Content-Type: application/json".into(), "--data-binary".into(), at(&f)]);
            temp.push(f);
        }
        self.send(method, path, token, extra, temp)
    }

    /// A file upload to a channel (multipart, as the clients send it).
    pub fn upload(&self, token: &str, channel_id: &str, file: &Path) -> Reply {
        let mut form = OsString::from("files=@");
        form.push(file);
        let extra = vec!["-F".into(), format!("channel_id={channel_id}").into(), "-F".into(), form];
        self.send("POST", "/api/v4/files", Some(token), extra, vec![])
    }

    fn send(&self, method: &str, path: &str, token: Option<&str>, extra: Vec<OsString>, mut temp: Vec<PathBuf>) -> Reply {
        let (body, head) = (self.file("reply"), self.file("headers"));
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.netns)).args(["--", "curl", "-sS", "--max-time", "60", "--noproxy", "*", "-X", method]);
        c.args(&self.transport).arg("-o").arg(&body).arg("-D").arg(&head).args(["-w", "%{http_code}"]);
        if let Some(t) = token {
            let f = self.file("auth");
            write_private(&f, format!("Authorization: Bearer {t}\n").as_bytes());
            c.arg("-H").arg(at(&f));
            temp.push(f);
        }
        c.args(extra).arg(format!("{}{path}", self.base));
        let o = c.output().unwrap();
        let reply = Reply {
            code: String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0),
            body: fs::read(&body).unwrap_or_default(),
            headers: fs::read_to_string(&head).unwrap_or_default(),
        };
        for f in temp.iter().chain([&body, &head]) {
            let _ = fs::remove_file(f);
        }
        if reply.code == 0 {
            panic!("{method} {path}: no HTTP answer: {}", String::from_utf8_lossy(&o.stderr));
        }
        reply
    }

    /// A password login; 429 (the proxy's login rate limit, which never
    /// reaches the server) is waited out. Returns the reply and the session
    /// token on success.
    pub fn login(&self, login_id: &str, password: &str) -> (Reply, Option<String>) {
        let body = json!({"login_id": login_id, "password": password});
        for _ in 0..20 {
            let r = self.call("POST", "/api/v4/users/login", None, Some(&body));
            if r.code == 429 {
                std::thread::sleep(Duration::from_millis(6500));
                continue;
            }
            let token = (r.code == 200).then(|| r.header("token")).flatten();
            return (r, token);
        }
        panic!("the login of {login_id} was rate limited twenty times in a row");
    }
}

fn at(path: &Path) -> OsString {
    let mut s = OsString::from("@");
    s.push(path);
    s
}

// ---- secrets ----------------------------------------------------------------------------

/// The secrets of a test: none may appear in an output, log or file.
#[derive(Default)]
pub struct Secrets(pub Vec<String>);

impl Secrets {
    pub fn add(&mut self, s: &str) {
        self.0.push(s.to_string());
    }

    /// Each secret, or any run of 8+ letters and digits of it.
    pub fn assert_absent(&self, what: &str, text: &str) {
        for secret in &self.0 {
            assert!(!text.contains(secret.as_str()), "{what} contains a secret");
            for run in secret.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| r.len() >= 8) {
                assert!(!text.contains(run), "{what} contains part of a secret");
            }
        }
    }

    pub fn mask(&self, text: &str) -> String {
        self.0.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "<secret>"))
    }
}

/// A password of `len` characters from the classes named (l, u, n, s),
/// each present at least once, random otherwise.
pub fn password(len: usize, classes: &str) -> String {
    let sets: Vec<&[u8]> = classes
        .chars()
        .map(|c| match c {
            'l' => b"abcdefghijkmnopqrstuvwxyz".as_slice(),
            'u' => b"ABCDEFGHJKLMNPQRSTUVWXYZ".as_slice(),
            'n' => b"23456789".as_slice(),
            _ => b"!#%*+-=?@^_~".as_slice(),
        })
        .collect();
    let bytes = random_bytes(len);
    (0..len).map(|i| { let set = sets[i % sets.len()]; set[bytes[i] as usize % set.len()] as char }).collect()
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    b
}

pub fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

// ---- the declaration ----------------------------------------------------------------------

/// Where a test's site keeps its files.
pub struct SitePaths<'a> {
    pub ca: &'a Path,
    pub db_password: &'a Path,
    pub pg_cert: &'a Path,
    pub pg_key: &'a Path,
    pub site_cert: &'a Path,
    pub site_key: &'a Path,
    pub file_store: &'a Path,
}

/// The committed bare-metal example (every option filled in, as
/// modules/standalone.nix evaluates it) pointed at this test's database on
/// 127.0.0.1 over verify-full, its certificates and its file store.
pub fn example_declaration(env: &Env, p: &SitePaths) -> Value {
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(root().join("examples/baremetal.json")).unwrap()).unwrap();
    let sm = &mut doc["secureMattermost"];
    sm["domain"] = json!(DOMAIN);
    sm["mattermost"]["version"] = json!(env.version);
    let pg_major: u32 = env.pg_bin.parent().and_then(|d| d.file_name()).and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).unwrap_or(15);
    let db = &mut sm["database"];
    db["host"] = json!("127.0.0.1");
    db["port"] = json!(DB_PORT);
    db["passwordFile"] = json!(p.db_password);
    db["sslMode"] = json!("verify-full");
    db["caFile"] = json!(p.ca);
    db["postgresqlVersion"] = json!(pg_major);
    sm["baremetal"]["postgresql"] = json!({"certificateFile": p.pg_cert, "keyFile": p.pg_key});
    sm["tls"]["certificateFile"] = json!(p.site_cert);
    sm["tls"]["keyFile"] = json!(p.site_key);
    sm["fileStorage"]["driver"] = json!("local");
    sm["fileStorage"]["directory"] = json!(p.file_store);
    doc
}

/// `secure-mattermost render` of `doc` (written to `path`) into `out`:
/// returns what it printed (the outcome table).
pub fn render(doc: &Value, path: &Path, out: &Path) -> String {
    fs::write(path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let o = Command::new(helper()).args(["render", "--input"]).arg(path).arg("--out").arg(out).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "render failed:\n{stdout}{stderr}");
    assert!(!stderr.contains("panicked at"), "{stderr}");
    stdout + &stderr
}

/// The outcome of rule `id` in a rendered outcomes.json.
pub fn outcome(out: &Path, id: &str) -> Value {
    let v: Value = serde_json::from_str(&fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap();
    v["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap_or_else(|| panic!("no rule {id} in outcomes.json"))
}

// ---- small things -------------------------------------------------------------------------

pub fn write_private(path: &Path, data: &[u8]) {
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).unwrap();
    f.write_all(data).unwrap();
}

pub fn append(path: &Path, text: &str) {
    fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

pub fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

pub fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Every regular file under `dir`, with its sha256.
pub fn tree_hashes(dir: &Path) -> Vec<(PathBuf, String)> {
    crate::common::files_under(dir).into_iter().filter(|p| p.is_file()).map(|p| { let h = sha256_hex(&fs::read(&p).unwrap()); (p, h) }).collect()
}

/// Every text under `dir` (logs), for the secret canary.
pub fn texts_under(dir: &Path) -> Vec<(PathBuf, String)> {
    crate::common::files_under(dir).into_iter().map(|p| { let t = String::from_utf8_lossy(&fs::read(&p).unwrap_or_default()).into_owned(); (p, t) }).collect()
}
