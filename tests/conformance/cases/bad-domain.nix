# A domain that does not match the option's pattern.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "Chat_Example";
  };
}
# diagnostic: option_type 5:14
