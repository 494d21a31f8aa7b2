# mkIf needs a Boolean.
{ lib, ... }:
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    siteName = lib.mkIf "yes" "Chat";
  };
}
# diagnostic: eval 7:25
