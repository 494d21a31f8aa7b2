# A path literal outside imports would copy the file into the store.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database.caFile = ./ca.pem;
  };
}
# diagnostic: path_literal 6:23
