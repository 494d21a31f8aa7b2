# A value where a set of options is expected.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    auth = "oidc";
  };
}
# diagnostic: option_type 6:12
