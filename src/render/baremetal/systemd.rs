//! Bare metal: the systemd unit. Secrets are systemd credentials; the helper's
//! `launch` turns them into MM_* environment just before exec, so they never
//! reach the unit file, the store or the command line.
//!
//! The unit refers to the files where `secure-mattermost install` puts them
//! on the target host (`baremetal.installDir`, or `render --install-dir`),
//! never to the directory they were rendered into. Before the server starts,
//! the helper re-checks the installed declaration against the clock
//! (`check` without `--today`), so a waiver that has expired since the build
//! stops the start. The server's log goes to the journal as JSON lines under
//! `SyslogIdentifier=mattermost`; its audit log is a separate file.

use crate::render::{env, Binaries};
use crate::document::Deployment;
use crate::error::Error;
use crate::validate;

/// Characters systemd reads literally in an unquoted word of a command line
/// and in a credential path (no specifier `%`, no `$`, quote, escape or space).
fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._+,:=@~-".contains(c)
}

/// A path given on our command line that the unit runs or passes on:
/// absolute, and free of what systemd cannot carry literally in a command
/// line: control characters (refused by systemd), quotes and backslashes
/// (refused in an executable's name), `$` (collapsed from `$$` in arguments
/// but not in the executable's name), U+FFFD (a path that was not UTF-8,
/// which the unit could not name), and the Unicode non-characters (systemd
/// ignores a line holding one as "not UTF-8 clean"). Spaces, `%` and other
/// characters are quoted and escaped by `exec_word`.
pub fn unit_path(s: &str) -> bool {
    let noncharacter = |c: char| ('\u{fdd0}'..='\u{fdef}').contains(&c) || (c as u32 & 0xfffe) == 0xfffe;
    s.starts_with('/') && !s.ends_with('/') && !s.chars().any(|c| c.is_control() || noncharacter(c) || "\"'\\$\u{fffd}".contains(c))
}

/// `s` as one word of an `Exec*=` command line that systemd reads back as
/// exactly `s` (given `unit_path(s)`): bare when it can be, else in double
/// quotes with `%` doubled (specifiers are expanded after unquoting).
pub fn exec_word(s: &str) -> String {
    if s.chars().all(bare) {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('%', "%%"))
    }
}

fn flag(name: &str, value: &str) -> Result<(), Error> {
    if unit_path(value) {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            file: "command line".into(),
            option: name.into(),
            detail: "must be an absolute path, not ending in '/', valid UTF-8, without control characters, Unicode non-characters, quotes, backslashes or '$' (it is written into the systemd unit; the value is not shown)".into(),
        })
    }
}

/// Credential paths as systemd's LoadCredential= takes them literally:
/// normalised absolute paths of `bare` characters.
pub const CREDENTIAL_PATH: validate::Kind = validate::Kind {
    what: "a normalised absolute path of letters, digits and / . _ + , : = @ ~ - (it is a systemd LoadCredential= source)",
    test: |s| s.chars().all(bare) && validate::normalised_path(s),
};

/// `name` in the install directory (`bins.artifact_dir`), as the host sees it.
pub fn installed(bins: &Binaries, name: &str) -> Result<String, Error> {
    let path = format!("{}/{name}", bins.artifact_dir);
    flag("--install-dir (or baremetal.installDir)", &path)?;
    Ok(path)
}

pub fn render(d: &Deployment, config: &serde_json::Value, bins: &Binaries) -> Result<String, Error> {
    flag("--helper-bin", &bins.helper)?;
    flag("--mattermost-bin", &bins.mattermost)?;
    let config_path = installed(bins, "config.json")?;
    let spec_path = installed(bins, "secret-env.json")?;
    let declaration_path = installed(bins, "declaration.json")?;
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    let spec = env::secret_spec(d, config);
    let files = validate::file_options(&serde_json::to_value(d).unwrap_or_default());
    let mut creds = String::new();
    for s in &spec.secrets {
        let option = files.iter().find(|(_, f)| *f == s.file).map(|(o, _)| o.as_str()).unwrap_or("secretSettings");
        validate::check(option, &s.file, &CREDENTIAL_PATH)?;
        if !validate::credential_name(&s.credential) {
            return Err(validate::refusal(option, &validate::CREDENTIAL_NAME));
        }
        creds.push_str(&format!("LoadCredential={}:{}\n", s.credential, s.file));
    }
    Ok(format!(
        "# Rendered by secure-mattermost for {domain}; do not edit.\n\
[Unit]\n\
Description=Mattermost (hardened by secure-mattermost)\n\
After=network-online.target postgresql.service\n\
Wants=network-online.target\n\
\n\
[Service]\n\
Type=simple\n\
User=mattermost\n\
Group=mattermost\n\
StateDirectory=mattermost\n\
StateDirectoryMode=0700\n\
LogsDirectory=mattermost\n\
LogsDirectoryMode=0700\n\
WorkingDirectory=/var/lib/mattermost\n\
Environment=MM_LOG_PATH=/var/log/mattermost\n\
{creds}\
# The policy again, judged on the day the service starts (check reads the\n\
# clock): a waiver that has expired since the build stops the start.\n\
ExecStartPre={helper} check --input {declaration}\n\
# Mattermost rewrites its config file at start; it gets a private copy.\n\
ExecStartPre=/usr/bin/install -m 0600 {config} /var/lib/mattermost/config.json\n\
ExecStart={helper} launch --spec {spec} -- {mattermost} server --config /var/lib/mattermost/config.json\n\
# JSON lines (LogSettings.ConsoleJson) to the journal under one identifier;\n\
# the audit log is the separate file ExperimentalAuditSettings.FileName.\n\
StandardOutput=journal\n\
StandardError=journal\n\
SyslogIdentifier=mattermost\n\
Restart=on-failure\n\
# AF_NETLINK: Go's interface listing, which clustering uses.\n\
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK\n\
{sandbox}\
\n\
[Install]\n\
WantedBy=multi-user.target\n",
        domain = d.domain,
        sandbox = super::sandbox::common(""),
        helper = exec_word(&bins.helper),
        mattermost = exec_word(&bins.mattermost),
        config = exec_word(&config_path),
        spec = exec_word(&spec_path),
        declaration = exec_word(&declaration_path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_words() {
        assert_eq!(exec_word("/usr/local/bin/mattermost"), "/usr/local/bin/mattermost");
        assert_eq!(exec_word("/srv/my dir/100%/x"), "\"/srv/my dir/100%%/x\"");
        assert!(unit_path("/srv/a b/%;{}#") && !unit_path("relative") && !unit_path("/a/") && !unit_path("/a\nb"));
        for bad in ["/a\"b", "/a'b", "/a\\b", "/a$b", "/a\u{fffd}b", "/a\u{85}b", "/a\tb", "/a\u{fdd0}", "/a\u{1fffe}", "/a\u{10ffff}"] {
            assert!(!unit_path(bad), "{bad:?}");
        }
    }
}
