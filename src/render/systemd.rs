//! Bare metal: the systemd unit. Secrets are systemd credentials; the helper's
//! `launch` turns them into MM_* environment just before exec, so they never
//! reach the unit file, the store or the command line.

use super::{env, Binaries};
use crate::document::Deployment;

pub fn render(d: &Deployment, config: &serde_json::Value, bins: &Binaries) -> String {
    let spec = env::secret_spec(d, config);
    let creds: String = spec
        .secrets
        .iter()
        .map(|s| format!("LoadCredential={}:{}\n", s.credential, s.file))
        .collect();
    format!(
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
# Mattermost rewrites its config file at start; it gets a private copy.\n\
ExecStartPre=/usr/bin/install -m 0600 {dir}/config.json /var/lib/mattermost/config.json\n\
ExecStart={helper} launch --spec {dir}/secret-env.json -- {mattermost} server --config /var/lib/mattermost/config.json\n\
Restart=on-failure\n\
UMask=0077\n\
NoNewPrivileges=yes\n\
CapabilityBoundingSet=\n\
AmbientCapabilities=\n\
ProtectSystem=strict\n\
ProtectHome=yes\n\
PrivateTmp=yes\n\
PrivateDevices=yes\n\
ProtectKernelTunables=yes\n\
ProtectKernelModules=yes\n\
ProtectKernelLogs=yes\n\
ProtectControlGroups=yes\n\
ProtectClock=yes\n\
ProtectHostname=yes\n\
# AF_NETLINK: Go's interface listing, which clustering uses.\n\
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK\n\
RestrictNamespaces=yes\n\
RestrictRealtime=yes\n\
RestrictSUIDSGID=yes\n\
LockPersonality=yes\n\
SystemCallArchitectures=native\n\
SystemCallFilter=@system-service\n\
SystemCallFilter=~@privileged @resources\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n",
        domain = d.domain,
        helper = bins.helper,
        mattermost = bins.mattermost,
        dir = bins.artifact_dir,
    )
}
