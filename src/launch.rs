//! `secure-mattermost launch`: read the secret files a spec names (systemd
//! credentials when $CREDENTIALS_DIRECTORY is set), put them into the
//! environment and exec the server. Secrets never touch argv or disk.

use std::path::{Path, PathBuf};

use crate::effective::encode;
use crate::error::Error;
use crate::render::env::SecretSpec;

pub fn environment(spec_path: &Path) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(spec_path).map_err(|e| Error::io(spec_path, e))?;
    let spec: SecretSpec = serde_json::from_str(&text).map_err(|e| Error::MalformedJson {
        file: spec_path.display().to_string(),
        detail: e.to_string(),
    })?;
    let cred_dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let mut out: Vec<(String, String)> = spec.pinned.iter().map(|p| (p.env.clone(), p.value.clone())).collect();
    let mut plugins: Option<serde_json::Value> = None;
    let mut plugins_env: Option<String> = None;
    for s in &spec.secrets {
        let from_cred = cred_dir.as_ref().map(|d| d.join(&s.credential)).filter(|p| p.exists());
        let path = from_cred.unwrap_or_else(|| PathBuf::from(&s.file));
        if s.path_only {
            if path.exists() {
                out.push((s.env.clone(), path.display().to_string()));
            }
            continue;
        }
        let secret = std::fs::read_to_string(&path).map_err(|e| Error::Launch {
            file: path.display().to_string(),
            detail: format!("cannot read the secret for {}: {}", s.env, e.kind()),
        })?;
        let secret = secret.trim_end_matches(['\n', '\r']);
        if let Some(at) = &s.json_path {
            // Merged into the one plugin settings map below.
            let map = plugins.get_or_insert_with(|| spec.plugins_base.clone().filter(|v| v.is_object()).unwrap_or_else(|| serde_json::json!({})));
            set_in(map, at, serde_json::Value::String(secret.to_string()));
            plugins_env = Some(s.env.clone());
            continue;
        }
        let secret = if s.encode { encode(secret) } else { secret.to_string() };
        let value = match &s.template {
            Some(t) => t.replacen("{}", &secret, 1),
            None => secret,
        };
        out.push((s.env.clone(), value));
    }
    if let (Some(env), Some(map)) = (plugins_env, plugins) {
        out.push((env, map.to_string()));
    }
    Ok(out)
}

/// Sets `value` at `path` inside `root`, making objects on the way.
fn set_in(root: &mut serde_json::Value, path: &[String], value: serde_json::Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut cur = root;
    for k in parents {
        if !cur.is_object() {
            *cur = serde_json::json!({});
        }
        let Some(m) = cur.as_object_mut() else { return };
        cur = m.entry(k.clone()).or_insert_with(|| serde_json::json!({}));
    }
    if !cur.is_object() {
        *cur = serde_json::json!({});
    }
    if let Some(m) = cur.as_object_mut() {
        m.insert(last.clone(), value);
    }
}

#[cfg(unix)]
pub fn exec(spec_path: &Path, command: &[String]) -> Result<(), Error> {
    use std::os::unix::process::CommandExt;
    let (program, args) = command.split_first().ok_or_else(|| Error::Launch {
        file: spec_path.display().to_string(),
        detail: "no command given after --".into(),
    })?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for (k, v) in environment(spec_path)? {
        cmd.env(k, v);
    }
    let err = cmd.exec();
    Err(Error::Launch { file: program.clone(), detail: format!("cannot execute: {err}") })
}

#[cfg(not(unix))]
pub fn exec(spec_path: &Path, _command: &[String]) -> Result<(), Error> {
    Err(Error::Launch { file: spec_path.display().to_string(), detail: "launch needs a Unix system".into() })
}
