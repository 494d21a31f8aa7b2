# mkMerge splices definitions at every level, with mkIf inside.
{ lib, ... }:
lib.mkMerge [
  {
    services.secureMattermost.mode = "baremetal";
    services.secureMattermost.domain = "chat.example.com";
  }
  (lib.mkIf true { services.secureMattermost.smtp.server = "smtp.example.com"; })
  (lib.mkIf false { services.secureMattermost.smtp.port = 25; })
  {
    services.secureMattermost.settings = lib.mkMerge [
      { ServiceSettings.EnableAPIv3 = false; }
      { ServiceSettings.SessionLengthWebInHours = 12; }
      (lib.mkIf false { ServiceSettings.Ignored = true; })
    ];
  }
]
