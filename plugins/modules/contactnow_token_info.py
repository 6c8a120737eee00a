#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: contactnow_token_info
short_description: Check whether an 8x8 ContactNow API token is valid
version_added: 0.1.0
description:
  - Validates a token with the API's C(validate) action and reports whether it is usable and until when.
  - Never changes anything, never reads or writes the token cache, and needs no credentials.
  - Tokens are bound to an IP address; a token used from another address is reported invalid.
    Run this where the token is used (the managed host, or C(delegate_to=localhost)).
  - Accepts every connection option, so one C(module_defaults) group entry serves all modules.
  - In check mode it runs as always and sends the one read-only C(validate) request, nothing else.
author:
  - ContactNow collection maintainers (@eightbyeight)
extends_documentation_fragment:
  - eightbyeight.contactnow.connection
  - eightbyeight.contactnow.attributes
  - eightbyeight.contactnow.attributes.ACTION_GROUP
  - eightbyeight.contactnow.attributes.INFO_MODULE
options:
  token:
    description:
      - The token to validate.
      - Treated as a secret (C(no_log)); it is never returned.
    type: str
    required: true
seealso:
  - module: eightbyeight.contactnow.contactnow_token
'''

EXAMPLES = r'''
- name: Check a token before a long job
  eightbyeight.contactnow.contactnow_token_info:
    token: "{{ contactnow_token }}"
  delegate_to: localhost
  register: token_state

- name: Stop early if it would expire during the job
  ansible.builtin.assert:
    that:
      - token_state.valid
      - token_state.expires_in > 3600
    fail_msg: "The ContactNow token is {{ token_state.error if not token_state.valid else 'about to expire' }}"
  delegate_to: localhost
'''

RETURN = r'''
valid:
  description: Whether the API accepts the token from this machine's address.
  returned: success
  type: bool
  sample: true
expire:
  description: When the token expires, in seconds since the epoch. V(null) when the token is not valid.
  returned: success
  type: int
  sample: 1307975676
expires_in:
  description: Seconds from now until RV(expire), by the clock of the machine running the module. V(null) when not valid.
  returned: success
  type: int
  sample: 43190
error:
  description: Why the token is not valid, including the API's own text (for example C(Invalid token) or C(Expired token)). V(null) when valid.
  returned: success
  type: str
  sample: the token has expired ("Expired token")
'''

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._module import ContactNowModule
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager


def run_module(module):
    # Validating reads nothing from and writes nothing to the cache.
    options = module.connection_options(cache=False)
    return dict(changed=False, **TokenManager(options).inspect(module.params['token']))


def main():
    module = ContactNowModule(
        argument_spec=dict(
            # no_log: a credential; the module never returns it, and -vvv or the host's log must not show it.
            token=dict(type='str', required=True, no_log=True),
        ),
        supports_check_mode=True,
    )
    module.run(lambda: run_module(module))


if __name__ == '__main__':
    main()
