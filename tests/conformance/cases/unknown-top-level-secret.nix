# A misspelt top-level name (`service`) holding a secret.
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
  service.secureMattermost.database.password = "top-level-typo-pw";
}
# secret: top-level-typo-pw
# diagnostic: undeclared_option 5:3
