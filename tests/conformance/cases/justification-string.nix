# A justification given as a plain string (the reason).
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    allowGuestUsers = true;
    justification.allowGuestUsers = "Partner agencies collaborate under ISA-2031";
  };
}
