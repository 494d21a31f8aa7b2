# The evaluated document the Rust helper consumes (docs/document.md).
# Option values only, defaults applied; everything derived from them is
# computed once, in the helper. Literal secrets stop evaluation here, before
# any derivation or artifact could hold them.
{ lib, cfg }:
let
  catalog = builtins.fromJSON (builtins.readFile ../catalog/controls.json);
  inherit (catalog) secrets;

  trapPaths = map (t: lib.splitString "." t.option) secrets.trapOptions;
  withoutTraps = lib.foldl' (
    acc: path:
    lib.updateManyAttrsByPath [
      {
        path = lib.init path;
        update = parent: removeAttrs parent [ (lib.last path) ];
      }
    ] acc
  ) cfg trapPaths;

  matches = pattern: s: builtins.match pattern s != null;
  looksLikeCredential = s: lib.any (p: matches p s) secrets.valuePatterns;

  # Every string in the document, with its option path; settings keys are also
  # checked by name (a non-empty value under a secret-looking key; the key is
  # lower-cased first, as `secrets.settingKeyMatch` says).
  findings =
    path: v:
    if builtins.isAttrs v then
      lib.concatLists (lib.mapAttrsToList (n: x: findings (path ++ [ n ]) x) v)
    else if builtins.isList v then
      lib.concatLists (lib.imap0 (i: x: findings (path ++ [ "[${toString i}]" ]) x) v)
    else if builtins.isString v then
      (lib.optional (looksLikeCredential v) {
        rule = secrets.valueRule;
        inherit path;
      })
      ++ (lib.optional (
        builtins.length path > 1
        && builtins.head path == "settings"
        && v != ""
        && matches secrets.settingKeyPattern (lib.toLower (lib.last path))
      ) {
        rule = secrets.settingRule;
        inherit path;
      })
      # A key file interpolated from a Nix path ("${./tls.key}") is already
      # in the world-readable store.
      ++ (lib.optional (
        builtins.length path > 1
        && builtins.head path == "settings"
        && lib.hasPrefix "/nix/store" v
        && matches secrets.storeFileKeyPattern (lib.toLower (lib.last path))
      ) {
        rule = secrets.storeFileRule;
        inherit path;
      })
    else
      [ ];

  # Forcing each trap makes a defined one fail with its fixed message.
  trapsUnset = lib.all (path: lib.getAttrFromPath path cfg == null) trapPaths;
  found = findings [ ] withoutTraps;
  describe = f: "  [${f.rule}] services.secureMattermost.${lib.concatStringsSep "." f.path}";
in
if !trapsUnset then
  throw "secure-mattermost: unreachable: a secret trap option accepted a value"
else if found != [ ] then
  throw ''
    secure-mattermost: literal secret(s) refused; the Nix store is world-readable, so secrets may only be given as file paths or Secret references. The values are not shown.
    ${lib.concatMapStringsSep "\n" describe found}''
else
  {
    schemaVersion = 1;
    secureMattermost = withoutTraps;
  }
