#!/usr/bin/env bash
# Installs ctop-agent as a systemd service from a built checkout (npm ci && npm run build),
# for a gateway that cannot take the Debian package (npm run package; docs/PACKAGING.md),
# which is the supported way and does all of this from dpkg:
#
#   sudo systemd/install.sh            # install or upgrade; does not start anything
#   sudo systemctl enable --now ctop-agent
#
# Puts: the program in /usr/lib/ctop-agent (dist, production node_modules), the unit in
# /etc/systemd/system/ctop-agent.service, a system user and group ctop-agent, and
# /etc/ctop-agent/{config.yaml,keys/,tls/} (an existing config.yaml is never replaced).
# Options: --prefix DIR (default /usr/lib/ctop-agent, the unit's ExecStart), --no-user (the account exists),
# --no-modules (keep the installed node_modules). DESTDIR=/some/root installs below a
# staging root without touching accounts or systemd (packaging, the repository's test).
set -euo pipefail

prefix=/usr/lib/ctop-agent
make_user=1
copy_modules=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --no-user) make_user=0; shift ;;
    --no-modules) copy_modules=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

src=$(cd "$(dirname "$0")/.." && pwd)
root=${DESTDIR:-}
staging=0
[ -n "$root" ] && staging=1

if [ "$staging" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (or set DESTDIR to stage the files)" >&2
  exit 1
fi
if [ ! -f "$src/dist/src/cli/main.js" ]; then
  echo "install.sh: $src/dist is missing: run npm ci && npm run build first" >&2
  exit 1
fi
node_bin=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$src/systemd/ctop-agent.service")
if [ "$staging" = 0 ] && [ ! -x "$node_bin" ]; then
  echo "install.sh: the unit runs $node_bin, which is not here; install Node.js 20+ there or change ExecStart in a drop-in" >&2
  exit 1
fi

echo "installing ctop-agent into ${root}${prefix}"
install -d -m 0755 "${root}${prefix}"
# The program: what runs, what it needs at run time, and the operator documentation.
rm -rf "${root}${prefix}/dist"
cp -a "$src/dist" "${root}${prefix}/dist"
install -m 0644 "$src/package.json" "$src/package-lock.json" "${root}${prefix}/"
install -d -m 0755 "${root}${prefix}/docs" "${root}${prefix}/systemd"
cp -a "$src/docs/." "${root}${prefix}/docs/"
install -m 0644 "$src/systemd/ctop-agent.service" "$src/systemd/config.example.yaml" "${root}${prefix}/systemd/"
# The console's assets are read from the source tree (tsc does not copy them).
if [ -d "$src/src/console/assets" ]; then
  install -d -m 0755 "${root}${prefix}/src/console"
  rm -rf "${root}${prefix}/src/console/assets"
  cp -a "$src/src/console/assets" "${root}${prefix}/src/console/assets"
fi
if [ "$copy_modules" = 1 ]; then
  # The checkout's modules were built for this machine (native: SQLite, serial, HCI);
  # pruning the development ones leaves what runs.
  rm -rf "${root}${prefix}/node_modules"
  cp -a "$src/node_modules" "${root}${prefix}/node_modules"
  (cd "${root}${prefix}" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
fi

if [ "$make_user" = 1 ] && [ "$staging" = 0 ]; then
  if ! getent passwd ctop-agent >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/ctop-agent --no-create-home \
      --shell /usr/sbin/nologin --comment "CTOP edge agent" ctop-agent
    echo "created system user ctop-agent"
  fi
fi
owner() { [ "$staging" = 0 ] && chown "$@" || true; }

# Configuration: readable by the agent, writable by root only. Keys: the agent's alone.
install -d -m 0750 "${root}/etc/ctop-agent"
owner root:ctop-agent "${root}/etc/ctop-agent"
install -d -m 0700 "${root}/etc/ctop-agent/keys" "${root}/etc/ctop-agent/tls"
owner ctop-agent:ctop-agent "${root}/etc/ctop-agent/keys" "${root}/etc/ctop-agent/tls"
if [ ! -e "${root}/etc/ctop-agent/config.yaml" ]; then
  install -m 0640 "$src/systemd/config.example.yaml" "${root}/etc/ctop-agent/config.yaml"
  owner root:ctop-agent "${root}/etc/ctop-agent/config.yaml"
  echo "wrote /etc/ctop-agent/config.yaml from the example: edit it"
fi

install -d -m 0755 "${root}/etc/systemd/system"
install -m 0644 "$src/systemd/ctop-agent.service" "${root}/etc/systemd/system/ctop-agent.service"
if [ "$staging" = 0 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

cat <<EOF
done. Next:
  1. the gateway key (kid = gateway.id), owned by ctop-agent, mode 0600:
       sudo -u ctop-agent node ${prefix}/dist/src/cli/main.js keys gen --role gateway --kid <gateway.id> --country <CC> --out /etc/ctop-agent/keys
  2. the trust store (customs signer keys + the exchange key) at /etc/ctop-agent/trust-store.json,
     the broker's CA and this gateway's client certificate under /etc/ctop-agent/tls/ (chown ctop-agent)
  3. edit /etc/ctop-agent/config.yaml, then check it as the agent user:
       sudo -u ctop-agent node ${prefix}/dist/src/cli/main.js config check /etc/ctop-agent/config.yaml
  4. sudo systemctl enable --now ctop-agent && journalctl -u ctop-agent -f
  5. curl -s http://127.0.0.1:9464/readyz
EOF
