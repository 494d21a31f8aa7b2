# A setting defined as a string in one module and a number in another.
{
  imports = [ { services.secureMattermost.settings.TeamSettings.MaxUsersPerTeam = "50"; } ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.TeamSettings.MaxUsersPerTeam = 50;
  };
}
# diagnostic: conflict 7:45
