# A password without spaces pasted into a `…File` option (not absolute).
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    smtp.passwordFile = "Tr0ub4dor&3";
  };
}
# secret: Tr0ub4dor&3
# diagnostic: option_type 6:25
