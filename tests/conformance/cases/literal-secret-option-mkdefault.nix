# A trap defined with mkDefault still beats its null default.
{ lib, ... }:
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    smtp.password = lib.mkDefault "hunter2";
    license.text = null;
  };
}
# secret: hunter2
