# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: contactnow_token
short_description: Get an 8x8 ContactNow API token into a playbook variable
version_added: 0.1.0
description:
  - Returns a ContactNow API token valid for at least O(min_ttl) more seconds, getting one from the
    API (action C(get)) only when the local token cache holds none that is good enough.
  - Built for fan-out. Lookups run in a forked worker for every host, yet evaluated for hundreds of
    hosts in one run the lookup sends B(one) C(get) per account. The first worker fetches while
    holding the account's cache lock; the others wait for the lock and read what it wrote.
  - A cached token is trusted without asking the API for O(revalidate_interval) seconds after it was
    last confirmed valid; after that the next evaluation sends one C(validate) (and a C(get) if the
    token no longer works), so a token deleted or revoked elsewhere is noticed within that interval.
  - The lookup runs on the B(controller). Tokens are bound to the IP address that requests them, so
    the token is authorised for the controller's address unless O(address) names another one.
    Use the M(eightbyeight.contactnow.contactnow_token) module to get a token on a managed host.
  - Lookups are evaluated in check mode exactly as in a real run (Ansible does not tell a lookup it is in check
    mode), so during a C(--check) run this lookup sends what it always sends as needed -- C(validate), C(get), and,
    to renew a token with less than O(min_ttl) left, C(delete) and C(get); it writes the token cache too. Use the
    M(eightbyeight.contactnow.contactnow_token) module, which sends at most C(validate) in check mode, to preview.
  - Each option is taken from, highest precedence first, the lookup's keyword arguments, the Ansible
    variable C(contactnow_<option>), the environment variable C(CONTACTNOW_<OPTION>), the
    C([contactnow]) section of C(ansible.cfg) (never for O(password)), and finally the default.
    These variables are templated, so a variable C(contactnow_api_url) set to V({{ my_url }}) works.
author:
  - ContactNow collection maintainers (@eightbyeight)
extends_documentation_fragment:
  - eightbyeight.contactnow.connection
  - eightbyeight.contactnow.connection.PLUGINS
  - eightbyeight.contactnow.connection.LOOKUP_TOKEN
options:
  _terms:
    description:
      - This lookup takes no terms; pass every option as a keyword argument (or set it elsewhere, see above).
    required: false
  details:
    description:
      - V(false) returns the token string. V(true) returns a dictionary with RV(_raw[].token),
        RV(_raw[].expire) and RV(_raw[].expires_in).
      - Usually given as a keyword argument; setting it in the environment or C(ansible.cfg) changes
        what every use of the lookup returns.
    type: bool
    default: false
    env:
      - name: CONTACTNOW_DETAILS
    ini:
      - section: contactnow
        key: details
    vars:
      - name: contactnow_details
  revalidate_interval:
    description:
      - Seconds during which a cached token that was confirmed valid is returned without asking the API.
      - This is the answer to "a token that stops working elsewhere (deleted, the password changed
        on another machine) must not poison runs for hours". Once the interval has passed, the next
        evaluation sends one C(validate) under the cache lock and renews the token if it fails; the
        workers after it trust the fresh confirmation again.
      - "The trade-off: a larger value means fewer API calls; a smaller one notices a revoked token
        sooner. With the default V(60), a revoked token is handed out for at most a minute, and a run
        over many hosts sends at most one C(validate) per minute per account. V(0) validates on every
        evaluation (one C(validate) per host, still at most one C(get))."
      - Only applies with O(cache=true).
    type: int
    default: 60
    env:
      - name: CONTACTNOW_REVALIDATE_INTERVAL
    ini:
      - section: contactnow
        key: revalidate_interval
    vars:
      - name: contactnow_revalidate_interval
notes:
  - With O(cache=false) nothing is shared between workers, so every evaluation (every host) sends a
    C(get). The API returns the account's current token while it is valid, so hosts still agree on
    the token, but rate limits suffer.
  - Jinja templates are lazy. A variable defined as a template that calls this lookup (in C(vars), in
    inventory, in C(group_vars)) runs the lookup again every time it is used; store the result once
    with M(ansible.builtin.set_fact).
  - The token is a credential. Set C(no_log) on tasks that would print it.
seealso:
  - module: eightbyeight.contactnow.contactnow_token
  - module: eightbyeight.contactnow.contactnow_token_info
  - ref: ansible_collections.eightbyeight.contactnow.docsite.tokens_in_playbooks
    description: Tokens in playbooks -- lookup or module, the cache, check mode and option precedence.
'''

EXAMPLES = r'''
- name: Get a token once, on the controller
  ansible.builtin.set_fact:
    contactnow_api_token: "{{ lookup('eightbyeight.contactnow.contactnow_token', username='acme-api', password=vault_contactnow_password) }}"
  no_log: true

# Per-host fan-out, without run_once: in a play over hundreds of hosts with
#   vars:
#     contactnow_username: acme-api
#     contactnow_password: "{{ vault_contactnow_password }}"
# every host gets the fact, and the whole run sends one get: the first worker fetches
# under the cache lock, the others read what it wrote.
- name: Give every host the account's token
  ansible.builtin.set_fact:
    contactnow_api_token: "{{ lookup('eightbyeight.contactnow.contactnow_token') }}"
  no_log: true

- name: Token with its expiry, guaranteed valid for at least an hour
  ansible.builtin.set_fact:
    contactnow_token_details: "{{ lookup('eightbyeight.contactnow.contactnow_token', details=true, min_ttl=3600) }}"
  no_log: true

- name: Show when it expires
  ansible.builtin.debug:
    msg: "The token expires at {{ contactnow_token_details.expire }} (in {{ contactnow_token_details.expires_in }} seconds)"

# The token is bound to the address that got it -- the controller, where lookups run --
# so call the other API from the controller too. PHP servers often label JSON as text/html:
# parse the body with from_json instead of relying on the json key of the result.
- name: Read campaigns from the ContactNow database API with the token
  ansible.builtin.uri:
    url: "{{ contactnow_api_url }}/api/database.php"
    method: POST
    body_format: form-urlencoded
    body:
      token: "{{ contactnow_api_token }}"
      method: campaigns
      action: read
      format: json
    return_content: true
  delegate_to: localhost
  register: campaigns
  no_log: true
  failed_when: not (campaigns.content | from_json).success

- name: A templated variable selects the EU region; the cache is off for this one call
  ansible.builtin.set_fact:
    contactnow_api_token: "{{ lookup('eightbyeight.contactnow.contactnow_token', cache=false) }}"
  vars:
    contactnow_api_url: "{{ contactnow_eu_base_url }}"
  no_log: true
'''

RETURN = r'''
_raw:
  description:
    - A list with one element, the token string (O(details=false)) or a dictionary (O(details=true)).
      M(ansible.builtin.set_fact) with C(lookup()) stores the element itself.
  type: list
  elements: raw
  contains:
    token:
      description: The token, valid for at least O(min_ttl) more seconds.
      type: str
      returned: O(details=true)
      sample: bd932b769fc7263316345627d0a9ef3b8f8d1f8d
    expire:
      description: When the token expires, in seconds since the Unix epoch.
      type: int
      returned: O(details=true)
      sample: 1307975676
    expires_in:
      description: Seconds from now (by the controller's clock) until RV(_raw[].expire).
      type: int
      returned: O(details=true)
      sample: 43187
'''

import time

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import require_seconds
from ansible_collections.eightbyeight.contactnow.plugins.plugin_utils._lookup_base import ContactNowLookupBase


class LookupModule(ContactNowLookupBase):

    NAME = 'eightbyeight.contactnow.contactnow_token'
    KEYWORD_EXAMPLE = 'username=...'

    def run(self, terms, variables=None, **kwargs):
        self.take_options(terms, variables, kwargs)
        with self.lookup_errors():
            options = self.connection_options()
            # Checked before anything is read or sent; TokenManager.ensure checks them the same way.
            min_ttl = require_seconds(self.get_option('min_ttl'), 'min_ttl')
            trust_for = require_seconds(self.get_option('revalidate_interval'), 'revalidate_interval')
            held = self._trusted_cache_hit(options, min_ttl, trust_for)
            if held is None:
                held = self.token_manager(options).ensure(min_ttl, trust_cache_for=trust_for).as_dict()
        if self.get_option('details'):
            return [held]
        return [held['token']]

    def _trusted_cache_hit(self, options, min_ttl, trust_for):
        """The cached token another worker confirmed less than ``trust_for`` seconds ago (as ``details``
        returns it), or None.

        Answered without building the token manager, so in a fan-out every host after the first
        compiles less collection code; anything short of a trusted hit goes to ``ensure``.
        """
        if not options.cache:
            return None
        cache, clock = self._cache_and_clock()
        key = cache.key(options.api_url, options.username, self.get_option('address'))
        entry = cache.trusted_entry(key, options.password, min_ttl, trust_for, clock)
        if entry is None:
            return None
        return dict(token=entry.token, expire=entry.expire, expires_in=int(entry.expire - clock()))

    def _cache_and_clock(self):
        """The token cache and clock of the trusted-hit check (tests substitute them with the token manager)."""
        from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache

        return TokenCache(), time.time
