# A database host that would add parameters to the connection URL.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    database.host = "db/mm?sslmode=disable&x=";
  };
}
# diagnostic: option_type 6:21
