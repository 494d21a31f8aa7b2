# `//` is shallow and right-biased.
let
  base = {
    mode = "baremetal";
    domain = "old.example.com";
    database = { host = "a"; user = "b"; };
  };
in
{
  services.secureMattermost = base // {
    domain = "chat.example.com";
    database = { host = "db.example.com"; };
  };
}
