//! File-path options, checked again for documents that did not come through
//! the module (`--input`): absolute, safe characters only (they are written
//! into the systemd unit and nginx.conf), never in the world-readable store.

use crate::document::Deployment;
use crate::secrets::Secrets;
use crate::error::Error;

pub fn check(d: &Deployment) -> Result<(), Error> {
    let secrets = Secrets::get();
    let decl = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
    // Every file-path option the module declares (its type says so), entries
    // of `secretSettings` included.
    for (option, value) in crate::options::file_values(&decl) {
        if !secrets.is_safe_path(&value) {
            // The value is not shown: a pasted secret is the likeliest mistake here.
            return Err(Error::InvalidOption {
                file: "declaration".into(),
                option: format!("services.secureMattermost.{option}"),
                detail: secrets.path_rule.clone(),
            });
        }
    }
    Ok(())
}
