# A Nix path literal in a `…File` option would copy the file (the secret)
# into the world-readable store.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    smtp.passwordFile = ./smtp-password;
  };
}
# diagnostic: path_literal 7:25
