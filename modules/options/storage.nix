{ lib, ... }:
let
  inherit (lib) mkOption types literalExpression;
  smTypes = import ../types.nix { inherit lib; };
  inherit (smTypes) withMeta withKind;
  s3 = smTypes.optionIs "fileStorage.driver" "s3";
  onS3 = setting: withMeta { sets = [ { inherit setting; when = [ s3 ]; } ]; };
in
{
  options.services.secureMattermost.fileStorage = {
    driver = withMeta {
      sets = [
        {
          setting = "FileSettings.DriverName";
          map = {
            s3 = "amazons3";
            nfs = "local";
            local = "local";
          };
        }
      ];
    } (mkOption {
      type = types.enum [
        "s3"
        "nfs"
        "local"
      ];
      default = "s3";
      example = "nfs";
      description = ''
        Where uploaded files live. `s3` (any S3 API, e.g. MinIO), `nfs` (Mattermost's
        local driver on a shared mount) or `local` (a node-local directory, which
        cannot serve more than one replica).
      '';
    });
    directory = withMeta {
      sets = [ { setting = "FileSettings.Directory"; when = [ { option = "fileStorage.driver"; "in" = [ "nfs" "local" ]; } ]; } ];
    } (mkOption {
      type = smTypes.absolutePathString;
      default = "/var/lib/mattermost/data";
      example = "/srv/mattermost-nfs/data";
      description = "Directory for the `local` and `nfs` drivers.";
    });
    volumeClaimName = withKind "dns1123Subdomain" (mkOption {
      type = types.str;
      default = "mattermost-files";
      example = "chat-nfs-files";
      description = "Existing PersistentVolumeClaim (in the release namespace) holding the shared `directory` when `driver` is `nfs` in Kubernetes mode. Unused otherwise.";
    });
    s3 = {
      endpoint = withKind "hostPort" (withMeta {
        sets = [ { setting = "FileSettings.AmazonS3Endpoint"; when = [ s3 ]; computed = "s3Endpoint"; } ];
      } (mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "minio.storage.svc:9000";
        description = ''
          S3 endpoint host[:port]. Null means the in-cluster MinIO tenant in
          Kubernetes mode with `kubernetes.minio.enable`, and is refused
          otherwise when `driver` is `s3`: there is no vendor default, so an
          air-gapped site never points at a public cloud by omission.
        '';
      }));
      bucket = withKind "s3Bucket" (onS3 "FileSettings.AmazonS3Bucket" (mkOption {
        type = types.str;
        default = "mattermost";
        example = "chat-files";
        description = "Bucket name.";
      }));
      region = withKind "s3Region" (onS3 "FileSettings.AmazonS3Region" (mkOption {
        type = types.str;
        default = "us-east-1";
        example = "us-gov-west-1";
        description = "Bucket region.";
      }));
      accessKeyIdFile = smTypes.mkFileOption {
        default = "/run/secrets/mattermost/s3-access-key-id";
        what = "the S3 access key id";
        secret = {
          setting = "FileSettings.AmazonS3AccessKeyId";
          credential = "s3-access-key-id";
          when = [ s3 ];
        };
      };
      secretAccessKeyFile = smTypes.mkFileOption {
        default = "/run/secrets/mattermost/s3-secret-access-key";
        what = "the S3 secret access key";
        secret = {
          setting = "FileSettings.AmazonS3SecretAccessKey";
          credential = "s3-secret-access-key";
          when = [ s3 ];
        };
      };
      kubernetesSecret = mkOption {
        type = smTypes.closedSubmodule {
          name = withKind "dns1123Subdomain" (mkOption {
            type = types.str;
            default = "mattermost-s3";
            example = "minio-mattermost";
            description = "Name of an existing Secret with the S3 credentials.";
          });
          accessKeyIdKey = withKind "secretKey" (mkOption {
            type = types.str;
            default = "accesskey";
            example = "AWS_ACCESS_KEY_ID";
            description = "Key of the access key id.";
          });
          secretAccessKeyKey = withKind "secretKey" (mkOption {
            type = types.str;
            default = "secretkey";
            example = "AWS_SECRET_ACCESS_KEY";
            description = "Key of the secret access key.";
          });
        };
        default = { };
        defaultText = lib.literalMD "Secret mattermost-s3 with keys accesskey and secretkey (the operator's names)";
        example = literalExpression ''{ name = "minio-mattermost"; }'';
        description = "Existing Secret with the S3 credentials (Kubernetes mode).";
      };
    };
  };
}
