{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
  nullStr =
    example: description:
    mkOption {
      type = types.nullOr types.str;
      default = null;
      defaultText = literalExpression "null";
      inherit example description;
    };
in
{
  options.services.secureMattermost.auth = {
    provider = mkOption {
      type = types.enum [
        "oidc"
        "saml"
        "ldap"
        "gitlab"
        "password"
      ];
      default = "oidc";
      defaultText = literalExpression ''"oidc"'';
      example = "saml";
      description = ''
        The single sign-in path. Anything but `password` turns email/username
        sign-in and sign-up off; `password` keeps local accounts and fails the
        policy check unless justified.
      '';
    };

    mfa.enforce = mkOption {
      type = types.bool;
      default = true;
      defaultText = literalExpression "true";
      example = false;
      description = "Require TOTP multi-factor enrolment for email and LDAP accounts (needs a licence). SSO users get MFA from the IdP.";
    };

    oidc = {
      discoveryEndpoint = nullStr "https://idp.example.com/.well-known/openid-configuration" "OpenID Connect discovery URL. Unset leaves an advisory finding.";
      clientId = nullStr "mattermost" "OpenID Connect client id (not a secret).";
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "clientSecretFile";
      file = "/run/secrets/mattermost/oidc-client-secret";
      kubernetesName = "mattermost-oidc";
      kubernetesKey = "client-secret";
      what = "the OpenID Connect client secret";
    };

    gitlab = {
      url = nullStr "https://gitlab.example.com" "GitLab instance URL.";
      clientId = nullStr "0123456789abcdef" "GitLab application id (not a secret).";
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "clientSecretFile";
      file = "/run/secrets/mattermost/gitlab-client-secret";
      kubernetesName = "mattermost-gitlab";
      kubernetesKey = "client-secret";
      what = "the GitLab application secret";
    };

    saml = {
      idpMetadataUrl = nullStr "https://idp.example.com/saml/metadata" "SAML IdP metadata URL.";
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "privateKeyFile";
      file = "/run/secrets/mattermost/saml-sp.key";
      kubernetesName = "mattermost-saml";
      kubernetesKey = "sp.key";
      what = "the SAML service-provider private key";
    };

    ldap = {
      server = nullStr "ldap.example.com" "Directory server host name.";
      port = mkOption {
        type = types.port;
        default = 636;
        defaultText = literalExpression "636";
        example = 389;
        description = "Directory server port (636 for LDAPS).";
      };
      baseDN = nullStr "dc=example,dc=com" "Base DN of user searches.";
      bindUsername = nullStr "cn=mattermost,ou=services,dc=example,dc=com" "Read-only bind account (not a secret).";
    }
    // smTypes.mkSecretSourceOptions {
      fileOption = "bindPasswordFile";
      file = "/run/secrets/mattermost/ldap-bind-password";
      kubernetesName = "mattermost-ldap";
      kubernetesKey = "bind-password";
      what = "the LDAP bind password";
    };
  };
}
