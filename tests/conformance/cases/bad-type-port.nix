# A port given as a string.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database.port = "5432";
  };
}
# diagnostic: option_type 6:21
