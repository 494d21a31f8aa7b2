# Stand-in for nixpkgs' nixos/modules/services/databases/postgresql.nix: the
# options modules/nixos.nix sets. `settings` is a submodule with a free-form
# attrsOf (bool | float | int | str) and a few declared keys, as there.
# Revision: faukah/nixpkgs 3b20077cd82fd1f099e92e2792d73e3176d4869d.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.postgresql;
  clause = mkOption { type = types.nullOr types.bool; default = null; };
in
{
  options.services.postgresql = {
    enable = mkOption { type = types.bool; default = false; };
    package = mkOption { type = types.package; default = pkgs.postgresql; };
    finalPackage = mkOption {
      type = types.package;
      readOnly = true;
      default = cfg.package;
    };
    dataDir = mkOption { type = types.path; default = "/var/lib/postgresql"; };
    enableTCPIP = mkOption { type = types.bool; default = false; };
    authentication = mkOption { type = types.lines; default = ""; };
    identMap = mkOption { type = types.lines; default = ""; };
    initialScript = mkOption { type = types.nullOr types.path; default = null; };
    ensureDatabases = mkOption { type = types.listOf types.str; default = [ ]; };
    ensureUsers = mkOption {
      type = types.listOf (types.submodule {
        options = {
          name = mkOption { type = types.str; };
          ensureDBOwnership = mkOption { type = types.bool; default = false; };
          ensureClauses = mkOption {
            type = types.submodule {
              options = {
                superuser = clause;
                createrole = clause;
                createdb = clause;
                "inherit" = clause;
                login = clause;
                replication = clause;
                bypassrls = clause;
              };
            };
            default = { };
          };
        };
      });
      default = [ ];
    };
    settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf (types.oneOf [ types.bool types.float types.int types.str ]);
        options = {
          port = mkOption { type = types.port; default = 5432; };
          log_line_prefix = mkOption { type = types.str; default = "[%p] "; };
        };
      };
      default = { };
    };
  };
}
