# Stand-ins for the NixOS options modules/nixos.nix sets, written for this
# repository's tests: our own minimal `mkOption`s with the names, types and
# defaults of the nixpkgs options (no nixpkgs text or code), and, in
# upstream-definitions.nix, the few definitions nixpkgs' own modules make
# that ours override or extend, so a missing `mkForce` or a merge conflict
# shows up here as it would on NixOS.
#
# Revision read (names, types, defaults): faukah/nixpkgs
# 3b20077cd82fd1f099e92e2792d73e3176d4869d, the one snapshot in reach that
# holds all of these modules at a single revision; cross-checked against
# NixOS/nixpkgs (see docs/baremetal.md, "NixOS").
{
  imports = [
    ./system.nix
    ./mattermost.nix
    ./nginx.nix
    ./postgresql.nix
    ./nftables.nix
    ./upstream-definitions.nix
  ];
}
