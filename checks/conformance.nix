# The live half of the evaluator conformance suite: every declaration under
# tests/conformance whose committed expectation is a document still gives
# that document under real Nix, and every other one has a committed error.
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
  # Cases real Nix refuses are compared by tests/conformance.rs (which runs
  # nix-instantiate and reads the error): some refusals, such as a parse
  # error, cannot be caught by `builtins.tryEval`. Here every committed
  # document must still be what real Nix evaluates.
  judge =
    name: file:
    let
      doc = expected name + ".json";
      evaluated = (import ../modules/standalone.nix { inherit lib; modules = [ file ]; }).evaluated;
    in
    if builtins.pathExists doc then
      # Compared as Nix prints them (floats with 6 significant digits, as the
      # committed file was written), not as doubles.
      builtins.toJSON evaluated == builtins.toJSON (builtins.fromJSON (builtins.readFile doc))
      || throw "tests/conformance/expected/${name}.json is stale: run scripts/gen-conformance-expected.sh"
    else
      builtins.pathExists (expected name + ".error.json")
      || throw "tests/conformance/${name}: no committed expectation: run scripts/gen-conformance-expected.sh";
in
lib.all (x: x) (lib.mapAttrsToList judge (cases // listed))
