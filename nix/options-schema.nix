# Option schema of services.secureMattermost, walked with nixpkgs' own option
# machinery. The built-in evaluator (src/nixeval) reads the JSON this produces
# (modules/options-schema.json, written by scripts/gen-options-schema.sh) so that
# no option, type or default is copied by hand into Rust.
#
#   nix-instantiate --eval --strict --json nix/options-schema.nix --arg lib 'import <nixpkgs/lib>'
{ lib }:
let
  inherit (lib) isOption;

  standalone = import ../modules/standalone.nix {
    inherit lib;
    modules = [ ];
  };

  # Types are recognised by name; anything else stops generation so that the
  # evaluator never meets a type it does not implement.
  describeType =
    ancestors: t:
    let
      # A self-referential type (jsonValue) shows up again below itself with
      # the same name and description: emit a back reference instead.
      key = "${t.name}\n${t.description}";
      depth = lib.lists.findFirstIndex (a: a == key) null ancestors;
      below = [ key ] ++ ancestors;
      nested = describeType below;
      base = {
        inherit (t) description;
      };
      n = t.name;
    in
    if depth != null then
      {
        kind = "ref";
        up = depth;
      }
    else if n == "bool" || n == "str" || n == "int" || n == "float" then
      base // { kind = n; }
    else if n == "positiveInt" then
      base // { kind = "positiveInt"; }
    else if n == "unsignedInt16" then
      base // { kind = "port"; }
    else if n == "enum" then
      base
      // {
        kind = "enum";
        inherit (t.functor.payload) values;
      }
    else if lib.hasPrefix "strMatching " n then
      base
      // {
        kind = "strMatching";
        inherit (t.functor.payload) pattern;
      }
    else if n == "nullOr" || n == "listOf" || n == "attrsOf" then
      base
      // {
        kind = n;
        elem = nested t.nestedTypes.elemType;
      }
    else if n == "either" then
      base
      // {
        kind = "either";
        left = nested t.nestedTypes.left;
        right = nested t.nestedTypes.right;
      }
    else if n == "submodule" then
      base
      // {
        kind = "submodule";
        # `_module' (args, check, ...) is the module system's own; the
        # freeform type's sub-options (`_freeformOptions') are none.
        options = walk [ ] (
          removeAttrs (t.getSubOptions [ ]) [
            "_module"
            "_freeformOptions"
          ]
        );
        undeclared = undeclared (t.nestedTypes.freeformType or null);
      }
    else if n == "absolutePathString" || n == "secretTrap" then
      base // { kind = n; }
    else
      throw "options-schema.nix: option type `${n}' is not known to the built-in evaluator (src/nixeval); teach it the type, then regenerate.";

  # How an evaluation treats definitions no option declares: "lib" (lib's
  # own error, no freeform type) or "trap" (modules/types.nix
  # unknownOptionTrap: a fixed message without the value).
  undeclared =
    freeformType:
    if freeformType == null then
      "lib"
    else if freeformType.name == "unknownOptionTrap" then
      "trap"
    else
      throw "options-schema.nix: freeform type `${freeformType.name}' is not known to the built-in evaluator (src/nixeval); teach it the type, then regenerate.";

  # Options of one (sub)module, in attribute order, as a flat list keyed by
  # their path relative to the (sub)module. `default' is only read when the
  # option has one (mode and domain deliberately have none).
  walk =
    prefix: opts:
    lib.concatLists (
      lib.mapAttrsToList (
        name: v:
        let
          path = prefix ++ [ name ];
        in
        if isOption v then
          [
            (
              {
                inherit path;
                type = describeType [ ] v.type;
              }
              // lib.optionalAttrs (v ? default) { inherit (v) default; }
              # What the option means to the helper (modules/types.nix withMeta).
              // lib.optionalAttrs (v ? secureMattermost) { meta = v.secureMattermost; }
            )
          ]
        else if builtins.isAttrs v then
          walk path v
        else
          [ ]
      ) opts
    );

  catalog = import ../modules/catalog.nix;

  # document.nix with every trap unset and nothing else: yields its constant
  # part (schemaVersion) without hand-copying it.
  emptyCfg = lib.foldl' lib.recursiveUpdate { } (
    map (t: lib.setAttrByPath (lib.splitString "." t.option) null) catalog.secrets.trapOptions
  );
  documentShape = import ../modules/document.nix {
    inherit lib;
    cfg = emptyCfg;
  };
in
{
  # Options under services.secureMattermost (the only tree user declarations
  # may define; `_module' is refused by the evaluator).
  prefix = [
    "services"
    "secureMattermost"
  ];
  options = walk [ ] standalone.options.services.secureMattermost;
  # Every other top-level option tree, so `foo = 1' is reported as undeclared.
  topLevel = builtins.attrNames standalone.options;
  # How the top-level evaluation treats undeclared definitions.
  undeclared = undeclared standalone.options._module.freeformType.value;
  # The document's constant fields, and the attribute holding the options.
  document = {
    constants = lib.filterAttrs (_: v: !builtins.isAttrs v) documentShape;
    cfgAttr = lib.head (builtins.attrNames (lib.filterAttrs (_: builtins.isAttrs) documentShape));
  };
  # Names the evaluator must refuse as unsupported rather than undefined.
  # (Every missing `builtins` name is refused: that list depends on the Nix
  # version, which would make this file differ between machines.)
  libNames = builtins.attrNames lib;
}
