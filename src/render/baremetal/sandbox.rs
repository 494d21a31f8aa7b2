//! The sandbox directives the rendered services share: one list, so a
//! hardening added here reaches the Mattermost unit and every helper unit.

/// What every rendered service gets: no privileges beyond `capabilities`
/// (empty: none), a read-only view of the system, private /tmp and devices,
/// no kernel tunables, modules, logs, cgroups, clock or hostname, no new
/// namespaces, realtime or set-uid, native system calls of the service set
/// without the privileged and resource-control groups.
pub fn common(capabilities: &str) -> String {
    format!(
        "UMask=0077\n\
NoNewPrivileges=yes\n\
CapabilityBoundingSet={capabilities}\n\
AmbientCapabilities={capabilities}\n\
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
RestrictNamespaces=yes\n\
RestrictRealtime=yes\n\
RestrictSUIDSGID=yes\n\
LockPersonality=yes\n\
SystemCallArchitectures=native\n\
SystemCallFilter=@system-service\n\
SystemCallFilter=~@privileged @resources\n"
    )
}

/// On top of [`common`] for the helper's own services (health, drift,
/// backup), which need less than the server: no other processes visible,
/// no device nodes at all, a private keyring, IPC removed at stop, no
/// writable-executable memory, and refused system calls fail with EPERM
/// instead of killing the job.
pub const HELPER_EXTRA: &str = "\
DevicePolicy=closed
ProtectProc=invisible
ProcSubset=pid
KeyringMode=private
RemoveIPC=yes
MemoryDenyWriteExecute=yes
SystemCallErrorNumber=EPERM
";

/// [`common`] without capabilities plus [`HELPER_EXTRA`].
pub fn helper() -> String {
    common("") + HELPER_EXTRA
}
