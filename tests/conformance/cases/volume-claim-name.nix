# NFS file storage in Kubernetes mode, on an existing PersistentVolumeClaim.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    replicas = 2;
    fileStorage = {
      driver = "nfs";
      directory = "/mattermost/data";
      volumeClaimName = "chat-nfs-files";
    };
  };
}
