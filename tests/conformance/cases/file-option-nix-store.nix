# A path that leads into /nix/store once `..` is resolved.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    fileStorage.directory = "/var/lib/../../nix/store/0000-data";
  };
}
# diagnostic: option_type 6:29
