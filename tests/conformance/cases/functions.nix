# Lambdas, currying, attribute-set patterns with defaults and @-binding.
let
  secretRef = { name, key ? "value", ... }@args: { inherit name key; };
  twice = f: x: f (f x);
  addOne = n: n + 1;
  domainOf = sub: zone: "${sub}.${zone}";
in
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = domainOf "chat" "example.com";
    replicas = twice addOne 1;
    database.kubernetesSecret = secretRef { name = "db"; extra = true; };
    smtp.kubernetesSecret = secretRef { name = "smtp"; key = "pw"; };
    settings.Plugins = map (p: "com.example.${p}") [ "a" "b" ];
  };
}
