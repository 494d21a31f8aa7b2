# An undeclared option inside a justification (a submodule under attrsOf/either).
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    allowGuestUsers = true;
    justification.allowGuestUsers = {
      reason = "Scoped exception";
      approver = "ISSO J. Doe";
    };
  };
}
# diagnostic: undeclared_option 9:7
