#!/usr/bin/env bash
# Install tools/get_pip_standin.py where the ansible-test of a virtual environment looks for its
# cached get-pip script: ~/.ansible/test/cache/get_pip_<pip version>.py (for example
# get_pip_25_2.py for ansible-core 2.21, get_pip_24_2.py for 2.19). The pip version is read from
# the installed ansible-test, so a new ansible-core release needs no change here.
#
# Usage: tools/install_get_pip_standin.sh VENV_DIR
set -euo pipefail

venv=${1:?usage: $0 VENV_DIR}
here=$(cd "$(dirname "$0")" && pwd)

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

cache_dir="$HOME/.ansible/test/cache"
target="$cache_dir/get_pip_${pip_version//./_}.py"
mkdir -p "$cache_dir"
if ! cmp -s "$here/get_pip_standin.py" "$target"; then
    cp "$here/get_pip_standin.py" "$target"
    echo "installed the offline get-pip stand-in as $target"
fi
