#!/usr/bin/env bash
# The whole bare-metal stack on this machine's loopback, from one command:
# renders the shipped bare-metal example (examples/baremetal.json) for
# loopback, starts PostgreSQL from the rendered postgresql fragment,
# pg_hba.conf and init.sql, the pinned Mattermost server through
# `secure-mattermost launch` with the rendered config.json and secret spec
# (database over verify-full), and Debian's nginx with the rendered
# nginx.conf; prints the URL and the outcome table, and waits. Ctrl-C
# (SIGINT) or SIGTERM stops everything and removes the temporary directory.
#
# Needs root (PostgreSQL runs as the postgres user, nginx binds 443 and 80,
# the server gets a mount namespace whose /var/log is the temporary
# directory's before it drops to the mattermost account), PostgreSQL,
# nginx, openssl, curl, python3 and util-linux (bash
# scripts/mattermost-test-deps.sh and scripts/test.sh install them). The
# server is scripts/mattermost-build.sh's (built once, cached; run here
# when missing), the helper target/debug/secure-mattermost (cargo build).
#
# The server never runs as root: `secure-mattermost launch` and the server
# it execs run as the unprivileged `mattermost` system account (made here
# when missing, as scripts/firewall-deps.sh makes it), through setpriv with
# no new privileges, an empty capability bounding set and a reset
# environment. It runs from a root-owned, read-only copy of the server's
# tree (bin/mattermost with the i18n, templates, fonts and client
# directories beside it) in the temporary directory, since the cache may
# sit where that account cannot read (/root); the helper is copied there
# too when that account cannot execute it where it is. The server's
# working directory (config.json, file store), its log directory and the
# database password are that account's alone (directories 0700, files
# 0600); PostgreSQL's init reads a copy of the password owned by postgres,
# removed once the role is made.
#
# What differs from a host install, and why: the database, certificates,
# secrets, file store and logs live in the temporary directory; the
# certificates come from a CA made for this run; sign-in is by password
# under a structured, dated waiver of `sso-only-sign-in` (the server is a
# Team Edition build, which has no SSO); no mail relay is declared; nginx's
# listen lines are bound to 127.0.0.1 (the rendered file listens on every
# address); there is no systemd, so of the unit's sandbox only the account
# (and no new privileges, no capabilities) applies here.
#
# Environment: SM_STACK_DOMAIN (chat.localhost), SM_STACK_DB_PORT (55432),
# SM_HELPER (a built helper), SECURE_MATTERMOST_SERVER_BIN (a server binary).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[stack-up] %s\n' "$*"; }
die() { printf '[stack-up] error: %s\n' "$*" >&2; exit 1; }

domain="${SM_STACK_DOMAIN:-chat.localhost}"
db_port="${SM_STACK_DB_PORT:-55432}"
[[ $db_port =~ ^[0-9]+$ ]] || die "SM_STACK_DB_PORT must be a port number"
[[ $(id -u) -eq 0 ]] || die "needs root: PostgreSQL runs as the postgres user and nginx binds 443 and 80"
for tool in openssl curl python3 runuser setpriv unshare mount ss nginx; do
  command -v "$tool" >/dev/null || [[ $tool == nginx && -x /usr/sbin/nginx ]] || die "$tool is not installed (bash scripts/mattermost-test-deps.sh; nginx: apt-get install nginx-light)"
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -n $pg_bin && -x $pg_bin/initdb ]] || die "no PostgreSQL server in /usr/lib/postgresql/*/bin (bash scripts/mattermost-test-deps.sh)"
pg_major="$(basename "$(dirname "$pg_bin")")"

helper="${SM_HELPER:-}"
if [[ -z $helper ]]; then
  say "building the helper (cargo build)"
  (cd "$root" && cargo build --quiet)
  helper="$root/target/debug/secure-mattermost"
fi
[[ -x $helper ]] || die "no helper at $helper"
version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$root/catalog/mattermost-pin.json")"
server="${SECURE_MATTERMOST_SERVER_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/mattermost-$version/bin/mattermost}"
if [[ ! -x $server ]]; then
  say "no Mattermost $version server at $server: building it (scripts/mattermost-build.sh, cached)"
  bash "$root/scripts/mattermost-build.sh"
fi
[[ -x $server ]] || die "no Mattermost server at $server"

# The server's account, as scripts/firewall-deps.sh makes it.
if ! getent passwd mattermost >/dev/null; then
  say "creating the mattermost system account (no login, no home)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group mattermost
fi
[[ $(id -u mattermost) -ne 0 ]] || die "the mattermost account has uid 0"
as_mattermost=(setpriv --reuid=mattermost --regid=mattermost --init-groups --no-new-privs --inh-caps=-all --bounding-set=-all --reset-env)

for port in 443 80 8065 "$db_port"; do
  if [[ -n $(ss -Hltn "sport = :$port") ]]; then
    die "port $port is in use here (ss -ltnp): stop what listens there, or set SM_STACK_DB_PORT for the database"
  fi
done

dir="" mm_pid="" ng_pid="" pg_started=""
stop_pid() { # pid name seconds
  kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
  kill -TERM "$1" 2>/dev/null || true
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    say "$2 did not stop within $3 s: killing it"
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  # A reader that has gone (a closed pipe) must not cut the cleanup short.
  trap '' PIPE
  set +e
  say "stopping"
  [[ -n $ng_pid ]] && stop_pid "$ng_pid" nginx 10
  [[ -n $mm_pid ]] && stop_pid "$mm_pid" mattermost 30
  if [[ -n $pg_started ]]; then
    local postmaster
    postmaster="$(head -n 1 "$dir/pg/data/postmaster.pid" 2>/dev/null || true)"
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w -t 30 stop >/dev/null
    # pg_ctl returns once postmaster.pid is gone; the postmaster exits a moment later.
    for ((i = 0; i < 100; i++)); do
      [[ $postmaster =~ ^[0-9]+$ && -e /proc/$postmaster && $(awk '{print $3}' "/proc/$postmaster/stat" 2>/dev/null) != Z ]] || break
      sleep 0.1
    done
  fi
  if [[ -n $dir && -d $dir ]]; then
    rm -rf -- "$dir"
    say "removed $dir"
  fi
  say "stopped"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dir="$(mktemp -d /tmp/secure-mattermost-stack.XXXXXX)"
chmod 0711 "$dir"
say "working in $dir"
mkdir -p "$dir/pg" "$dir/mm/data" "$dir/secrets" "$dir/var-log/mattermost" "$dir/nginx/tmp"
chmod 0700 "$dir/pg" "$dir/mm" "$dir/mm/data" "$dir/secrets" "$dir/var-log/mattermost"
chown postgres: "$dir/pg"
chown mattermost:mattermost "$dir/mm" "$dir/mm/data" "$dir/secrets" "$dir/var-log/mattermost"

# The server's tree, copied root-owned and read-only for the mattermost account.
server_src="$(dirname "$(dirname "$server")")"
say "copying the server ($server_src) to $dir/server"
mkdir -p "$dir/server/bin"
install -m 0755 "$server" "$dir/server/bin/mattermost"
for sub in client i18n templates fonts; do
  [[ -d $server_src/$sub ]] && cp -R --no-preserve=mode,ownership "$server_src/$sub" "$dir/server/"
done
chmod -R u=rwX,go=rX "$dir/server"
server="$dir/server/bin/mattermost"
if ! "${as_mattermost[@]}" test -x "$helper"; then
  say "copying the helper to $dir/server/bin (the mattermost account cannot execute $helper)"
  install -m 0755 "$helper" "$dir/server/bin/secure-mattermost"
  helper="$dir/server/bin/secure-mattermost"
fi

say "certificates: a CA for this run, PostgreSQL's for 127.0.0.1, the proxy's for $domain"
ssl() { openssl "$@" >/dev/null 2>&1 || die "openssl $1 failed"; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ssl req -x509 "${ec[@]}" -days 2 -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj /CN=secure-mattermost-stack-CA \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
issue() { # cn san cert key
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$2" >"$dir/$1.ext"
  ssl req "${ec[@]}" -subj "/CN=$1" -keyout "$4" -out "$dir/$1.csr"
  ssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 -extfile "$dir/$1.ext" -out "$3"
  chmod 0600 "$4"
}
issue localhost "DNS:localhost,IP:127.0.0.1" "$dir/pg/server.crt" "$dir/pg/server.key"
issue "$domain" "DNS:$domain" "$dir/site.pem" "$dir/site.key"
chmod 0644 "$dir/ca.pem"
(umask 077 && openssl rand -hex 24 >"$dir/secrets/database-password")
chown mattermost:mattermost "$dir/secrets/database-password"
# init.sql's copy (`-v sm_password_file`), postgres's until the role is made.
install -o postgres -g postgres -m 0600 "$dir/secrets/database-password" "$dir/pg/database-password"
chown postgres: "$dir/pg/server.crt" "$dir/pg/server.key"

say "declaration: examples/baremetal.json on loopback ($dir/declaration.json)"
python3 - "$root/examples/baremetal.json" "$dir" "$domain" "$db_port" "$version" "$pg_major" >"$dir/declaration.json" <<'EOF'
import datetime, json, sys
example, d, domain, port, version, pg_major = sys.argv[1:]
doc = json.load(open(example))
sm = doc["secureMattermost"]
sm["domain"] = domain
sm["mattermost"]["version"] = version
sm["auth"]["provider"] = "password"
expires = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=30)).isoformat()
sm["justification"]["sso-only-sign-in"] = {
    "reason": "Local demonstration stack on a Team Edition build, which has no identity provider support",
    "approvedBy": "scripts/stack-up.sh (local demonstration only)",
    "expires": expires,
    "ticket": "LOCAL-DEMO",
}
sm["database"].update({"host": "127.0.0.1", "port": int(port), "passwordFile": d + "/secrets/database-password",
                       "sslMode": "verify-full", "caFile": d + "/ca.pem", "postgresqlVersion": int(pg_major)})
sm["baremetal"]["postgresql"] = {"certificateFile": d + "/pg/server.crt", "keyFile": d + "/pg/server.key"}
sm["tls"]["certificateFile"] = d + "/site.pem"
sm["tls"]["keyFile"] = d + "/site.key"
sm["fileStorage"]["driver"] = "local"
sm["fileStorage"]["directory"] = d + "/mm/data"
sm["smtp"]["server"] = None
sm["smtp"]["username"] = None
json.dump(doc, sys.stdout, indent=2)
EOF

say "render ($helper render)"
if ! "$helper" render --input "$dir/declaration.json" --out "$dir/out" >"$dir/outcomes.txt" 2>"$dir/render.err"; then
  cat "$dir/outcomes.txt" "$dir/render.err" >&2
  die "render failed"
fi

say "PostgreSQL $pg_major on 127.0.0.1:$db_port from the rendered files"
pg() { runuser -u postgres -- env PGHOST="$dir/pg" PGPORT="$db_port" "$pg_bin/$1" "${@:2}"; }
pg initdb -D "$dir/pg/data" -U postgres -E UTF8 --auth-local=peer --auth-host=reject >/dev/null
mkdir "$dir/pg/data/conf.d"
cp "$dir/out/postgresql-secure-mattermost.conf" "$dir/pg/data/conf.d/"
cp "$dir/out/pg_hba.conf" "$dir/pg/data/pg_hba.conf"
cp "$dir/out/init.sql" "$dir/pg/init.sql"
printf "\n# stack-up.sh: the socket in its own directory; the rendered fragment last\nunix_socket_directories = '%s'\ninclude_dir = 'conf.d'\n" "$dir/pg" >>"$dir/pg/data/postgresql.conf"
chown -R postgres: "$dir/pg"
pg_started=1
pg pg_ctl -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 start >/dev/null
# init.sql's documented apply command, on this copy of the file, reading
# postgres's copy of the password; the copy goes once the role has it.
pg psql -X -q -v ON_ERROR_STOP=1 -v sm_password_file="$dir/pg/database-password" -f "$dir/pg/init.sql" >/dev/null
rm -f -- "$dir/pg/database-password"

say "Mattermost $version through launch, as the mattermost account (uid $(id -u mattermost), not root)"
install -o mattermost -g mattermost -m 0600 "$dir/out/config.json" "$dir/mm/config.json"
install -o mattermost -g mattermost -m 0600 "$dir/out/secret-env.json" "$dir/mm/secret-env.json"
(
  cd "$dir/mm"
  # Root only for the mount namespace (/var/log is $dir/var-log); setpriv
  # drops to the mattermost account before launch reads any secret.
  exec unshare --mount --propagation private sh -c 'mount --bind "$1" /var/log && shift && exec "$@"' sh "$dir/var-log" \
    "${as_mattermost[@]}" "$helper" launch --spec "$dir/mm/secret-env.json" -- "$server" server --config "$dir/mm/config.json"
) </dev/null >"$dir/mattermost.out" 2>&1 &
mm_pid=$!
for ((i = 0; ; i++)); do
  if curl -fsS --max-time 5 --noproxy '*' http://127.0.0.1:8065/api/v4/system/ping 2>/dev/null | grep -q '"status":"OK"'; then
    break
  fi
  kill -0 "$mm_pid" 2>/dev/null || { tail -n 30 "$dir/mattermost.out" >&2; die "the server exited before answering ping"; }
  ((i < 480)) || { tail -n 30 "$dir/mattermost.out" >&2; die "the server did not answer ping within 240 s"; }
  sleep 0.5
done

say "nginx with the rendered nginx.conf (listen lines bound to 127.0.0.1)"
python3 - "$dir/out/nginx.conf" "$dir/nginx/site.conf" <<'EOF'
import sys
src, dst = sys.argv[1:]
text = open(src).read()
swaps = {"    listen 443 ssl http2;\n": "    listen 127.0.0.1:443 ssl http2;\n", "    listen 80;\n": "    listen 127.0.0.1:80;\n",
         "    listen [::]:443 ssl http2;\n": "", "    listen [::]:80;\n": ""}
for old, new in swaps.items():
    if text.count(old) != 1:
        sys.exit("the rendered nginx.conf no longer has exactly one line " + repr(old.strip()))
    text = text.replace(old, new)
open(dst, "w").write(text)
EOF
cat >"$dir/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events {}
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx/tmp;
  proxy_temp_path $dir/nginx/tmp;
  include $dir/nginx/site.conf;
}
EOF
"$nginx_bin" -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf"
"$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" </dev/null >/dev/null 2>&1 &
ng_pid=$!
url="https://$domain/"
for ((i = 0; ; i++)); do
  if curl -fsS --max-time 5 --noproxy '*' --resolve "$domain:443:127.0.0.1" --cacert "$dir/ca.pem" "${url}api/v4/system/ping" 2>/dev/null | grep -q '"status":"OK"'; then
    break
  fi
  kill -0 "$ng_pid" 2>/dev/null || { cat "$dir/nginx/error.log" >&2; die "nginx exited"; }
  ((i < 100)) || { cat "$dir/nginx/error.log" >&2; die "nginx does not proxy to the server"; }
  sleep 0.2
done

echo
cat "$dir/outcomes.txt"
echo
echo "URL: $url"
echo "CA: $dir/ca.pem"
echo "Database: 127.0.0.1:$db_port"
echo "Directory: $dir"
echo "Try: curl --cacert $dir/ca.pem --resolve $domain:443:127.0.0.1 ${url}api/v4/system/ping"
echo "(sign-up is off, as hardened: there is no account yet; the server is API-only, built without the web client)"
echo "Stop with Ctrl-C."

# Up until a signal, or until a part stops on its own (then exit 1).
trap 'exit 0' INT TERM
while :; do
  sleep 1 &
  wait $! || true
  kill -0 "$mm_pid" 2>/dev/null || { tail -n 20 "$dir/mattermost.out" >&2; die "the Mattermost server stopped"; }
  kill -0 "$ng_pid" 2>/dev/null || { tail -n 20 "$dir/nginx/error.log" >&2; die "nginx stopped"; }
  pg pg_ctl -D "$dir/pg/data" status >/dev/null || die "PostgreSQL stopped"
done
