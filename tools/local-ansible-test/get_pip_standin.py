# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the get-pip script that ansible-test downloads.

ansible-test bootstraps pip in each virtual environment it creates by running a
get-pip script fetched from a host this project's machines cannot reach. It first
looks for a cached copy at ~/.ansible/test/cache/get_pip_<version>.py, so the
Makefile installs this file there under the names the installed ansible-core
versions use.

It installs pip from the Python standard library (ensurepip) and then runs
``pip install`` with the arguments ansible-test passed (for example
``pip==25.2``) from the package index pip is configured for. The get-pip only
options --no-setuptools and --no-wheel are dropped; pip has no such options.
"""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = frozenset(('--no-setuptools', '--no-wheel'))


def main() -> int:
    """Install pip, then the requested packages; return the exit code."""
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]

    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])

    if args:
        subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)

    return 0


if __name__ == '__main__':
    sys.exit(main())
