# A no-break space between tokens: whitespace to rnix, an invalid token to
# Nix's lexer (which knows only space, tab, CR and LF), so refused.
# diagnostic: parse 7:33
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com"; siteName = "Ops";
  };
}
