# services.secureMattermost: the declaration. It holds option values only;
# the policy engine and every renderer live in the Rust helper, which reads
# the evaluated document produced by ./document.nix.
{ ... }:
{
  imports = [
    ./options/core.nix
    ./options/kubernetes.nix
    ./options/baremetal.nix
    ./options/auth.nix
    ./options/database.nix
    ./options/storage.nix
    ./options/integrations.nix
    ./options/secret-settings.nix
    ./options/secret-traps.nix
  ];
}
