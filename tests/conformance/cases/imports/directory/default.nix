# Imported as ./imports/directory: Nix reads this default.nix.
{ services.secureMattermost.siteName = "From a directory"; }
