# A misspelt secret option: refused naming the option, never the value.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    smtp.passwd = "hunter2-misspelt";
  };
}
# secret: hunter2-misspelt
# diagnostic: undeclared_option 6:10
