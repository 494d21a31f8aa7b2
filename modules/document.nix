# The evaluated document the Rust helper consumes (docs/document.md).
# Option values only, defaults applied; everything derived from them is
# computed once, in the helper. Literal secrets stop evaluation here, before
# any derivation or artifact could hold them.
{ lib, cfg }:
let
  catalog = import ./catalog.nix;
  serverSecrets = builtins.fromJSON (builtins.readFile ../catalog/server-secret-settings.json);
  inherit (catalog) secrets;
  smTypes = import ./types.nix { inherit lib; };

  # The same judgement as the helper's src/secrets.rs: setting paths compared
  # lower-cased (ASCII, lib.toLower), list indices dropped.
  dotted = path: lib.toLower (lib.concatStringsSep "." (lib.filter (k: !(lib.hasPrefix "[" k)) path));
  secretSettingPaths = map lib.toLower (serverSecrets.settings ++ secrets.additionalSecretSettings);
  dataSourcePaths = map lib.toLower secrets.dataSourceSettings;
  pluginPrefix = lib.splitString "." (lib.toLower secrets.pluginSettingsPath);
  publicPlugin =
    plugin: key:
    lib.any (k: lib.toLower k == lib.toLower key) (cfg.publicPluginSettings.${plugin} or [ ]);
  # Below `settings`: the server masks it, a plugin setting not declared
  # public, or a secret-named key.
  isSecretSetting =
    setting:
    let
      plain = lib.filter (k: !(lib.hasPrefix "[" k)) setting;
      n = builtins.length pluginPrefix;
      inPlugin =
        builtins.length plain > n + 1 && map lib.toLower (lib.take n plain) == pluginPrefix;
    in
    (lib.elem (dotted setting) secretSettingPaths && !(lib.elem (dotted setting) dataSourcePaths))
    || (
      if inPlugin then
        !(publicPlugin (builtins.elemAt plain n) (builtins.elemAt plain (n + 1)))
      else
        plain != [ ] && matches secrets.settingKeyPattern (lib.toLower (lib.last plain))
    );
  inStore = v: lib.hasPrefix "/nix/store" v || lib.hasPrefix "/nix/store" (smTypes.normalisePath v);

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
      if looksLikeCredential v then
        [
          {
            rule = secrets.valueRule;
            inherit path;
          }
        ]
      else if builtins.length path > 1 && builtins.head path == "settings" then
        (
          if v != "" && isSecretSetting (lib.tail path) then
            [
              {
                rule = secrets.settingRule;
                inherit path;
              }
            ]
          # A key file interpolated from a Nix path ("${./tls.key}") is already
          # in the world-readable store.
          else if
            inStore v
            && matches secrets.storeFileKeyPattern (
              lib.toLower (lib.last (lib.filter (k: !(lib.hasPrefix "[" k)) path))
            )
          then
            [
              {
                rule = secrets.storeFileRule;
                inherit path;
              }
            ]
          else
            [ ]
        )
      else
        [ ]
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
