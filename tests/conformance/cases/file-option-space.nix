# A file path with a space (it would split a systemd credential line).
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    tls.keyFile = "/run/keys/tls key.pem";
  };
}
# diagnostic: option_type 6:19
