# mkOptionDefault has the option default's own priority: both count.
{ lib, ... }:
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    database.sslMode = lib.mkOptionDefault "require";
  };
}
# diagnostic: conflict 7:44
