# An integer literal beyond 64 bits: Nix's lexer refuses it (`invalid float`/`invalid integer`).
# diagnostic: parse 7:30
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.Numbers.value = 9223372036854775808;
  };
}
