# Each examples/<name>.json is the document real Nix evaluates from
# examples/<name>.nix (the helper's tests and the quick start read the JSON).
{ lib }:
let
  evaluate = file: (import ../modules/standalone.nix { inherit lib; modules = [ file ]; }).evaluated;
  fresh =
    name:
    evaluate (../examples + "/${name}.nix") == builtins.fromJSON (builtins.readFile (../examples + "/${name}.json"))
    || throw "examples/${name}.json is stale: run scripts/gen-example-json.sh";
in
lib.all fresh [
  "baremetal"
  "kubernetes"
]
