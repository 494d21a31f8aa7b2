# What nixpkgs' own modules define when they are enabled, where it meets
# modules/nixos.nix: the unit nixpkgs' Mattermost module builds (our
# hardening goes on top of it), the pg_hba.conf rules nixpkgs' PostgreSQL
# module puts before and after a site's own, and the settings it fixes. Each
# is a fact read from the revision named in default.nix, restated here in our
# words; the rest of those modules (tmpfiles, users, scripts) is left out.
# With these, a scalar our module sets without the priority it needs fails
# to merge here exactly as on NixOS.
{ config, lib, pkgs, ... }:
let
  mm = config.services.mattermost;
  pg = config.services.postgresql;
  nginx = config.services.nginx;
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
in
{
  config = lib.mkMerge [
    (lib.mkIf mm.enable {
      systemd.services.mattermost = {
        description = "Mattermost chat service";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ] ++ lib.optional mm.database.create "postgresql.service";
        requires = [ "network.target" ] ++ lib.optional mm.database.create "postgresql.service";
        environment.TMPDIR = "${mm.dataDir}/data/tmp";
        # nixpkgs merges its generated settings over the package's config.json here.
        preStart = "nixpkgs: merge the Nix-generated settings into ${mm.configDir}/config.json";
        serviceConfig = {
          User = mm.user;
          Group = mm.group;
          ExecStart = "${mm.package}/bin/mattermost --config ${mm.configDir}/config.json";
          ReadWritePaths = [ mm.dataDir mm.logDir mm.configDir ];
          UMask = "0027";
          Restart = "always";
          RestartSec = 10;
          LimitNOFILE = 49152;
          LockPersonality = true;
          NoNewPrivileges = true;
          PrivateDevices = true;
          PrivateTmp = true;
          PrivateUsers = true;
          ProtectClock = true;
          ProtectControlGroups = true;
          ProtectHome = true;
          ProtectHostname = true;
          ProtectKernelLogs = true;
          ProtectKernelModules = true;
          ProtectKernelTunables = true;
          ProtectProc = "invisible";
          ProtectSystem = "strict";
          RestrictNamespaces = true;
          RestrictSUIDSGID = true;
          EnvironmentFile = mm.environmentFile;
          WorkingDirectory = mm.dataDir;
          StateDirectory = "mattermost";
          StateDirectoryMode = "0750";
          LogsDirectory = "mattermost";
          LogsDirectoryMode = "0750";
          ConfigurationDirectory = "mattermost";
          ConfigurationDirectoryMode = "0750";
        };
      };
      # With database.create, nixpkgs makes the database and an owner role of
      # the same name through ensureDatabases / ensureUsers.
      services.postgresql = lib.mkIf (mm.database.driver == "postgres" && mm.database.create) {
        enable = true;
        ensureDatabases = [ mm.database.name ];
        ensureUsers = [
          {
            name = mm.database.user;
            ensureDBOwnership = true;
          }
        ];
      };
      assertions = [
        {
          assertion = !(lib.hasSuffix "/" mm.siteUrl);
          message = "services.mattermost.siteUrl must not end in /";
        }
      ];
    })
    (lib.mkIf pg.enable {
      # Set at normal priority: hba_file follows `authentication`.
      services.postgresql.settings = {
        hba_file = store "pg_hba.conf";
        ident_file = store "pg_ident.conf";
        log_destination = "stderr";
        listen_addresses = if pg.enableTCPIP then "*" else "localhost";
      };
      # A site's rules land between a header and nixpkgs' defaults, which
      # allow peer on the socket and md5 over loopback TCP.
      services.postgresql.authentication = lib.mkMerge [
        (lib.mkBefore "# Generated file; do not edit!")
        (lib.mkAfter ''
          local all postgres peer map=postgres
          local all all peer
          host all all 127.0.0.1/32 md5
          host all all ::1/128 md5
        '')
      ];
      services.postgresql.identMap = lib.mkAfter ''
        postgres postgres postgres
      '';
      assertions = map (u: {
        assertion = u.ensureDBOwnership -> lib.elem u.name pg.ensureDatabases;
        message = "services.postgresql.ensureUsers: ${u.name} owns a database of its own name, which is not in ensureDatabases";
      }) pg.ensureUsers;
    })
    (lib.mkIf config.networking.nftables.enable {
      # The unit loads the generated script (deletions, tables, ruleset, an
      # include of rulesetFile) at start and at reload.
      systemd.services.nftables = {
        wantedBy = [ "multi-user.target" ];
        before = [ "network-pre.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = [ (store "nftables-ensure-deletions") (store "nftables-rules") ];
          ExecReload = [ (store "nftables-ensure-deletions") (store "nftables-rules") (store "nftables-save-deletions") ];
        };
      };
      networking.nftables.flushRuleset = lib.mkDefault (
        config.networking.nftables.rulesetFile != null || config.networking.nftables.ruleset != ""
      );
    })
  ];
}
