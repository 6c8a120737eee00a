# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""contactnow_token at the main() level: the token it is given is masked in the log and the invocation.

ContactNowModule overrides AnsibleModule's private _log_invocation to do so; this test runs on
every supported ansible-core, so a change there shows as a failure here, not as a token in syslog.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.eightbyeight.contactnow.plugins.modules import contactnow_token
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import API_URL, PASSWORD, USERNAME

MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_a_token_given_to_the_module_is_masked_but_returned(run_main, token_php):
    held = token_php.issue()
    run = run_main(contactnow_token, dict(api_url=API_URL, username=USERNAME, password=PASSWORD, token=held.token))

    assert token_php.actions == ['validate']
    assert run.result['token'] == held.token and run.result['changed'] is False
    assert run.result['invocation']['module_args']['token'] == MASK
    assert run.result['invocation']['module_args']['password'] == MASK
    (logged,) = run.logged
    assert logged.startswith('Invoked with ') and 'token=%s' % MASK in logged
    assert held.token not in logged and PASSWORD not in logged


def test_a_failure_masks_the_token_too(run_main, token_php):
    run = run_main(contactnow_token, dict(api_url=API_URL, username=USERNAME, password='Wrong-Password-1',
                                          token='not-a-token-1234'))
    assert token_php.actions == ['validate', 'get']
    assert run.result['failed'] is True and 'refused the username or password' in run.result['msg']
    assert run.result['invocation']['module_args']['token'] == MASK
    assert 'not-a-token-1234' not in json.dumps(run.result) and 'not-a-token-1234' not in ' '.join(run.logged)
