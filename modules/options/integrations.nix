{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withMeta withKind optionSet;
  mail = optionSet "smtp.server";
in
{
  options.services.secureMattermost = {
    smtp = {
      server = withKind "host" (withMeta {
        sets = [
          { setting = "EmailSettings.SendEmailNotifications"; notNull = true; }
          { setting = "EmailSettings.SMTPServer"; skipNull = true; }
        ];
      } (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "smtp.example.com";
        description = "Mail relay. Unset disables email notifications.";
      }));
      port = withMeta { sets = [ { setting = "EmailSettings.SMTPPort"; toString = true; when = [ mail ]; } ]; } (mkOption {
        type = types.port;
        default = 587;
        example = 465;
        description = "Mail relay port.";
      });
      connectionSecurity = withKind "smtpSecurity" (withMeta {
        sets = [
          {
            setting = "EmailSettings.ConnectionSecurity";
            map = {
              none = "";
              STARTTLS = "STARTTLS";
              TLS = "TLS";
            };
            when = [ mail ];
          }
        ];
        answers = [ "smtp-tls" ];
      } (mkOption {
        type = types.enum [
          "STARTTLS"
          "TLS"
          "none"
        ];
        default = "STARTTLS";
        example = "TLS";
        description = "Transport security to the relay; `none` fails the policy check unless justified.";
      }));
      username = withKind "freeText" (withMeta {
        sets = [
          { setting = "EmailSettings.EnableSMTPAuth"; notNull = true; when = [ mail ]; }
          { setting = "EmailSettings.SMTPUsername"; skipNull = true; when = [ mail ]; }
        ];
      } (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "mattermost";
        description = "Relay account (not a secret).";
      }));
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "passwordFile";
      file = "/run/secrets/mattermost/smtp-password";
      kubernetesName = "mattermost-smtp";
      kubernetesKey = "password";
      what = "the SMTP relay password";
      secret = {
        setting = "EmailSettings.SMTPPassword";
        credential = "smtp-password";
        when = [ mail (optionSet "smtp.username") ];
      };
    };

    pushNotifications.server = withKind "url" (withMeta {
      sets = [
        { setting = "EmailSettings.SendPushNotifications"; notNull = true; }
        { setting = "EmailSettings.PushNotificationServer"; nullAs = ""; }
      ];
      answers = [ "push-proxy-inside-boundary" ];
    } (mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://push.example.internal";
      description = "Self-hosted push proxy inside the boundary. Unset turns push notifications off.";
    }));
  };
}
