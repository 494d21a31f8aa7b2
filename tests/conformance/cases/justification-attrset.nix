# Justifications as attribute sets, merged across modules per key; a string
# and an attribute set for different keys.
{
  imports = [
    { services.secureMattermost.justification.smtp-tls.ticket = "POAM-77"; }
  ];
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    allowOpenSignup = true;
    justification = {
      allowOpenSignup = {
        reason = "Public help desk";
        approvedBy = "ISSO J. Doe";
        expires = "2027-06-30";
      };
      smtp-tls.reason = "Relay on the same host";
      db = "Local socket";
    };
  };
}
