#!/usr/bin/env bash
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Prepare ~/.ansible/test for the ansible-test of a virtual environment, offline and race-free.
# Kept (not an antsibull-nox session): ansible-test runs outside nox here, with --venv, and
# antsibull-nox has nothing for a get-pip script that cannot be downloaded.
#
# - the get-pip stand-in: get_pip_standin.py (beside this script) goes where ansible-test looks for its cached
#   get-pip script, ~/.ansible/test/cache/get_pip_<pip version>.py (get_pip_25_2.py for
#   ansible-core 2.21, get_pip_24_2.py for 2.19). The pip version is read from the installed
#   ansible-test, so a new ansible-core release needs no change here.
# - the SSH key ansible-test makes for integration tests (~/.ansible/test/id_rsa): made here once,
#   because two ansible-test runs started side by side on a fresh machine both try to make it
#   and one fails ("id_rsa already exists. Overwrite (y/n)?").
#
# Runs under a lock, so lanes of `make test` can call it at the same time.
# Usage: tools/local-ansible-test/prepare_ansible_test.sh VENV_DIR
set -euo pipefail

venv=${1:?usage: $0 VENV_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_dir="$HOME/.ansible/test"
mkdir -p "$test_dir/cache"

exec 9>"$test_dir/.prepare.lock"
flock 9

pip_version=$("$venv/bin/python" - <<'PY'
import pathlib
import re

import ansible_test

source = pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
match = re.search(r"""\bpip=['"]([0-9][0-9.]*)['"]""", source.read_text(encoding='utf-8'))
if not match:
    raise SystemExit('cannot find the pip version ansible-test bootstraps in %s' % source)
print(match.group(1))
PY
)

target="$test_dir/cache/get_pip_${pip_version//./_}.py"
if ! cmp -s "$here/get_pip_standin.py" "$target"; then
    cp "$here/get_pip_standin.py" "$target"
    echo "installed the offline get-pip stand-in as $target"
fi

# What ansible-test does when the key is missing (ansible_test/_internal/core_ci.py, SshKey).
if [[ ! -f "$test_dir/id_rsa" || ! -f "$test_dir/id_rsa.pub" ]]; then
    rm -f "$test_dir/id_rsa" "$test_dir/id_rsa.pub"
    ssh-keygen -m PEM -q -t rsa -N '' -f "$test_dir/id_rsa"
    # newer ssh-keygen PEM output is not recognized by paramiko
    sed -i -E 's/(BEGIN|END) PRIVATE KEY/\1 RSA PRIVATE KEY/' "$test_dir/id_rsa"
fi
