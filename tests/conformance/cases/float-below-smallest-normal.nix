# A float literal just below the smallest normal double (it rounds to it, but glibc's strtod reports the underflow): Nix's lexer refuses it (`invalid float`/`invalid integer`).
# diagnostic: parse 7:30
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.Numbers.value = 2.2250738585072012e-308;
  };
}
