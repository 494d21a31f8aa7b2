# An undeclared option below declared option sets, and one holding a set.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    auth.oidc.secret = "oidc-client-s3cret";
    smtpSettings = { password = "smtp-settings-pw"; };
  };
}
# secret: oidc-client-s3cret
# secret: smtp-settings-pw
# diagnostic: undeclared_option 6:15
