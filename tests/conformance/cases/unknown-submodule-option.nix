# An option a submodule does not declare.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    database.kubernetesSecret = {
      name = "db";
      namespace = "other";
    };
  };
}
# diagnostic: undeclared_option 8:7
