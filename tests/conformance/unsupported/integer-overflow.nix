# Integer overflow: Nix 2.8 wraps around (to -9223372036854775808 here), newer
# Nix refuses; the built-in evaluator refuses too rather than pick one.
# diagnostic: unsupported 6:42
{
  services.secureMattermost = { mode = "kubernetes"; domain = "chat.example.com"; };
  services.secureMattermost.settings.X = 9223372036854775807 + 1;
}
