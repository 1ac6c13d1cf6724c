#!/usr/bin/env bash
# Run a command beside a real Milvus server: the PyPI `milvus` embedded server (2.3), started in a network
# namespace of its own (it listens on every interface by default; in the namespace there is only loopback),
# with its data in a temporary folder, and stopped by its process id when the command ends.
#
#   scripts/with-milvus-server.sh COMMAND [ARGS...]     (as root, or where `unshare --net --map-root-user` works)
#
# The command sees SOFTKV_MILVUS_URI=http://127.0.0.1:19530. MILVUS_SERVER names the server's executable
# (default: .milvus-server/bin/milvus-server, which `make milvus-server` installs).
set -euo pipefail

if [ "${SOFTKV_IN_NAMESPACE:-}" != 1 ]; then
    flags=(--net)
    [ "$(id -u)" = 0 ] || flags+=(--map-root-user)
    SOFTKV_IN_NAMESPACE=1 exec unshare "${flags[@]}" "$0" "$@"
fi

server="${MILVUS_SERVER:-.milvus-server/bin/milvus-server}"
[ -x "$server" ] || { echo "no Milvus server at $server: run make milvus-server" >&2; exit 2; }
ip link set lo up
data="$(mktemp -d)"
"$server" --data "$data" > "$data/server.log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap stop EXIT

export SOFTKV_MILVUS_URI=http://127.0.0.1:19530
python="${PYTHON:-.venv/bin/python}"
for _ in $(seq 1 120); do  # the server starts in 5-20 s here
    if "$python" -c "from pymilvus import MilvusClient; MilvusClient('$SOFTKV_MILVUS_URI').list_collections()" \
            >/dev/null 2>&1; then
        "$@"
        exit $?
    fi
    kill -0 "$pid" 2>/dev/null || { tail -20 "$data/server.log" >&2; exit 3; }
    sleep 1
done
echo "the Milvus server did not answer in 120 s" >&2
tail -20 "$data/server.log" >&2
exit 3
