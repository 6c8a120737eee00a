# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: contactnow_api
short_description: Read records from an 8x8 ContactNow API (database, ecnow, reporting, ...) into a variable
version_added: 0.1.0
description:
  - Reads records with one request to C(<api_url>/<script>.php) (action C(read)) and returns them,
    for example the campaigns (V(database)/V(campaigns)) or the outcome codes (V(database)/V(outcomecodes)).
  - For writes, use the M(eightbyeight.contactnow.contactnow_api) module.
  - The token comes from the same local cache as the P(eightbyeight.contactnow.contactnow_token#lookup)
    lookup. Evaluated for many hosts in one run, the lookup sends B(one) C(get) per account; the first
    worker fetches the token under the cache lock, the others use it. Each evaluation sends its own read.
  - A cached token is used without asking C(token.php) first. When the API answers C(Expired token),
    C(Invalid token) or C(Unknown token) (or C(expire) V(-1) with no error text), the lookup gets a new
    token and resends the read once.
    Reads are retried on transient faults (see O(retries)).
  - Replies in JSON and XML give identical records.
  - The lookup runs on the B(controller), so the token is the controller's.
  - Lookups are evaluated in check mode exactly as in a real run (Ansible does not tell a lookup it is in check
    mode), so during a C(--check) run this lookup sends what it always sends -- its read, and for its token, as
    needed, C(validate), C(get), and, to renew a token with less than O(min_ttl) left, C(delete) and C(get) -- and
    writes the token cache. Its read changes nothing; use a low O(min_ttl) in plays run with C(--check) when other
    hosts share the account's token.
  - Each option is taken from, highest precedence first, the lookup's keyword arguments, the Ansible
    variable C(contactnow_<option>), the environment variable C(CONTACTNOW_<OPTION>), the
    C([contactnow]) section of C(ansible.cfg) (never for O(password)), and finally the default.
    O(script), O(method) and O(params) are keyword arguments only.
author:
  - ContactNow collection maintainers (@eightbyeight)
extends_documentation_fragment:
  - eightbyeight.contactnow.connection
  - eightbyeight.contactnow.connection.PLUGINS
  - eightbyeight.contactnow.connection.LOOKUP_TOKEN
options:
  _terms:
    description:
      - This lookup takes no terms; pass every option as a keyword argument.
    required: false
  script:
    description:
      - The API script, without C(.php), for example V(database), V(ecnow) or V(reporting).
    type: str
    required: true
  method:
    description:
      - The API method, for example V(campaigns), V(outcomecodes), V(ecnow_datasets) or V(calls).
    type: str
    required: true
  params:
    description:
      - Filters and arguments of the read, as for the module's O(eightbyeight.contactnow.contactnow_api#module:params).
    type: dict
    default: {}
notes:
  - The result is a list of records. Use C(query()) (or C(lookup(..., wantlist=true))) to always get a list;
    C(lookup()) hands back a single record as a dictionary.
  - Jinja templates are lazy. A variable defined as a template that calls this lookup runs the read again
    every time it is used; store the result once with M(ansible.builtin.set_fact).
seealso:
  - module: eightbyeight.contactnow.contactnow_api
  - plugin: eightbyeight.contactnow.contactnow_token
    plugin_type: lookup
  - ref: ansible_collections.eightbyeight.contactnow.docsite.other_apis
    description: Calling the other ContactNow APIs -- worked examples and assumptions.
'''

EXAMPLES = r'''
- name: The names of the active campaigns
  ansible.builtin.debug:
    msg: "{{ query('eightbyeight.contactnow.contactnow_api', script='database', method='campaigns', params={'active': 1})
             | map(attribute='name') | list }}"

- name: Keep the system outcome codes in a fact
  ansible.builtin.set_fact:
    outcome_codes: "{{ query('eightbyeight.contactnow.contactnow_api', script='database', method='outcomecodes',
                             params={'mode': 'system'}) }}"

- name: Loop over the live datasets of queue 1
  ansible.builtin.debug:
    msg: "{{ item.dataset }}: {{ item.name }}"
  loop: "{{ query('eightbyeight.contactnow.contactnow_api', script='ecnow', method='ecnow_datasets',
                  params={'qid': 1, 'state': 'LIVE'}) }}"
'''

RETURN = r'''
_raw:
  description:
    - The records read (the API's C(list)), one dictionary per record, identical for JSON and XML replies.
    - Values are text, as the API hands them back; an empty value is V(null).
  type: list
  elements: dict
'''

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._api import ApiCall
from ansible_collections.eightbyeight.contactnow.plugins.plugin_utils._lookup_base import ContactNowLookupBase


class LookupModule(ContactNowLookupBase):

    NAME = 'eightbyeight.contactnow.contactnow_api'
    KEYWORD_EXAMPLE = 'script=database, method=campaigns'

    def run(self, terms, variables=None, **kwargs):
        self.take_options(terms, variables, kwargs)
        with self.lookup_errors():
            options = self.connection_options()
            call = ApiCall(options, manager=self.token_manager(options))
            outcome = call.run(self.get_option('script'), self.get_option('method'), 'read', self.get_option('params'),
                               min_ttl=self.get_option('min_ttl'))
        return outcome.response['list']
