# Attribute names computed at evaluation time.
let
  section = "TeamSettings";
  key = "MaxChannelsPerTeam";
in
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.${section}.${key} = 2000;
    settings."Service${"Settings"}"."Enable${"Link"}Previews" = false;
    settings."Plain Key" = "quoted";
    settings.${null} = "left out";
  };
}
