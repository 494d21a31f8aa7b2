# Submodule options merge per field across modules; defaults fill the rest.
{ lib, ... }:
{
  imports = [ { services.secureMattermost.fileStorage.s3.kubernetesSecret.name = "minio"; } ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    fileStorage.s3.kubernetesSecret = lib.mkMerge [
      { accessKeyIdKey = "AWS_ACCESS_KEY_ID"; }
      (lib.mkIf false { secretAccessKeyKey = "never"; })
    ];
    database.kubernetesSecret = { };
    license.kubernetesSecret = lib.mkIf false { name = "never"; };
  };
}
