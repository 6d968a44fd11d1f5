#!/usr/bin/env bash
# Installs what `make test` needs on a Debian machine with Go and Node already present:
# the npm dev dependencies (when node_modules is missing or older than package-lock.json)
# and the Debian packages chromium, redis-server and wrk (only those whose command is
# missing). Idempotent and silent when there is nothing to do. Runs as root without sudo;
# as another user it names what to install and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm dev dependencies. No install scripts are needed (playwright-core downloads nothing).
if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
	echo "deps: npm ci" >&2
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
	touch node_modules
fi

# Debian packages, keyed by the command each one provides.
declare -A pkg_for=([chromium]=chromium [redis-server]=redis-server [wrk]=wrk)
missing=()
for cmd in chromium redis-server wrk; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_for[$cmd]}")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt may hold the dpkg lock (for example an unattended install): wait for it.
# DPkg::Lock::Timeout covers the dpkg lock; the lists lock of `update` is retried here.
lock=(-o DPkg::Lock::Timeout=600)
for try in {1..60}; do
	apt-get "${lock[@]}" update -qq >&2 && break
	((try < 60)) || exit 1
	echo "deps: apt-get update failed (lock held?), retrying in 10s" >&2
	sleep 10
done
apt-get "${lock[@]}" install -y -qq "${missing[@]}" >&2
