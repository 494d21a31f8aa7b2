# Option types shared by the secure-mattermost modules.
{ lib }:
let
  inherit (lib) types mkOptionType;
  catalog = builtins.fromJSON (builtins.readFile ../catalog/controls.json);
in
rec {
  # A file reference. Strings only: a Nix path literal (./dbpw) would be copied
  # into the world-readable store, so the type itself refuses it.
  absolutePathString = mkOptionType {
    name = "absolutePathString";
    description = "absolute file path given as a string (not a Nix path literal, which would copy the file into the world-readable Nix store; not under /nix/store)";
    descriptionClass = "noun";
    check = x: builtins.isString x && lib.hasPrefix "/" x && !(lib.hasPrefix "/nix/store" x);
    merge = lib.options.mergeEqualOption;
  };

  # Free-form JSON, like pkgs.formats.json's type, without needing pkgs.
  jsonValue =
    let
      valueType =
        types.nullOr (types.oneOf [
          types.bool
          types.int
          types.float
          types.str
          (types.attrsOf valueType)
          (types.listOf valueType)
        ])
        // {
          description = "JSON value";
        };
    in
    valueType;

  # Secret-looking option names are traps: the module system's own type errors
  # echo the offending value, so these fail with a fixed text instead.
  secretTrap =
    { replacement }:
    mkOptionType {
      name = "secretTrap";
      description = "refused secret literal (use ${replacement})";
      check = _: true;
      merge =
        loc: defs:
        if lib.all (d: d.value == null) defs then
          null
        else
          throw "secure-mattermost: [${catalog.secrets.literalRule}] option `${lib.showOption loc}' would put a secret into the world-readable Nix store; set ${replacement} to a file path (or Kubernetes Secret reference) instead. The value is not shown.";
    };

  mkSecretTrapOption =
    replacement:
    lib.mkOption {
      type = secretTrap { inherit replacement; };
      default = null;
      defaultText = lib.literalExpression "null";
      example = lib.literalExpression "null";
      description = "Refused. Secrets are never given as literals; set `${replacement}` instead.";
    };

  # A reference to a key inside an existing Kubernetes Secret.
  kubernetesSecretRef =
    { name, key }:
    types.submodule {
      options = {
        name = lib.mkOption {
          type = types.str;
          default = name;
          defaultText = lib.literalExpression (builtins.toJSON name);
          example = "mattermost-credentials";
          description = "Name of an existing Kubernetes Secret in the release namespace.";
        };
        key = lib.mkOption {
          type = types.str;
          default = key;
          defaultText = lib.literalExpression (builtins.toJSON key);
          example = "value";
          description = "Key inside the Secret.";
        };
      };
    };

  mkKubernetesSecretOption =
    { name, key, what }:
    lib.mkOption {
      type = kubernetesSecretRef { inherit name key; };
      default = { };
      defaultText = lib.literalExpression "{ name = ${builtins.toJSON name}; key = ${builtins.toJSON key}; }";
      example = lib.literalExpression "{ name = \"site-${name}\"; key = ${builtins.toJSON key}; }";
      description = "Kubernetes Secret holding ${what} (Kubernetes mode). Only the reference is rendered.";
    };

  mkFileOption =
    { default, what }:
    lib.mkOption {
      type = absolutePathString;
      inherit default;
      defaultText = lib.literalExpression (builtins.toJSON default);
      example = "/run/keys/mattermost/${baseNameOf default}";
      description = "File holding ${what} (bare-metal mode), passed to the service as a systemd credential. Only the path is rendered.";
    };

  # The pair every secret gets: a file (bare metal) and a Secret reference (Kubernetes).
  mkSecretSourceOptions =
    {
      fileOption,
      file,
      secretName,
      secretKey,
      what,
    }:
    {
      ${fileOption} = mkFileOption {
        default = file;
        inherit what;
      };
      kubernetesSecret = mkKubernetesSecretOption {
        name = secretName;
        key = secretKey;
        inherit what;
      };
    };
}
