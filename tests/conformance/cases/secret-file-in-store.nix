# A key file already in the world-readable store (what "${./tls.key}" yields).
{
  services.secureMattermost = {
    enable = true;
    mode = "baremetal";
    domain = "chat.example.com";
    settings.ServiceSettings.TLSKeyFile = "/nix/store/00000000000000000000000000000000-tls.key";
    settings.ServiceSettings.TLSCertFile = "/nix/store/00000000000000000000000000000000-tls.crt";
  };
}
