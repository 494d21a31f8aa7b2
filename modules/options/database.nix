{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withMeta withKind;
in
{
  options.services.secureMattermost.database = {
    host = withKind "host" (withMeta { sets = [ { setting = "SqlSettings.DriverName"; constant = "postgres"; } ]; } (mkOption {
      # Spliced into the connection URL: a host name (RFC 1123 labels, dot
      # separated; an IPv4 address is one too) or a bracketed IPv6 literal,
      # so that nothing can add a path, parameters or credentials to it.
      type = types.strMatching "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?([.][A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+]";
      default = "mattermost-postgresql";
      example = "db.example.internal";
      description = "PostgreSQL host: a host name (a Kubernetes Service name by default), an IPv4 address or a bracketed IPv6 literal such as `[fd00::5]`. TLS certificate checks are made against this name.";
    }));
    port = mkOption {
      type = types.port;
      default = 5432;
      example = 6432;
      description = "PostgreSQL port.";
    };
    name = withKind "freeText" (mkOption {
      type = types.str;
      default = "mattermost";
      example = "chat";
      description = "Database name.";
    });
    user = withKind "freeText" (mkOption {
      type = types.str;
      default = "mattermost";
      example = "mmuser";
      description = "Database role (not a secret).";
    });
    passwordFile = smTypes.mkFileOption {
      default = "/run/secrets/mattermost/database-password";
      what = "the database password";
      # Bare metal: `launch` puts the percent-encoded password into the DSN.
      secret = {
        setting = "SqlSettings.DataSource";
        credential = "database-password";
        computed = "dataSourceWithPassword";
        encode = true;
      };
    };
    kubernetesSecret = smTypes.mkKubernetesSecretOption {
      name = "mattermost-database";
      key = "DB_CONNECTION_STRING";
      what = "the complete PostgreSQL connection string, password included (e.g. synced from Vault by External Secrets)";
    };
    sslMode = withKind "sslMode" (withMeta {
      sets = [ { setting = "SqlSettings.DataSource"; computed = "dataSource"; } ];
      answers = [ "database-tls-verify-full" ];
    } (mkOption {
      type = types.enum [
        "disable"
        "allow"
        "prefer"
        "require"
        "verify-ca"
        "verify-full"
      ];
      default = "verify-full";
      example = "verify-ca";
      description = "libpq `sslmode`. Anything weaker than `verify-full` fails the policy check unless justified.";
    }));
    caFile = mkOption {
      type = types.nullOr smTypes.absolutePathString;
      default = null;
      example = "/etc/ssl/certs/db-ca.pem";
      description = "CA bundle the database certificate is verified against. Unset uses the system trust store and leaves an advisory finding.";
    };
    postgresqlVersion = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      example = 16;
      description = "Major version of the PostgreSQL server, as stated by the site. Unset leaves an advisory finding; below 14 fails.";
    };
  };
}
