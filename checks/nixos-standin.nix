# The NixOS module and the flake's outputs evaluate against stand-in
# declarations of the nixpkgs options they use (tests/nix/flake-standin.nix
# with tests/nix/nixpkgs-standin, lib only), and the wiring holds: nixpkgs'
# Mattermost unit runs our launch with our hardening on top (a site's plain
# definition cannot weaken it), the database over TLS with verify-full,
# security alerts off when air-gapped, nginx and nftables load the rendered
# files (the named egress sets refilled by firewall-sets, and nixpkgs'
# build-time ruleset check kept working), a local PostgreSQL takes the
# rendered pg_hba.conf, settings and
# init.sql, everything refers to the checked rendering (so a failing rule
# fails the system build), and no password-like value is left in the
# evaluated configuration. A declaration for Kubernetes mode is refused by an
# assertion. The rendering derivation scans the server only when a
# vulnerability database is given (NixOS: nixos.vulnerabilityDb, in the
# store; a site's flake: lib.render's vulnDb), with govulncheck and
# cyclonedx-gomod from pkgs on its PATH.
{ lib }:
let
  eval = modules: import ../tests/nix/flake-standin.nix { inherit lib modules; };
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
  scanArgs = "--scan-binary ${store "mattermost"}/bin/mattermost --vuln-db ${store "go-vulndb"}";
  has = needle: s: lib.hasInfix needle s;
  base = {
    enable = true;
    mode = "baremetal";
    domain = "chat.example.com";
    nixos.policyDate = "2026-11-23";
  };
  scanned = eval [ { services.secureMattermost = base // { nixos = base.nixos // { vulnerabilityDb = { outPath = store "go-vulndb"; }; }; }; } ];
  outside = eval [ { services.secureMattermost = base // { nixos = base.nixos // { vulnerabilityDb = "/srv/vulndb/go-osv"; }; }; } ];
  site =
    args:
    (import ../tests/nix/flake-standin.nix {
      inherit lib;
      modules = [ { services.secureMattermost = base; } ];
      site = { pkgs, vulnDb, ... }: { inherit pkgs; modules = [ ../examples/baremetal.nix ]; policyDate = "2026-11-23"; } // args { inherit pkgs vulnDb; };
    }).site;
  siteScanned = site ({ vulnDb, ... }: { inherit vulnDb; });
  sitePlain = site (_: { });
  refused = args: !(builtins.tryEval (builtins.deepSeq (site args) true)).success;
  ok = eval [ { services.secureMattermost = base; } ];
  k8s = eval [ { services.secureMattermost = base // { mode = "kubernetes"; }; } ];

  # The wiring: a host with its database on board (tests/nix/nixos-sample.nix).
  sample = eval [ ../tests/nix/nixos-sample.nix ];
  w = sample.nixos;
  mm = w.mattermost;
  unit = w.services.mattermost;
  sc = unit.serviceConfig;
  dbUnit = w.services.secure-mattermost-database or null;
  artifacts = store "secure-mattermost-artifacts-chat.example.com";
  artifact = name: "${artifacts}/share/secure-mattermost/${name}";
  # A site's own definitions, at normal priority, that would weaken the unit.
  weakened = (eval [
    ../tests/nix/nixos-sample.nix
    {
      systemd.services.mattermost.serviceConfig = {
        CapabilityBoundingSet = [ "CAP_SYS_ADMIN" ];
        SystemCallFilter = [ "@mount" ];
        IPAddressDeny = "";
        ProtectSystem = "false";
        UMask = "0022";
      };
    }
  ]).nixos.services.mattermost.serviceConfig;
  online = (eval [ ../tests/nix/nixos-sample.nix { services.secureMattermost.airGapped = false; } ]).nixos.mattermost;
  # The committed example: remote database, SMTP and OIDC by name, no egress listed.
  remote = (eval [ ../examples/baremetal.nix { services.secureMattermost.nixos.policyDate = "2026-11-23"; } ]).nixos;
  noFirewall = (eval [ ../tests/nix/nixos-sample.nix { services.secureMattermost.nixos.firewall.enable = false; } ]).nixos;

  # Every string of the wiring, and the ones that look like a credential
  # (the catalog's patterns, as the helper's secret scan uses them) or are
  # nixpkgs' fixed default database password.
  secrets = (import ../modules/catalog.nix).secrets;
  strings = v:
    if builtins.isAttrs v then lib.concatMap strings (builtins.attrValues v)
    else if builtins.isList v then lib.concatMap strings v
    else if builtins.isString v then [ v ]
    else [ ];
  credentialLike = s: s == "mmpgsecret" || lib.any (p: builtins.match p s != null) secrets.valuePatterns;
  leaked = lib.filter credentialLike (strings (removeAttrs w [ "warnings" ]));
  check = cond: msg: cond || throw "NixOS stand-in: ${msg}";
in
(ok.failedAssertions == [ ] || throw "NixOS stand-in: assertions failed: ${toString ok.failedAssertions}")
&& (ok.unit == [ "secure-mattermost-chat.example.com" ] || throw "NixOS stand-in: the rendered unit's credentials drop-in is not installed")
&& (ok.wantedBy == [ "multi-user.target" ] || throw "NixOS stand-in: mattermost.service is not wanted by multi-user.target")
&& (k8s.failedAssertions != [ ] || throw "NixOS stand-in: mode = \"kubernetes\" under NixOS must fail an assertion")
&& (ok.rendered.inputs == [ "secure-mattermost" ] && !(has "--scan-binary" ok.rendered.script) || throw "NixOS stand-in: without nixos.vulnerabilityDb the derivation must not scan")
&& (scanned.failedAssertions == [ ] || throw "NixOS stand-in: a store vulnerabilityDb fails an assertion: ${toString scanned.failedAssertions}")
&& (scanned.rendered.inputs == [ "secure-mattermost" "govulncheck" "cyclonedx-gomod" ] || throw "NixOS stand-in: govulncheck and cyclonedx-gomod are not on the scanning derivation's PATH")
&& (has scanArgs scanned.rendered.script || throw "NixOS stand-in: nixos.vulnerabilityDb does not add ${scanArgs}")
&& (lib.any (has "vulnerabilityDb") outside.failedAssertions || throw "NixOS stand-in: a vulnerabilityDb outside the store must fail an assertion")
&& (sitePlain.inputs == [ "secure-mattermost" ] && !(has "--scan-binary" sitePlain.script) || throw "flake stand-in: lib.render without vulnDb must not scan")
&& (siteScanned.inputs == [ "secure-mattermost" "govulncheck" "cyclonedx-gomod" ] && has scanArgs siteScanned.script || throw "flake stand-in: lib.render with vulnDb does not scan the server")
&& (refused ({ pkgs, ... }: { scanBinary = pkgs.mattermost; }) || throw "flake stand-in: lib.render accepted scanBinary without vulnDb")
&& (refused ({ vulnDb, ... }: { inherit vulnDb; serverPackage = { type = "derivation"; name = "mattermost"; version = "10.5.0"; outPath = store "mattermost"; }; }) || throw "flake stand-in: lib.render scanned a server of another version")
&& (refused (_: { vulnDb = "/srv/vulndb/go-osv"; }) || throw "flake stand-in: lib.render accepted a vulnDb outside the store")
&& (refused (_: { policyDate = "23.11.2026"; }) || throw "flake stand-in: lib.render accepted a malformed policyDate")

# services.mattermost: nixpkgs' module, pointed at our package, site and database.
&& check (sample.failedAssertions == [ ]) "the sample host fails assertions: ${toString sample.failedAssertions}"
&& check (mm.enable && mm.package == "mattermost" && mm.siteUrl == "https://chat.example.com" && mm.host == "127.0.0.1" && mm.port == 8065) "services.mattermost is not our server on 127.0.0.1:8065 for https://chat.example.com"
&& check (mm.database.extraConnectionOptions.sslmode == "verify-full" && mm.database.extraConnectionOptions.sslrootcert == "/etc/ssl/certs/site-ca.pem") "services.mattermost.database does not connect with sslmode=verify-full against the declared CA (nixpkgs' default is sslmode=disable)"
&& check (mm.database.fromEnvironment && !mm.database.peerAuth && !mm.database.create && mm.environmentFile == null) "the DSN must come from `launch` (fromEnvironment), with no peer auth, no nixpkgs-made database and no environment file"
&& check (!mm.telemetry.enableSecurityAlerts && !mm.telemetry.enableDiagnostics) "an air-gapped host still has telemetry.enableSecurityAlerts on (nixpkgs' default)"
&& check online.telemetry.enableSecurityAlerts "telemetry.enableSecurityAlerts does not follow airGapped = false"
&& check (!mm.mutableConfig) "services.mattermost.mutableConfig is on"

# Its unit: our launch and start-up steps, our hardening on top of nixpkgs' own.
&& check (sc.ExecStart == "${store "secure-mattermost"}/bin/secure-mattermost launch --spec ${artifact "secret-env.json"} -- ${store "mattermost"}/bin/mattermost server --config /etc/mattermost/config.json") "ExecStart is not `secure-mattermost launch` with the rendered spec: ${sc.ExecStart}"
&& check (has "secure-mattermost check --input ${artifact "declaration.json"}\n" unit.preStart && has "install -m 0600 ${artifact "config.json"} /etc/mattermost/config.json" unit.preStart) "preStart does not re-check the policy and install the rendered config.json (nixpkgs' own config generation must be replaced)"
&& check (sc.CapabilityBoundingSet == "" && sc.AmbientCapabilities == "" && sc.NoNewPrivileges && sc.ProtectSystem == "strict" && sc.UMask == "0077") "capabilities, NoNewPrivileges, ProtectSystem=strict or UMask=0077 missing (nixpkgs' unit has UMask=0027 and no CapabilityBoundingSet)"
&& check ((sc.SystemCallFilter or null) == [ "@system-service" "~@privileged @resources" ] && sc.SystemCallArchitectures == "native") "SystemCallFilter missing (nixpkgs' unit has none)"
&& check ((sc.RestrictAddressFamilies or null) == [ "AF_INET" "AF_INET6" "AF_UNIX" "AF_NETLINK" ]) "RestrictAddressFamilies missing (nixpkgs' unit has none)"
&& check ((sc.IPAddressDeny or null) == "any" && (sc.IPAddressAllow or null) == [ "localhost" "127.0.0.1/32" "::1/128" "10.0.5.20/32" ]) "IPAddressDeny=any with the declared networks and egress allowed is missing: ${builtins.toJSON (sc.IPAddressAllow or null)}"
&& check (sc.PrivateUsers && sc.ProtectProc == "invisible") "nixpkgs' own hardening was lost"
&& check (sc.SyslogIdentifier == "mattermost" && sc.StandardOutput == "journal" && unit.environment.MM_LOG_PATH == "/var/log/mattermost") "the unit does not log to the journal as the rendered unit does"
&& check (weakened.CapabilityBoundingSet == "" && weakened.SystemCallFilter == sc.SystemCallFilter && weakened.IPAddressDeny == "any" && weakened.ProtectSystem == "strict" && weakened.UMask == "0077") "a site's plain serviceConfig definitions weakened the hardening"
&& check (lib.elem "secure-mattermost-database.service" unit.requires && lib.elem "postgresql.service" unit.after) "mattermost.service does not wait for the local database"
&& check (builtins.length w.packages == 1 && has "grep '^LoadCredential=' ${artifact "mattermost.service"}" (builtins.head w.packages).script && has "mattermost.service.d/" (builtins.head w.packages).script) "the credentials drop-in is not built from the rendered unit's LoadCredential= lines"

# nginx and the firewall load the rendered files.
&& check (w.nginx.enable && w.nginx.appendHttpConfig == "include ${artifact "nginx.conf"};" && w.nginx.virtualHosts == { } && !w.nginx.serverTokens) "nginx does not include the rendered nginx.conf alone"
&& check (w.nftables.enable && w.nftables.rulesetFile == artifact "nftables.conf" && !w.firewall) "networking.nftables does not load the rendered nftables.conf in place of NixOS's firewall"
&& check (has "> secure-mattermost.nft" w.nftables.preCheckRuleset && has "meta skuid \"nobody\"" w.nftables.preCheckRuleset && w.nftables.checkRuleset) "nixpkgs' build-time `nft --check` would fail on the egress chain's mattermost account: preCheckRuleset must swap it"
&& check ((w.services.secure-mattermost-firewall-sets.serviceConfig.ExecStart or "") == "${store "secure-mattermost"}/bin/secure-mattermost firewall-sets --ruleset ${artifact "nftables.conf"} --nft ${store "nftables"}/bin/nft --apply") "the named egress sets are not filled by firewall-sets"
&& check (lib.elem "mattermost.service" w.services.secure-mattermost-firewall-sets.before && lib.elem "secure-mattermost-firewall-sets.service" unit.after && w.timers ? secure-mattermost-firewall-sets) "firewall-sets does not run before Mattermost and from a timer"
&& check (lib.last w.services.nftables.serviceConfig.ExecReload == "-${w.services.secure-mattermost-firewall-sets.serviceConfig.ExecStart}") "a reload of the ruleset does not refill the named sets after nixpkgs' own reload steps"
&& check (!noFirewall.nftables.enable && noFirewall.firewall && !(noFirewall.services ? secure-mattermost-firewall-sets)) "nixos.firewall.enable = false still replaces NixOS's firewall"

# The local database: rendered pg_hba.conf, the fragment's settings, init.sql with the password as a credential.
&& check (w.postgresql.enable && w.postgresql.package == "postgresql-16") "services.postgresql is not enabled with the declared major version"
&& check (w.postgresql.settings.hba_file == artifact "pg_hba.conf") "services.postgresql does not use the rendered pg_hba.conf (nixpkgs' defaults allow md5 over loopback)"
&& check (w.postgresql.settings.ssl && w.postgresql.settings.password_encryption == "scram-sha-256" && w.postgresql.settings.ssl_min_protocol_version == "TLSv1.2" && w.postgresql.settings.listen_addresses == "localhost") "services.postgresql.settings lack TLS, scram or the listen address"
&& check (dbUnit != null && dbUnit.serviceConfig.User == "postgres" && dbUnit.serviceConfig.LoadCredential == "database-password:/run/secrets/mattermost/database-password" && has "-v sm_password_file=%d/database-password -f ${artifact "init.sql"}" dbUnit.serviceConfig.ExecStart) "the database unit does not apply the rendered init.sql with the password as a credential"

# A remote database: nothing local, and the unreachable services are named.
&& check (!remote.postgresql.enable && !(remote.services ? secure-mattermost-database) && !(lib.elem "postgresql.service" remote.services.mattermost.requires)) "a remote database still wires a local PostgreSQL"
&& check (builtins.length remote.warnings == 1 && lib.all (n: has n (builtins.head remote.warnings)) [ "OIDC" "SMTP" "database" "egressAddresses" ]) "no warning names the services IPAddressDeny=any cuts off: ${builtins.toJSON remote.warnings}"
&& check (w.warnings == [ ]) "a declaration that lists its egress addresses still warns"

# No secret in the evaluated configuration.
&& check (mm.database.password == "") "nixpkgs' fixed default database password is still set"
&& check (leaked == [ ]) "password-like values in the evaluated configuration (not shown): ${toString (builtins.length leaked)}"
