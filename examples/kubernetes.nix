# The product card's example, verbatim: everything it omits takes the
# module's documented defaults.
{
  services.secureMattermost = {
    enable = true;
    mode = "kubernetes";            # or "baremetal"
    domain = "chat.example.com";
    auth.provider = "oidc";
    allowGuestUsers = false;        # true fails unless justification.allowGuestUsers is set
  };
}
