# The live half of the evaluator conformance suite: every declaration under
# tests/conformance still gives, under real Nix, the committed expectation the
# built-in evaluator is compared with (a document, or an error).
{ lib }:
let
  conf = ../tests/conformance;
  cases = lib.mapAttrs' (f: _: lib.nameValuePair (lib.removeSuffix ".nix" f) (conf + "/cases/${f}")) (
    lib.filterAttrs (f: t: t == "regular" && lib.hasSuffix ".nix" f) (builtins.readDir (conf + "/cases"))
  );
  listed = lib.listToAttrs (
    map (
      line:
      let
        parts = lib.filter (p: p != "") (lib.splitString " " line);
      in
      lib.nameValuePair (builtins.elemAt parts 0) (../. + "/${builtins.elemAt parts 1}")
    ) (lib.filter (l: l != "" && !(lib.hasPrefix "#" l)) (lib.splitString "\n" (builtins.readFile (conf + "/examples.list"))))
  );
  expected = name: conf + "/expected/${name}";
  judge =
    name: file:
    let
      result = builtins.tryEval (
        lib.deepSeq (import ../modules/standalone.nix { inherit lib; modules = [ file ]; }).evaluated (
          import ../modules/standalone.nix { inherit lib; modules = [ file ]; }
        ).evaluated
      );
      doc = expected name + ".json";
      err = expected name + ".error.json";
    in
    if result.success then
      (builtins.pathExists doc && result.value == builtins.fromJSON (builtins.readFile doc))
      || throw "tests/conformance/expected/${name}.json is stale or missing: run scripts/gen-conformance-expected.sh"
    else
      builtins.pathExists err
      || throw "tests/conformance/${name}: real Nix refuses it but no ${name}.error.json is committed: run scripts/gen-conformance-expected.sh";
in
lib.all (x: x) (lib.mapAttrsToList judge (cases // listed))
