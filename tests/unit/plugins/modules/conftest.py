# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures that drive a module's main() as Ansible does: arguments in, the host's log and the result out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import time

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.parameters import PASS_VARS

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # pragma: no cover - ansible-core without the helper
    from unittest import mock

    def patch_module_args(args=None):
        return mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps(dict(ANSIBLE_MODULE_ARGS=args or {})).encode())


class MainRun:
    """What one main() left behind: ``logged`` (what AnsibleModule.log was handed) and ``result``."""

    def __init__(self):
        self.logged = []
        self.result = None


@pytest.fixture
def run_main(monkeypatch, capsys):
    """``run_main(module, args)``: main() with ``args``; returns a MainRun (the result is exit_json's output)."""

    def run(plugin, args):
        # ansible-core 2.21 returns the invocation only when the controller asks (as at -vvv); older ones
        # always, and refuse the argument as unsupported.
        if 'inject_invocation' in PASS_VARS:
            args = dict(args, _ansible_inject_invocation=True)
        outcome = MainRun()
        monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: outcome.logged.append(msg))
        capsys.readouterr()
        with patch_module_args(args), contextlib.suppress(SystemExit):
            plugin.main()
        outcome.result = json.loads(capsys.readouterr().out)
        return outcome

    return run


@pytest.fixture
def token_php(monkeypatch, tmp_path):
    """The fake token.php on the wall clock (main() takes no ``now``) as every client the modules build."""
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _client
    from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import FakeApi

    api = FakeApi(time.time)
    monkeypatch.setattr(_client, 'ContactNowClient', lambda options: api)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    return api
