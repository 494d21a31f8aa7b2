# A file path with a semicolon (shell and unit-file injection).
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    license.file = "/run/secrets/license;touch /tmp/pwned";
  };
}
# diagnostic: option_type 6:20
