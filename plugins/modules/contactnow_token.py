#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: contactnow_token
short_description: Ensure a usable 8x8 ContactNow API token exists, or delete one
version_added: 0.1.0
description:
  - With O(state=present), makes sure the caller holds a ContactNow API token that is valid for at
    least O(min_ttl) more seconds, getting or renewing one only when needed.
  - With O(state=absent), makes sure a token no longer works by deleting it.
  - The token held is O(token) when given, else the one in the local token cache (see O(cache)).
  - Tokens are bound to the IP address that requests them. This module runs on the managed host, so
    by default the token is authorised for that host's address. Use C(delegate_to=localhost) to get
    a token for the controller, or O(address) to authorise another machine.
author:
  - ContactNow collection maintainers (@eightbyeight)
extends_documentation_fragment:
  - eightbyeight.contactnow.connection
  - eightbyeight.contactnow.attributes
  - eightbyeight.contactnow.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - At most the read-only C(validate) action is sent (for the token held); no C(get) or C(delete), and the
        token cache is not written.
      - When a new token would be needed, RV(token) is not returned.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run keeps the token the first one got, as long as it still has O(min_ttl) seconds left.
options:
  state:
    description:
      - V(present) ensures a valid token with at least O(min_ttl) seconds left (API actions C(validate), C(get), C(delete)).
      - V(absent) deletes the token held, if it is still valid (API actions C(validate), C(delete)).
    type: str
    choices: [present, absent]
    default: present
  token:
    description:
      - The token you hold. When omitted, the account's cached token is used (O(cache=true)).
      - With O(state=present), it is kept if it validates with at least O(min_ttl) seconds left.
      - Tokens are short-lived credentials that this module also returns; use C(no_log=true) on
        the task to keep them out of logs. The module itself never writes this option to the managed
        host's log or to the invocation it reports (it cannot be C(no_log), since that would also mask
        the token it returns).
    type: str
  min_ttl:
    description:
      - Seconds of validity the token must have left; a token with less is renewed. Zero or more.
      - When the cached C(expire) already shows that the cached token has less, no C(validate) is sent
        before the C(get) that renews it (and in check mode nothing is sent).
      - Judged from the API's C(expire) against the clock of the machine running the module.
      - A value no new token can meet (more than the lifetime seen for the account, or more than
        7 days) fails without deleting the account's current token, which other hosts may be using.
    type: int
    default: 300
  address:
    description:
      - IP address to authorise instead of the address of the machine running the module, for
        example a client machine when a central server makes tokens on its behalf.
      - A token bound to another address does not validate from this machine. The module then
        trusts the cached expiry time, and C(get) hands back that address's current token, so
        re-runs stay idempotent; but such a token cannot be deleted from here, so it cannot be
        renewed before it expires (a O(min_ttl) it no longer meets fails with a message saying so).
        Prefer running the module on (or delegating to) the machine that will use the token.
    type: str
seealso:
  - module: eightbyeight.contactnow.contactnow_token_info
  - plugin: eightbyeight.contactnow.contactnow_token
    plugin_type: lookup
  - name: Creating an API Token for ContactNow
    description: The vendor's description of the token API.
    link: https://support.8x8.com/contact-center/8x8-contactnow/integrations-and-apis/creating-an-api-token-for-contactnow
'''

EXAMPLES = r'''
- name: Get a token for the controller (reused while it has 5 minutes left)
  eightbyeight.contactnow.contactnow_token:
    username: "{{ contactnow_user }}"
    password: "{{ contactnow_api_key }}"
  delegate_to: localhost
  run_once: true
  register: contactnow

- name: Use it against another ContactNow API
  ansible.builtin.uri:
    url: https://api.contactnow.8x8.com/api/database.php
    method: POST
    body_format: form-urlencoded
    body:
      token: "{{ contactnow.token }}"
      method: campaigns
      action: read
      format: json
  delegate_to: localhost
  run_once: true

- name: Set the connection once for every module of the collection
  module_defaults:
    group/eightbyeight.contactnow.contactnow:
      api_url: https://api-106.dxi.eu
      username: "{{ contactnow_user }}"
      password: "{{ contactnow_api_key }}"
  block:
    - name: Each managed host gets a token for its own address, valid for an hour at least
      eightbyeight.contactnow.contactnow_token:
        min_ttl: 3600
      register: host_token

    - name: Revoke that token when done
      eightbyeight.contactnow.contactnow_token:
        state: absent
        token: "{{ host_token.token }}"

# The credentials come from CONTACTNOW_USERNAME and CONTACTNOW_PASSWORD in the environment of
# ansible-playbook (for example an AWX credential). Do not set them with the task keyword
# "environment:": ansible-playbook -vvv prints those values.
- name: A central server gets a token for a client machine
  eightbyeight.contactnow.contactnow_token:
    address: 192.0.2.15
    cache: false
  delegate_to: localhost
  register: client_token
'''

RETURN = r'''
token:
  description:
    - The token now held. Treat it as a secret.
    - Not returned in check mode when a new token would be needed, nor with O(state=absent).
  returned: success and O(state=present)
  type: str
  sample: bd932b769fc7263316345627d0a9ef3b8f8d1f8d
expire:
  description: When the token expires, in seconds since the epoch, as the API reports it.
  returned: when RV(token) is returned
  type: int
  sample: 1307975676
expires_in:
  description: Seconds from now until RV(expire), by the clock of the machine running the module.
  returned: when RV(token) is returned
  type: int
  sample: 43190
'''

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._module import ContactNowModule
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager


def run_module(module):
    params = module.params
    manager = TokenManager(module.connection_options(), address=params['address'])
    if params['state'] == 'absent':
        return dict(changed=manager.remove(params['token'], check_mode=module.check_mode).changed)
    outcome = manager.ensure(params['min_ttl'], params['token'], check_mode=module.check_mode)
    result = dict(changed=outcome.changed)
    if outcome.token is not None:
        result.update(outcome.as_dict())
    return result


def main():
    module = ContactNowModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            # Not no_log: the module returns the token it keeps, and no_log would mask that return value;
            # returned_secrets keeps it out of the host's log and the reported invocation instead.
            token=dict(type='str', no_log=False),
            min_ttl=dict(type='int', default=300),
            address=dict(type='str'),
        ),
        supports_check_mode=True,
        returned_secrets=('token',),
    )
    module.run(lambda: run_module(module))


if __name__ == '__main__':
    main()
