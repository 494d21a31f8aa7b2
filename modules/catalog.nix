# The control catalog, parsed once per evaluation: a file that is not a
# function is evaluated once by `import` and its value shared by every
# importer (types.nix is instantiated once per options file).
builtins.fromJSON (builtins.readFile ../catalog/controls.json)
