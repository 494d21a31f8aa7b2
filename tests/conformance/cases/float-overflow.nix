# An overflowing float literal: Nix's lexer refuses it (`invalid float`/`invalid integer`).
# diagnostic: parse 7:30
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.Numbers.value = 1.0e400;
  };
}
