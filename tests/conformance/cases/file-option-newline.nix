# A file path with a newline (a new line in the rendered unit).
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    auth.ldap.bindPasswordFile = "/run/secrets/ldap\nExecStartPre=/bin/sh -c id";
  };
}
# diagnostic: option_type 6:34
