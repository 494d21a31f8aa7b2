# NixOS integration (bare-metal mode). The policy check and the rendering run
# in a derivation (`renderedArtifacts`), and everything the host runs refers
# to its output, so a non-compliant declaration fails `nixos-rebuild`. The
# evidence (report, OSCAL, SBOM) is rendered in the same derivation; with
# nixos.vulnerabilityDb the server binary is scanned there too, and an
# unwaived vulnerability fails the build like a failing rule.
#
# The same declaration then wires nixpkgs' own modules (option names and
# types as read from nixpkgs; revision in docs/baremetal.md, "NixOS"):
#  - services.mattermost: its unit, with our hardening on top (every key at
#    mkForce, so a site's plain definition cannot weaken it), the rendered
#    config.json installed at start, secrets as systemd credentials that
#    `secure-mattermost launch` turns into environment (a unit drop-in built
#    from the rendered unit's LoadCredential= lines, so the credential list
#    has one source), the database over TLS with the declared sslmode;
#  - services.nginx: the rendered nginx.conf included in its http block (the
#    file the real-nginx tests prove: TLS floor, HSTS, headers, WebSocket);
#  - services.postgresql, when the database is on this host: the rendered
#    pg_hba.conf (hostssl with scram from the application hosts only), the
#    rendered postgresql-secure-mattermost.conf's settings, and a oneshot that
#    applies the rendered init.sql (owner role, never a superuser; UTF8
#    database; the password read by psql from the credential);
#  - networking.nftables: the rendered host firewall, with its named
#    egress destinations filled by `secure-mattermost firewall-sets`.
# No secret enters a Nix value: only file paths do.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.secureMattermost;
  rt = cfg.nixos;
  document = (import ./document.nix { inherit lib; cfg = removeAttrs cfg [ "nixos" ]; });
  vulnDb = if rt.vulnerabilityDb == null then null else "${rt.vulnerabilityDb}";
  scanning = vulnDb != null;
  rendered =
    pkgs.runCommand "secure-mattermost-artifacts-${cfg.domain}"
      {
        nativeBuildInputs = [ rt.helperPackage ] ++ lib.optionals scanning [ pkgs.govulncheck pkgs.cyclonedx-gomod ];
        document = builtins.toJSON document;
        passAsFile = [ "document" ];
      }
      ''
        secure-mattermost render --input "$documentPath" --out "$out/share/secure-mattermost" \
          --today ${lib.escapeShellArg rt.policyDate} \
          --mattermost-bin ${rt.serverPackage}/bin/mattermost \
          --helper-bin ${rt.helperPackage}/bin/secure-mattermost${lib.optionalString scanning " \\
  --scan-binary ${rt.serverPackage}/bin/mattermost --vuln-db ${lib.escapeShellArg vulnDb}"}
        install -Dm0444 "$out/share/secure-mattermost/mattermost.service" "$out/lib/systemd/system/mattermost.service"
      '';
  # (lib/systemd/system/mattermost.service is for other consumers of
  # renderedArtifacts: on NixOS nixpkgs' unit runs, with the settings below.)
  artifact = name: "${rendered}/share/secure-mattermost/${name}";

  # The credentials the rendered unit loads, as a drop-in for nixpkgs' unit
  # (systemd.packages: NixOS links a package's mattermost.service.d/ beside
  # the unit it generates). The lines are the helper's, copied verbatim.
  credentialsDropIn =
    pkgs.runCommand "secure-mattermost-${cfg.domain}" { }
      ''
        mkdir -p "$out/lib/systemd/system/mattermost.service.d"
        {
          echo '# Rendered by secure-mattermost: the credentials `launch` reads.'
          echo '[Service]'
          grep '^LoadCredential=' ${artifact "mattermost.service"} || true
        } > "$out/lib/systemd/system/mattermost.service.d/50-secure-mattermost-credentials.conf"
      '';

  firewallFile = artifact "nftables.conf";
  fillSets = "${rt.helperPackage}/bin/secure-mattermost firewall-sets --ruleset ${firewallFile} --nft ${pkgs.nftables}/bin/nft --apply";

  configDir = "/etc/mattermost";
  # nginx.conf proxies to this address (src/render/baremetal/nginx.rs).
  appHost = "127.0.0.1";
  appPort = 8065;

  # What every service this module defines shares: no capabilities but
  # `caps`, a read-only system, private /tmp and devices, native system calls.
  sandbox = caps: {
    UMask = "0077";
    NoNewPrivileges = true;
    CapabilityBoundingSet = caps;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    SystemCallArchitectures = "native";
  };

  # Our hardening, the same directives as the rendered unit
  # (src/render/baremetal/systemd.rs; tests/nix_module.rs compares them), plus
  # the IP address restriction nixpkgs' unit lacks.
  hardening = sandbox "" // {
    AmbientCapabilities = "";
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    # AF_NETLINK: Go's interface listing, which clustering uses.
    RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" "AF_NETLINK" ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallFilter = [ "@system-service" "~@privileged @resources" ];
    StateDirectoryMode = "0700";
    LogsDirectoryMode = "0700";
    ConfigurationDirectoryMode = "0700";
    IPAddressDeny = "any";
    IPAddressAllow = ipAllow;
  };

  net = cfg.baremetal.networks;
  isLoopbackHost = h: lib.elem h [ "localhost" "127.0.0.1" "[::1]" ];
  ipv4 = "[0-9]{1,3}([.][0-9]{1,3}){3}";
  # A guard for the addresses pasted into IPAddressAllow= at evaluation (the
  # helper validates them exactly in the rendering derivation, which the same
  # system build needs).
  cidrOk = s: builtins.match "(${ipv4}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)/[0-9]{1,3}" s != null;
  # As the helper judges it: inside 127.0.0.0/8 (prefix 8 or longer), or ::1/128.
  isLoopbackCidr = c: builtins.match "127([.][0-9]{1,3}){3}/([89]|[12][0-9]|3[0-2])" c != null || c == "::1/128";
  dbHostAddress =
    let
      h = cfg.database.host;
    in
    if builtins.match ipv4 h != null then [ "${h}/32" ]
    else if builtins.match "\\[([0-9A-Fa-f:.]+)]" h != null then [ "${builtins.head (builtins.match "\\[([0-9A-Fa-f:.]+)]" h)}/128" ]
    else [ ];
  ipAllow = lib.unique ([ "localhost" ] ++ net.proxy ++ net.clusterNodes ++ net.monitoring ++ dbHostAddress ++ rt.egressAddresses);
  addressLists = net.proxy ++ net.clusterNodes ++ net.monitoring ++ net.appHosts ++ rt.egressAddresses;

  # The services the declaration names by host, which IPAddressDeny=any cuts
  # off unless their addresses are listed in nixos.egressAddresses.
  namedServices =
    lib.optional (cfg.auth.provider == "oidc" && cfg.auth.oidc.discoveryEndpoint != null) "the OIDC provider"
    ++ lib.optional (cfg.auth.provider == "saml" && cfg.auth.saml.idpMetadataUrl != null) "the SAML identity provider"
    ++ lib.optional (cfg.auth.provider == "ldap" && cfg.auth.ldap.server != null) "the LDAP server"
    ++ lib.optional (cfg.auth.provider == "gitlab" && cfg.auth.gitlab.url != null) "GitLab"
    ++ lib.optional (cfg.smtp.server != null) "the SMTP server"
    ++ lib.optional (cfg.fileStorage.driver == "s3" && cfg.fileStorage.s3.endpoint != null) "the object store"
    ++ lib.optional (cfg.pushNotifications.server != null) "the push proxy"
    ++ lib.optional (!isLoopbackHost cfg.database.host && dbHostAddress == [ ]) "the database";

  db = cfg.database;
  pgLocal = rt.postgresql.enable;
  # Where the server listens, as the rendered fragment says
  # (src/render/baremetal/postgresql_conf.rs): the address the application
  # hosts connect to, or localhost when they are all on loopback.
  unbracketed = lib.removeSuffix "]" (lib.removePrefix "[" db.host);
  dbHostIsAddress = dbHostAddress != [ ];
  listenAddresses = if dbHostIsAddress || !(lib.all isLoopbackCidr net.appHosts) then unbracketed else "localhost";
in
{
  imports = [ ./secure-mattermost.nix ];

  options.services.secureMattermost.nixos = {
    helperPackage = lib.mkOption {
      type = lib.types.package;
      defaultText = lib.literalMD "the secure-mattermost helper built by this flake";
      example = lib.literalExpression "inputs.secure-mattermost.packages.\${system}.default";
      description = "The secure-mattermost helper that checks and renders.";
    };
    serverPackage = lib.mkOption {
      type = lib.types.package;
      default = pkgs.mattermost;
      defaultText = lib.literalExpression "pkgs.mattermost";
      example = lib.literalExpression "pkgs.mattermostLatest";
      description = "Mattermost server package; its version must match `mattermost.version`.";
    };
    policyDate = lib.mkOption {
      type = lib.types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}";
      example = "2026-11-23";
      description = "Date (YYYY-MM-DD) against which justification expiry is judged. Required, and set by the site (e.g. from its own flake's lastModifiedDate), so builds are reproducible and expired waivers do not keep passing.";
    };
    vulnerabilityDb = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = lib.literalExpression "inputs.go-vulndb";
      description = ''
        Go vulnerability database the build scans the server binary
        (`serverPackage`'s `bin/mattermost`) against: a directory of OSV
        `<ID>.json` entries, given as a flake input
        (`{ url = "path:/srv/vulndb/go-osv"; flake = false; }`), a path literal or
        a derivation, so it is in the Nix store where the build sandbox can read
        it. It is copied into the world-readable store: public data, never a
        secret. The scan's SBOM and findings join the evidence; a finding not
        waived in `services.secureMattermost.vulnerabilityWaivers` fails the
        build. `null`: no scan (the report says it was not performed).
      '';
    };
    egressAddresses = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "10.0.5.20/32" "10.0.6.0/28" ];
      description = ''
        Addresses (CIDR) of the services the declaration names by host name
        (identity provider, LDAP, SMTP, object store, a remote database, the
        push proxy, and the DNS resolver when it is not on loopback). The
        Mattermost unit runs with `IPAddressDeny=any`: besides loopback, the
        proxy, cluster and monitoring networks, and a database given as an
        address, only these are reachable. A declaration that names such a
        service while this is empty gets a warning at build time.
      '';
    };
    postgresql = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = isLoopbackHost cfg.database.host;
        defaultText = lib.literalMD "`true` when `database.host` is `localhost`, `127.0.0.1` or `[::1]`";
        example = false;
        description = ''
          Run the database on this host with nixpkgs' `services.postgresql`:
          the rendered pg_hba.conf (TLS and scram from
          `baremetal.networks.appHosts` only) and server settings (TLS with
          `baremetal.postgresql.certificateFile` and `keyFile`, scram,
          connection and DDL logging), and a oneshot unit that applies the
          rendered init.sql (owner role and database; the password from
          `database.passwordFile`, passed as a credential).
        '';
      };
    };
    firewall.enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = "Load the rendered host firewall (`nftables.conf`) with `networking.nftables`, in place of NixOS's own firewall.";
    };
    renderedArtifacts = lib.mkOption {
      type = lib.types.package;
      readOnly = true;
      default = rendered;
      defaultText = lib.literalMD "the checked, rendered artifacts of this declaration";
      description = "The checked, rendered artifacts (config.json, unit, nginx.conf, outcomes.json) and their evidence (report, OSCAL, SBOMs, the scan with `vulnerabilityDb`), under share/secure-mattermost.";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
   {
    # A NixOS host runs the bare-metal deployment; Kubernetes manifests come
    # from `nix build` (flake packages / lib.evaluate), never from a host.
    assertions = [
      {
        assertion = cfg.mode == "baremetal";
        message = "secure-mattermost: services.secureMattermost.mode is \"${cfg.mode}\", but a NixOS host can only run mode = \"baremetal\"; render Kubernetes manifests with the flake (packages.<system>.kubernetes-example or lib.evaluate) instead.";
      }
    ];
   }
   (lib.mkIf (cfg.mode == "baremetal") {
    assertions = [
      {
        assertion = (rt.serverPackage.version or null) == cfg.mattermost.version;
        message = "secure-mattermost: services.secureMattermost.nixos.serverPackage is Mattermost ${rt.serverPackage.version or "(unknown version)"}, but the catalog and settings are pinned to ${cfg.mattermost.version}.";
      }
      {
        assertion = vulnDb == null || lib.hasPrefix builtins.storeDir vulnDb;
        message = "secure-mattermost: services.secureMattermost.nixos.vulnerabilityDb is ${toString rt.vulnerabilityDb}, outside the Nix store, where the build sandbox cannot read it; give it as a flake input, path literal or derivation.";
      }
      {
        # Forcing the document refuses literal secrets before any derivation exists.
        assertion = builtins.seq (builtins.toJSON document) true;
        message = "secure-mattermost: the declaration holds a literal secret";
      }
      {
        assertion = lib.all cidrOk addressLists;
        message = "secure-mattermost: baremetal.networks.* and nixos.egressAddresses take CIDR addresses (a.b.c.d/n or an IPv6 prefix); one is not (the value is not shown).";
      }
    ];
    warnings = lib.optional (namedServices != [ ] && rt.egressAddresses == [ ]) (
      "secure-mattermost: the Mattermost unit denies every address but loopback and the declared networks (IPAddressDeny=any), and the declaration names "
      + lib.concatStringsSep ", " namedServices
      + " by host name: list their addresses (and a non-loopback DNS resolver's) in services.secureMattermost.nixos.egressAddresses, or they are unreachable."
    );

    services.mattermost = {
      enable = true;
      package = rt.serverPackage;
      siteUrl = "https://${cfg.domain}";
      inherit (cfg) siteName;
      host = appHost;
      port = appPort;
      dataDir = "/var/lib/mattermost";
      logDir = "/var/log/mattermost";
      inherit configDir;
      # The rendered config.json is installed at every start (below); nixpkgs'
      # own is not used, and the System Console cannot change what is pinned.
      mutableConfig = false;
      telemetry = {
        enableSecurityAlerts = !cfg.airGapped;
        enableDiagnostics = false;
      };
      database = {
        driver = "postgres";
        # Created by our oneshot (owner role, template0, UTF8), not by
        # nixpkgs' ensureDBOwnership, which needs the role and the database
        # to share a name.
        create = false;
        peerAuth = false;
        # The DSN, password included, is put into the environment by
        # `secure-mattermost launch` from the credential: nixpkgs writes none.
        fromEnvironment = true;
        inherit (db) host port name user;
        # nixpkgs' default is a fixed, well-known string; it is unused with
        # fromEnvironment, and replaced so no password-like value is left.
        password = "";
        extraConnectionOptions = {
          sslmode = db.sslMode;
          connect_timeout = 10;
        }
        // lib.optionalAttrs (db.caFile != null) { sslrootcert = db.caFile; };
      };
    };

    systemd.packages = [ credentialsDropIn ];
    # nixpkgs' module makes the unit wanted by multi-user.target.
    systemd.services.mattermost = {
      after = [ "network-online.target" ] ++ lib.optionals pgLocal [ "postgresql.service" "secure-mattermost-database.service" ];
      wants = [ "network-online.target" ];
      requires = lib.optionals pgLocal [ "postgresql.service" "secure-mattermost-database.service" ];
      environment.MM_LOG_PATH = "/var/log/mattermost";
      # As the rendered unit's ExecStartPre= lines: the policy again on the
      # clock's date (a waiver that has expired since the build stops the
      # start), then a private copy of the rendered config.json, which
      # Mattermost rewrites at start. Replaces nixpkgs' config generation.
      preStart = lib.mkForce ''
        ${rt.helperPackage}/bin/secure-mattermost check --input ${artifact "declaration.json"}
        ${pkgs.coreutils}/bin/install -m 0600 ${artifact "config.json"} ${configDir}/config.json
      '';
      serviceConfig = lib.mapAttrs (_: lib.mkForce) hardening // {
        ExecStart = lib.mkForce "${rt.helperPackage}/bin/secure-mattermost launch --spec ${artifact "secret-env.json"} -- ${rt.serverPackage}/bin/mattermost server --config ${configDir}/config.json";
        # JSON lines to the journal under one identifier; the audit log is a separate file.
        StandardOutput = "journal";
        StandardError = "journal";
        SyslogIdentifier = "mattermost";
      };
    };

    services.nginx = {
      enable = true;
      serverTokens = false;
      sslProtocols = "TLSv1.2 TLSv1.3";
      # nixpkgs' stock `localhost` site would answer every unknown Host on 80.
      virtualHosts = lib.mkDefault { };
      appendHttpConfig = "include ${artifact "nginx.conf"};";
    };

   })
   (lib.mkIf (cfg.mode == "baremetal" && rt.firewall.enable) {
    # The rendered ruleset (its own table, inet secure_mattermost) is the
    # host's firewall; NixOS's own would filter the same traffic again with
    # rules of its own. A site may keep it.
    networking.firewall.enable = lib.mkDefault false;
    networking.nftables = {
      enable = true;
      rulesetFile = firewallFile;
      # nixpkgs checks the ruleset with `nft --check` in the build sandbox,
      # whose /etc/passwd has no mattermost account (nft resolves the
      # egress chain's `meta skuid` at load): the check reads a copy that
      # names nobody instead. The host loads the file itself.
      preCheckRuleset = ''
        sed 's/meta skuid "mattermost"/meta skuid "nobody"/' ${firewallFile} > secure-mattermost.nft
        sed -i 's|include "${firewallFile}"|include "'"$PWD"'/secure-mattermost.nft"|' ruleset.conf
      '';
    };
    # Loading the file empties the sets of named destinations (IdP, SMTP,
    # a database by name, DNS): `firewall-sets` fills them from the
    # resolver, at boot once the network is up, before Mattermost starts,
    # after every reload of the ruleset, and every 15 minutes (the entries
    # expire after an hour unless refreshed).
    systemd.services.secure-mattermost-firewall-sets = {
      description = "Resolve the firewall's named egress destinations (secure-mattermost firewall-sets)";
      after = [ "nftables.service" "network-online.target" ];
      wants = [ "network-online.target" ];
      before = [ "mattermost.service" ];
      wantedBy = [ "multi-user.target" ];
      serviceConfig = sandbox "CAP_NET_ADMIN" // {
        Type = "oneshot";
        ExecStart = fillSets;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectControlGroups = true;
        RestrictAddressFamilies = [ "AF_NETLINK" "AF_INET" "AF_INET6" "AF_UNIX" ];
        RestrictNamespaces = true;
        SystemCallFilter = [ "@system-service" ];
      };
    };
    systemd.timers.secure-mattermost-firewall-sets = {
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "15min";
        OnUnitActiveSec = "15min";
      };
    };
    # After nixpkgs' own reload steps (mkAfter), which reload the ruleset;
    # `-`: a name that does not resolve must not fail the reload.
    systemd.services.nftables.serviceConfig.ExecReload = lib.mkAfter [ "-${fillSets}" ];
    systemd.services.mattermost.after = [ "secure-mattermost-firewall-sets.service" ];
   })
   (lib.mkIf (cfg.mode == "baremetal" && rt.postgresql.enable) {
    services.postgresql = {
      enable = true;
      package = lib.mkIf (db.postgresqlVersion != null) pkgs."postgresql_${toString db.postgresqlVersion}";
      # The rendered fragment's settings (tests/nix_module.rs compares them);
      # nixpkgs writes postgresql.conf from these in name order, so the
      # fragment cannot be included last.
      settings = {
        listen_addresses = lib.mkForce listenAddresses;
        inherit (db) port;
        ssl = true;
        ssl_cert_file = cfg.baremetal.postgresql.certificateFile;
        ssl_key_file = cfg.baremetal.postgresql.keyFile;
        ssl_min_protocol_version = "TLSv1.2";
        ssl_ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL";
        ssl_prefer_server_ciphers = true;
        password_encryption = "scram-sha-256";
        authentication_timeout = "30s";
        log_connections = true;
        log_disconnections = true;
        log_statement = "ddl";
        log_line_prefix = "%m [%p] %quser=%u db=%d client=%r app=%a ";
        # The rendered pg_hba.conf, in place of the one nixpkgs writes from
        # `authentication` (whose defaults allow md5 over loopback).
        hba_file = lib.mkForce (artifact "pg_hba.conf");
      };
    };
    # init.sql on every start (it creates what is missing and re-asserts the
    # rest, the password included: rotation is a restart), as the superuser
    # over the socket; psql reads the password from the credential (%d is
    # the unit's credentials directory), so the file may stay root-only.
    systemd.services.secure-mattermost-database = {
      description = "Mattermost database, owner role and password (secure-mattermost init.sql)";
      wantedBy = [ "multi-user.target" ];
      after = [ "postgresql.service" ];
      requires = [ "postgresql.service" ];
      before = [ "mattermost.service" ];
      serviceConfig = sandbox "" // {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "postgres";
        Group = "postgres";
        LoadCredential = "database-password:${db.passwordFile}";
        ExecStart = "${config.services.postgresql.finalPackage}/bin/psql -X -v ON_ERROR_STOP=1 -h /run/postgresql -p ${toString db.port} -d postgres -v sm_password_file=%d/database-password -f ${artifact "init.sql"}";
        PrivateNetwork = true;
        RestrictAddressFamilies = "AF_UNIX";
        SystemCallFilter = [ "@system-service" "~@privileged @resources" ];
      };
    };
   })
  ]);
}
