# Secret Mattermost settings no dedicated option covers (Elasticsearch and
# Redis passwords, AtRestEncryptKey, PublicLinkSalt, plugin secrets, ...):
# keyed by setting path, supplied at start from a file or a Kubernetes Secret.
{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
in
{
  options.services.secureMattermost.publicPluginSettings = mkOption {
    type = types.attrsOf (types.listOf types.str);
    default = { };
    example = literalExpression ''{ "com.mattermost.calls" = [ "ICEHostOverride" "UDPServerPort" ]; }'';
    description = ''
      Plugin settings, by plugin id and then setting key, that the site declares
      are not secret. The server judges a plugin's secrets by the plugin's
      manifest, which the declaration does not have, so every other string under
      `settings.PluginSettings.Plugins` is treated as a secret: refused as a
      literal, and supplied through `secretSettings` instead.
    '';
  };

  options.services.secureMattermost.secretSettings = mkOption {
    type = types.attrsOf (
      smTypes.closedSubmodule {
        file = mkOption {
          type = types.nullOr smTypes.absolutePathString;
          default = null;
          example = "/run/secrets/mattermost/elasticsearch-password";
          description = "File holding the value (bare-metal mode), passed to the service as a systemd credential.";
        };
        kubernetesSecret = mkOption {
          type = types.nullOr (
            smTypes.closedSubmodule {
              name = smTypes.withKind "dns1123Subdomain" (mkOption {
                type = types.str;
                example = "mattermost-search";
                description = "Name of an existing Kubernetes Secret in the release namespace.";
              });
              key = smTypes.withKind "secretKey" (mkOption {
                type = types.str;
                example = "password";
                description = "Key inside the Secret.";
              });
            }
          );
          default = null;
          example = literalExpression ''{ name = "mattermost-search"; key = "password"; }'';
          description = "Kubernetes Secret holding the value (Kubernetes mode).";
        };
      }
    );
    default = { };
    example = literalExpression ''
      {
        "ElasticsearchSettings.Password".file = "/run/secrets/mattermost/elasticsearch-password";
        "SqlSettings.AtRestEncryptKey".kubernetesSecret = { name = "mattermost-keys"; key = "at-rest"; };
      }
    '';
    description = ''
      Secret Mattermost settings without a dedicated option, keyed by setting
      path: what the pinned server's own sanitiser masks
      (`catalog/server-secret-settings.json`), secret-named keys, and plugin
      settings as `PluginSettings.Plugins.<plugin id>.<key>` (bare metal) or the
      whole plugin settings map as `PluginSettings.Plugins` (either mode; the
      server reads plugin settings from its environment only as one JSON map). Each is passed to the server as its `MM_*` environment variable at
      start, from `file` (bare metal) or `kubernetesSecret` (Kubernetes); the
      value never enters the Nix store. Without an entry, Mattermost generates
      `AtRestEncryptKey` and `PublicLinkSalt` itself on first start.
    '';
  };
}
