//! The signed checksum manifest of an evidence bundle:
//! `evidence-manifest.sha256` (one `<sha256>  <file>` line per file, sorted,
//! as `sha256sum -c` reads it) and `evidence-manifest.sha256.sig`, an SSH
//! signature (`ssh-keygen -Y sign`, namespace below) by the site's key.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::Error;

use super::diag::{bad_input, io};

pub const MANIFEST: &str = "evidence-manifest.sha256";
pub const SIGNATURE: &str = "evidence-manifest.sha256.sig";
pub const NAMESPACE: &str = "secure-mattermost-evidence";

pub fn manifest(files: &[(String, String)]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .filter(|(n, _)| n != MANIFEST && n != SIGNATURE)
        .map(|(n, t)| format!("{}  {n}\n", super::sha256_hex(t.as_bytes())))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

/// Adds the manifest and its signature to the bundle.
pub fn sign_bundle(files: &mut Vec<(String, String)>, key: &Path) -> Result<(), Error> {
    std::fs::metadata(key).map_err(|e| io(key, e))?;
    let text = manifest(files);
    let dir = tempfile::tempdir().map_err(|e| io(Path::new("<temporary directory>"), e))?;
    let m = dir.path().join(MANIFEST);
    std::fs::write(&m, &text).map_err(|e| io(&m, e))?;
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(key)
        .arg(&m)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| bad_input(format!("cannot run ssh-keygen: {e}"), Some("install openssh-client")))?;
    if !out.status.success() {
        // ssh-keygen's message names the key file, never its contents.
        let why = String::from_utf8_lossy(&out.stderr).lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        return Err(bad_input(
            format!("--sign-key {}: ssh-keygen could not sign the evidence manifest: {why}", key.display()),
            Some("give an unencrypted OpenSSH private key readable only by its owner (chmod 600), e.g. from ssh-keygen -t ed25519"),
        ));
    }
    let sig_path = dir.path().join(format!("{MANIFEST}.sig"));
    let sig = std::fs::read_to_string(&sig_path).map_err(|e| io(&sig_path, e))?;
    files.push((MANIFEST.into(), text));
    files.push((SIGNATURE.into(), sig));
    Ok(())
}
