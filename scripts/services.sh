#!/usr/bin/env bash
# Starts the services the scale-out tests need, on loopback, in throwaway directories:
# a PostgreSQL cluster and an S3-compatible server (s3s-fs). Source it, then call
# `start_postgres` and `start_s3`; `stop_services` (installed as an EXIT trap) ends both.
# Exports KURA_TEST_POSTGRES_URL and KURA_TEST_S3_* for the tests.

SERVICES_DIR="${SERVICES_DIR:-$(mktemp -d /tmp/kura-services.XXXXXX)}"
S3S_FS_VERSION="0.14.1"
_service_pids=()

_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_postgres() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ]; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
            bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
        else
            echo "PostgreSQL is not installed and we are not root" >&2
            return 1
        fi
    fi
    local dir="$SERVICES_DIR/pg" port
    port=$(_free_port)
    mkdir -p "$dir"
    chmod 755 "$SERVICES_DIR"
    local run=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
        run=(su postgres -c)
    else
        run=(bash -c)
    fi
    "${run[@]}" "$bin/initdb -D $dir/data -U postgres -A trust --no-sync >$dir/initdb.log 2>&1 && \
        $bin/pg_ctl -D $dir/data -l $dir/pg.log -o '-k $dir -c listen_addresses=127.0.0.1 -p $port -c fsync=off -c max_connections=200' -w start >/dev/null"
    export KURA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    _pg_stop="${run[*]@Q} '$bin/pg_ctl -D $dir/data -m immediate -w stop'"
    echo "PostgreSQL on 127.0.0.1:$port"
}

start_s3() {
    local bin="$SERVICES_DIR/../kura-s3s-fs-$S3S_FS_VERSION/bin/s3s-fs"
    bin="${S3S_FS_BIN:-/root/.cache/kura/s3s-fs-$S3S_FS_VERSION/bin/s3s-fs}"
    if [ ! -x "$bin" ]; then
        echo "building s3s-fs $S3S_FS_VERSION (once)..."
        cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked --root "$(dirname "$(dirname "$bin")")" -q
    fi
    local port data="$SERVICES_DIR/s3"
    port=$(_free_port)
    mkdir -p "$data/kura-test"
    "$bin" --host 127.0.0.1 --port "$port" --access-key kura --secret-key kura-secret "$data" >"$SERVICES_DIR/s3.log" 2>&1 &
    _service_pids+=($!)
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$port/"; then break; fi
        sleep 0.1
    done
    export KURA_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export KURA_TEST_S3_BUCKET="kura-test"
    export KURA_TEST_S3_ACCESS_KEY_ID="kura"
    export KURA_TEST_S3_SECRET_ACCESS_KEY="kura-secret"
    echo "s3s-fs on 127.0.0.1:$port"
}

stop_services() {
    for pid in "${_service_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -n "${_pg_stop:-}" ]; then eval "$_pg_stop" >/dev/null 2>&1 || true; fi
    rm -rf "$SERVICES_DIR"
}
