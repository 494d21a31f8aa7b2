# `0.` is a float to rnix but the integer 0 and a `.` to Nix's lexer (a float
# needs a digit after `0.`): refused rather than guessed.
# diagnostic: unsupported 6:42
{
  services.secureMattermost = { mode = "kubernetes"; domain = "chat.example.com"; };
  services.secureMattermost.settings.X = 0.;
}
