{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  pin = builtins.fromJSON (builtins.readFile ../../catalog/mattermost-pin.json);
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withMeta withKind optionIs;
  saml = optionIs "auth.provider" "saml";
  # The structured waiver record: rule justifications and vulnerability waivers.
  justificationRecord = smTypes.closedSubmodule {
    reason = mkOption {
      type = types.str;
      example = "Partner agencies collaborate under ISA-2031";
      description = "Why the deviation is acceptable.";
    };
    approvedBy = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "ISSO J. Doe";
      description = "Who accepted the risk.";
    };
    expires = mkOption {
      type = types.nullOr (types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}");
      default = null;
      example = "2027-06-30";
      description = "Date (YYYY-MM-DD) after which the waiver no longer counts.";
    };
    ticket = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "POAM-1234";
      description = "Change or POA&M ticket tracking the deviation.";
    };
  };
in
{
  options.services.secureMattermost = {
    enable = lib.mkEnableOption "a hardened, NIST SP 800-53 mapped Mattermost deployment";

    mode = withMeta {
      # Absolute paths, so the server never depends on its working directory.
      sets = [
        { setting = "PluginSettings.Directory"; map = { baremetal = "/var/lib/mattermost/plugins"; }; }
        { setting = "PluginSettings.ClientDirectory"; map = { baremetal = "/var/lib/mattermost/client-plugins"; }; }
        { setting = "LogSettings.FileLocation"; map = { baremetal = "/var/log/mattermost"; }; }
        {
          setting = "ExperimentalAuditSettings.FileName";
          map = {
            baremetal = "/var/log/mattermost/audit.log";
            kubernetes = "/mattermost/logs/audit.log";
          };
        }
      ];
    } (mkOption {
      type = types.enum [
        "kubernetes"
        "baremetal"
      ];
      example = "kubernetes";
      description = ''
        Deployment target. `kubernetes` renders `values.yaml` for the official
        `mattermost` Helm chart and a `Mattermost` custom resource for the operator;
        `baremetal` renders `config.json`, a systemd unit and an nginx TLS proxy.
      '';
    });

    domain = withKind "dnsName" (withMeta {
      sets = [
        { setting = "ServiceSettings.SiteURL"; template = "https://{}"; }
        { setting = "SamlSettings.ServiceProviderIdentifier"; template = "https://{}/login/sso/saml"; when = [ saml ]; }
        { setting = "SamlSettings.AssertionConsumerServiceURL"; template = "https://{}/login/sso/saml"; when = [ saml ]; }
      ];
    } (mkOption {
      type = types.strMatching "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z]{2,63}";
      example = "chat.example.com";
      description = "Public DNS name users reach Mattermost at; the site URL is `https://<domain>`.";
    }));

    siteName = withKind "siteName" (withMeta { sets = [ { setting = "TeamSettings.SiteName"; } ]; } (mkOption {
      type = types.strMatching ".{1,30}";
      default = "Mattermost";
      example = "Program Chat";
      description = "Name shown in the web application (at most 30 characters).";
    }));

    allowGuestUsers = withMeta {
      sets = [ { setting = "GuestAccountsSettings.Enable"; } ];
      answers = [ "guest-accounts-disabled" ];
    } (mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Allow guest accounts. `true` fails the policy check unless `justification.allowGuestUsers` is set.";
    });

    allowOpenSignup = withMeta {
      sets = [ { setting = "TeamSettings.EnableOpenServer"; } ];
      answers = [ "open-signup-disabled" ];
    } (mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Allow self-registration without an invitation. `true` fails unless justified.";
    });

    airGapped = withMeta { answers = [ "security-update-check-off" ]; } (mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = "The site has no egress to the Internet: every outbound call to vendor services must be off.";
    });

    replicas = withMeta { sets = [ { setting = "ClusterSettings.Enable"; greaterThan = 1; } ]; } (mkOption {
      type = types.ints.positive;
      default = 1;
      example = 3;
      description = "Number of Mattermost application nodes. More than one needs shared file storage (S3 or NFS) and a licence with clustering.";
    });

    justification = mkOption {
      type = types.attrsOf (types.either types.str justificationRecord);
      default = { };
      example = literalExpression ''{ allowGuestUsers = { reason = "Scoped exception"; approvedBy = "ISSO"; expires = "2027-01-31"; }; }'';
      description = ''
        Justified deviations, keyed by catalog rule id (or, for rules tied to an
        option, by the option name such as `allowGuestUsers`). A plain string is
        the reason, and is recorded in the evidence as an undated waiver. A
        structured record needs `approvedBy` (not blank) and a real calendar date
        in `expires`, at most `policy.maxWaiverDays` after the policy date.
        Placeholders (empty, TODO, TBD, n/a, a lone word, …), past or too-distant
        expiry dates and waivers of non-waivable rules are refused by the policy
        check, with every reason listed.
      '';
    };

    vulnerabilityWaivers = mkOption {
      type = types.attrsOf justificationRecord;
      default = { };
      example = literalExpression ''{ "GO-2026-5845" = { reason = "Fixed in 11.4.5; upgrade scheduled for the next window"; approvedBy = "ISSO J. Doe"; expires = "2027-03-31"; ticket = "POAM-77"; }; }'';
      description = ''
        Accepted vulnerabilities of the Mattermost server binary, keyed by the
        id the OSV database gives them (`GO-YYYY-NNNN`). Used when the server is
        scanned (`render --scan-binary … --vuln-db …`, `scan --input`, the
        flake's `vulnDb`, `nixos.vulnerabilityDb`): a finding fails unless
        waived here. Judged like a structured `justification`, and stricter: a
        real reason, `approvedBy`, and an `expires` date that has not passed and
        is at most `policy.maxWaiverDays` after the policy date. A waiver for an
        id the binary is not affected by is reported as stale. Each waived
        finding is a POA&M item with the waiver's expiry as its deadline.
      '';
    };

    policy.maxWaiverDays = mkOption {
      type = types.ints.positive;
      default = 365;
      example = 180;
      description = ''
        Longest a structured justification may run: its `expires` date may be at
        most this many days after the policy date (`--today`, else
        `nixos.policyDate`, else the clock). A waiver that runs longer fails the
        policy check, so every exception comes back for review.
      '';
    };

    settings = mkOption {
      type = smTypes.jsonValue;
      default = { };
      example = literalExpression "{ TeamSettings.SiteName = \"Ops\"; ServiceSettings.SessionLengthWebInHours = 8; }";
      description = ''
        Free-form Mattermost configuration merged over the hardened defaults. It is
        checked against the same catalog, so it cannot weaken a rule without a
        justification; keys unknown to the pinned Mattermost version are refused.
        Secrets are refused here as everywhere else.
      '';
    };

    mattermost = {
      version = withKind "imageTag" (mkOption {
        type = types.enum [ pin.version ];
        default = pin.version;
        example = pin.version;
        description = "Pinned Mattermost server release; the catalog and the known settings keys follow it.";
      });
      image = withKind "imageRepository" (mkOption {
        type = types.str;
        default = "mattermost/mattermost-enterprise-edition";
        example = "registry.example.mil/mattermost/mattermost-enterprise-edition";
        description = "Container image repository (Kubernetes mode), typically a mirror inside the enclave.";
      });
      imageDigest = withKind "digest" (mkOption {
        type = types.nullOr (types.strMatching "sha256:[0-9a-f]{64}");
        default = null;
        example = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        description = "Image digest to pin (Kubernetes mode). Unset leaves an advisory finding: tags are mutable.";
      });
    };

    license = {
      edition = withMeta { answers = [ "licence-sso" ]; } (mkOption {
        type = types.enum [
          "enterprise-advanced"
          "enterprise"
          "professional"
          "entry"
          "team"
        ];
        default = "enterprise";
        example = "team";
        description = "Licensed edition. `team` means no licence: settings only a licence honours are reported as ineffective.";
      });
      file = smTypes.mkFileOption {
        default = "/run/secrets/mattermost/license";
        what = "the Mattermost licence";
        # The server reads the licence from a file: it gets the credential's path.
        secret = {
          setting = "ServiceSettings.LicenseFileLocation";
          credential = "license";
          pathOnly = true;
          when = [ { option = "license.edition"; notIn = [ "team" ]; } ];
        };
      };
      kubernetesSecret = smTypes.mkKubernetesSecretOption {
        name = "mattermost-license";
        key = "license";
        what = "the Mattermost licence";
      };
    };

    classificationBanner = {
      text = withKind "freeText" (withMeta {
        sets = [
          { setting = "AnnouncementSettings.EnableBanner"; notNull = true; }
          { setting = "AnnouncementSettings.BannerText"; skipNull = true; }
        ];
        answers = [ "classification-banner" ];
      } (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "UNCLASSIFIED//FOR OFFICIAL USE ONLY - authorised use only, monitored";
        description = "Classification / system-use banner shown on every page. Unset leaves an advisory finding (AC-8).";
      }));
      color = withKind "hexColor" (withMeta { sets = [ { setting = "AnnouncementSettings.BannerColor"; } ]; } (mkOption {
        type = types.strMatching "#[0-9a-fA-F]{6}";
        default = "#007a33";
        example = "#502b85";
        description = "Banner background colour.";
      }));
      textColor = withKind "hexColor" (withMeta { sets = [ { setting = "AnnouncementSettings.BannerTextColor"; } ]; } (mkOption {
        type = types.strMatching "#[0-9a-fA-F]{6}";
        default = "#ffffff";
        example = "#000000";
        description = "Banner text colour.";
      }));
    };

    tls = {
      certificateFile = mkOption {
        type = smTypes.absolutePathString;
        default = "/etc/ssl/mattermost/fullchain.pem";
        example = "/etc/pki/tls/certs/chat.pem";
        description = "Certificate chain the nginx proxy serves (bare-metal mode).";
      };
      keyFile = smTypes.mkFileOption {
        default = "/run/secrets/mattermost/tls.key";
        what = "the proxy's TLS private key";
      };
    };
  };
}
