#!/usr/bin/env bash
# Starts the loopback services the integration tests talk to, idempotently:
#   PostgreSQL 15  127.0.0.1:5432  role/password gamay/gamay, database gamay_test
#   MariaDB        127.0.0.1:3306  user/password gamay/gamay, database gamay_test
#   TLS            both servers speak TLS with a certificate for 127.0.0.1 (not
#                  `localhost`) from a throwaway test CA in $TLS_DIR; role/user
#                  gamay_tls/gamay may connect over TLS only, and PostgreSQL's
#                  role gamay_cert only with the client certificate in
#                  $TLS_DIR/client (next to the CA's certificate, ca.pem)
#   S3 (moto)      127.0.0.1:5055  moto_server (installed into target/test-venv if missing)
#   DuckDB         a Python with duckdb for `gamay bench`'s peers (target/test-venv)
#   Chromium       Debian's /usr/bin/chromium and playwright-core (tests/console/node_modules)
#                  for the web console's browser test (tests/console.rs)
# Each service is started only if it is not already answering. Progress goes to
# stderr; stdout carries only the `export GAMAY_TEST_*=...` lines, so use:
#   eval "$(tests/services.sh)"
# Needs root on a fresh machine (apt-get, pg_ctlcluster, runuser).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logs="$root/target"
venv="$root/target/test-venv"

PG_PORT=5432
MYSQL_PORT=3306
S3_PORT=5055
WAIT_SECS=60
# Machine-wide, as the servers are: every checkout's tests trust the same CA.
TLS_DIR=/var/lib/gamay-test-tls

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs a command with all output captured; shows the output only on failure.
quietly() {
    local out rc=0
    out=$(mktemp)
    "$@" </dev/null >"$out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "command failed ($rc): $*"
        cat "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if ! quietly apt-get install -y -qq "$@" 2>/dev/null; then
        log "apt-get install $* failed; retrying after apt-get update"
        quietly apt-get update -qq
        quietly apt-get install -y -qq "$@"
    fi
}

# Starts a long-running process fully detached from our stdio (so that
# `eval "$(...)"` does not wait for it), appending its output to a log file.
spawn() {
    local logfile=$1
    shift
    setsid nohup "$@" </dev/null >>"$logfile" 2>&1 &
}

# wait_for <description> <logfile-to-show-on-timeout> <command...>
wait_for() {
    local what=$1 logfile=$2
    shift 2
    local deadline=$((SECONDS + WAIT_SECS))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "$what did not answer within ${WAIT_SECS}s"
            if [ -n "$logfile" ] && [ -f "$logfile" ]; then
                log "last lines of $logfile:"
                tail -n 50 "$logfile" >&2
            fi
            exit 1
        fi
        sleep 0.2
    done
}

# ------------------------------------------------------------------ test CA
# Made once per machine and kept: a CA, a server certificate for 127.0.0.1
# only (so `localhost` reaches the servers under a name the certificate does
# not hold), and a client certificate for PostgreSQL's role gamay_cert. Each
# server gets its own copy of the server key, owned by its user.
tls_ready() {
    [ -f "$TLS_DIR/client/client.key" ] &&
        openssl x509 -checkend 86400 -noout -in "$TLS_DIR/server.pem" >/dev/null 2>&1
}

make_test_ca() {
    command -v openssl >/dev/null 2>&1 || apt_install openssl
    mkdir -p "$TLS_DIR"
    (
        flock 9
        tls_ready && exit 0
        log "making a throwaway test CA and certificates in $TLS_DIR"
        local new
        new=$(mktemp -d "$TLS_DIR.XXXXXX")
        # EC P-256 keys: quick to make, and every party speaks them.
        key() { quietly openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        sign() { # <key> <subject> <extensions> <out>
            quietly openssl req -new -key "$1" -subj "$2" -out "$new/request.csr"
            quietly openssl x509 -req -in "$new/request.csr" -CA "$new/ca.pem" -CAkey "$new/ca.key" \
                -set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile <(printf '%b' "$3") -out "$4"
            rm -f "$new/request.csr"
        }
        key "$new/ca.key"
        quietly openssl req -x509 -new -key "$new/ca.key" -out "$new/ca.pem" -days 3650 \
            -subj "/CN=Gamay test CA $(hostname)" -addext "keyUsage=critical,keyCertSign,cRLSign"
        key "$new/server.key"
        sign "$new/server.key" "/CN=gamay-test-db" \
            'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' "$new/server.pem"
        mkdir "$new/client"
        key "$new/client/client.key"
        sign "$new/client/client.key" "/CN=gamay_cert" \
            'extendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n' "$new/client/client.pem"
        cp "$new/ca.pem" "$new/client/ca.pem"
        chmod 600 "$new/ca.key" "$new/server.key" "$new/client/client.key"
        chmod 755 "$new" "$new/client"
        rm -rf "$TLS_DIR.old"
        mv "$TLS_DIR" "$TLS_DIR.old" && mv "$new" "$TLS_DIR" && rm -rf "$TLS_DIR.old"
    ) 9>"$TLS_DIR.lock"
}

# server_key <user>: the server key as a file <user> owns; prints its path.
server_key() {
    local copy="$TLS_DIR/server-$1.key"
    if [ ! -f "$copy" ] || [ "$copy" -ot "$TLS_DIR/server.key" ]; then
        install -m 600 -o "$1" "$TLS_DIR/server.key" "$copy"
    fi
    echo "$copy"
}

# ---------------------------------------------------------------- PostgreSQL
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_gamay_ok() {
    PGPASSWORD=gamay PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$PG_PORT" \
        -U gamay -d gamay_test -tAc 'select 1' >/dev/null 2>&1
}
pg_admin() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -tA "$@"); }

start_postgres() {
    if ! pg_ready; then
        if ! pg_lsclusters -h 2>/dev/null | awk '$1 == 15 && $2 == "main" { print $4 }' | grep -q online; then
            log "starting PostgreSQL 15"
            quietly pg_ctlcluster 15 main start
        fi
        wait_for PostgreSQL /var/log/postgresql/postgresql-15-main.log pg_ready
    fi
    if ! pg_gamay_ok; then
        log "creating PostgreSQL role gamay and database gamay_test"
        pg_admin -c "DO \$\$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamay') THEN
                CREATE ROLE gamay;
            END IF;
        END \$\$;" -c "ALTER ROLE gamay WITH LOGIN SUPERUSER PASSWORD 'gamay';" >/dev/null
        if [ -z "$(pg_admin -c "SELECT 1 FROM pg_database WHERE datname = 'gamay_test'")" ]; then
            pg_admin -c "CREATE DATABASE gamay_test OWNER gamay" >/dev/null
        fi
        pg_gamay_ok || die "cannot connect to PostgreSQL as gamay over 127.0.0.1:$PG_PORT"
    fi
}

pg_tls_ok() {
    PGPASSWORD=gamay PGCONNECT_TIMEOUT=5 psql -X -q -tAc 'select 1' \
        "host=127.0.0.1 port=$PG_PORT user=gamay_tls dbname=gamay_test sslmode=verify-full sslrootcert=$TLS_DIR/client/ca.pem" >/dev/null 2>&1 &&
        PGCONNECT_TIMEOUT=5 psql -X -q -tAc 'select 1' \
            "host=127.0.0.1 port=$PG_PORT user=gamay_cert dbname=gamay_test sslmode=verify-full sslrootcert=$TLS_DIR/client/ca.pem sslcert=$TLS_DIR/client/client.pem sslkey=$TLS_DIR/client/client.key" >/dev/null 2>&1
}

# TLS with the test CA's certificate, and pg_hba.conf rules that let the
# roles gamay_tls and gamay_cert in over TLS only. Settings reload without
# a restart.
postgres_tls() {
    pg_tls_ok && return 0
    log "configuring PostgreSQL for TLS (test CA in $TLS_DIR) and roles gamay_tls, gamay_cert"
    local key hba marker="# gamay-test-tls"
    key=$(server_key postgres)
    pg_admin -c "ALTER SYSTEM SET ssl = on" \
        -c "ALTER SYSTEM SET ssl_cert_file = '$TLS_DIR/server.pem'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$key'" \
        -c "ALTER SYSTEM SET ssl_ca_file = '$TLS_DIR/ca.pem'" >/dev/null
    hba=$(pg_admin -c "SHOW hba_file")
    if ! grep -qF "$marker" "$hba"; then
        # First match wins: these go before the rules that let any role in.
        { printf '%s: TLS-only roles for tests/export_jdbc.rs\n' "$marker"
          printf 'hostnossl all gamay_tls,gamay_cert all reject\n'
          printf 'hostssl   all gamay_tls            all scram-sha-256\n'
          printf 'hostssl   all gamay_cert           all cert\n'
          cat "$hba"; } >"$hba.new"
        chown --reference="$hba" "$hba.new"
        chmod --reference="$hba" "$hba.new"
        mv "$hba.new" "$hba"
    fi
    pg_admin -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamay_tls') THEN CREATE ROLE gamay_tls; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gamay_cert') THEN CREATE ROLE gamay_cert; END IF;
    END \$\$;" -c "ALTER ROLE gamay_tls WITH LOGIN SUPERUSER PASSWORD 'gamay';" \
        -c "ALTER ROLE gamay_cert WITH LOGIN SUPERUSER;" -c "SELECT pg_reload_conf()" >/dev/null
    wait_for "PostgreSQL over TLS" /var/log/postgresql/postgresql-15-main.log pg_tls_ok
}

# ------------------------------------------------------------------- MariaDB
find_bin() {
    local b
    for b in "$@"; do
        if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
        if [ -x "/usr/sbin/$b" ]; then echo "/usr/sbin/$b"; return 0; fi
    done
    return 1
}

start_mariadb() {
    local server admin client mylog="$logs/mariadb.log"
    if ! server=$(find_bin mariadbd mysqld); then
        log "installing mariadb-server (apt-get)"
        apt_install mariadb-server
        server=$(find_bin mariadbd mysqld) || die "mariadb-server installed but mariadbd not found"
    fi
    admin=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin not found"
    client=$(find_bin mariadb mysql) || die "mariadb client not found"

    # `ping` exits 0 whenever the server answers, even with "access denied".
    my_ready() { "$admin" --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" --connect-timeout=2 ping; }
    my_gamay_ok() {
        "$client" --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" --connect-timeout=5 \
            -u gamay -pgamay gamay_test -e 'select 1' >/dev/null 2>&1
    }

    my_root() { "$client" --protocol=socket -u root "$@"; }
    local key
    key=$(server_key mysql)
    # Servers this script started before it spoke TLS: TLS settings are
    # read at start only.
    if my_ready >/dev/null 2>&1 && [ "$(my_root -NBe 'SELECT @@have_ssl' 2>/dev/null)" = DISABLED ]; then
        log "restarting MariaDB with TLS"
        my_root -e 'SHUTDOWN' || die "could not stop MariaDB (as root over the unix socket) to restart it with TLS"
        local deadline=$((SECONDS + WAIT_SECS))
        while port_open "$MYSQL_PORT"; do
            [ "$SECONDS" -lt "$deadline" ] || die "MariaDB did not stop within ${WAIT_SECS}s"
            sleep 0.2
        done
    fi
    if ! my_ready >/dev/null 2>&1; then
        if port_open "$MYSQL_PORT"; then
            die "127.0.0.1:$MYSQL_PORT is taken by something that is not answering as MariaDB"
        fi
        if [ ! -d /var/lib/mysql/mysql ]; then
            log "initialising MariaDB data directory"
            quietly "$(find_bin mariadb-install-db mysql_install_db)" --user=mysql --datadir=/var/lib/mysql
        fi
        mkdir -p /run/mysqld
        chown mysql:mysql /run/mysqld
        mkdir -p "$logs"
        log "starting MariaDB (log: $mylog)"
        spawn "$mylog" "$server" --user=mysql --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
            --ssl-cert="$TLS_DIR/server.pem" --ssl-key="$key" --ssl-ca="$TLS_DIR/ca.pem"
        wait_for MariaDB "$mylog" my_ready
    fi
    if ! my_gamay_ok; then
        log "creating MariaDB user gamay and database gamay_test"
        "$client" --protocol=socket -u root <<'SQL' || die "could not provision MariaDB (as root over the unix socket)"
CREATE DATABASE IF NOT EXISTS gamay_test;
CREATE USER IF NOT EXISTS 'gamay'@'127.0.0.1' IDENTIFIED BY 'gamay';
CREATE USER IF NOT EXISTS 'gamay'@'localhost' IDENTIFIED BY 'gamay';
ALTER USER 'gamay'@'127.0.0.1' IDENTIFIED BY 'gamay';
ALTER USER 'gamay'@'localhost' IDENTIFIED BY 'gamay';
GRANT ALL PRIVILEGES ON *.* TO 'gamay'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'gamay'@'localhost';
SQL
        my_gamay_ok || die "cannot connect to MariaDB as gamay over 127.0.0.1:$MYSQL_PORT"
    fi
    my_tls_ok() {
        "$client" --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" --connect-timeout=5 \
            --ssl --ssl-ca="$TLS_DIR/client/ca.pem" --ssl-verify-server-cert \
            -u gamay_tls -pgamay gamay_test -e 'select 1' >/dev/null 2>&1
    }
    if ! my_tls_ok; then
        log "creating MariaDB user gamay_tls (TLS only)"
        my_root <<'SQL' || die "could not create MariaDB user gamay_tls"
CREATE USER IF NOT EXISTS 'gamay_tls'@'127.0.0.1' IDENTIFIED BY 'gamay' REQUIRE SSL;
CREATE USER IF NOT EXISTS 'gamay_tls'@'localhost' IDENTIFIED BY 'gamay' REQUIRE SSL;
ALTER USER 'gamay_tls'@'127.0.0.1' IDENTIFIED BY 'gamay' REQUIRE SSL;
ALTER USER 'gamay_tls'@'localhost' IDENTIFIED BY 'gamay' REQUIRE SSL;
GRANT ALL PRIVILEGES ON *.* TO 'gamay_tls'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'gamay_tls'@'localhost';
FLUSH SSL;
SQL
        my_tls_ok || die "cannot connect to MariaDB as gamay_tls over TLS (127.0.0.1:$MYSQL_PORT)"
    fi
}

# ------------------------------------------------------------------ S3 (moto)
s3_ready() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$S3_PORT/"
    else
        python3 - "$S3_PORT" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2)
except urllib.error.HTTPError:
    pass  # an HTTP error status still means the server answers
PY
    fi
}

install_moto_venv() {
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv"
        rm -rf "$venv"
        if ! quietly python3 -m venv "$venv"; then
            log "python3 -m venv failed; installing python3-venv"
            rm -rf "$venv"
            apt_install python3-venv
            quietly python3 -m venv "$venv"
        fi
    fi
    log "installing moto[server] into $venv"
    quietly "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]'
}

start_s3() {
    local moto motolog="$logs/moto.log"
    if s3_ready; then
        return 0
    fi
    if port_open "$S3_PORT"; then
        die "127.0.0.1:$S3_PORT is taken by something that is not answering HTTP"
    fi
    if [ -x "$venv/bin/moto_server" ]; then
        moto="$venv/bin/moto_server"
    elif moto=$(command -v moto_server 2>/dev/null); then
        :
    else
        install_moto_venv
        moto="$venv/bin/moto_server"
    fi
    mkdir -p "$logs"
    log "starting $moto (log: $motolog)"
    spawn "$motolog" "$moto" -H 127.0.0.1 -p "$S3_PORT"
    wait_for moto_server "$motolog" s3_ready
}

# ------------------------------------------------------------------ peers (DuckDB)
bench_python() {
    local python="${GAMAY_BENCH_PYTHON:-}"
    if [ -n "$python" ] && "$python" -c 'import duckdb' 2>/dev/null; then
        echo "$python"
        return 0
    fi
    if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
        [ -x "$venv/bin/python" ] || install_moto_venv
        log "installing duckdb into $venv"
        quietly "$venv/bin/pip" install --quiet --disable-pip-version-check duckdb
    fi
    echo "$venv/bin/python"
}

# ------------------------------------------------------------------ browser (web console test)
install_browser() {
    local console="$root/tests/console"
    if [ ! -x /usr/bin/chromium ]; then
        log "installing chromium (apt-get)"
        apt_install chromium
    fi
    if [ ! -d "$console/node_modules/playwright-core" ]; then
        command -v npm >/dev/null 2>&1 || die "npm is needed to install playwright-core into $console"
        log "installing playwright-core into $console/node_modules"
        if [ -f "$console/package-lock.json" ]; then
            quietly npm ci --prefix "$console" --no-audit --no-fund
        else
            quietly npm install --prefix "$console" --no-audit --no-fund
        fi
    fi
}

make_test_ca
start_postgres
postgres_tls
start_mariadb
start_s3
install_browser
python=$(bench_python)

echo "export GAMAY_TEST_POSTGRES=postgres://gamay:gamay@127.0.0.1:$PG_PORT/gamay_test"
echo "export GAMAY_TEST_MYSQL=mysql://gamay:gamay@127.0.0.1:$MYSQL_PORT/gamay_test"
echo "export GAMAY_TEST_POSTGRES_TLS=postgres://gamay_tls:gamay@127.0.0.1:$PG_PORT/gamay_test"
echo "export GAMAY_TEST_MYSQL_TLS=mysql://gamay_tls:gamay@127.0.0.1:$MYSQL_PORT/gamay_test"
echo "export GAMAY_TEST_TLS_DIR=$TLS_DIR/client"
echo "export GAMAY_TEST_S3=http://127.0.0.1:$S3_PORT"
echo "export GAMAY_BENCH_PYTHON=$python"
