# An option no module declares.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    replica = 2;
  };
}
# diagnostic: undeclared_option 6:5
