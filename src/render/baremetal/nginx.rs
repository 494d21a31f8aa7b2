//! Bare metal: the TLS-terminating nginx proxy in front of the loopback-only
//! application port. TLS 1.2+ with forward-secret AEAD suites, HSTS, and
//! X-Real-IP overwritten so clients cannot forge their address.

use crate::document::Deployment;
use crate::error::Error;
use crate::validate;

pub const APP_UPSTREAM: &str = "127.0.0.1:8065";

/// Shared by both locations. X-Real-IP and X-Forwarded-For are overwritten
/// with the peer address, never appended to, so clients cannot forge them.
const PROXY: &str = "        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        proxy_read_timeout 600s;
        proxy_http_version 1.1;
        proxy_pass http://mattermost_app;
";

pub fn render(d: &Deployment) -> Result<String, Error> {
    render_with(d, APP_UPSTREAM, 443, 80)
}

/// A path nginx reads as one bare token and as a file name, never as a
/// variable (`$`), a quote, an escape, a comment, a block or the end of a
/// directive: absolute, of the characters `crate::paths` allows.
pub fn bare_path(s: &str) -> bool {
    s.starts_with('/') && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/@+=,:~-".contains(c))
}

const BARE_PATH: validate::Kind = validate::Kind {
    what: "an absolute path of letters, digits and . _ / @ + = , : ~ - only (it is written into nginx.conf unquoted)",
    test: bare_path,
};

/// Ports are parameters so tests can run the real nginx unprivileged.
/// Every value pasted into the file is checked here again: the domain (in
/// `server_name`, the redirect and a comment) as a DNS name, which also keeps
/// nginx from reading it as a wildcard or regular expression.
pub fn render_with(d: &Deployment, upstream: &str, https_port: u16, http_port: u16) -> Result<String, Error> {
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    validate::check("tls.certificateFile", &d.tls.certificate_file, &BARE_PATH)?;
    validate::check("tls.keyFile", &d.tls.key_file, &BARE_PATH)?;
    if !validate::host_port(upstream) {
        return Err(Error::InvalidOption {
            file: "nginx.conf".into(),
            option: "upstream".into(),
            detail: "must be host:port".into(),
        });
    }
    Ok(format!(
        r#"# Rendered by secure-mattermost for {domain}; include inside nginx's http {{}} block.
upstream mattermost_app {{
    server {upstream};
    keepalive 32;
}}

# Sign-in attempts per client address: 10 a minute, bursts of 5, then 429.
limit_req_zone $binary_remote_addr zone=mattermost_login:10m rate=10r/m;

map $http_upgrade $mattermost_connection_upgrade {{
    default upgrade;
    ''      close;
}}

server {{
    listen {http_port};
    listen [::]:{http_port};
    server_name {domain};
    server_tokens off;
    # The configured name, not $host: no open redirect to whatever Host a client sends.
    return 301 https://{domain}$request_uri;
}}

server {{
    # `listen … http2` rather than `http2 on;`: Debian 12 ships nginx 1.22.
    listen {https_port} ssl http2;
    listen [::]:{https_port} ssl http2;
    server_name {domain};
    server_tokens off;

    ssl_certificate     {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384;
    ssl_prefer_server_ciphers on;
    ssl_session_tickets off;
    ssl_session_cache shared:mattermost_tls:10m;
    ssl_session_timeout 1d;

    # The server sends some of these itself (HSTS without includeSubDomains);
    # browsers obey the first HSTS header, so only the proxy's are passed on.
    proxy_hide_header Strict-Transport-Security;
    proxy_hide_header X-Content-Type-Options;
    proxy_hide_header X-Frame-Options;
    proxy_hide_header Referrer-Policy;
    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
    add_header X-Content-Type-Options nosniff always;
    add_header X-Frame-Options SAMEORIGIN always;
    add_header Referrer-Policy same-origin always;

    client_max_body_size 100m;

    location ~ /api/v[0-9]+/(users/)?websocket$ {{
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $mattermost_connection_upgrade;
{proxy}    }}

    location = /api/v4/users/login {{
        limit_req zone=mattermost_login burst=5 nodelay;
        limit_req_status 429;
        proxy_set_header Connection "";
{proxy}    }}

    location / {{
        proxy_set_header Connection "";
{proxy}    }}
}}
"#,
        domain = d.domain,
        proxy = PROXY,
        cert = d.tls.certificate_file,
        key = d.tls.key_file,
    ))
}
