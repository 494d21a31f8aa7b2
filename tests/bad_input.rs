//! Bad input, one table: every case is refused with a clear message naming
//! the option or file, its documented exit code (0 pass, 1 findings, 2 bad
//! input or usage, 3 I/O), no panic, nothing on stdout when refused, and
//! nothing written (no artifact, no temporary file left beside `--out`).

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;

/// What the case's process gets on stdin.
#[derive(Clone)]
enum Stdin {
    Bytes(Vec<u8>),
    /// File descriptor 0 closed (`<&-`).
    Closed,
}

/// How the process is started.
#[derive(Clone, Copy, PartialEq)]
enum How {
    Plain,
    /// File descriptor 1 closed (`>&-`): std reopens it on /dev/null, so the
    /// output is lost, but the exit code and stderr still say what happened.
    StdoutClosed,
    /// In a private mount namespace where `{dir}/ro` is a read-only tmpfs
    /// (root ignores mode bits, not a read-only mount).
    ReadOnlyDir,
    /// As `nobody` (uid 65534), so a mode-0000 file is unreadable.
    Nobody,
    /// With 4 GB of address space, so a reader without a limit fails fast
    /// instead of taking the machine's memory.
    MemoryCapped,
}

struct Case {
    name: &'static str,
    /// `{dir}` is the case's own temporary directory.
    args: Vec<String>,
    stdin: Stdin,
    how: How,
    /// Files the case needs in `{dir}` before it runs.
    setup: Option<fn(&Path)>,
    code: i32,
    /// Each must appear in stderr (`{dir}` substituted).
    needles: Vec<String>,
    /// None may appear in stdout or stderr.
    absent: Vec<String>,
    /// What stdout holds: nothing for a refused input; the report for
    /// `lint`, and the outcomes for a render whose check ran before the
    /// output path failed.
    stdout: Option<&'static str>,
}

fn case(name: &'static str, args: &[&str], code: i32, needles: &[&str]) -> Case {
    Case {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Stdin::Bytes(vec![]),
        how: How::Plain,
        setup: None,
        code,
        needles: needles.iter().map(|s| s.to_string()).collect(),
        absent: vec![],
        stdout: None,
    }
}

impl Case {
    fn stdin(mut self, s: impl Into<Vec<u8>>) -> Case {
        self.stdin = Stdin::Bytes(s.into());
        self
    }
    fn stdin_closed(mut self) -> Case {
        self.stdin = Stdin::Closed;
        self
    }
    fn how(mut self, how: How) -> Case {
        self.how = how;
        self
    }
    fn setup(mut self, f: fn(&Path)) -> Case {
        self.setup = Some(f);
        self
    }
    fn prints(mut self, s: &'static str) -> Case {
        self.stdout = Some(s);
        self
    }
    fn absent(mut self, s: &str) -> Case {
        self.absent.push(s.to_string());
        self
    }
}

/// The head of the outcome table `check` and `render` print.
const OUTCOMES: &str = "OUTCOME           RULE";

const CANARY: &str = "CANARY-pasted-Pa55word!";

fn base_doc() -> Value {
    load("examples/baremetal.json")
}

fn with(patch: Value) -> String {
    patched(base_doc(), &patch).to_string()
}

fn without(key: &str) -> String {
    let mut d = base_doc();
    d["secureMattermost"].as_object_mut().unwrap().remove(key);
    d.to_string()
}

fn nested(depth: usize) -> String {
    let inner = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    with(json!({})).replacen("\"justification\":{}", &format!("\"justification\":{{\"x\":{inner}}}"), 1)
}

/// `render --input - --out {dir}/out` on `doc`.
fn render(name: &'static str, doc: impl Into<Vec<u8>>, code: i32, needles: &[&str]) -> Case {
    case(name, &["render", "--input", "-", "--out", "{dir}/out", "--today", TODAY], code, needles).stdin(doc)
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
}

fn cases() -> Vec<Case> {
    let full = base_doc().to_string();
    let example = root().join("examples/baremetal.json").display().to_string();
    let example_nix = root().join("examples/baremetal.nix").display().to_string();
    let mut invalid_utf8 = full.clone().into_bytes();
    let at = full.find("Program Chat").unwrap();
    invalid_utf8[at] = 0xff;
    vec![
        // ---- malformed, truncated, not UTF-8
        render("malformed-json", "{not json", 2, &["<stdin>: not a valid JSON document"]),
        render("truncated-json", full[..full.len() / 2].to_string(), 2, &["<stdin>: not a valid JSON document"]),
        render("empty-input", "", 2, &["<stdin>: not a valid JSON document"]),
        render("invalid-utf8-json", invalid_utf8, 2, &["<stdin>", &format!("not UTF-8 (invalid byte sequence at byte offset {at})")]),
        render("byte-order-mark", format!("\u{feff}{full}"), 2, &["<stdin>: not a valid JSON document"]),
        render("trailing-garbage", format!("{full} x"), 2, &["<stdin>: not a valid JSON document", "trailing characters"]),
        render("two-documents", format!("{full}{full}"), 2, &["<stdin>: not a valid JSON document"]),
        render("null-document", "null", 2, &["<stdin>: unsupported schemaVersion nothing"]),
        render("array-document", "[]", 2, &["<stdin>: unsupported schemaVersion nothing"]),
        // ---- schema version, wrong types, unknown fields
        render("schema-version-99", with_top("schemaVersion", json!(99)), 2, &["unsupported schemaVersion 99"]),
        render("schema-version-string", with_top("schemaVersion", json!("1")), 2, &["unsupported schemaVersion \"1\""]),
        render("schema-version-missing", remove_top("schemaVersion"), 2, &["unsupported schemaVersion nothing"]),
        render("secure-mattermost-missing", remove_top("secureMattermost"), 2, &["option `services.secureMattermost` is invalid"]),
        render("secure-mattermost-a-string", with_top("secureMattermost", json!("on")), 2, &["option `services.secureMattermost` is invalid"]),
        render("replicas-a-string", with(json!({"replicas": "two"})), 2, &["services.secureMattermost.replicas"]),
        render("replicas-negative", with(json!({"replicas": -1})), 2, &["services.secureMattermost.replicas"]),
        render("replicas-fraction", with(json!({"replicas": 1.5})), 2, &["services.secureMattermost.replicas"]),
        render("replicas-beyond-u64", full.replacen("\"replicas\":1", "\"replicas\":18446744073709551616", 1), 2, &["services.secureMattermost.replicas"]),
        render("enable-a-string", with(json!({"enable": "yes"})), 2, &["services.secureMattermost.enable"]),
        render("unknown-mode", with(json!({"mode": "metal"})), 2, &["services.secureMattermost.mode"]),
        render("domain-missing", without("domain"), 2, &["missing field `domain`"]),
        render("domain-with-a-space", with(json!({"domain": "chat example.com"})), 2, &["services.secureMattermost.domain"]),
        render("unknown-top-level-option", with(json!({"surprise": 1})), 2, &["surprise"]),
        render("unknown-nested-option", with(json!({"database": {"hostname": "db"}})), 2, &["services.secureMattermost.database", "hostname"]),
        render("settings-a-list", with(json!({"settings": []})), 2, &["services.secureMattermost.settings"]),
        render("unknown-setting-key", with(json!({"settings": {"ServiceSettings": {"EnableLinkPreview": false}}})), 2, &["settings.ServiceSettings.EnableLinkPreview` is not a setting of Mattermost"]),
        render("unknown-settings-section", with(json!({"settings": {"ServiceSetting": {"EnableLinkPreviews": false}}})), 2, &["settings.ServiceSetting`"]),
        render("setting-wrong-type", with(json!({"settings": {"ServiceSettings": {"EnableLinkPreviews": "false"}}})), 2, &["settings.ServiceSettings.EnableLinkPreviews", "must be a boolean"]),
        render("setting-null", with(json!({"settings": {"MetricsSettings": {"Enable": true, "ListenAddress": null}}})), 2, &["settings.MetricsSettings.ListenAddress"]),
        render("setting-conflicts-with-option", with(json!({"settings": {"TeamSettings": {"SiteName": CANARY}}})), 2, &["settings.TeamSettings.SiteName", "siteName"]).absent(CANARY),
        render("ha-with-local-storage", with(json!({"replicas": 3, "fileStorage": {"driver": "local"}})), 2, &["fileStorage.driver"]),
        render("unpinned-mattermost-version", with(json!({"mattermost": {"version": "9.0.0"}})), 2, &["mattermost.version"]),
        render("justification-a-number", with(json!({"justification": {"hsts": 7}})), 2, &["services.secureMattermost.justification"]),
        render("justification-unknown-key", with(json!({"justification": {"no-such-rule": "Partner agencies need it"}})), 2, &["justification.no-such-rule` names no catalog rule"]),
        // ---- unsafe paths and literal secrets (never echoed)
        render("password-file-with-space", with(json!({"database": {"passwordFile": "/run/secrets/db password"}})), 2, &["services.secureMattermost.database.passwordFile"]),
        render("password-file-unit-injection", with(json!({"database": {"passwordFile": "/run/secrets/x;\nExecStartPre=/bin/sh"}})), 2, &["services.secureMattermost.database.passwordFile"]),
        render("password-file-relative", with(json!({"database": {"passwordFile": "relative/path"}})), 2, &["services.secureMattermost.database.passwordFile"]),
        render("password-file-in-store", with(json!({"database": {"passwordFile": "/nix/store/abc-dbpw"}})), 2, &["services.secureMattermost.database.passwordFile"]),
        render("password-pasted-into-file-option", with(json!({"database": {"passwordFile": CANARY}})), 2, &["database.passwordFile"]).absent(CANARY),
        render("literal-secret-option", with(json!({"database": {"password": CANARY}})), 2, &["secret-literal-option", "services.secureMattermost.database.password"]).absent(CANARY),
        render("credential-in-a-dsn-setting", with(json!({"settings": {"SqlSettings": {"DataSource": format!("postgres://mm:{CANARY}@db/mm")}}})), 2, &["secret-credential-in-string", "settings.SqlSettings.DataSource"]).absent(CANARY),
        // ---- huge and deeply nested values
        render("nested-deeper-than-128", nested(200), 2, &["<stdin>: nested deeper than 128 levels"]),
        render("nested-just-past-the-limit", nested(127), 2, &["<stdin>: nested deeper than 128 levels"]),
        render("number-out-of-range", full.replacen("\"replicas\":1", "\"replicas\":1e400", 1), 2, &["<stdin>: not a valid JSON document", "number out of range"]),
        render("huge-string-in-an-unknown-field", with(json!({"surprise": "x".repeat(4 << 20)})), 2, &["surprise"]),
        render("huge-list-of-networks", with(json!({"baremetal": {"networks": {"users": vec!["not a network"; 100_000]}}})), 2, &["services.secureMattermost.baremetal.networks.users"]),
        case("input-larger-than-16-mib", &["check", "--input", "{dir}/big.json", "--today", TODAY], 2, &["{dir}/big.json", "16 MiB"]).setup(|d| {
            let doc = base_doc().to_string();
            write(d, "big.json", format!("{doc}{}", " ".repeat(17 << 20)).as_bytes())
        }),
        case("input-dev-zero", &["check", "--input", "/dev/zero", "--today", TODAY], 2, &["/dev/zero", "16 MiB"]).how(How::MemoryCapped),
        case("config-dev-zero", &["check", "--config", "/dev/zero", "--today", TODAY], 2, &["/dev/zero", "larger than 16 MiB"]),
        // ---- policy failures (exit 1) write nothing either
        render("policy-failure", with(json!({"allowOpenSignup": true})), 1, &["policy check failed", "open-signup-disabled"]),
        render("justification-expiry-not-a-date", with(json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": {"reason": "Partner ISA-44", "expires": "never"}}})), 1, &["justification.allowGuestUsers.expires is not a real calendar date"]),
        // ---- files: missing, unreadable, not files
        case("input-missing", &["check", "--input", "/nonexistent/decl.json"], 3, &["/nonexistent/decl.json"]),
        case("input-a-directory", &["check", "--input", "{dir}", "--today", TODAY], 3, &["{dir}"]),
        case("input-dangling-symlink", &["check", "--input", "{dir}/dangling.json", "--today", TODAY], 3, &["{dir}/dangling.json"])
            .setup(|d| std::os::unix::fs::symlink(d.join("gone.json"), d.join("dangling.json")).unwrap()),
        case("input-unreadable-as-nobody", &["check", "--input", "{dir}/private.json", "--today", TODAY], 3, &["{dir}/private.json", "ermission denied"])
            .how(How::Nobody)
            .setup(|d| {
                use std::os::unix::fs::PermissionsExt;
                write(d, "private.json", base_doc().to_string().as_bytes());
                std::fs::set_permissions(d.join("private.json"), std::fs::Permissions::from_mode(0o000)).unwrap();
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            }),
        case("config-missing", &["check", "--config", "{dir}/nope.nix", "--today", TODAY], 3, &["{dir}/nope.nix"]),
        case("config-a-directory", &["eval", "--config", "{dir}"], 3, &["{dir}", "is a directory"]),
        case("config-invalid-utf8", &["eval", "--config", "{dir}/bad.nix"], 2, &["bad.nix", "not valid UTF-8"])
            .setup(|d| write(d, "bad.nix", b"{ services.secureMattermost.siteName = \"caf\xe9\"; }")),
        case("config-truncated", &["check", "--config", "{dir}/cut.nix", "--today", TODAY], 2, &["cut.nix", "syntax error"])
            .setup(|d| write(d, "cut.nix", b"{ services.secureMattermost = { enable = true; mode = \"bare")),
        case("config-unknown-option", &["eval", "--config", "{dir}/unknown.nix"], 2, &["services.secureMattermost.surprise"])
            .setup(|d| write(d, "unknown.nix", b"{ services.secureMattermost = { enable = true; mode = \"baremetal\"; domain = \"chat.example.com\"; surprise = 1; }; }")),
        case("config-nested-deeper-than-512", &["eval", "--config", "{dir}/deep.nix"], 2, &["deep.nix"])
            .setup(|d| write(d, "deep.nix", format!("{}1{}", "[".repeat(600), "]".repeat(600)).as_bytes())),
        case("lint-missing-path", &["lint", "{dir}/nope.nix"], 3, &["{dir}/nope.nix"]).prints("0 file(s) checked"),
        case("lint-invalid-utf8", &["lint", "{dir}/bad.nix"], 2, &["bad.nix", "not UTF-8"]).setup(|d| write(d, "bad.nix", b"{ a = \"\xff\"; }")).prints("1 file(s) checked, 0 finding(s)"),
        case("lint-not-nix", &["lint", "{dir}/broken.nix"], 2, &["broken.nix:1:", "not valid Nix"]).setup(|d| write(d, "broken.nix", b"{ a = ; ")).prints("1 file(s) checked, 0 finding(s)"),
        // ---- the output path
        case("out-is-a-file", &["render", "--input", &example, "--out", "{dir}/file", "--today", TODAY], 3, &["{dir}/file", "not a directory"])
            .setup(|d| write(d, "file", b"keep me"))
            .prints(OUTCOMES),
        case("out-parent-is-a-file", &["render", "--input", &example, "--out", "{dir}/file/out", "--today", TODAY], 3, &["{dir}/file"])
            .setup(|d| write(d, "file", b"keep me"))
            .prints(OUTCOMES),
        case("out-parent-read-only", &["render", "--input", &example, "--out", "{dir}/ro/out", "--today", TODAY], 3, &["{dir}/ro", "Read-only file system"])
            .how(How::ReadOnlyDir)
            .prints(OUTCOMES),
        // ---- closed standard streams
        case("stdin-closed", &["check", "--input", "-", "--today", TODAY], 2, &["<stdin>: not a valid JSON document"]).stdin_closed(),
        case("stdout-closed-refusal", &["check", "--input", "-", "--today", TODAY], 2, &["<stdin>: not a valid JSON document"]).stdin("{").how(How::StdoutClosed),
        case("stdout-closed-findings", &["check", "--input", "-", "--today", TODAY], 1, &["policy check failed"]).stdin(with(json!({"allowOpenSignup": true}))).how(How::StdoutClosed),
        case("stdout-closed-eval", &["eval", "--config", &example_nix], 0, &[]).how(How::StdoutClosed),
        // ---- usage
        case("no-input-given", &["check"], 2, &["--input", "--config"]),
        case("unknown-command", &["frobnicate"], 2, &["frobnicate"]),
        case("input-and-config", &["check", "--input", "a", "--config", "b"], 2, &["--input", "--config"]),
        case("bad-today", &["check", "--input", &example, "--today", "2026-13-01"], 2, &["--today 2026-13-01: expected YYYY-MM-DD"]),
        case("impossible-today", &["check", "--input", &example, "--today", "2027-02-30"], 2, &["--today 2027-02-30"]),
        case("unknown-format", &["check", "--input", &example, "--format", "xml"], 2, &["--format", "xml"]),
        case("sarif-for-eval", &["eval", "--config", &example_nix, "--format", "sarif"], 2, &["`eval` reports no findings"]),
        case("post-render-declaration-on-stdin", &["post-render", "--input", "-"], 2, &["post-render reads the manifests on stdin"]),
        case("post-render-baremetal-declaration", &["post-render", "--input", &example, "--today", TODAY], 2, &["mode = \"kubernetes\""]),
        case("post-render-not-utf8", &["post-render", "--input", &root().join("examples/kubernetes.json").display().to_string(), "--today", TODAY], 2, &["<stdin>: not UTF-8"])
            .stdin(b"apiVersion: v1\nkind: \xff\n".to_vec()),
    ]
}

fn with_top(key: &str, v: Value) -> String {
    let mut d = base_doc();
    d[key] = v;
    d.to_string()
}

fn remove_top(key: &str) -> String {
    let mut d = base_doc();
    d.as_object_mut().unwrap().remove(key);
    d.to_string()
}

/// Runs one case; `Err` says what was wrong.
fn run_case(c: &Case) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = tmp.path();
    if c.how == How::ReadOnlyDir {
        std::fs::create_dir(dir.join("ro")).map_err(|e| e.to_string())?;
    }
    if let Some(setup) = c.setup {
        setup(dir);
    }
    let before = entries(dir);
    let d = dir.display().to_string();
    let args: Vec<String> = c.args.iter().map(|a| a.replace("{dir}", &d)).collect();
    let exe = assert_cmd::cargo::cargo_bin("secure-mattermost");
    let mut cmd = match c.how {
        How::Plain => std::process::Command::new(&exe),
        How::StdoutClosed => {
            let mut cmd = std::process::Command::new("sh");
            cmd.args(["-c", "exec \"$0\" \"$@\" >&-"]).arg(&exe);
            cmd
        }
        How::ReadOnlyDir => {
            let ro = dir.join("ro");
            let mut cmd = std::process::Command::new("unshare");
            cmd.args(["-m", "sh", "-c", "mount -t tmpfs none \"$1\" && mount -o remount,ro \"$1\" && shift && exec \"$@\"", "sh"]).arg(&ro).arg(&exe);
            cmd
        }
        How::MemoryCapped => {
            let mut cmd = std::process::Command::new("sh");
            cmd.args(["-c", "ulimit -v 4000000 && exec \"$0\" \"$@\""]).arg(&exe);
            cmd
        }
        How::Nobody => {
            let mut cmd = std::process::Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&exe);
            cmd
        }
    };
    cmd.args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let stdin = match &c.stdin {
        Stdin::Closed => {
            // `<&-` in a shell: the process starts with fd 0 closed.
            cmd = std::process::Command::new("sh");
            cmd.args(["-c", "exec \"$0\" \"$@\" <&-"]).arg(&exe).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
            None
        }
        Stdin::Bytes(b) => {
            cmd.stdin(Stdio::piped());
            Some(b.clone())
        }
    };
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        // unshare, setpriv (util-linux) or sh missing: this case cannot run here.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && c.how != How::Plain => {
            skip_part("all", &format!("bad_input/{}", c.name), &format!("{:?} is not available: {e}", cmd.get_program()));
            return Ok(());
        }
        Err(e) => return Err(format!("cannot start: {e}")),
    };
    let writer = stdin.and_then(|bytes| {
        child.stdin.take().map(|mut pipe| {
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = pipe.write_all(&bytes);
            })
        })
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = vec![];
    if stderr.contains("panicked at") || code == 101 {
        problems.push("panicked".to_string());
    }
    if c.how == How::ReadOnlyDir && stderr.contains("unshare: ") {
        skip_part("netns", &format!("bad_input/{}", c.name), "unshare -m (a private mount namespace) is not allowed here");
        return Ok(());
    }
    if code != c.code {
        problems.push(format!("exit {code}, expected {}", c.code));
    }
    for n in &c.needles {
        let n = n.replace("{dir}", &d);
        if !stderr.contains(&n) {
            problems.push(format!("stderr does not contain {n:?}"));
        }
    }
    for a in &c.absent {
        if stdout.contains(a.as_str()) || stderr.contains(a.as_str()) {
            problems.push(format!("{a:?} was echoed"));
        }
    }
    // Findings (exit 1) print the outcomes; a refused input prints nothing.
    match c.stdout {
        Some(want) if !stdout.contains(want) => problems.push(format!("stdout does not contain {want:?}: {}", stdout.chars().take(200).collect::<String>())),
        None if c.code >= 2 && !stdout.is_empty() => problems.push(format!("a refusal printed on stdout: {}", stdout.chars().take(200).collect::<String>())),
        _ => {}
    }
    // Nothing written: no `out`, no temporary directory beside it.
    let after = entries(dir);
    if c.code != 0 && after != before {
        problems.push(format!("files changed in the case's directory: {before:?} -> {after:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n--- stderr:\n{}", problems.join("; "), stderr.chars().take(1500).collect::<String>()))
    }
}

/// Every path below `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = files_under(dir).iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
    if let Ok(rd) = std::fs::read_dir(dir) {
        out.extend(rd.flatten().filter(|e| e.path().is_dir()).map(|e| format!("{}/", e.file_name().to_string_lossy())));
    }
    out.sort();
    out
}

fn every_bad_input_is_refused_as_documented() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} bad inputs", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names repeat");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(c) = cases.get(i) else { break };
                if let Err(e) = run_case(c) {
                    failures.lock().unwrap().push(format!("[{}] {e}", c.name));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} bad inputs were not refused as documented:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

/// What a refused render leaves: the previous output directory untouched;
/// a passing one replaces it as a whole, leaving no temporary directory.
fn policy_failure_keeps_the_old_output_and_success_replaces_it_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("stale.txt"), "old").unwrap();
    let o = out.to_str().unwrap();
    let r = run_stdin(&["render", "--input", "-", "--out", o, "--today", TODAY], &with(json!({"allowOpenSignup": true})));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(out.join("stale.txt")).unwrap(), "old", "a failed render touched the old output");
    let r = run(&["render", "--input", "examples/baremetal.json", "--out", o, "--today", TODAY]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!out.join("stale.txt").exists());
    for f in ["config.json", "secret-env.json", "mattermost.service", "nginx.conf", "outcomes.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary directories left behind");
}

tests![every_bad_input_is_refused_as_documented, policy_failure_keeps_the_old_output_and_success_replaces_it_atomically];
