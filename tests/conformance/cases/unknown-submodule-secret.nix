# A secret value put where only a Secret reference belongs.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    database.kubernetesSecret.value = "postgres-superuser-pw";
  };
}
# secret: postgres-superuser-pw
# diagnostic: undeclared_option 6:31
