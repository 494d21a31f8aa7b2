//! Encrypted backups and their restore (`secure-mattermost backup` /
//! `restore`, `mattermost-backup.service` / `.timer`), on the real tools:
//! Debian's PostgreSQL over TLS with scram, age, GNU tar, the real
//! Mattermost server, systemd's analyzer.
//!
//! systemd is not PID 1 here, so the backup runs as the rendered unit's
//! `ExecStart=` command line, the way the unit would run it: an unprivileged
//! uid holding only CAP_DAC_READ_SEARCH (ambient, bounding set, no new
//! privileges; `setpriv`), the database password in `$CREDENTIALS_DIRECTORY`
//! (as `LoadCredential=` puts it), an empty private TMPDIR, a clean
//! environment. What that leaves untested (the mount namespace, the system
//! call filter, the timer firing, `User=` resolution) is listed in
//! docs/baremetal.md.
//!
//! Each server test makes its own network namespace (loopback only) and
//! stops what it started, pass or fail. Helpers are trimmed copies of
//! tests/restore.rs's.

mod common;
use common::{on_path, postgres_bindir, write_private};

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const DB_PORT: u16 = 5432;
const MM_PORT: u16 = 8065;
/// The uid the backup runs as (the unit's `mattermost-backup`; no passwd entry needed).
const BACKUP_UID: u32 = 64_123;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(240);
const AGE_HEADER: &[u8] = b"age-encryption.org/v1\n-> X25519 ";

// ---- the units ----------------------------------------------------------------

fn backup_units_verify_and_are_sandboxed() {
    const TEST: &str = "baremetal_backup/units";
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        common::skip_missing("systemd", TEST, "systemd-analyze not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let recipient = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
    let doc = common::patched(
        common::load("examples/baremetal.json"),
        &json!({"baremetal": {"backups": {"ageRecipient": recipient, "directory": "/srv/backups/mm", "schedule": "*-*-* 03:15:00", "retentionDays": 14}}}),
    );
    let out = render_doc(dir.path(), "on", &doc, &["--helper-bin", "/bin/true", "--mattermost-bin", "/bin/true"]);
    let service = fs::read_to_string(out.join("mattermost-backup.service")).expect("no mattermost-backup.service");
    let timer = fs::read_to_string(out.join("mattermost-backup.timer")).expect("no mattermost-backup.timer");
    let (ok, text) = analyze(&["verify", "./mattermost-backup.service", "./mattermost-backup.timer"], &out);
    assert!(ok && !text.contains("mattermost-backup"), "systemd-analyze verify:\n{text}");
    let (ok, text) = analyze(&["security", "--offline=true", "--threshold=20", "./mattermost-backup.service"], &out);
    assert!(ok, "exposure above 2.0:\n{text}");
    let level = text.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_default().to_string();
    eprintln!("[backup] {level}");

    // What the unit says, read as systemd reads it (bare words only).
    let get = |unit: &str, key: &str| -> Vec<String> {
        unit.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_string).collect()
    };
    assert_eq!(get(&service, "Type"), ["oneshot"]);
    assert_eq!(get(&service, "User"), ["mattermost-backup"]);
    assert_eq!(get(&service, "ExecStart"), ["/bin/true backup --input /etc/secure-mattermost/declaration.json"]);
    assert_eq!(get(&service, "LoadCredential"), ["database-password:/run/secrets/mattermost/database-password"]);
    assert_eq!(get(&service, "ReadWritePaths"), ["-/srv/backups/mm"]);
    assert_eq!(get(&service, "CapabilityBoundingSet"), ["CAP_DAC_READ_SEARCH"]);
    assert_eq!(get(&service, "AmbientCapabilities"), ["CAP_DAC_READ_SEARCH"]);
    assert_eq!(get(&timer, "OnCalendar"), ["*-*-* 03:15:00"]);
    assert_eq!(get(&timer, "Persistent"), ["true"]);
    assert_eq!(get(&timer, "Unit"), ["mattermost-backup.service"]);
    assert!(!get(&timer, "RandomizedDelaySec").is_empty());
    // The schedule is one systemd accepts and normalises to itself.
    let (ok, text) = analyze(&["calendar", "*-*-* 03:15:00"], &out);
    assert!(ok && text.contains("Normalized form: *-*-* 03:15:00"), "{text}");
    // The declaration the unit reads is rendered beside it.
    let installed: Value = serde_json::from_str(&fs::read_to_string(out.join("declaration.json")).unwrap()).unwrap();
    assert_eq!(installed["secureMattermost"]["baremetal"]["backups"]["ageRecipient"], json!(recipient));

    // The threshold bites: without its sandboxing the same unit scores above 2.0.
    let weak: String = service
        .lines()
        .filter(|l| !["Protect", "Restrict", "Private", "SystemCall", "Capability", "Ambient", "NoNewPrivileges", "MemoryDeny"].iter().any(|p| l.starts_with(p)))
        .map(|l| format!("{l}\n"))
        .collect();
    let weak_dir = dir.path().join("weak");
    fs::create_dir(&weak_dir).unwrap();
    fs::write(weak_dir.join("mattermost-backup.service"), weak).unwrap();
    let (ok, _) = analyze(&["security", "--offline=true", "--threshold=20", "./mattermost-backup.service"], &weak_dir);
    assert!(!ok, "the unit without sandboxing passed the exposure threshold");

    // Backups off: neither unit is rendered.
    let off = common::patched(doc, &json!({"baremetal": {"backups": {"enable": false}}, "justification": {"backup-scheduled": "The site's storage array snapshots this host's database and file store hourly (ISA-77)"}}));
    let out = render_doc(dir.path(), "off", &off, &["--helper-bin", "/bin/true", "--mattermost-bin", "/bin/true"]);
    assert!(!out.join("mattermost-backup.service").exists() && !out.join("mattermost-backup.timer").exists(), "backup units rendered with backups off");
}

// ---- refusals that need no server -----------------------------------------------

fn backup_and_restore_refuse_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let backups = d.join("backups");
    fs::create_dir(&backups).unwrap();
    let pw = d.join("pw");
    write_private(&pw, b"not-used-here\n");
    let base = json!({
        "database": {"passwordFile": pw},
        "fileStorage": {"driver": "local", "directory": d.join("files")},
        "baremetal": {"backups": {"directory": backups, "ageRecipient": null}},
    });
    let write = |name: &str, patch: Value| {
        let p = d.join(name);
        fs::write(&p, common::patched(common::patched(common::load("examples/baremetal.json"), &base), &patch).to_string()).unwrap();
        p
    };
    let s = |p: &Path| p.display().to_string();

    // No recipient: refused before anything runs or is written.
    let no_recipient = write("no-recipient.json", json!({}));
    let r = common::run(&["backup", "--input", &s(&no_recipient)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("sm::backup::no_recipient") && r.stderr.contains("baremetal.backups.ageRecipient"), "{}", r.stderr);
    assert_eq!(fs::read_dir(&backups).unwrap().count(), 0, "something was written without a recipient");

    let recipient = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
    // The backup directory must exist (the install step makes it).
    let missing = write("missing-dir.json", json!({"baremetal": {"backups": {"ageRecipient": recipient, "directory": d.join("absent")}}}));
    let r = common::run(&["backup", "--input", &s(&missing)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("baremetal.backups.directory") && r.stderr.contains("install step"), "{}", r.stderr);
    assert!(!d.join("absent").exists());
    // Nor may it contain the file store (the backup would copy itself).
    let nested = write("nested.json", json!({"baremetal": {"backups": {"ageRecipient": recipient}}, "fileStorage": {"directory": backups.join("files")}}));
    let r = common::run(&["backup", "--input", &s(&nested)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("sm::backup::layout"), "{}", r.stderr);

    // Kubernetes declarations are not backed up here.
    let k8s = d.join("k8s.json");
    fs::write(&k8s, common::load("examples/kubernetes.json").to_string()).unwrap();
    let r = common::run(&["backup", "--input", &s(&k8s)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("sm::backup::mode"), "{}", r.stderr);

    // restore: not a set (with a hint at the newest set), a garbled manifest, a missing identity.
    let ok = write("ok.json", json!({"baremetal": {"backups": {"ageRecipient": recipient}}}));
    let identity = d.join("identity");
    let set = backups.join("20261101T023000Z");
    fs::create_dir(&set).unwrap();
    let r = common::run(&["restore", "--input", &s(&ok), "--from", &s(&backups), "--identity", &s(&identity)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a backup set") && r.stderr.contains("20261101T023000Z"), "{}", r.stderr);
    fs::write(set.join("manifest.json"), "{\"format\": 7").unwrap();
    let r = common::run(&["restore", "--input", &s(&ok), "--from", &s(&set), "--identity", &s(&identity)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a backup manifest"), "{}", r.stderr);
    // `--password` does not exist: the password never travels in argv.
    let r = common::run(&["restore", "--input", &s(&ok), "--from", &s(&set), "--identity", &s(&identity), "--password", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

// ---- PostgreSQL round trip: a table row and a file store -----------------------------

fn postgresql_backup_restores_into_a_fresh_cluster_with_new_credentials() {
    const TEST: &str = "baremetal_backup/postgresql_round_trip";
    let env = match Env::detect(false) {
        Ok(e) => e,
        Err((prereq, why)) => {
            common::skip_missing(prereq, TEST, &why);
            return;
        }
    };
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("backup-pg-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let dir = tmp.path();
    let mut h = Harness::new(&env, dir);
    let site = Site::new(&h, dir);
    h.secrets = vec![site.p1.clone(), site.p2.clone()];
    let mut lap = laps("pg");

    h.start_cluster("a", &site.p1);
    let marker = format!("row-marker-{}", random_hex(8));
    h.sql_as_owner(&format!("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL); INSERT INTO notes VALUES (1, '{marker}'), (2, repeat('x', 5000)); CREATE TABLE filler AS SELECT g AS id, md5(g::text || random()::text) AS h FROM generate_series(1, 5000) g;"));
    let file_marker = format!("file-marker-{}", random_hex(8));
    let store = &site.store;
    fs::create_dir_all(store.join("20261123/teams/t1/channels/c1/users/u1/f1")).unwrap();
    fs::write(store.join("20261123/teams/t1/channels/c1/users/u1/f1/notes.txt"), format!("{file_marker}\n").repeat(50)).unwrap();
    fs::write(store.join("20261123/teams/t1/channels/c1/users/u1/f1/blob.bin"), random_bytes(96 * 1024)).unwrap();
    fs::create_dir_all(store.join("users/u1")).unwrap();
    fs::write(store.join("users/u1/profile.png"), random_bytes(2048)).unwrap();
    private_tree(store);
    let before = tree_hashes(store);
    lap("cluster A, a row and a file store");

    // Without the one capability the unit grants, the file store is unreadable: refused, nothing written.
    let r = h.backup_as_service(&site.unit_one, &site, false);
    assert_eq!(r.code, 3, "backup without CAP_DAC_READ_SEARCH: {}", h.mask(r.all()));
    assert!(r.stderr.contains("fileStorage.directory cannot be read"), "{}", r.stderr);
    assert!(sets(&site.backups).is_empty() && !has_partial(&site.backups), "a failed backup left something behind");

    let r = h.backup_as_service(&site.unit_one, &site, true);
    assert_eq!(r.code, 0, "backup as the service: {}", h.mask(r.all()));
    h.assert_no_secrets("backup output", &r.all());
    eprintln!("[backup] {}", r.stdout.trim());
    let all = sets(&site.backups);
    assert_eq!(all.len(), 1, "{all:?}");
    let set = site.backups.join(&all[0]);
    check_set(&h, &set, &site, &[marker.as_bytes(), file_marker.as_bytes(), b"notes", b"PGDMP", b"blob.bin"]);
    assert_eq!(fs::read_dir(&site.service_tmp).unwrap().count(), 0, "the backup left a file in its TMPDIR");
    lap("backup as the service (without and with the capability), set checked");

    // --- A fresh cluster, the role created anew with a new password; the old file store is gone.
    h.stop_cluster();
    fs::remove_dir_all(store).unwrap();
    h.start_cluster("b", &site.p2);
    let fresh = |h: &Harness| {
        assert_eq!(h.sql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'").trim(), "0", "something was restored");
        assert!(!store.exists(), "the file store was (half) restored");
        let leftovers: Vec<_> = fs::read_dir(store.parent().unwrap()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".secure-mattermost-restore-")).collect();
        assert!(leftovers.is_empty(), "a staging directory was left behind");
    };
    let restore = |h: &Harness, from: &Path, identity: &Path, pw: &Path| h.helper_in_ns(&["restore", "--input", &s(&site.decl_two), "--from", &s(from), "--identity", &s(identity), "--password-file", &s(pw)]);

    // The old password no longer opens the database: refused, nothing restored.
    let r = restore(&h, &set, &site.identity, &site.pw_one);
    assert_eq!(r.code, 2, "old password: {}", h.mask(r.all()));
    assert!(r.stderr.contains("password authentication failed"), "{}", h.mask(r.all()));
    h.assert_no_secrets("restore output (old password)", &r.all());
    fresh(&h);
    // A wrong identity.
    let other = dir.join("other-identity");
    run_ok(Command::new("age-keygen").arg("-o").arg(&other));
    let r = restore(&h, &set, &other, &site.pw_two);
    assert_eq!(r.code, 2, "wrong identity: {}", h.mask(r.all()));
    assert!(r.stderr.contains("no identity matched") && r.stderr.contains("sm::restore::set"), "{}", r.stderr);
    fresh(&h);
    // One flipped byte in the ciphertext: the checksum catches it before decryption...
    let tampered = copy_set(&set, &dir.join("tampered"));
    flip_byte(&tampered.join("database.pgdump.age"));
    let r = restore(&h, &tampered, &site.identity, &site.pw_two);
    assert_eq!(r.code, 2, "tampered ciphertext: {}", h.mask(r.all()));
    assert!(r.stderr.contains("does not match its checksum"), "{}", r.stderr);
    fresh(&h);
    // ...and with the manifest rewritten to match, age's authentication does.
    rehash(&tampered, "database.pgdump.age");
    let r = restore(&h, &tampered, &site.identity, &site.pw_two);
    assert_eq!(r.code, 2, "tampered ciphertext, matching manifest: {}", h.mask(r.all()));
    assert!(r.stderr.contains("age could not decrypt it"), "{}", r.stderr);
    fresh(&h);
    // A set forged with the (public) recipient: the checksums match, the
    // archive decrypts, but it holds a symbolic link, which no file store has.
    let forged = copy_set(&set, &dir.join("forged"));
    let evil = dir.join("evil");
    fs::create_dir(&evil).unwrap();
    std::os::unix::fs::symlink("/etc", evil.join("etc-link")).unwrap();
    let recipient = serde_json::from_str::<Value>(&fs::read_to_string(set.join("manifest.json")).unwrap()).unwrap()["recipient"].as_str().unwrap().to_string();
    run_ok(Command::new("sh").arg("-c").arg(format!("tar -C '{}' -cf - . | age -r {recipient} > '{}'", evil.display(), forged.join("filestore.tar.age").display())));
    rehash(&forged, "filestore.tar.age");
    let r = restore(&h, &forged, &site.identity, &site.pw_two);
    assert_eq!(r.code, 2, "forged archive: {}", h.mask(r.all()));
    assert!(r.stderr.contains("neither a regular file nor a directory"), "{}", r.stderr);
    fresh(&h);
    // A secret setting the set names must be declared where it is restored.
    let r = h.helper_in_ns(&["restore", "--input", &s(&site.decl_no_secrets), "--from", &s(&set), "--identity", &s(&site.identity), "--password-file", &s(&site.pw_two)]);
    assert_eq!(r.code, 2, "undeclared secret setting: {}", h.mask(r.all()));
    assert!(r.stderr.contains("sm::restore::secret_setting") && r.stderr.contains("SqlSettings.AtRestEncryptKey"), "{}", r.stderr);
    fresh(&h);
    // A failure inside pg_restore (an object the freshness check does not
    // count collides with a table): the transaction and the staged files go.
    h.sql_as_owner("CREATE TYPE notes AS (x int);");
    let r = restore(&h, &set, &site.identity, &site.pw_two);
    assert_eq!(r.code, 2, "pg_restore failing: {}", h.mask(r.all()));
    assert!(r.stderr.contains("pg_restore failed") && r.stderr.contains("already exists"), "{}", h.mask(r.all()));
    h.sql_as_owner("DROP TYPE notes;");
    fresh(&h);
    lap("refusals: old password, wrong identity, tampered (twice), forged archive, undeclared secret, pg_restore failure");

    // --- The restore itself, under the new password.
    let r = restore(&h, &set, &site.identity, &site.pw_two);
    assert_eq!(r.code, 0, "restore: {}", h.mask(r.all()));
    h.assert_no_secrets("restore output", &r.all());
    assert!(r.stdout.contains("keeps no configuration"), "a config.json deployment has no stored configuration: {}", r.stdout);
    assert_eq!(h.sql("SELECT body FROM notes WHERE id = 1").trim(), marker, "the row did not come back");
    assert_eq!(h.sql("SELECT length(body) FROM notes WHERE id = 2").trim(), "5000");
    assert_eq!(h.sql("SELECT count(*) FROM filler").trim(), "5000");
    assert_eq!(h.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'notes'").trim(), "mmuser");
    assert_eq!(tree_hashes(store), before, "the file store came back different");
    assert_eq!(fs::metadata(store.join("users/u1/profile.png")).unwrap().permissions().mode() & 0o777, 0o600, "file modes were not kept");
    // The restored role works with its new password, over TLS.
    let q = h.cmd("psql").args(["-X", "-w", "-A", "-t", "-c", "SELECT body FROM notes WHERE id = 1"]).arg(format!("postgres://mmuser@localhost:{DB_PORT}/mattermost?sslmode=verify-full&sslrootcert={}", site.ca.display())).env("PGPASSWORD", &site.p2).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&q.stdout).trim(), marker, "{}", String::from_utf8_lossy(&q.stderr));
    // Restoring again is refused: the database is not fresh any more.
    let r = restore(&h, &set, &site.identity, &site.pw_two);
    assert_eq!(r.code, 2, "second restore: {}", h.mask(r.all()));
    assert!(r.stderr.contains("the database is not empty"), "{}", r.stderr);
    lap("restore into cluster B (new password), data and files match");

    // --- Retention: a set older than retentionDays goes, a younger one stays, nothing else is touched.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (old, young) = (utc_name(now - 40 * 86_400), utc_name(now - 29 * 86_400));
    copy_set(&set, &site.backups.join(&young));
    fs::rename(&set, site.backups.join(&old)).unwrap();
    fs::create_dir(site.backups.join("keep-me")).unwrap();
    fs::create_dir(site.backups.join(".partial-20200101T000000Z")).unwrap();
    // An old-looking directory that is not a set (no manifest) stays too.
    fs::create_dir(site.backups.join(utc_name(now - 90 * 86_400))).unwrap();
    let r = h.backup_as_service(&site.unit_two, &site, true);
    assert_eq!(r.code, 0, "second backup: {}", h.mask(r.all()));
    assert!(r.stdout.contains(&format!("deleted {old}")), "{}", r.stdout);
    let names = sets(&site.backups);
    assert!(!names.contains(&old), "the 40-day-old set is still there: {names:?}");
    assert!(names.contains(&young), "the 29-day-old set was deleted: {names:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(site.backups.join("keep-me").is_dir() && site.backups.join(utc_name(now - 90 * 86_400)).is_dir(), "retention deleted what is not a set");
    assert!(!has_partial(&site.backups), "an interrupted run's leftovers were kept");
    let newest = names.iter().max().unwrap();
    check_set(&h, &site.backups.join(newest), &site, &[marker.as_bytes(), file_marker.as_bytes()]);
    lap("retention");
    eprintln!("[backup] postgresql round trip total: {:.1}s", started.elapsed().as_secs_f64());
}

// ---- The real Mattermost server -----------------------------------------------------

fn mattermost_serves_the_restored_post_after_a_restore_under_new_credentials() {
    const TEST: &str = "baremetal_backup/mattermost_round_trip";
    let env = match Env::detect(true) {
        Ok(e) => e,
        Err((prereq, why)) => {
            common::skip_missing(prereq, TEST, &why);
            return;
        }
    };
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("backup-mm-").tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let dir = tmp.path();
    let mut h = Harness::new(&env, dir);
    let site = Site::new(&h, dir);
    h.secrets = vec![site.p1.clone(), site.p2.clone()];
    let mut lap = laps("mm");
    let mm_dir = dir.join("mm");
    fs::create_dir_all(mm_dir.join("logs")).unwrap();

    // The site before the loss: cluster A (password P1), the server keeping its
    // configuration in the database (MM_CONFIG, as the chart runs it) on the
    // release defaults, which allow a password sign-up: the hardened
    // configuration signs in through SSO only and this test has no IdP.
    h.start_cluster("a", &site.p1);
    let config_dsn = |pw: &str| {
        format!("postgres://mmuser:{}@localhost:{DB_PORT}/mattermost?sslmode=verify-full&connect_timeout=10&sslrootcert={}", encode(pw), site.ca.display())
    };
    let argv: Vec<OsString> = vec![env.mattermost.clone().unwrap().into(), "server".into()];
    h.start_server(
        &argv,
        &[("MM_CONFIG", config_dsn(&site.p1)), ("MM_FILESETTINGS_DIRECTORY", format!("{}/", site.store.display())), ("MM_SERVICESETTINGS_LISTENADDRESS", format!("127.0.0.1:{MM_PORT}"))],
        &mm_dir,
        "1-site",
    );
    h.wait_for_ping();
    lap("cluster A, first start (migrations) until ping");
    let password = format!("Backup-{}-Pass!9", random_hex(6));
    let email = "admin@backup.example.com";
    let (code, body) = h.api("POST", "/api/v4/users", None, Some(json!({"email": email, "username": "backupadmin", "password": password})));
    assert_eq!(code, 201, "create user: {body}");
    let token = h.login(email, &password);
    let (code, body) = h.api("POST", "/api/v4/teams", Some(&token), Some(json!({"name": "backup-test", "display_name": "Backup Test", "type": "O"})));
    assert_eq!(code, 201, "create team: {body}");
    let team: Value = serde_json::from_str(&body).unwrap();
    let (code, body) = h.api("GET", &format!("/api/v4/teams/{}/channels/name/town-square", team["id"].as_str().unwrap()), Some(&token), None);
    assert_eq!(code, 200, "town square: {body}");
    let channel = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    let upload = dir.join("attachment.bin");
    let mut content = format!("attachment-marker-{}\n", random_hex(8)).into_bytes();
    content.extend(random_bytes(80 * 1024));
    fs::write(&upload, &content).unwrap();
    let upload_sha = sha256_hex(&content);
    let (code, body) = h.upload(&token, &channel, &upload);
    assert_eq!(code, 201, "upload: {body}");
    let file_id = serde_json::from_str::<Value>(&body).unwrap()["file_infos"][0]["id"].as_str().unwrap().to_string();
    let message = format!("post-marker-{} restored from an age-encrypted backup", random_hex(8));
    let (code, body) = h.api("POST", "/api/v4/posts", Some(&token), Some(json!({"channel_id": channel, "message": message, "file_ids": [file_id]})));
    assert_eq!(code, 201, "post: {body}");
    let post_id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    let on_disk: Vec<(String, String)> = tree_hashes(&site.store).into_iter().filter(|(_, sha)| *sha == upload_sha).collect();
    assert_eq!(on_disk.len(), 1, "the upload is not in the file store as uploaded");
    h.stop_server();
    private_tree(&site.store);
    let before = tree_hashes(&site.store);
    let stored = h.sql("SELECT Value FROM Configurations WHERE Active");
    assert!(stored.contains(&encode(&site.p1)) || stored.contains(&site.p1), "the stored configuration does not carry P1 (the stale-DSN quirk)");
    lap("user, team, upload and post through the API; server stopped");

    let r = h.backup_as_service(&site.unit_one, &site, true);
    assert_eq!(r.code, 0, "backup as the service: {}", h.mask(r.all()));
    h.assert_no_secrets("backup output", &r.all());
    let all = sets(&site.backups);
    assert_eq!(all.len(), 1, "{all:?}");
    let set = site.backups.join(&all[0]);
    let attachment_marker = content[..26].to_vec();
    check_set(&h, &set, &site, &[message.as_bytes(), &attachment_marker, b"Configurations", b"PGDMP", email.as_bytes()]);
    lap("backup as the service, set checked");

    // --- Lost: a fresh cluster with a new password, no file store.
    h.stop_cluster();
    fs::remove_dir_all(&site.store).unwrap();
    h.start_cluster("b", &site.p2);
    let r = h.helper_in_ns(&["restore", "--input", &s(&site.decl_two), "--from", &s(&set), "--identity", &s(&site.identity), "--password-file", &s(&site.pw_two)]);
    assert_eq!(r.code, 0, "restore: {}", h.mask(r.all()));
    h.assert_no_secrets("restore output", &r.all());
    assert!(r.stdout.contains("SqlSettings.DataSource carried a password"), "restore-config did not scrub the stored DSN: {}", r.stdout);
    let rows = h.sql("SELECT string_agg(Value, '') FROM Configurations");
    assert!(!rows.contains(&site.p1) && !rows.contains(&encode(&site.p1)), "a stored configuration row still carries the old password");
    assert_eq!(h.sql(&format!("SELECT Message FROM Posts WHERE Id = '{post_id}'")).trim(), message);
    assert_eq!(tree_hashes(&site.store), before, "the file store came back different");
    lap("restore into cluster B (new password)");

    // --- The server, started the bare-metal way (launch, rendered config.json,
    // the new password from the rendered secret spec), serves the restored post.
    let config = mm_dir.join("config.json");
    fs::write(&config, fs::read(site.out_two.join("config.json")).unwrap()).unwrap();
    let argv: Vec<OsString> = vec![
        helper().into(),
        "launch".into(),
        "--spec".into(),
        site.out_two.join("secret-env.json").into(),
        "--".into(),
        env.mattermost.clone().unwrap().into(),
        "server".into(),
        "--config".into(),
        config.into(),
    ];
    h.start_server(&argv, &[], &mm_dir, "2-restored");
    h.wait_for_ping();
    let (code, body) = h.api("GET", &format!("/api/v4/posts/{post_id}"), Some(&token), None);
    assert_eq!(code, 200, "the restored session cannot read the post: {body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["message"].as_str(), Some(message.as_str()));
    let served = h.download(&token, &format!("/api/v4/files/{file_id}"));
    assert_eq!(sha256_hex(&served), upload_sha, "the restored server serves another attachment");
    let tls = h.psql_in("postgres", "SELECT count(*), coalesce(bool_and(ssl), false) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'mmuser'");
    let (count, all_ssl) = tls.trim().split_once('|').unwrap();
    assert!(count.parse::<u32>().unwrap_or(0) > 0 && all_ssl == "t", "the server's sessions: {tls}");
    h.stop_server();
    h.assert_no_secrets("server output", &h.server_output());
    lap("restored server: ping, post and attachment served over the API");
    eprintln!("[backup] mattermost round trip total: {:.1}s", started.elapsed().as_secs_f64());
}

// ---- the site: keys, passwords, declarations, rendered units --------------------------

struct Site {
    p1: String,
    p2: String,
    pw_one: PathBuf,
    pw_two: PathBuf,
    ca: PathBuf,
    identity: PathBuf,
    store: PathBuf,
    backups: PathBuf,
    decl_two: PathBuf,
    decl_no_secrets: PathBuf,
    out_two: PathBuf,
    /// The rendered backup units' ExecStart argv and credential, per declaration.
    unit_one: Unit,
    unit_two: Unit,
    service_tmp: PathBuf,
}

struct Unit {
    argv: Vec<String>,
    credential: (String, PathBuf),
}

impl Site {
    fn new(h: &Harness, dir: &Path) -> Site {
        let (p1, p2) = (random_secret("pone"), random_secret("ptwo"));
        let (pw_one, pw_two) = (dir.join("db-password-1"), dir.join("db-password-2"));
        write_private(&pw_one, p1.as_bytes());
        write_private(&pw_two, p2.as_bytes());
        let ca = h.make_certs();
        let identity = dir.join("backup-identity.txt");
        run_ok(Command::new("age-keygen").arg("-o").arg(&identity));
        let recipient = fs::read_to_string(&identity).unwrap().lines().find_map(|l| l.strip_prefix("# public key: ").map(str::to_string)).expect("age-keygen printed no public key");
        let (at_rest, salt) = (dir.join("at-rest-key"), dir.join("link-salt"));
        write_private(&at_rest, random_hex(16).as_bytes());
        write_private(&salt, random_hex(16).as_bytes());
        let oidc = dir.join("oidc-secret");
        write_private(&oidc, random_hex(16).as_bytes());
        let store = dir.join("mm").join("data");
        fs::create_dir_all(&store).unwrap();
        let backups = dir.join("backups");
        fs::create_dir(&backups).unwrap();
        fs::set_permissions(&backups, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&backups, Some(BACKUP_UID), Some(BACKUP_UID)).unwrap();
        let service_tmp = dir.join("service-tmp");
        fs::create_dir(&service_tmp).unwrap();
        std::os::unix::fs::chown(&service_tmp, Some(BACKUP_UID), Some(BACKUP_UID)).unwrap();
        let install = dir.join("etc");
        fs::create_dir(&install).unwrap();
        fs::set_permissions(&install, fs::Permissions::from_mode(0o755)).unwrap();
        let doc = |pw: &Path, secrets: bool| {
            let mut doc = common::load("examples/baremetal.json");
            let sm = &mut doc["secureMattermost"];
            sm["domain"] = json!("chat.example.com");
            sm["database"] = json!({"host": "localhost", "port": DB_PORT, "name": "mattermost", "user": "mmuser", "passwordFile": pw, "sslMode": "verify-full", "caFile": ca, "postgresqlVersion": 15, "kubernetesSecret": sm["database"]["kubernetesSecret"].clone()});
            sm["auth"]["oidc"]["clientSecretFile"] = json!(oidc);
            sm["fileStorage"]["driver"] = json!("local");
            sm["fileStorage"]["directory"] = json!(store);
            sm["smtp"]["server"] = Value::Null;
            sm["smtp"]["username"] = Value::Null;
            sm["settings"]["ServiceSettings"]["EnableCustomEmoji"] = json!(false);
            sm["baremetal"]["installDir"] = json!(install);
            sm["baremetal"]["backups"] = json!({"enable": true, "ageRecipient": recipient, "directory": backups, "schedule": "*-*-* 02:30:00", "retentionDays": 30});
            sm["secretSettings"] = if secrets {
                json!({"SqlSettings.AtRestEncryptKey": {"file": at_rest, "kubernetesSecret": null}, "FileSettings.PublicLinkSalt": {"file": salt, "kubernetesSecret": null}})
            } else {
                json!({})
            };
            doc
        };
        let unit = |tag: &str, pw: &Path| -> (Unit, PathBuf, PathBuf) {
            let d = doc(pw, true);
            let out = render_doc(dir, tag, &d, &["--helper-bin", &helper().display().to_string(), "--mattermost-bin", "/bin/true"]);
            let service = fs::read_to_string(out.join("mattermost-backup.service")).expect("no mattermost-backup.service rendered");
            let exec = service.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("no ExecStart");
            assert!(!exec.contains(['"', '\'', '\\', '%', '$']), "this test reads bare words only: {exec}");
            let argv: Vec<String> = exec.split(' ').map(str::to_string).collect();
            let cred = service.lines().find_map(|l| l.strip_prefix("LoadCredential=")).expect("no LoadCredential");
            let (name, path) = cred.split_once(':').unwrap();
            let decl = dir.join(format!("decl-{tag}.json"));
            fs::write(&decl, serde_json::to_vec_pretty(&d).unwrap()).unwrap();
            (Unit { argv, credential: (name.to_string(), PathBuf::from(path)) }, decl, out)
        };
        let (unit_one, _, _) = unit("one", &pw_one);
        let (unit_two, decl_two, out_two) = unit("two", &pw_two);
        let decl_no_secrets = dir.join("decl-no-secrets.json");
        fs::write(&decl_no_secrets, doc(&pw_two, false).to_string()).unwrap();
        Site { p1, p2, pw_one, pw_two, ca, identity, store, backups, decl_two, decl_no_secrets, out_two, unit_one, unit_two, service_tmp }
    }
}

/// A set as written: only ciphertext and its manifest; every file checked.
fn check_set(h: &Harness, set: &Path, site: &Site, plaintext: &[&[u8]]) {
    let mut names: Vec<String> = fs::read_dir(set).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["database.pgdump.age", "filestore.tar.age", "manifest.json"], "files of {}", set.display());
    assert_eq!(fs::metadata(set).unwrap().permissions().mode() & 0o777, 0o700, "set directory mode");
    assert_eq!(fs::metadata(set).unwrap().uid(), BACKUP_UID, "the set is not owned by the service's user");
    let manifest: Value = serde_json::from_str(&fs::read_to_string(set.join("manifest.json")).unwrap()).unwrap();
    let text = manifest.to_string();
    h.assert_no_secrets("manifest.json", &text);
    assert_eq!(manifest["format"], "secure-mattermost-backup/1");
    assert_eq!(manifest["restoreNeeds"]["secretSettings"], json!(["FileSettings.PublicLinkSalt", "SqlSettings.AtRestEncryptKey"]));
    assert_eq!(manifest["restoreNeeds"]["dataKeysNotDeclared"], json!([]));
    assert!(manifest["restoreNeeds"]["secretFiles"].as_array().unwrap().contains(&json!("database.passwordFile")), "{text}");
    assert_eq!(manifest["fileStorage"]["directory"], json!(site.store.display().to_string()));
    for f in ["database.pgdump.age", "filestore.tar.age"] {
        let bytes = fs::read(set.join(f)).unwrap();
        assert_eq!(fs::metadata(set.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f} mode");
        let entry = manifest["files"].as_array().unwrap().iter().find(|e| e["name"] == f).unwrap_or_else(|| panic!("{f} not in the manifest"));
        assert_eq!(entry["sha256"].as_str(), Some(sha256_hex(&bytes).as_str()), "{f}: sha256 in the manifest");
        assert_eq!(entry["bytes"].as_u64(), Some(bytes.len() as u64));
        assert!(bytes.starts_with(AGE_HEADER), "{f} does not start with an age X25519 header");
        let payload = age_payload(&bytes).unwrap_or_else(|| panic!("{f}: no end of the age header"));
        for p in plaintext {
            assert!(!contains(&bytes, p), "{f} contains plaintext {:?}", String::from_utf8_lossy(p));
        }
        for secret in [&site.p1, &site.p2] {
            assert!(!contains(&bytes, secret.as_bytes()), "{f} contains a password");
        }
        let e = entropy(payload);
        eprintln!("[backup] {f}: {} bytes, payload entropy {e:.4} bits/byte", bytes.len());
        // Random bytes of this length would show about 8 - 255/(2 n ln 2) bits/byte.
        let n = payload.len() as f64;
        let random = 8.0 - 255.0 / (2.0 * n * std::f64::consts::LN_2);
        assert!(payload.len() > 16 * 1024 && e > random - 0.02, "{f}: payload of {} bytes has entropy {e:.4} bits/byte (random: {random:.4})", payload.len());
        // And it decrypts with the identity (and only to what the name says).
        let out = Command::new("age").arg("--decrypt").arg("--identity").arg(&site.identity).arg(set.join(f)).output().unwrap();
        assert!(out.status.success(), "{f} does not decrypt: {}", String::from_utf8_lossy(&out.stderr));
        if f == "database.pgdump.age" {
            assert!(out.stdout.starts_with(b"PGDMP"), "{f} is not a pg_dump custom archive");
        } else {
            assert!(contains(&out.stdout, b"ustar"), "{f} is not a tar archive");
        }
    }
    // Nothing else anywhere in the backup directory: no temporary, no plaintext.
    let mut stray = vec![];
    for p in common::files_under(&site.backups) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == ".lock" || name == "manifest.json" {
            continue;
        }
        let bytes = fs::read(&p).unwrap();
        if !bytes.starts_with(AGE_HEADER) {
            stray.push(p.display().to_string());
        }
    }
    assert!(stray.is_empty(), "files in the backup directory that are not ciphertext: {stray:?}");
}

/// The bytes after the age header (its `--- MAC` line).
fn age_payload(bytes: &[u8]) -> Option<&[u8]> {
    let at = bytes.windows(5).position(|w| w == b"\n--- ")?;
    let end = bytes[at + 1..].iter().position(|b| *b == b'\n')? + at + 2;
    Some(&bytes[end..])
}

fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for b in bytes {
        counts[*b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| *c as f64 / n).map(|p| -p * p.log2()).sum()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn sets(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn has_partial(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with(".partial-"))
}

fn copy_set(from: &Path, to: &Path) -> PathBuf {
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
    to.to_path_buf()
}

fn flip_byte(file: &Path) {
    let mut bytes = fs::read(file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(file, bytes).unwrap();
}

/// Rewrites the manifest's checksum and size of `name` to the file's present ones.
fn rehash(set: &Path, name: &str) {
    let path = set.join("manifest.json");
    let mut m: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let bytes = fs::read(set.join(name)).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        if f["name"] == name {
            f["sha256"] = json!(sha256_hex(&bytes));
            f["bytes"] = json!(bytes.len());
        }
    }
    fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// `YYYYMMDDTHHMMSSZ` of `secs`, as GNU date writes it.
fn utc_name(secs: u64) -> String {
    let out = Command::new("date").args(["-u", "-d", &format!("@{secs}"), "+%Y%m%dT%H%M%SZ"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The file store as the server keeps it under UMask=0077: only its owner reads it.
fn private_tree(dir: &Path) {
    run_ok(Command::new("chmod").args(["-R", "go-rwx"]).arg(dir));
}

/// Relative path → sha256 of every file under `dir`.
fn tree_hashes(dir: &Path) -> BTreeMap<String, String> {
    common::files_under(dir).into_iter().map(|p| (p.strip_prefix(dir).unwrap().display().to_string(), sha256_hex(&fs::read(&p).unwrap()))).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

// ---- machinery -----------------------------------------------------------------

struct Env {
    pg_bin: PathBuf,
    mattermost: Option<PathBuf>,
}

impl Env {
    fn detect(with_mattermost: bool) -> Result<Env, (&'static str, String)> {
        let pg_bin = postgres_bindir().ok_or(("postgresql", "no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb; scripts/mattermost-test-deps.sh)".to_string()))?;
        for tool in ["pg_ctl", "pg_dump", "pg_restore", "psql"] {
            if !pg_bin.join(tool).is_file() {
                return Err(("postgresql", format!("{} is missing", pg_bin.join(tool).display())));
            }
        }
        for tool in ["age", "age-keygen"] {
            if !on_path(tool) {
                return Err(("age", format!("{tool} is not installed (Debian package age; scripts/test.sh installs it)")));
            }
        }
        if output(Command::new("id").arg("-u")).trim() != "0" {
            return Err(("postgresql", "needs root (network namespace, PostgreSQL as the postgres user, setpriv)".into()));
        }
        for tool in ["openssl", "runuser", "unshare", "nsenter", "ip", "setpriv", "tar", "date"] {
            if !on_path(tool) {
                return Err(("postgresql", format!("{tool} is not installed")));
            }
        }
        let mut mattermost = None;
        if with_mattermost {
            let pin: Value = serde_json::from_str(&fs::read_to_string(common::root().join("catalog/mattermost-pin.json")).map_err(|e| ("mattermost", e.to_string()))?).map_err(|e| ("mattermost", e.to_string()))?;
            let version = pin["version"].as_str().unwrap_or_default().to_string();
            let bin = match std::env::var_os("SECURE_MATTERMOST_SERVER_BIN") {
                Some(p) => PathBuf::from(p),
                None => {
                    let cache = std::env::var_os("XDG_CACHE_HOME")
                        .map(PathBuf::from)
                        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                        .ok_or(("mattermost", "neither XDG_CACHE_HOME nor HOME is set".to_string()))?;
                    cache.join(format!("secure-mattermost/mattermost-{version}/bin/mattermost"))
                }
            };
            if !bin.is_file() {
                return Err(("mattermost", format!("no Mattermost server at {} (run scripts/mattermost-test-deps.sh)", bin.display())));
            }
            if !on_path("curl") {
                return Err(("mattermost", "curl is not installed".into()));
            }
            mattermost = Some(bin);
        }
        Ok(Env { pg_bin, mattermost })
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Owns every process the test starts and stops them all on drop, pass or fail.
struct Harness<'a> {
    env: &'a Env,
    dir: PathBuf,
    pg_dir: PathBuf,
    netns: Child,
    pg_data: Option<PathBuf>,
    server: Option<Child>,
    server_log: PathBuf,
    secrets: Vec<String>,
}

impl<'a> Harness<'a> {
    fn new(env: &'a Env, dir: &Path) -> Harness<'a> {
        let pg_dir = dir.join("pg");
        fs::create_dir(&pg_dir).unwrap();
        run_ok(Command::new("chown").arg("postgres:").arg(&pg_dir));
        let netns = Command::new("unshare").args(["--net", "sleep", "3600"]).stdin(Stdio::null()).spawn().unwrap();
        let h = Harness { env, dir: dir.to_path_buf(), pg_dir, netns, pg_data: None, server: None, server_log: dir.join("server.out"), secrets: vec![] };
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
        c.arg(format!("--net=/proc/{}/ns/net", self.netns.id())).arg("--").arg(program.into());
        c
    }

    fn pg_cmd(&self, tool: &str) -> Command {
        let mut c = self.cmd("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.env.pg_bin.join(tool));
        c
    }

    /// A throwaway CA and a server certificate for localhost.
    fn make_certs(&self) -> PathBuf {
        let d = &self.dir;
        let openssl = |args: &str| run_ok(Command::new("openssl").current_dir(d).args(args.split_whitespace()));
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
        openssl(&format!("req -x509 {ec} -keyout ca.key -out ca.pem -subj /CN=secure-mattermost-backup-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"));
        openssl(&format!("req {ec} -keyout pg/server.key -out server.csr -subj /CN=localhost"));
        fs::write(d.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n").unwrap();
        openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out pg/server.crt");
        let key = self.pg_dir.join("server.key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        run_ok(Command::new("chown").arg("postgres:").arg(&key).arg(self.pg_dir.join("server.crt")));
        fs::set_permissions(d.join("ca.pem"), fs::Permissions::from_mode(0o644)).unwrap();
        d.join("ca.pem")
    }

    /// A new cluster (TLS on loopback, scram, no plain TCP) with role mmuser
    /// (`password`) owning an empty database `mattermost`.
    fn start_cluster(&mut self, name: &str, password: &str) {
        let data = self.pg_dir.join(format!("data-{name}"));
        run_ok(self.pg_cmd("initdb").arg("-D").arg(&data).args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--auth-local=peer", "--auth-host=reject"]));
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {DB_PORT}\nunix_socket_directories = '{dir}'\nssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\nssl_min_protocol_version = 'TLSv1.2'\npassword_encryption = 'scram-sha-256'\n",
            dir = self.pg_dir.display()
        );
        fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).unwrap().write_all(conf.as_bytes()).unwrap();
        fs::write(data.join("pg_hba.conf"), "local all postgres peer\nhostssl mattermost mmuser 127.0.0.1/32 scram-sha-256\n").unwrap();
        self.pg_data = Some(data.clone());
        run_ok(self.pg_cmd("pg_ctl").arg("-D").arg(&data).arg("-l").arg(self.pg_dir.join(format!("log-{name}"))).args(["-w", "-t", "60", "start"]));
        let sql = format!("CREATE ROLE mmuser LOGIN PASSWORD '{}';\nCREATE DATABASE mattermost OWNER mmuser TEMPLATE template0 ENCODING 'UTF8';\n", password.replace('\'', "''"));
        let mut child = self.psql_base("postgres").stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "creating the role and database failed");
    }

    fn stop_cluster(&mut self) {
        if let Some(data) = self.pg_data.take() {
            let _ = self.pg_cmd("pg_ctl").arg("-D").arg(&data).args(["-m", "fast", "-w", "-t", "30", "stop"]).stdout(Stdio::null()).status();
        }
    }

    fn psql_base(&self, db: &str) -> Command {
        let mut c = self.pg_cmd("psql");
        c.arg("-h").arg(&self.pg_dir).args(["-p", &DB_PORT.to_string(), "-U", "postgres"]);
        c.args(["-d", db, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        c
    }

    fn psql_in(&self, db: &str, sql: &str) -> String {
        output(self.psql_base(db).arg("-c").arg(sql))
    }

    fn sql(&self, sql: &str) -> String {
        self.psql_in("mattermost", sql)
    }

    /// SQL as the database's owner (objects it creates belong to mmuser).
    fn sql_as_owner(&self, sql: &str) {
        self.sql(&format!("SET ROLE mmuser; {sql}"));
    }

    /// The helper in the namespace, as root (restore is run by an operator).
    fn helper_in_ns(&self, args: &[&str]) -> Out {
        let o = self.cmd(helper()).args(args).stdin(Stdio::null()).output().unwrap();
        let out = Out { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() };
        assert!(!out.stderr.contains("panicked at"), "the helper panicked:\n{}", self.mask(out.all()));
        out
    }

    /// The unit's ExecStart= as the unit runs it: uid BACKUP_UID, only
    /// CAP_DAC_READ_SEARCH (when `cap`), no new privileges, the password as a
    /// credential, a clean environment and an empty TMPDIR.
    fn backup_as_service(&self, unit: &Unit, site: &Site, cap: bool) -> Out {
        let creds = self.dir.join(format!("credentials-{}", random_hex(4)));
        fs::create_dir(&creds).unwrap();
        let (name, source) = &unit.credential;
        fs::copy(source, creds.join(name)).unwrap();
        fs::set_permissions(creds.join(name), fs::Permissions::from_mode(0o400)).unwrap();
        std::os::unix::fs::chown(creds.join(name), Some(BACKUP_UID), Some(BACKUP_UID)).unwrap();
        fs::set_permissions(&creds, fs::Permissions::from_mode(0o500)).unwrap();
        std::os::unix::fs::chown(&creds, Some(BACKUP_UID), Some(BACKUP_UID)).unwrap();
        let mut c = self.cmd("setpriv");
        c.args([format!("--reuid={BACKUP_UID}"), format!("--regid={BACKUP_UID}"), "--clear-groups".into(), "--no-new-privs".into()]);
        if cap {
            c.args(["--inh-caps=-all,+dac_read_search", "--ambient-caps=-all,+dac_read_search", "--bounding-set=-all,+dac_read_search"]);
        } else {
            c.args(["--inh-caps=-all", "--bounding-set=-all"]);
        }
        c.arg("--").args(&unit.argv);
        c.env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CREDENTIALS_DIRECTORY", &creds)
            .env("TMPDIR", &site.service_tmp)
            .env("HOME", "/nonexistent")
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::null());
        let o = c.output().unwrap();
        let _ = fs::set_permissions(&creds, fs::Permissions::from_mode(0o700));
        let _ = fs::remove_dir_all(&creds);
        let out = Out { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() };
        assert!(!out.stderr.contains("panicked at"), "backup panicked:\n{}", self.mask(out.all()));
        out
    }

    fn start_server(&mut self, argv: &[OsString], extra: &[(&str, String)], cwd: &Path, tag: &str) {
        assert!(self.server.is_none(), "a server is still running");
        self.server_log = self.dir.join(format!("server-{tag}.out"));
        let log = fs::File::create(&self.server_log).unwrap();
        let logs = cwd.join("logs");
        let child = self
            .cmd(&argv[0])
            .args(&argv[1..])
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .env("MM_LOGSETTINGS_FILELOCATION", &logs)
            .env("MM_EXPERIMENTALAUDITSETTINGS_FILENAME", logs.join("audit.log"))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
    }

    fn server_output(&self) -> String {
        fs::read_to_string(&self.server_log).unwrap_or_default()
    }

    fn curl(&self) -> Command {
        let mut c = self.cmd("curl");
        c.args(["-sS", "--max-time", "20", "--noproxy", "*"]);
        c
    }

    /// (status, body) of one API call.
    fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, String) {
        let mut c = self.curl();
        c.args(["-X", method, "-w", "\n%{http_code}"]);
        if let Some(t) = token {
            c.arg("-H").arg(format!("Authorization: Bearer {t}"));
        }
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data-binary"]).arg(b.to_string());
        }
        c.arg(format!("http://127.0.0.1:{MM_PORT}{path}"));
        split_status(&c.output().unwrap().stdout)
    }

    fn login(&self, login: &str, password: &str) -> String {
        let o = self
            .curl()
            .args(["-D", "-", "-o", "/dev/null", "-H", "Content-Type: application/json", "--data-binary"])
            .arg(json!({"login_id": login, "password": password}).to_string())
            .arg(format!("http://127.0.0.1:{MM_PORT}/api/v4/users/login"))
            .output()
            .unwrap();
        let headers = String::from_utf8_lossy(&o.stdout).into_owned();
        headers.lines().find_map(|l| l.strip_prefix("Token: ").or_else(|| l.strip_prefix("token: "))).map(|t| t.trim().to_string()).unwrap_or_else(|| panic!("login returned no token:\n{headers}"))
    }

    fn upload(&self, token: &str, channel: &str, file: &Path) -> (u16, String) {
        let o = self
            .curl()
            .args(["-w", "\n%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .arg("-F")
            .arg(format!("files=@{}", file.display()))
            .arg(format!("http://127.0.0.1:{MM_PORT}/api/v4/files?channel_id={channel}"))
            .output()
            .unwrap();
        split_status(&o.stdout)
    }

    fn download(&self, token: &str, path: &str) -> Vec<u8> {
        let o = self.curl().args(["-f", "-H"]).arg(format!("Authorization: Bearer {token}")).arg(format!("http://127.0.0.1:{MM_PORT}{path}")).output().unwrap();
        assert!(o.status.success(), "GET {path}: {}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    }

    fn wait_for_ping(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let (code, body) = self.api("GET", "/api/v4/system/ping", None, None);
            if code == 200 && serde_json::from_str::<Value>(&body).map(|v| v["status"] == "OK").unwrap_or(false) {
                return;
            }
            if let Some(status) = self.server.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status} before answering ping:\n{}", self.mask(tail(&self.server_output(), 30)));
            }
            assert!(Instant::now() < deadline, "server did not answer ping within {STARTUP_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn stop_server(&mut self) {
        if let Some(child) = self.server.take() {
            // nsenter execs its program (launch execs the server): this pid is the server.
            crate::common::terminate(child);
        }
    }

    fn assert_no_secrets(&self, what: &str, text: &str) {
        for secret in &self.secrets {
            assert!(!text.contains(secret.as_str()) && !text.contains(&encode(secret)), "{what} contains a secret");
            for run in secret.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| r.len() >= 8) {
                assert!(!text.contains(run), "{what} contains part of a secret");
            }
        }
    }

    fn mask(&self, mut text: String) -> String {
        for secret in &self.secrets {
            text = text.replace(&encode(secret), "<secret>").replace(secret.as_str(), "<secret>");
            for run in secret.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| r.len() >= 8) {
                text = text.replace(run, "<secret>");
            }
        }
        text
    }
}

impl Drop for Harness<'_> {
    fn drop(&mut self) {
        self.stop_server();
        if std::thread::panicking() {
            eprintln!("--- server output (tail) ---\n{}", self.mask(tail(&self.server_output(), 40)));
            for e in fs::read_dir(&self.pg_dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with("log-") {
                    eprintln!("--- {} (tail) ---\n{}", e.path().display(), self.mask(tail(&fs::read_to_string(e.path()).unwrap_or_default(), 20)));
                }
            }
        }
        self.stop_cluster();
        let _ = self.netns.kill();
        let _ = self.netns.wait();
    }
}

fn split_status(stdout: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn render_doc(dir: &Path, tag: &str, doc: &Value, extra: &[&str]) -> PathBuf {
    let decl = dir.join(format!("render-{tag}.json"));
    fs::write(&decl, doc.to_string()).unwrap();
    let out = dir.join(format!("out-{tag}"));
    let mut args = vec!["render", "--today", common::TODAY, "--input", decl.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    if doc["secureMattermost"]["baremetal"]["installDir"].is_string() {
        // The unit names the files where they are installed; put the declaration there.
        let r = common::run(&args);
        assert_eq!(r.code, 0, "render: {}{}", r.stdout, r.stderr);
        let install = PathBuf::from(doc["secureMattermost"]["baremetal"]["installDir"].as_str().unwrap());
        if install.is_dir() {
            fs::copy(out.join("declaration.json"), install.join("declaration.json")).unwrap();
            fs::set_permissions(install.join("declaration.json"), fs::Permissions::from_mode(0o644)).unwrap();
        }
    } else {
        let r = common::run(&args);
        assert_eq!(r.code, 0, "render: {}{}", r.stdout, r.stderr);
    }
    out
}

fn analyze(args: &[&str], dir: &Path) -> (bool, String) {
    let o = Command::new("systemd-analyze").current_dir(dir).args(args).output().expect("systemd-analyze");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn laps(tag: &'static str) -> impl FnMut(&str) {
    let mut phase = Instant::now();
    move |what: &str| {
        eprintln!("[backup/{tag}] {what}: {:.1}s", phase.elapsed().as_secs_f64());
        phase = Instant::now();
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn helper() -> PathBuf {
    assert_cmd::cargo::cargo_bin("secure-mattermost")
}

fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    b
}

fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

/// Random, and full of characters that must be escaped in a connection URL.
fn random_secret(tag: &str) -> String {
    let hex = random_hex(16);
    format!("{tag}{}@:/%?#&+ ={}", &hex[..16], &hex[16..])
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}




fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

tests![
    backup_units_verify_and_are_sandboxed,
    backup_and_restore_refuse_clearly,
    postgresql_backup_restores_into_a_fresh_cluster_with_new_credentials,
    mattermost_serves_the_restored_post_after_a_restore_under_new_credentials,
];
