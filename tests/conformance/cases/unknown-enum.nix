# A mode the module does not know.
{
  services.secureMattermost = {
    mode = "docker";
    domain = "chat.example.com";
  };
}
# diagnostic: option_type 4:12
