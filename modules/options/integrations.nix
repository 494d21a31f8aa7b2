{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
in
{
  options.services.secureMattermost = {
    smtp = {
      server = mkOption {
        type = types.nullOr types.str;
        default = null;
        defaultText = literalExpression "null";
        example = "smtp.example.com";
        description = "Mail relay. Unset disables email notifications.";
      };
      port = mkOption {
        type = types.port;
        default = 587;
        defaultText = literalExpression "587";
        example = 465;
        description = "Mail relay port.";
      };
      connectionSecurity = mkOption {
        type = types.enum [
          "STARTTLS"
          "TLS"
          "none"
        ];
        default = "STARTTLS";
        defaultText = literalExpression ''"STARTTLS"'';
        example = "TLS";
        description = "Transport security to the relay; `none` fails the policy check unless justified.";
      };
      username = mkOption {
        type = types.nullOr types.str;
        default = null;
        defaultText = literalExpression "null";
        example = "mattermost";
        description = "Relay account (not a secret).";
      };
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "passwordFile";
      file = "/run/secrets/mattermost/smtp-password";
      kubernetesName = "mattermost-smtp";
      kubernetesKey = "password";
      what = "the SMTP relay password";
    };

    pushNotifications.server = mkOption {
      type = types.nullOr types.str;
      default = null;
      defaultText = literalExpression "null";
      example = "https://push.example.internal";
      description = "Self-hosted push proxy inside the boundary. Unset turns push notifications off.";
    };
  };
}
