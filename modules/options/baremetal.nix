{ lib, ... }:
let
  inherit (lib) mkOption types;
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withKind;
  addresses =
    { default, example, description }:
    withKind "cidr" (mkOption {
      type = types.listOf types.str;
      inherit default example description;
    });
in
{
  # Bare-metal mode: the host around the server (where files are installed,
  # who may reach which port, backups). Unused in Kubernetes mode.
  options.services.secureMattermost.baremetal = {
    installDir = mkOption {
      type = smTypes.absolutePathString;
      default = "/etc/secure-mattermost";
      example = "/srv/mattermost/etc";
      description = "Directory on the target host that the rendered files are installed into (`secure-mattermost install`); the unit refers to its siblings there.";
    };

    networks = {
      users = addresses {
        default = [ "127.0.0.0/8" "::1/128" ];
        example = [ "10.20.0.0/16" ];
        description = "Networks (CIDR) whose users may reach the proxy on 443 (and 80, which only redirects). Loopback only by default: name the user networks.";
      };
      proxy = addresses {
        default = [ "127.0.0.1/32" "::1/128" ];
        example = [ "10.0.1.10/32" ];
        description = "Addresses of the reverse proxy: the only sources allowed to reach the application port 8065.";
      };
      appHosts = addresses {
        default = [ "127.0.0.1/32" "::1/128" ];
        example = [ "10.0.2.11/32" "10.0.2.12/32" ];
        description = "Addresses of the Mattermost application hosts: the only sources the database accepts (5432, `hostssl` with scram).";
      };
      clusterNodes = addresses {
        default = [ ];
        example = [ "10.0.2.11/32" "10.0.2.12/32" ];
        description = "Addresses of the cluster's nodes (`replicas > 1`): gossip on 8074 TCP and UDP and the cluster port 8075 between them only.";
      };
      monitoring = addresses {
        default = [ "127.0.0.1/32" "::1/128" ];
        example = [ "10.0.9.5/32" ];
        description = "Addresses of the monitoring host: the only sources allowed to reach the metrics port 8067.";
      };
      admin = addresses {
        default = [ ];
        example = [ "10.0.8.0/24" ];
        description = "Networks allowed to reach SSH (TCP 22) through the rendered host firewall. Empty by default: SSH only over loopback or the console. Name the administrators' networks before loading the ruleset on a remote host, or new SSH sessions are refused (open ones survive).";
      };
    };

    postgresql = {
      certificateFile = mkOption {
        type = smTypes.absolutePathString;
        default = "/etc/postgresql/secure-mattermost/server.crt";
        example = "/etc/ssl/postgresql/db.example.internal.crt";
        description = "Certificate chain the database server presents (`ssl_cert_file` in the rendered `postgresql-secure-mattermost.conf`). Its names must cover `database.host`: the application connects with `sslmode=verify-full`.";
      };
      keyFile = mkOption {
        type = smTypes.absolutePathString;
        default = "/etc/postgresql/secure-mattermost/server.key";
        example = "/etc/ssl/private/postgresql.key";
        description = "Private key of that certificate (`ssl_key_file`), readable by the postgres user only. Only the path is rendered.";
      };
    };

    logCollector = withKind "hostPort" (mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "logs.internal.example:6514";
      description = "Central log collector (host:port) the host forwards journald to; egress to it is allowed. Null: logs stay in the journal.";
    });

    backups = {
      enable = mkOption {
        type = types.bool;
        default = true;
        example = false;
        description = "Schedule a database dump and a copy of the file store, encrypted to `ageRecipient`.";
      };
      ageRecipient = withKind "ageRecipient" (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
        description = "age public key the backups are encrypted to; its private key is kept off the host (the restore side). Required while backups are on.";
      });
      directory = mkOption {
        type = smTypes.absolutePathString;
        default = "/var/backups/mattermost";
        example = "/srv/backups/mattermost";
        description = "Where the encrypted backups are written (a mount of the backup store).";
      };
      schedule = withKind "systemdCalendar" (mkOption {
        type = types.str;
        default = "*-*-* 02:30:00";
        example = "daily";
        description = "When the backup runs (a systemd calendar event: `hourly`, `daily`, `weekly` or `*-*-* HH:MM:SS`).";
      });
      retentionDays = mkOption {
        type = types.ints.positive;
        default = 30;
        example = 90;
        description = "Days an encrypted backup is kept.";
      };
    };

    driftCheckSchedule = withKind "systemdCalendar" (mkOption {
      type = types.str;
      default = "hourly";
      example = "*-*-* *:00/15:00";
      description = "When `secure-mattermost verify` compares the live server with the catalog and logs any drift.";
    });

    driftCheckCaFile = mkOption {
      type = smTypes.absolutePathString;
      default = "/etc/ssl/certs/ca-certificates.crt";
      example = "/etc/ssl/certs/site-root-ca.pem";
      description = "CA bundle (PEM) the scheduled drift check verifies the site's certificate chain against. The system bundle by default: add the site's CA to it, or name the CA file here.";
    };

    driftCheckTokenFile = mkOption {
      type = types.nullOr smTypes.absolutePathString;
      default = null;
      example = "/run/secrets/mattermost/drift-admin-token";
      description = "File holding a system administrator's session token, passed to the scheduled drift check as a systemd credential, so that it also compares the live server's effective configuration with the catalog, rule by rule. Only the path is rendered. Null: the drift check covers what an unauthenticated client sees (TLS, headers, ping, client configuration).";
    };
  };
}
