{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withMeta withKind optionIs;
  nullStr =
    example: description:
    mkOption {
      type = types.nullOr types.str;
      default = null;
      inherit example description;
    };
  provider = optionIs "auth.provider";
  # A setting this provider's option sets, only while it is the provider.
  forProvider =
    p: settings: option:
    withMeta { sets = map (s: s // { when = [ (provider p) ]; skipNull = true; }) settings; } option;
in
{
  options.services.secureMattermost.auth = {
    provider = withMeta {
      sets = [
        { setting = "EmailSettings.EnableSignInWithEmail"; equals = "password"; }
        { setting = "EmailSettings.EnableSignInWithUsername"; equals = "password"; }
        { setting = "OpenIdSettings.Enable"; equals = "oidc"; }
        { setting = "GitLabSettings.Enable"; equals = "gitlab"; }
        { setting = "SamlSettings.Enable"; equals = "saml"; }
        { setting = "LdapSettings.Enable"; equals = "ldap"; }
      ];
      answers = [
        "sso-only-sign-in"
        "email-sign-up-disabled"
      ];
    } (mkOption {
      type = types.enum [
        "oidc"
        "saml"
        "ldap"
        "gitlab"
        "password"
      ];
      default = "oidc";
      example = "saml";
      description = ''
        The single sign-in path. Anything but `password` turns email/username
        sign-in and sign-up off; `password` keeps local accounts and fails the
        policy check unless justified.
      '';
    });

    mfa.enforce = withMeta {
      sets = [ { setting = "ServiceSettings.EnforceMultifactorAuthentication"; } ];
      answers = [ "mfa-enforced" ];
    } (mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = "Require TOTP multi-factor enrolment for email and LDAP accounts (needs a licence). SSO users get MFA from the IdP.";
    });

    oidc = {
      discoveryEndpoint = withKind "url" (forProvider "oidc" [ { setting = "OpenIdSettings.DiscoveryEndpoint"; } ] (
        nullStr "https://idp.example.com/.well-known/openid-configuration" "OpenID Connect discovery URL. Unset leaves an advisory finding."
      ));
      clientId = withKind "freeText" (forProvider "oidc" [ { setting = "OpenIdSettings.Id"; } ] (
        nullStr "mattermost" "OpenID Connect client id (not a secret)."
      ));
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "clientSecretFile";
      file = "/run/secrets/mattermost/oidc-client-secret";
      kubernetesName = "mattermost-oidc";
      kubernetesKey = "client-secret";
      what = "the OpenID Connect client secret";
      secret = {
        setting = "OpenIdSettings.Secret";
        credential = "oidc-client-secret";
        when = [ (provider "oidc") ];
      };
    };

    gitlab = {
      url =withKind "url" (forProvider "gitlab"
          [
            { setting = "GitLabSettings.AuthEndpoint"; trimEnd = "/"; template = "{}/oauth/authorize"; }
            { setting = "GitLabSettings.TokenEndpoint"; trimEnd = "/"; template = "{}/oauth/token"; }
            { setting = "GitLabSettings.UserAPIEndpoint"; trimEnd = "/"; template = "{}/api/v4/user"; }
          ]
          (nullStr "https://gitlab.example.com" "GitLab instance URL."));
      clientId = withKind "freeText" (forProvider "gitlab" [ { setting = "GitLabSettings.Id"; } ] (
        nullStr "0123456789abcdef" "GitLab application id (not a secret)."
      ));
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "clientSecretFile";
      file = "/run/secrets/mattermost/gitlab-client-secret";
      kubernetesName = "mattermost-gitlab";
      kubernetesKey = "client-secret";
      what = "the GitLab application secret";
      secret = {
        setting = "GitLabSettings.Secret";
        credential = "gitlab-client-secret";
        when = [ (provider "gitlab") ];
      };
    };

    saml = {
      idpMetadataUrl = withKind "url" (forProvider "saml" [ { setting = "SamlSettings.IdpMetadataURL"; } ] (
        nullStr "https://idp.example.com/saml/metadata" "SAML IdP metadata URL."
      ));
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "privateKeyFile";
      file = "/run/secrets/mattermost/saml-sp.key";
      kubernetesName = "mattermost-saml";
      kubernetesKey = "sp.key";
      what = "the SAML service-provider private key";
      # The server reads the key from a file: it gets the credential's path
      # (bare metal) or the mounted Secret (Kubernetes, see render/kubernetes).
      secret = {
        setting = "SamlSettings.PrivateKeyFile";
        credential = "saml-private-key";
        pathOnly = true;
        when = [ (provider "saml") ];
      };
      fileSets = [ { setting = "SamlSettings.PrivateKeyFile"; when = [ (provider "saml") ]; } ];
    };

    ldap = {
      server = withKind "host" (forProvider "ldap" [ { setting = "LdapSettings.LdapServer"; } ] (
        nullStr "ldap.example.com" "Directory server host name."
      ));
      port =
        forProvider "ldap"
          [
            { setting = "LdapSettings.LdapPort"; }
            {
              setting = "LdapSettings.ConnectionSecurity";
              map = {
                "636" = "TLS";
              };
              otherwise = "STARTTLS";
            }
          ]
          (mkOption {
            type = types.port;
            default = 636;
            example = 389;
            description = "Directory server port (636 for LDAPS).";
          });
      baseDN = withKind "freeText" (forProvider "ldap" [ { setting = "LdapSettings.BaseDN"; } ] (
        nullStr "dc=example,dc=com" "Base DN of user searches."
      ));
      bindUsername = withKind "freeText" (forProvider "ldap" [ { setting = "LdapSettings.BindUsername"; } ] (
        nullStr "cn=mattermost,ou=services,dc=example,dc=com" "Read-only bind account (not a secret)."
      ));
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "bindPasswordFile";
      file = "/run/secrets/mattermost/ldap-bind-password";
      kubernetesName = "mattermost-ldap";
      kubernetesKey = "bind-password";
      what = "the LDAP bind password";
      secret = {
        setting = "LdapSettings.BindPassword";
        credential = "ldap-bind-password";
        when = [ (provider "ldap") ];
      };
    };
  };
}
