# Stand-in for nixpkgs' nixos/modules/services/web-apps/mattermost.nix: the
# options modules/nixos.nix sets or relies on, with their types and defaults.
# Revision: faukah/nixpkgs 3b20077cd82fd1f099e92e2792d73e3176d4869d; the same
# names, types and defaults in NixOS/nixpkgs' stored copy of the file and in
# numinit/nixpkgs 59251bd5915d91d6f4b3da0c455a7db44adee88c (the module's
# maintainer). Facts this relies on: telemetry.enableSecurityAlerts defaults
# to true, database.extraConnectionOptions to sslmode = "disable", and
# database.password to a fixed well-known string.
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  bool = default: mkOption { type = types.bool; inherit default; };
  str = default: mkOption { type = types.str; inherit default; };
in
{
  options.services.mattermost = {
    enable = bool false;
    package = mkOption { type = types.package; default = pkgs.mattermost; };
    siteUrl = mkOption { type = types.str; };
    siteName = str "Mattermost";
    host = str "127.0.0.1";
    port = mkOption { type = types.port; default = 8065; };
    dataDir = mkOption { type = types.path; default = "/var/lib/mattermost"; };
    logDir = mkOption { type = types.path; default = "/var/log/mattermost"; };
    configDir = mkOption { type = types.path; default = "/etc/mattermost"; };
    mutableConfig = bool false;
    preferNixConfig = bool true;
    user = str "mattermost";
    group = str "mattermost";
    telemetry = {
      enableSecurityAlerts = bool true;
      enableDiagnostics = bool false;
    };
    environment = mkOption { type = types.attrsOf (types.either types.int types.str); default = { }; };
    environmentFile = mkOption { type = types.nullOr types.path; default = null; };
    database = {
      driver = mkOption { type = types.enum [ "postgres" "mysql" ]; default = "postgres"; };
      create = bool true;
      peerAuth = bool false;
      socketPath = mkOption { type = types.path; default = "/run/postgresql"; };
      fromEnvironment = bool false;
      name = str "mattermost";
      host = str "localhost";
      port = mkOption { type = types.port; default = 5432; };
      user = str "mattermost";
      password = str "mmpgsecret";
      extraConnectionOptions = mkOption {
        type = types.attrsOf (types.either types.int types.str);
        default = {
          sslmode = "disable";
          connect_timeout = 60;
        };
      };
    };
  };
}
