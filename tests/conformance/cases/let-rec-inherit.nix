# let, rec, inherit and inherit-from.
let
  names = {
    namespace = "chat";
    ingressClassName = "traefik";
    unused = "x";
  };
  mode = "kubernetes";
  rest = rec {
    domain = "chat.${zone}";
    zone = "example.net";
  };
in
{
  services.secureMattermost = rec {
    inherit mode;
    inherit (rest) domain;
    kubernetes = {
      inherit (names) namespace ingressClassName;
      tlsSecretName = "${kubernetes.namespace}-tls";
    };
  };
}
