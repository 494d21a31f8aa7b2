# An undeclared option whose value is a set: named where lib would name it.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    credentials = { database.password = "set-valued-secret"; };
  };
}
# secret: set-valued-secret
# diagnostic: undeclared_option 6:5
