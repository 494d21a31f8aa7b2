# An undeclared option in a directory's default.nix: the module is named by
# the directory, as lib names it.
{ services.secureMattermost.siteTitle = "Ops"; }
