# Stand-in for the parts of NixOS's core option tree the module touches:
# assertions/warnings (nixos/modules/misc/assertions.nix), systemd.packages
# systemd.services.<name> and systemd.timers.<name>
# (nixos/modules/system/boot/systemd.nix with
# nixos/lib/systemd-unit-options.nix), networking.firewall.enable.
# Revision: faukah/nixpkgs 3b20077cd82fd1f099e92e2792d73e3176d4869d.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  # A unit-file value as NixOS merges it: when any definition is a list,
  # every definition is turned into a list and they are concatenated; when
  # none is, all definitions must be equal (lib's mergeEqualOption), so two
  # modules setting different scalars at the same priority is an error.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      if lib.all (d: !builtins.isList d.value) defs then
        lib.mergeEqualOption loc defs
      else
        lib.concatMap (d: lib.toList d.value) defs;
  };
  # The [Service] section is also checked for Type= and Restart= values.
  serviceTypes = [ "exec" "simple" "forking" "oneshot" "dbus" "notify" "notify-reload" "idle" ];
  restartValues = [ "no" "on-success" "on-failure" "on-abnormal" "on-abort" "always" ];
  validService =
    s:
    (!(s ? Type) || lib.elem s.Type serviceTypes) && (!(s ? Restart) || lib.elem s.Restart restartValues);
  units = types.listOf types.str;
  service = types.submodule {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.str; default = ""; };
      wantedBy = mkOption { type = units; default = [ ]; };
      requiredBy = mkOption { type = units; default = [ ]; };
      wants = mkOption { type = units; default = [ ]; };
      requires = mkOption { type = units; default = [ ]; };
      after = mkOption { type = units; default = [ ]; };
      before = mkOption { type = units; default = [ ]; };
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      path = mkOption { type = types.listOf (types.oneOf [ types.package types.str ]); default = [ ]; };
      preStart = mkOption { type = types.lines; default = ""; };
      script = mkOption { type = types.lines; default = ""; };
      serviceConfig = mkOption {
        type = types.addCheck (types.attrsOf unitOption) validService;
        default = { };
      };
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
    };
  };
in
{
  options = {
    assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
    warnings = mkOption { type = types.listOf types.str; default = [ ]; };
    systemd.packages = mkOption { type = types.listOf types.package; default = [ ]; };
    systemd.services = mkOption { type = types.attrsOf service; default = { }; };
    systemd.timers = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          wantedBy = mkOption { type = units; default = [ ]; };
          timerConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
        };
      });
      default = { };
    };
    networking.firewall.enable = mkOption { type = types.bool; default = true; };
  };
}
