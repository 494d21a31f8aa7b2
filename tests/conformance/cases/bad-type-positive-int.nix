# replicas must be positive.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    replicas = 0;
  };
}
# diagnostic: option_type 6:16
