# An undeclared option from an imported directory: lib names the module by the
# directory (not its default.nix); so does the evaluator.
{
  imports = [ ./imports/directory-unknown ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
  };
}
