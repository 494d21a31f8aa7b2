//! `secure-mattermost verify-evidence DIR`: the manifest's signature by a
//! key in the allowed-signers file, every file's checksum, and no file
//! added or removed since signing. Exit 0 verified, 1 not verified.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;
use serde_json::json;

use crate::cli::Format;
use crate::error::{exit, Error};
use crate::evidence::diag::{bad_input, io};
use crate::evidence::sign::{MANIFEST, NAMESPACE, SIGNATURE};
use crate::output;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The evidence directory (render --out with --sign-key).
    pub dir: PathBuf,
    /// OpenSSH allowed-signers file naming the site's evidence key(s) (see ssh-keygen(1), ALLOWED SIGNERS).
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: PathBuf,
}

pub fn run(args: VerifyArgs, format: Format) -> Result<i32, Error> {
    if format == Format::Sarif {
        return Err(Error::Usage { detail: "`verify-evidence` reports no findings; --format sarif is not available".into() });
    }
    let dir = &args.dir;
    if !std::fs::metadata(dir).map_err(|e| io(dir, e))?.is_dir() {
        return Err(io(dir, "not a directory"));
    }
    std::fs::metadata(&args.allowed_signers).map_err(|e| io(&args.allowed_signers, e))?;
    let manifest_path = dir.join(MANIFEST);
    let sig_path = dir.join(SIGNATURE);
    let mut problems: Vec<String> = Vec::new();
    let mut signer = None;
    let manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(m) => Some(m),
        Err(_) => {
            problems.push(format!("{MANIFEST} is missing: the bundle was not signed (render --sign-key)"));
            None
        }
    };
    if !sig_path.is_file() {
        problems.push(format!("{SIGNATURE} is missing"));
    }
    if let (Some(m), true) = (&manifest, sig_path.is_file()) {
        match signature(&manifest_path, &sig_path, &args.allowed_signers)? {
            Ok(who) => signer = Some(who),
            Err(why) => problems.push(why),
        }
        let mut listed = Vec::new();
        for (n, line) in m.lines().enumerate() {
            let Some((sum, name)) = line.split_once("  ") else {
                problems.push(format!("{MANIFEST} line {}: not `<sha256>  <file>`", n + 1));
                continue;
            };
            if name.contains('/') || name.starts_with('.') {
                problems.push(format!("{MANIFEST} line {}: {name:?} is not a file of the bundle", n + 1));
                continue;
            }
            listed.push(name.to_string());
            match std::fs::read(dir.join(name)) {
                Ok(bytes) if crate::evidence::sha256_hex(&bytes) == sum => {}
                Ok(_) => problems.push(format!("{name}: changed since signing (checksum differs)")),
                Err(_) => problems.push(format!("{name}: listed in the manifest but missing")),
            }
        }
        let mut present: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != MANIFEST && n != SIGNATURE)
            .collect();
        present.sort();
        for n in present.iter().filter(|n| !listed.contains(n)) {
            problems.push(format!("{n}: not in the signed manifest (added after signing)"));
        }
    }
    let ok = problems.is_empty();
    for p in &problems {
        output::stderr(&format!("error: {}: {p}", dir.display()));
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&json!({"directory": dir.display().to_string(), "verified": ok, "signer": signer, "problems": problems})).unwrap_or_default() + "\n",
        _ if ok => format!("{}: evidence verified, signed by {}\n", dir.display(), signer.unwrap_or_default()),
        _ => format!("{}: evidence NOT verified ({} problem(s))\n", dir.display(), problems.len()),
    };
    output::stdout(&text)?;
    Ok(if ok { exit::OK } else { exit::POLICY_FAILED })
}

/// `Ok(Ok(principal))` when an allowed signer made the signature over the manifest.
fn signature(manifest: &Path, sig: &Path, allowed: &Path) -> Result<Result<String, String>, Error> {
    let run = |args: &[&std::ffi::OsStr], stdin: Option<&Path>| -> Result<std::process::Output, Error> {
        let mut c = Command::new("ssh-keygen");
        c.args(args);
        c.stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).map_err(|e| io(p, e))?),
            None => Stdio::null(),
        });
        c.output().map_err(|e| bad_input(format!("cannot run ssh-keygen: {e}"), Some("install openssh-client")))
    };
    let found = run(&["-Y".as_ref(), "find-principals".as_ref(), "-s".as_ref(), sig.as_os_str(), "-f".as_ref(), allowed.as_os_str()], None)?;
    let principals = String::from_utf8_lossy(&found.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect::<Vec<_>>();
    let Some(principal) = principals.first().filter(|_| found.status.success()) else {
        return Ok(Err(format!("{SIGNATURE}: not made by a key in {}", allowed.display())));
    };
    let verified = run(
        &[
            "-Y".as_ref(),
            "verify".as_ref(),
            "-f".as_ref(),
            allowed.as_os_str(),
            "-I".as_ref(),
            principal.as_ref(),
            "-n".as_ref(),
            NAMESPACE.as_ref(),
            "-s".as_ref(),
            sig.as_os_str(),
        ],
        Some(manifest),
    )?;
    if verified.status.success() {
        Ok(Ok(principal.clone()))
    } else {
        Ok(Err(format!("{SIGNATURE}: the signature does not match {MANIFEST} (changed since signing)")))
    }
}
