# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""contactnow_api returns the reply as the server sent it: a token the reply echoes never reaches the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.parameters import remove_values

from ansible_collections.eightbyeight.contactnow.plugins.modules import contactnow_api
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import FakeServer
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.module_utils import test_api


class EchoingServer(FakeServer):
    """A records API whose reply echoes the request's arguments, token included."""

    def _records(self, script, args, body):
        reply = super(EchoingServer, self)._records(script, args, body)
        reply['request'] = dict(args)
        return reply


class FakeModule:
    check_mode = False

    def __init__(self):
        self.params = dict(script='database', method='campaigns', action='read', params={}, data=None, min_ttl=300,
                           address=None)
        self.no_log_values = set()

    def connection_options(self):
        return None

    def warn(self, warning):
        raise AssertionError(warning)


def test_a_token_echoed_in_the_reply_is_masked(cache, clock, monkeypatch):
    server = EchoingServer(clock)
    monkeypatch.setattr(contactnow_api, 'ApiCall', lambda _options, address=None: test_api.api_call(server, cache, server.clock))
    module = FakeModule()
    result = contactnow_api.run(module)
    token = next(iter(server.tokens))
    assert result['response']['request']['token'] == token  # the reply echoes it...
    assert token in module.no_log_values  # ...and AnsibleModule masks it in what it returns
    assert token not in repr(remove_values(result, module.no_log_values))
