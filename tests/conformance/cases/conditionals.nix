# if/then/else with comparison and boolean operators.
let
  replicas = 3;
  production = true;
  tier = "gold";
in
{
  services.secureMattermost = {
    mode = if replicas > 1 && !(tier == "bronze") then "kubernetes" else "baremetal";
    domain = "chat.example.com";
    replicas = if production || false then replicas else 1;
    allowGuestUsers = tier != "gold";
    airGapped = replicas >= 3 -> production;
    fileStorage.driver = if replicas <= 1 then "local" else "s3";
    license.edition = if "abc" < "abd" then "enterprise-advanced" else "team";
  };
}
