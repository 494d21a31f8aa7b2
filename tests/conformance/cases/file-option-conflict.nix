# Two different definitions of a file path at the same priority.
{
  imports = [ { services.secureMattermost.database.caFile = "/etc/ssl/a.pem"; } ];
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database.caFile = "/etc/ssl/b.pem";
  };
}
# diagnostic: conflict 7:23
