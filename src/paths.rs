//! File-path options, checked again for documents that did not come through
//! the module (`--input`): absolute, safe characters only (they are written
//! into the systemd unit and nginx.conf), never in the world-readable store.

use crate::document::Deployment;
use crate::secrets::Secrets;
use crate::error::Error;

pub fn check(d: &Deployment) -> Result<(), Error> {
    let secrets = Secrets::get();
    let mut fields: Vec<(&str, &str)> = vec![
        ("license.file", &d.license.file),
        ("tls.certificateFile", &d.tls.certificate_file),
        ("tls.keyFile", &d.tls.key_file),
        ("auth.oidc.clientSecretFile", &d.auth.oidc.client_secret_file),
        ("auth.gitlab.clientSecretFile", &d.auth.gitlab.client_secret_file),
        ("auth.saml.privateKeyFile", &d.auth.saml.private_key_file),
        ("auth.ldap.bindPasswordFile", &d.auth.ldap.bind_password_file),
        ("database.passwordFile", &d.database.password_file),
        ("fileStorage.directory", &d.file_storage.directory),
        ("fileStorage.s3.accessKeyIdFile", &d.file_storage.s3.access_key_id_file),
        ("fileStorage.s3.secretAccessKeyFile", &d.file_storage.s3.secret_access_key_file),
        ("smtp.passwordFile", &d.smtp.password_file),
    ];
    if let Some(ca) = &d.database.ca_file {
        fields.push(("database.caFile", ca));
    }
    let secret_files: Vec<(String, &str)> = d
        .secret_settings
        .iter()
        .filter_map(|(k, v)| v.file.as_deref().map(|f| (format!("secretSettings.\"{k}\".file"), f)))
        .collect();
    fields.extend(secret_files.iter().map(|(o, f)| (o.as_str(), *f)));
    for (option, value) in fields {
        if !secrets.is_safe_path(value) {
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
