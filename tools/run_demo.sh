#!/usr/bin/env bash
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# `make demo`: build the collection, install it into a private collections path, start a
# ContactNow sandbox server on a free loopback port with a demo account, run the demo playbook
# against it, and stop the sandbox whatever happens.
#
# Usage: tools/run_demo.sh VENV_DIR [PLAYBOOK]
# Environment: DEMO_USERNAME / DEMO_PASSWORD (the sandbox account, default demo /
# Demo-Passw0rd-1); DEMO_SANDBOX_ARGS (extra sandbox CLI arguments, e.g. "--token-lifetime 900").
# Leaves: .tmp/dist/*.tar.gz (the build), .tmp/collections (the install), .tmp/demo (sandbox
# log, token cache).
set -euo pipefail

venv=$(cd "${1:?usage: $0 VENV_DIR [PLAYBOOK]}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
playbook=${2:-demo/demo.yml}
cd "$repo"

# The demo account the sandbox knows and the playbook logs in with.
demo_username=${DEMO_USERNAME:-demo}
demo_password=${DEMO_PASSWORD:-Demo-Passw0rd-1}

tmp="$repo/.tmp"
work="$tmp/demo"
export PATH="$venv/bin:$PATH"

echo "== building the collection"
# Straight from the work tree: galaxy.yml's build_ignore leaves out the venvs, .tmp and the rest.
mkdir -p "$tmp/dist"
tarball=$(ansible-galaxy collection build --force --output-path "$tmp/dist" "$repo" \
    | sed -n 's/^Created collection for .* at //p')
[[ -f "$tarball" ]] || { echo "ERROR: ansible-galaxy collection build made no tarball" >&2; exit 1; }
echo "built $tarball"

echo "== installing it into $tmp/collections"
export ANSIBLE_COLLECTIONS_PATH="$tmp/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
rm -rf "$tmp/collections/ansible_collections/eightbyeight/contactnow"
ansible-galaxy collection install --force --collections-path "$tmp/collections" "$tarball"

echo "== starting the sandbox server"
rm -rf "$work"
mkdir -p "$work"
sandbox_pid=
stop_sandbox() {
    if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
        kill "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
        echo "== sandbox stopped"
    fi
}
trap stop_sandbox EXIT
trap 'exit 130' INT TERM

printf '{"%s": "%s"}\n' "$demo_username" "$demo_password" >"$work/accounts.json"
chmod 0600 "$work/accounts.json"
read -r -a sandbox_extra_args <<<"${DEMO_SANDBOX_ARGS:-}"
"$venv/bin/python" tests/sandbox/contactnow_sandbox.py --host 127.0.0.1 --port 0 \
    --port-file "$work/port" --accounts-file "$work/accounts.json" --max-lifetime 900 \
    "${sandbox_extra_args[@]}" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!

for _ in $(seq 1 100); do
    [[ -s "$work/port" ]] && break
    if ! kill -0 "$sandbox_pid" 2>/dev/null; then
        echo "ERROR: the sandbox server exited at start:" >&2
        cat "$work/sandbox.log" >&2
        exit 1
    fi
    sleep 0.1
done
[[ -s "$work/port" ]] || { echo "ERROR: the sandbox server did not start within 10s" >&2; cat "$work/sandbox.log" >&2; exit 1; }
port=$(<"$work/port")
echo "sandbox listening on http://127.0.0.1:$port (account $demo_username)"

echo "== running $playbook"
export CONTACTNOW_API_URL="http://127.0.0.1:$port"
export CONTACTNOW_USERNAME="$demo_username"
export CONTACTNOW_PASSWORD="$demo_password"
# Keep the demo's token cache out of the user's ~/.cache.
export XDG_CACHE_HOME="$work/cache"
ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$venv/bin/python" "$playbook"
