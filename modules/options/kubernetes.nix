{ lib, ... }:
let
  inherit (lib) mkOption types;
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withKind;
in
{
  # Kubernetes mode: the per-environment objects rendered beside the chart
  # values (namespace, NetworkPolicies, certificates, the database and object
  # store resources, monitoring, secret sync). Unused in bare-metal mode.
  options.services.secureMattermost = {
    kubernetes = {
      namespace = withKind "dns1123Label" (mkOption {
        type = types.str;
        default = "mattermost";
        example = "chat";
        description = "Namespace of the release (Kubernetes mode). Rendered with the Pod Security `restricted` labels.";
      });
      ingressClassName = withKind "dns1123Subdomain" (mkOption {
        type = types.str;
        default = "nginx";
        example = "traefik";
        description = "Ingress class (Kubernetes mode).";
      });
      tlsSecretName = withKind "dns1123Subdomain" (mkOption {
        type = types.str;
        default = "mattermost-tls";
        example = "chat-example-com-tls";
        description = "TLS Secret of the ingress (Kubernetes mode); the rendered cert-manager `Certificate` writes it.";
      });
      deployWith = mkOption {
        type = types.enum [
          "helm"
          "operator"
        ];
        default = "helm";
        example = "operator";
        description = ''
          How the application is deployed: `helm` (the official chart, its
          output patched by `secure-mattermost post-render`) or `operator` (a
          `Mattermost` resource for mattermost-operator). Labels and
          NetworkPolicy selectors follow the choice.
        '';
      };
      podSecurityLevel = mkOption {
        type = types.enum [
          "restricted"
          "baseline"
          "privileged"
        ];
        default = "restricted";
        example = "baseline";
        description = "Pod Security level the namespace enforces, audits and warns at. Anything but `restricted` fails the policy check unless justified.";
      };
      networkPolicies = mkOption {
        type = types.bool;
        default = true;
        example = false;
        description = "Render the NetworkPolicies (default deny, then only the paths the deployment needs). `false` fails the policy check unless justified.";
      };
      runAsUser = mkOption {
        type = types.int;
        default = 2000;
        example = 2001;
        description = ''
          User (and group) id the application pods run as: the official image's
          own user by default. 0 (root) fails the policy check unless justified;
          a negative id is refused.
        '';
      };
      ingressNamespace = withKind "dns1123Label" (mkOption {
        type = types.str;
        default = "ingress-nginx";
        example = "ingress";
        description = "Namespace of the ingress controller: the only source allowed to reach the application port.";
      });
      monitoringNamespace = withKind "dns1123Label" (mkOption {
        type = types.str;
        default = "monitoring";
        example = "observability";
        description = "Namespace of Prometheus: the only source allowed to reach the metrics port.";
      });
      imageRegistry = withKind "hostPort" (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "registry.internal.example:5000";
        description = ''
          Internal registry every rendered image is pulled from (host[:port]).
          On an air-gapped site an image outside it is an external dependency
          and fails the air-gap rule unless justified.
        '';
      });
      storageClassName = withKind "dns1123Subdomain" (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "encrypted-ssd";
        description = "Storage class (encrypted at rest, provided once per cluster) of the database and object-store volumes; null uses the cluster default.";
      });
      certificates = {
        issuer = mkOption {
          type = types.enum [
            "internalCA"
            "acme"
          ];
          default = "internalCA";
          example = "acme";
          description = ''
            cert-manager issuer of the ingress, database and object-store
            certificates: a CA issuer backed by the site's internal CA
            (`caSecretName`), or ACME, which needs Internet access and is
            refused on an air-gapped site unless justified.
          '';
        };
        caSecretName = withKind "dns1123Subdomain" (mkOption {
          type = types.str;
          default = "mattermost-internal-ca";
          example = "site-ca-keypair";
          description = "Secret (`tls.crt`, `tls.key`) holding the internal CA the CA issuer signs with; provided by the site.";
        });
        acmeServer = withKind "url" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "https://acme.internal.example/directory";
          description = "ACME directory URL when `issuer` is `acme`.";
        });
        acmeEmail = withKind "freeText" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "pki@example.com";
          description = "Contact address registered with the ACME server.";
        });
      };
      postgresql = {
        enable = mkOption {
          type = types.bool;
          default = true;
          example = false;
          description = ''
            Render a Zalando postgres-operator `postgresql` resource for the
            database. Its service name is `database.host`, which must then
            start with `teamId` and a hyphen. The connection string is composed
            from the declared host, port, name and `sslMode` with the password
            from the operator's credentials Secret, so the database TLS rules
            are checked on Kubernetes too. `false`: an external database whose
            connection string comes from `database.kubernetesSecret`.
          '';
        };
        teamId = withKind "dns1123Label" (mkOption {
          type = types.str;
          default = "mattermost";
          example = "chat";
          description = "postgres-operator team id (the cluster name's prefix).";
        });
        version = mkOption {
          type = types.enum [
            "14"
            "15"
            "16"
            "17"
          ];
          default = "16";
          example = "17";
          description = "PostgreSQL major version.";
        };
        instances = mkOption {
          type = types.ints.positive;
          default = 2;
          example = 3;
          description = "Database instances (one primary, the rest streaming replicas).";
        };
        volumeSize = withKind "quantity" (mkOption {
          type = types.str;
          default = "20Gi";
          example = "100Gi";
          description = "Volume size of each database instance (a Kubernetes quantity).";
        });
        image = withKind "imageRepository" (mkOption {
          type = types.str;
          default = "ghcr.io/zalando/spilo-17";
          example = "registry.internal.example/zalando/spilo-17";
          description = "Image of the database (Spilo) (pulled from `kubernetes.imageRegistry` when set and the repository names no registry).";
        });
        imageDigest = withKind "digest" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
          description = "Digest the database (Spilo) is pinned by. Null leaves the operator's default image, which an air-gapped site fails on unless justified.";
        });
        backupSchedule = withKind "cronSchedule" (mkOption {
          type = types.str;
          default = "30 2 * * *";
          example = "0 */6 * * *";
          description = "Base-backup schedule (five-field cron) of the database to the backup bucket.";
        });
      };
      minio = {
        enable = mkOption {
          type = types.bool;
          default = true;
          example = false;
          description = ''
            Render a MinIO operator `Tenant` for the file store (TLS,
            server-side encryption through KES) with the bucket Mattermost
            uses and a backup bucket. When on and `fileStorage.s3.endpoint` is
            null, the endpoint is the tenant's in-cluster service.
          '';
        };
        tenantName = withKind "dns1123Label" (mkOption {
          type = types.str;
          default = "mattermost-files";
          example = "chat-files";
          description = "Name of the MinIO tenant.";
        });
        servers = mkOption {
          type = types.ints.positive;
          default = 4;
          example = 8;
          description = "MinIO servers in the tenant's pool (4 or more gives erasure coding across servers).";
        };
        volumeSize = withKind "quantity" (mkOption {
          type = types.str;
          default = "100Gi";
          example = "1Ti";
          description = "Volume size of each MinIO server.";
        });
        image = withKind "imageRepository" (mkOption {
          type = types.str;
          default = "quay.io/minio/minio";
          example = "registry.internal.example/minio/minio";
          description = "Image of the MinIO servers (pulled from `kubernetes.imageRegistry` when set and the repository names no registry).";
        });
        imageDigest = withKind "digest" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
          description = "Digest the MinIO servers is pinned by. Null leaves the operator's default image, which an air-gapped site fails on unless justified.";
        });
        kesSecretName = withKind "dns1123Subdomain" (mkOption {
          type = types.str;
          default = "mattermost-files-kes";
          example = "minio-kes-config";
          description = "Secret with the KES configuration (the key store MinIO's server-side encryption uses); provided by the site.";
        });
      };
      backups = {
        bucket = withKind "s3Bucket" (mkOption {
          type = types.str;
          default = "mattermost-backups";
          example = "chat-backups";
          description = "Bucket receiving the database base backups and WAL and the copies of the file store.";
        });
        schedule = withKind "cronSchedule" (mkOption {
          type = types.str;
          default = "15 3 * * *";
          example = "0 4 * * 0";
          description = "Schedule (five-field cron) of the file-store copy into the backup bucket.";
        });
        retentionDays = mkOption {
          type = types.ints.positive;
          default = 30;
          example = 90;
          description = "Days a file-store copy and a database backup are kept.";
        };
        image = withKind "imageRepository" (mkOption {
          type = types.str;
          default = "minio/mc";
          example = "registry.internal.example/minio/mc";
          description = "Image of the MinIO client that copies the file store (pulled from `imageRegistry` when set).";
        });
        imageDigest = withKind "digest" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
          description = "Digest the backup image is pinned by; required on an air-gapped site.";
        });
      };
    };

    airGap.internalDomains = withKind "dnsName" (mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "internal.example" ];
      description = ''
        DNS suffixes that are inside the site. A URL or image is internal when
        its host is a cluster Service name (`*.svc`, `*.cluster.local`, or a
        single label) or lies under one of these; anything else in a
        deployable manifest of an air-gapped site fails the air-gap rule
        unless justified.
      '';
    });

    secrets = {
      backend = mkOption {
        type = types.enum [
          "kubernetes"
          "vault"
        ];
        default = "kubernetes";
        example = "vault";
        description = ''
          Where the Kubernetes Secrets named by the `kubernetesSecret` options
          come from: created by the site (`kubernetes`), or synchronised from
          Vault by External Secrets (`vault`: an `ExternalSecret` per Secret and
          a `SecretStore` are rendered). Either way only references are rendered.
        '';
      };
      vault = {
        server = withKind "url" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "https://vault.internal.example:8200";
          description = "Vault address (required when `backend` is `vault`).";
        });
        mount = withKind "vaultPath" (mkOption {
          type = types.str;
          default = "secret";
          example = "kv";
          description = "Mount path of the KV version 2 secrets engine.";
        });
        path = withKind "vaultPath" (mkOption {
          type = types.str;
          default = "mattermost";
          example = "chat/prod";
          description = "Path prefix inside the mount under which each Kubernetes Secret is one Vault secret of the same name (one property per key).";
        });
        role = withKind "dns1123Subdomain" (mkOption {
          type = types.str;
          default = "mattermost";
          example = "chat-prod";
          description = "Vault Kubernetes-auth role the SecretStore logs in with.";
        });
        authMountPath = withKind "vaultPath" (mkOption {
          type = types.str;
          default = "kubernetes";
          example = "k8s-prod";
          description = "Mount path of Vault's Kubernetes auth method.";
        });
        caSecretName = withKind "dns1123Subdomain" (mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "vault-ca";
          description = "Secret whose `ca.crt` verifies Vault's certificate; null trusts the system roots.";
        });
      };
    };
  };
}
