#!/usr/bin/env bash
# Runs the demo as a cluster on one machine (make demo-cluster): redis-server on
# 127.0.0.1:$REDIS_PORT (one already answering there is used as is), three demo nodes on
# 127.0.0.1:8081-8083 (ids n1-n3) and a round-robin proxy without stickiness on
# 127.0.0.1:8080. Open http://127.0.0.1:8080/ in several windows; Ctrl-C stops everything
# this script started. Needs redis-server (make deps installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
REDIS_PORT=${REDIS_PORT:-6379}
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_up() {
	(exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 1 reply <&3 && [[ $reply == +PONG* ]]) 2>/dev/null
}

if redis_up; then
	echo "demo-cluster: using the redis-server on 127.0.0.1:$REDIS_PORT" >&2
else
	command -v redis-server >/dev/null || { echo "demo-cluster: redis-server missing (run make deps)" >&2; exit 1; }
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
	pids+=($!)
	for _ in {1..50}; do redis_up && break; sleep 0.1; done
	redis_up || { echo "demo-cluster: redis-server did not start" >&2; exit 1; }
fi

mkdir -p build
"$GO" build -o build/demo ./demo
backends=()
for i in 1 2 3; do
	build/demo -addr "127.0.0.1:808$i" -redis "127.0.0.1:$REDIS_PORT" -node "n$i" &
	pids+=($!)
	backends+=("http://127.0.0.1:808$i")
done
build/demo -proxy 127.0.0.1:8080 -backends "$(IFS=,; echo "${backends[*]}")" &
pids+=($!)
wait -n
