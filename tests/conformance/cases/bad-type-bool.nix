# A Boolean given as a string.
{
  services.secureMattermost.mode = "baremetal";
  services.secureMattermost.domain = "chat.example.com";
  services.secureMattermost.allowGuestUsers = "no";
}
# diagnostic: option_type 5:47
