#!/usr/bin/env bash
# QRGate installer for a fresh Debian 12 / Ubuntu 24.04 VM. Run as root from the source tree:
#
#     sudo deploy/install.sh
#
# It is idempotent: running it again (from a newer source tree) upgrades in place and keeps
# the settings (/etc/qrgate/qrgate.env), the data (/var/lib/qrgate) and the admin account.
#
# What it does: Debian packages (python3-venv, caddy, sqlite3), the system user `qrgate`,
# the code in /opt/qrgate/app with its own venv (/opt/qrgate/venv, from requirements.lock),
# /etc/qrgate/qrgate.env (mode 0640, generated SECRET_KEY) on the first run, migrate,
# collectstatic, the first administrator, the systemd units (qrgate.service, the nightly
# qrgate-backup.timer, the outbox worker qrgate-worker.service, the import worker
# qrgate-imports.service, the morning alerts'
# qrgate-daily.timer, the 5-minute qrgate-reports.timer for scheduled reports) enabled and
# started or reloaded, and Caddy as the HTTPS front with its own local certificate
# authority. It ends by printing the addresses to open.
#
# Choices (environment variables, all optional):
#   QRGATE_HOSTS="qrgate.plant.lan 192.168.1.50"  names/addresses for ALLOWED_HOSTS and the
#                       certificate on the first run (default: this VM's name and addresses)
#   QRGATE_HTTPS=0      no HTTPS front (plain HTTP on port 5000 only, SECURE_HTTPS=false)
#   QRGATE_PORT=5000    gunicorn's port on the first run
#   QRGATE_DATABASE_URL=postgres://qrgate:pw@127.0.0.1:5432/qrgate   on the first run
#
# For tests and unusual layouts every location can be moved: QRGATE_PREFIX (/opt/qrgate),
# QRGATE_ETC (/etc/qrgate), QRGATE_DATA (/var/lib/qrgate), QRGATE_UNIT_DIR
# (/etc/systemd/system), QRGATE_CADDY_DIR (/etc/caddy), QRGATE_CADDY_PKI (Caddy's local CA
# folder), QRGATE_USER (qrgate), SYSTEMCTL (systemctl), PYTHON (python3), and
# QRGATE_SKIP_SYSTEM=1 skips apt-get, useradd and the root check.
set -euo pipefail
umask 022

PREFIX=${QRGATE_PREFIX:-/opt/qrgate}
ETC=${QRGATE_ETC:-/etc/qrgate}
DATA=${QRGATE_DATA:-/var/lib/qrgate}
UNIT_DIR=${QRGATE_UNIT_DIR:-/etc/systemd/system}
CADDY_DIR=${QRGATE_CADDY_DIR:-/etc/caddy}
CADDY_PKI=${QRGATE_CADDY_PKI:-/var/lib/caddy/.local/share/caddy/pki/authorities/local}
SVC_USER=${QRGATE_USER:-qrgate}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
PYTHON=${PYTHON:-python3}
HTTPS=${QRGATE_HTTPS:-1}
SKIP_SYSTEM=${QRGATE_SKIP_SYSTEM:-0}

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=$PREFIX/app
VENV=$PREFIX/venv
ENV_FILE=$ETC/qrgate.env
PASSWORD_FILE=$DATA/first-admin-password.txt

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ -f "$SRC/manage.py" ] && [ -f "$SRC/requirements.lock" ] || die "run me from the QRGate source tree (deploy/install.sh)"
if [ "$SKIP_SYSTEM" != 1 ] && [ "$(id -u)" != 0 ]; then
    die "run me as root: sudo deploy/install.sh"
fi

# --- Debian packages and the system user -------------------------------------------------
if [ "$SKIP_SYSTEM" != 1 ]; then
    say "Installing Debian packages"
    packages=(python3 python3-venv python3-pip sqlite3 ca-certificates openssl)
    [ "$HTTPS" = 1 ] && packages+=(caddy)
    db_url=${QRGATE_DATABASE_URL:-}
    [ -f "$ENV_FILE" ] && db_url=$(sed -n 's/^DATABASE_URL=//p' "$ENV_FILE" | tail -n 1)
    case "$db_url" in postgres*) packages+=(postgresql-client) ;; esac
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${packages[@]}" >/dev/null

    if ! id -u "$SVC_USER" >/dev/null 2>&1; then
        say "Creating the system user $SVC_USER"
        useradd --system --user-group --home-dir "$DATA" --no-create-home \
            --shell /usr/sbin/nologin --comment "QRGate" "$SVC_USER"
    fi
fi
SVC_GROUP=$(id -gn "$SVC_USER")

install -d -m 0755 "$PREFIX"
install -d -m 0750 -o root -g "$SVC_GROUP" "$ETC"
install -d -m 0750 -o "$SVC_USER" -g "$SVC_GROUP" "$DATA" "$DATA/media" "$DATA/backups"

# --- The code: a fresh copy swapped in whole, so no file of an older version lingers ---------
say "Copying QRGate to $APP"
rm -rf "$APP.new" "$APP.old"
install -d -m 0755 "$APP.new"
(cd "$SRC" && tar --exclude=__pycache__ --exclude='*.pyc' --exclude='*.sqlite3' -cf - \
    manage.py pyproject.toml requirements.lock requirements-dev.lock README.md \
    accounts stations drivers reports musters qrgate templates static locale deploy) | tar -C "$APP.new" -xf -
chmod -R u=rwX,go=rX "$APP.new"
[ -d "$APP" ] && mv "$APP" "$APP.old"
mv "$APP.new" "$APP"
rm -rf "$APP.old"

# --- The venv, from the pinned set ----------------------------------------------------------
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    say "Creating the Python environment $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
say "Installing the pinned Python packages"
"$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --requirement "$APP/requirements.lock"
# /opt is read-only to the service (ProtectSystem=strict): compile the bytecode now.
"$VENV/bin/python" -m compileall -q "$APP" >/dev/null || true

# --- Settings: written once, kept on upgrades ------------------------------------------------
detect_hosts() {
    local names=() short fqdn
    short=$(hostname -s 2>/dev/null || hostname)
    fqdn=$(hostname -f 2>/dev/null || true)
    # Addresses first: phones on the LAN reach the VM by IP.
    if hostname -I >/dev/null 2>&1; then
        names+=($(hostname -I | tr ' ' '\n' | grep -E '^[0-9.]+$' || true))
    elif command -v ip >/dev/null 2>&1; then
        names+=($(ip -o -4 addr show scope global | awk '{split($4, a, "/"); print a[1]}'))
    fi
    [ -n "$short" ] && names+=("$short")
    [ -n "$fqdn" ] && [ "$fqdn" != "$short" ] && names+=("$fqdn")
    printf '%s\n' "${names[@]}"
}

set_env() {  # set_env KEY VALUE: replace the KEY= line of the env file, or append it
    local key=$1 value=$2 tmp
    tmp=$(mktemp "$ETC/.qrgate.env.XXXXXX")
    awk -v k="$key" -v v="$value" 'BEGIN { done = 0 }
        index($0, k "=") == 1 { print k "=" v; done = 1; next } { print }
        END { if (!done) print k "=" v }' "$ENV_FILE" >"$tmp"
    cat "$tmp" >"$ENV_FILE"
    rm -f "$tmp"
}

get_env() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

if [ ! -f "$ENV_FILE" ]; then
    say "Writing the settings $ENV_FILE"
    read -r -a hosts <<<"$(echo "${QRGATE_HOSTS:-$(detect_hosts)}" | tr ',\n' '  ')"
    allowed=$(printf '%s,' "${hosts[@]}" localhost 127.0.0.1 '[::1]')
    primary=${hosts[0]:-localhost}
    install -m 0640 -o root -g "$SVC_GROUP" "$APP/deploy/qrgate.env.example" "$ENV_FILE"
    set_env SECRET_KEY "$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(60))')"
    set_env ALLOWED_HOSTS "${allowed%,}"
    set_env QRGATE_DATA_DIR "$DATA"
    set_env QRGATE_BIND "0.0.0.0:${QRGATE_PORT:-5000}"
    [ -n "${QRGATE_DATABASE_URL:-}" ] && set_env DATABASE_URL "$QRGATE_DATABASE_URL"
    if [ "$HTTPS" = 1 ]; then
        set_env SECURE_HTTPS true
        set_env SECURE_SSL_HOST "$primary"
    else
        set_env SECURE_HTTPS false
    fi
else
    say "Keeping the settings $ENV_FILE"
    # Settings that a newer version added get their documented default.
    grep -E '^[A-Z_]+=' "$APP/deploy/qrgate.env.example" | while IFS= read -r line; do
        key=${line%%=*}
        grep -q "^$key=" "$ENV_FILE" || { echo "    adding $key"; printf '%s\n' "$line" >>"$ENV_FILE"; }
    done
fi
chown root:"$SVC_GROUP" "$ENV_FILE"
chmod 0640 "$ENV_FILE"

# --- Database, static files, first admin: as the service user, in the unit's clean env ------
manage() {
    local cmd=(env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME="$DATA"
        QRGATE_ENV_FILE="$ENV_FILE" "$VENV/bin/python" "$APP/manage.py" "$@")
    if [ "$(id -un)" = "$SVC_USER" ]; then
        (cd "$APP" && "${cmd[@]}")
    else
        (cd "$APP" && runuser -u "$SVC_USER" -- "${cmd[@]}")
    fi
}
say "Migrating the database"
manage migrate --noinput
say "Collecting static files"
manage collectstatic --noinput --verbosity 0
manage ensure_admin --password-file "$PASSWORD_FILE"

# --- systemd units ----------------------------------------------------------------------------
say "Installing the systemd units in $UNIT_DIR"
install -d -m 0755 "$UNIT_DIR"
unit_changed=0
for unit in qrgate.service qrgate-backup.service qrgate-backup.timer qrgate-worker.service \
        qrgate-imports.service qrgate-reports.service qrgate-reports.timer qrgate-daily.service qrgate-daily.timer; do
    tmp=$(mktemp)
    sed -e "s#/opt/qrgate#$PREFIX#g" -e "s#/etc/qrgate#$ETC#g" -e "s#/var/lib/qrgate#$DATA#g" \
        -e "s#^User=qrgate#User=$SVC_USER#" -e "s#^Group=qrgate#Group=$SVC_GROUP#" \
        "$APP/deploy/$unit" >"$tmp"
    if [ "$unit" = qrgate.service ] && ! cmp -s "$tmp" "$UNIT_DIR/$unit"; then
        unit_changed=1
    fi
    install -m 0644 "$tmp" "$UNIT_DIR/$unit"
    rm -f "$tmp"
done
"$SYSTEMCTL" daemon-reload
"$SYSTEMCTL" enable qrgate.service qrgate-backup.timer qrgate-reports.timer
if [ "$unit_changed" = 1 ]; then
    # A new command line or new hardening needs a real restart (a few seconds).
    "$SYSTEMCTL" restart qrgate.service
else
    # Graceful: new workers on the new code, requests in flight finish on the old ones.
    "$SYSTEMCTL" reload-or-restart qrgate.service
fi
"$SYSTEMCTL" start qrgate-backup.timer qrgate-reports.timer
# The outbox worker (webhooks, e-mail alerts) restarts on the new code; what is pending
# waits in the database.
"$SYSTEMCTL" enable qrgate-worker.service qrgate-daily.timer
"$SYSTEMCTL" restart qrgate-worker.service
# The import worker too: an import under way goes on from its last chunk.
"$SYSTEMCTL" enable qrgate-imports.service
"$SYSTEMCTL" restart qrgate-imports.service
"$SYSTEMCTL" start qrgate-daily.timer

# --- HTTPS front: Caddy with its local certificate authority ---------------------------------
site_names() {  # the env file's ALLOWED_HOSTS without wildcards, brackets or duplicates
    get_env ALLOWED_HOSTS | tr ',' '\n' | sed -e 's/^ *//' -e 's/ *$//' -e 's/^\[\(.*\)\]$/\1/' \
        | grep -v -e '^$' -e '^\*$' -e '^\.' | awk '!seen[$0]++'
}
fingerprint=""
if [ "$HTTPS" = 1 ]; then
    say "Configuring the HTTPS front (Caddy) in $CADDY_DIR"
    install -d -m 0755 "$CADDY_DIR"
    port=$(get_env QRGATE_BIND | sed 's/.*://')
    # IPv6 addresses are written in brackets in a site address.
    https_sites=$(site_names | sed -e 's#^\(.*:.*\)$#[\1]#' -e 's#^#https://#' | paste -sd, - | sed 's/,/, /g')
    http_sites=$(site_names | sed -e 's#^\(.*:.*\)$#[\1]#' -e 's#^#http://#' | paste -sd, - | sed 's/,/, /g')
    default_sni=$(get_env SECURE_SSL_HOST)
    [ -n "$default_sni" ] || default_sni=$(site_names | head -n 1)
    if [ -f "$CADDY_DIR/Caddyfile" ] && [ ! -f "$CADDY_DIR/Caddyfile.dist" ] \
        && ! grep -q 'QRGate' "$CADDY_DIR/Caddyfile"; then
        cp -p "$CADDY_DIR/Caddyfile" "$CADDY_DIR/Caddyfile.dist"
    fi
    sed -e "s#@HTTPS_SITES@#$https_sites#" -e "s#@HTTP_SITES@#$http_sites#" \
        -e "s#@DEFAULT_SNI@#$default_sni#" -e "s#@UPSTREAM@#127.0.0.1:${port:-5000}#" \
        -e "s#@CADDY_PKI@#$CADDY_PKI#" "$APP/deploy/Caddyfile" >"$CADDY_DIR/Caddyfile.new"
    chmod 0644 "$CADDY_DIR/Caddyfile.new"
    mv "$CADDY_DIR/Caddyfile.new" "$CADDY_DIR/Caddyfile"
    "$SYSTEMCTL" enable caddy.service
    "$SYSTEMCTL" reload-or-restart caddy.service
    # Caddy makes its root certificate on the first start.
    for _ in $(seq 1 20); do
        [ -f "$CADDY_PKI/root.crt" ] && break
        [ "$SKIP_SYSTEM" = 1 ] && break
        sleep 0.5
    done
    if [ -f "$CADDY_PKI/root.crt" ]; then
        fingerprint=$(openssl x509 -noout -fingerprint -sha256 -in "$CADDY_PKI/root.crt" | cut -d= -f2)
    fi
fi

# --- Where to go now ---------------------------------------------------------------------------
main=$(site_names | head -n 1)
port=$(get_env QRGATE_BIND | sed 's/.*://')
echo
say "QRGate is installed."
echo "  Booths (plain HTTP):   http://$main:${port:-5000}/"
if [ "$HTTPS" = 1 ]; then
    echo "  HTTPS (camera):        https://$main/"
    echo "    With SECURE_HTTPS=true, browsers on port ${port:-5000} are sent to HTTPS; /healthz answers there."
    echo "  Certificate to install on phones and PCs: http://$main/qrgate-ca.crt"
    [ -n "$fingerprint" ] && echo "    its SHA-256 fingerprint: $fingerprint"
    echo "    (step by step: $APP/deploy/README.md, \"Install the certificate\")"
fi
if [ -f "$PASSWORD_FILE" ]; then
    echo "  First administrator:   user and password in $PASSWORD_FILE"
    echo "    read it with: sudo cat $PASSWORD_FILE   then change the password and delete the file."
else
    echo "  Administrator:         unchanged (the existing account)."
fi
echo "  Settings:              $ENV_FILE   then: sudo systemctl restart qrgate"
echo "  Logs:                  journalctl -u qrgate -f"
echo "  Backups:               $(get_env BACKUP_DIR | grep . || echo "$DATA/backups"), every night (qrgate-backup.timer)"
echo "  Scheduled reports:     checked every 5 minutes (qrgate-reports.timer), mailed through EMAIL_URL"
