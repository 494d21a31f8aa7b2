# Importing a directory imports its default.nix, as Nix's `import` does.
{
  imports = [ ./imports/directory ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
  };
}
