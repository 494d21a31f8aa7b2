# One key defined as a string in one module and a set in another.
{
  imports = [ { services.secureMattermost.justification.allowGuestUsers = "short reason"; } ];
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    justification.allowGuestUsers.reason = "long reason";
  };
}
# diagnostic: option_type 7:5
