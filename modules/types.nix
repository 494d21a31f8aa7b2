# Option types shared by the secure-mattermost modules.
{ lib }:
let
  inherit (lib) types mkOptionType;
  catalog = import ./catalog.nix;
in
rec {
  # What an option means to the helper, declared next to the option and
  # emitted into modules/options-schema.json as `meta` (nix/options-schema.nix);
  # the helper derives its option→setting layer, file options, secret
  # environment and justification aliases from it and copies none by hand
  # (docs/option-metadata.md describes the language):
  #   sets    = [ { setting = "ServiceSettings.SiteURL"; template = "https://{}"; } … ];
  #   secret  = { setting = "OpenIdSettings.Secret"; credential = "oidc-client-secret"; when = [ … ]; };
  #   answers = [ "guest-accounts-disabled" ];   # rules a justification keyed by the option waives
  #   kind    = "dns1123Subdomain";              # the grammar a string option's value is held to
  #                                              # ("freeText": none, every renderer encodes it)
  # Applied more than once, the records merge.
  withMeta = meta: option: option // { secureMattermost = (option.secureMattermost or { }) // meta; };
  withKind = kind: withMeta { inherit kind; };

  # A condition on another option, for `sets` and `secret`.
  optionIs = option: value: { inherit option; equals = value; };
  optionSet = option: { inherit option; notNull = true; };

  # A file reference: an absolute path string of safe characters (the
  # catalog's `pathPattern`), not under /nix/store. Like `secretTrap`, the
  # check accepts anything and the merge validates, because the module
  # system's own type error prints the value, and a user who pastes the
  # secret itself into `…File` would get it printed. A Nix path literal
  # (./dbpw) is refused too: it would copy the file into the world-readable
  # store. "Under /nix/store" is judged on the path as written and with `.`,
  # `..` and empty components resolved (`/run/../nix/store/…`).
  absolutePathString = mkOptionType {
    name = "absolutePathString";
    description = "absolute file path given as a string of safe characters (not a Nix path literal, which would copy the file into the world-readable Nix store; not under /nix/store)";
    descriptionClass = "noun";
    check = _: true;
    merge =
      loc: defs:
      let
        option = lib.showOption loc;
        bad = lib.findFirst (d: !isSafePath d.value) null defs;
        first = (lib.head defs).value;
      in
      if bad != null && builtins.isPath bad.value then
        throw "secure-mattermost: option `${option}' is given a Nix path literal, which would copy the file into the world-readable Nix store; give the file as an absolute path string instead (\"/run/secrets/...\")."
      else if bad != null then
        throw "secure-mattermost: option `${option}' is not a valid file path: ${catalog.pathRule}. The value is not shown."
      else if lib.any (d: d.value != first) defs then
        throw "secure-mattermost: option `${option}' has conflicting definitions; a file path must be defined once (or with lib.mkForce / lib.mkDefault). The values are not shown."
      else
        first;
  };

  isSafePath =
    v:
    builtins.isString v
    && builtins.match catalog.pathPattern v != null
    && !(lib.hasPrefix "/nix/store" v)
    && !(lib.hasPrefix "/nix/store" (normalisePath v));

  # `.`, `..` and empty components resolved, lexically.
  normalisePath =
    s:
    "/"
    + lib.concatStringsSep "/" (
      lib.foldl' (
        acc: c:
        if c == "" || c == "." then
          acc
        else if c == ".." then
          (if acc == [ ] then [ ] else lib.init acc)
        else
          acc ++ [ c ]
      ) [ ] (lib.splitString "/" s)
    );

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

  # The `_module.freeformType` of an evaluation whose undeclared definitions
  # must be refused without their value: lib's own "The option … does not
  # exist. Definition values: …" prints it, and a misspelt secret option
  # (`smtp.passwd = "…"`) holds the secret. lib hands the definitions to the
  # merge in the order it would report them, each wrapped as
  # `setAttrByPath prefix value`; the prefix (the option lib's error names)
  # ends at the first name that is not a declared option set, so it is read
  # off the wrapper with the evaluation's `options`, never touching the value.
  # Installed on the top-level evaluation by standalone.nix (a NixOS module
  # cannot own the system's freeform type, so under NixOS lib's own error
  # stays there) and on every submodule of the options (closedSubmodule).
  unknownOptionTrap =
    options:
    mkOptionType {
      name = "unknownOptionTrap";
      description = "refused undeclared option";
      descriptionClass = "noun";
      merge =
        loc: defs:
        let
          def = lib.head defs;
          prefixOf =
            path: wrapped:
            let
              name = lib.head (builtins.attrNames wrapped);
              here = path ++ [ name ];
              declared = lib.attrByPath here null options;
            in
            if builtins.isAttrs declared && !lib.isOption declared then
              prefixOf here wrapped.${name}
            else
              here;
          prefix = prefixOf [ ] def.value;
          # lib's own suggestions: the three nearest declared siblings.
          parent = lib.init prefix;
          siblings = builtins.attrNames (lib.attrByPath parent { } options);
          candidates = if parent == [ ] then lib.remove "_module" siblings else siblings;
          nearest = lib.take 3 (lib.sortOn (lib.strings.levenshtein (lib.last prefix)) candidates);
          show = s: "`${lib.showOption (loc ++ parent ++ [ s ])}'";
          suggestion =
            if nearest == [ ] then
              ""
            else if lib.length nearest == 1 then
              "\n\nDid you mean ${show (lib.head nearest)}?"
            else
              "\n\nDid you mean ${lib.concatMapStringsSep ", " show (lib.init nearest)} or ${show (lib.last nearest)}?";
        in
        throw "secure-mattermost: option `${lib.showOption (loc ++ prefix)}' does not exist (defined in ${def.file}). The value is not shown: a misspelt option may hold a secret.${suggestion}";
    };

  # A module that refuses undeclared definitions with `unknownOptionTrap`.
  refuseUnknownOptions =
    { options, ... }:
    {
      freeformType = unknownOptionTrap options;
    };

  # `types.submodule` with undeclared definitions refused by `unknownOptionTrap`.
  closedSubmodule =
    options:
    types.submoduleWith {
      shorthandOnlyDefinesConfig = true;
      # Not "open submodule of …": nothing undeclared is accepted.
      description = "submodule";
      modules = [
        { inherit options; }
        refuseUnknownOptions
      ];
    };

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
      example = lib.literalExpression "null";
      description = "Refused. Secrets are never given as literals; set `${replacement}` instead.";
    };

  # A reference to a key inside an existing Kubernetes Secret.
  kubernetesSecretRef =
    { name, key }:
    closedSubmodule {
      name = withKind "dns1123Subdomain" (lib.mkOption {
        type = types.str;
        default = name;
        example = "mattermost-credentials";
        description = "Name of an existing Kubernetes Secret in the release namespace.";
      });
      key = withKind "secretKey" (lib.mkOption {
        type = types.str;
        default = key;
        example = "value";
        description = "Key inside the Secret.";
      });
    };

  mkKubernetesSecretOption =
    {
      name,
      key,
      what,
      secret ? null,
    }:
    lib.optionalAttrs (secret != null) { secureMattermost.secret = secret; }
    // lib.mkOption {
      type = kubernetesSecretRef { inherit name key; };
      default = { };
      defaultText = lib.literalExpression "{ name = ${builtins.toJSON name}; key = ${builtins.toJSON key}; }";
      example = lib.literalExpression "{ name = \"site-${name}\"; key = ${builtins.toJSON key}; }";
      description = "Kubernetes Secret holding ${what} (Kubernetes mode). Only the reference is rendered.";
    };

  mkFileOption =
    {
      default,
      what,
      secret ? null,
      sets ? [ ],
    }:
    lib.optionalAttrs (secret != null || sets != [ ]) {
      secureMattermost = lib.optionalAttrs (secret != null) { inherit secret; } // lib.optionalAttrs (sets != [ ]) { inherit sets; };
    }
    // lib.mkOption {
      type = absolutePathString;
      inherit default;
      example = "/run/keys/mattermost/${baseNameOf default}";
      description = "File holding ${what} (bare-metal mode), passed to the service as a systemd credential. Only the path is rendered.";
    };

  # The pair every secret gets: a file (bare metal) and a Secret reference (Kubernetes).
  mkSecretSourceOptions =
    {
      fileOption,
      file,
      kubernetesName,
      kubernetesKey,
      what,
      secret ? null,
      fileSets ? [ ],
    }:
    {
      ${fileOption} = mkFileOption {
        default = file;
        sets = fileSets;
        inherit what secret;
      };
      kubernetesSecret = mkKubernetesSecretOption {
        name = kubernetesName;
        key = kubernetesKey;
        inherit what secret;
      };
    };
}
