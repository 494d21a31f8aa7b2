# Secret-looking option names (database.password, smtp.password, ...) are declared
# from the catalog's list so that setting one fails with a fixed message that
# never echoes the value. The same list strips them from the evaluated document.
{ lib, ... }:
let
  catalog = import ../catalog.nix;
  smTypes = import ../types.nix { inherit lib; };
in
{
  options.services.secureMattermost = lib.foldl' lib.recursiveUpdate { } (
    map (
      trap: lib.setAttrByPath (lib.splitString "." trap.option) (smTypes.mkSecretTrapOption trap.use)
    ) catalog.secrets.trapOptions
  );
}
