#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: contactnow_api
short_description: Call any 8x8 ContactNow API (database, ecnow, reporting, ...) with the token handled for you
version_added: 0.1.0
description:
  - Sends one request to C(<api_url>/<script>.php), for example V(database) (campaigns, outcome
    codes, agents, queues), V(ecnow) (records in and out of campaigns) or V(reporting), and returns
    the decoded reply. This replaces M(ansible.builtin.uri) tasks built around a token.
  - The token is obtained exactly as M(eightbyeight.contactnow.contactnow_token) obtains it, from the
    same local cache (see O(cache)), renewed when it has less than O(min_ttl) seconds left. A cached
    token is used without asking C(token.php) first; the call itself is the check.
  - When the API answers C(Expired token), C(Invalid token) or C(Unknown token) (or C(expire) V(-1) with no error
    text), the module gets a new token and resends the request B(once). That is safe for writes too, because the API refused
    the first request.
  - Reads (O(action=read)) are retried on transient faults (see O(retries)). Writes are never resent
    once they may have reached the server. When a write's reply is lost the task fails saying that
    the records may have been written, so read them back before running it again.
  - Replies in JSON and XML give identical results.
  - The token travels in the POST form for reads. For writes the records are the raw JSON body, as
    the vendor's own client sends them, so the token goes in the query string (encrypted by HTTPS,
    but visible in the API's access logs). It never appears in a message, a result or C(-vvv) output.
  - Tokens are bound to the IP address that requests them, and this module runs on the managed host;
    use C(delegate_to=localhost) to call the API from the controller.
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
      - Reads are sent (they change nothing). For the token, a cached token that has not expired is used as it is,
        even with less than O(min_ttl) left, since renewing it would C(delete) the token other hosts hold. Without
        one, C(get) is sent (it returns the account's current token, or issues one). When the API refuses the token,
        one more C(get) and the read are sent. Nothing else -- never C(delete), never a write, and the token cache is
        not written.
      - Writes (V(create), V(update), V(delete)) are not sent, and no token is asked for; C(changed) is predicted
        V(true) and no reply is returned.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - V(read) never changes anything.
      - V(update) and V(delete) report no change when the API says it wrote nothing (C(total) is V(0)),
        for example a record that already holds the values, or is already gone.
      - V(create) always creates new records.
options:
  script:
    description:
      - The API script to call, without C(.php), for example V(database), V(ecnow), V(reporting),
        V(ajax), V(recording) or V(click2dial). The request goes to C(<api_url>/<script>.php).
      - The vendor's developer repository gives the base URL for these scripts and C(token.php) per region,
        V(https://api.contactnow.8x8.com/api) (US, note C(/api)) and V(https://api-106.dxi.eu) (EU and the other
        regions); set O(api_url) to the one for your account, so that both C(token.php) and the scripts are found.
    type: str
    required: true
  method:
    description:
      - The API method, for example V(campaigns), V(outcomecodes), V(agents), V(queues) (database),
        V(ecnow_records), V(ecnow_datasets), V(campaign_tables), V(campaign_fields) (ecnow), V(calls)
        or V(cdr) (reporting).
    type: str
    required: true
  action:
    description:
      - What to do. V(read) changes nothing; V(create), V(update) and V(delete) write O(data).
    type: str
    choices: [read, create, update, delete]
    default: read
  params:
    description:
      - Arguments of the request. For V(read) these are the filters (for example V(qid), V(dataset),
        V(state), V(mode)) and arguments such as C(fields) and C(range) for V(reporting).
      - For writes they are sent alongside the records (for example C(campaign) or C(raw)).
      - Values are sent as text; a list is joined with commas (handy for C(fields)), a boolean becomes V(1) or V(0).
      - Must not hold C(token), C(method), C(action) or C(format).
    type: dict
    default: {}
  data:
    description:
      - The records to write, for V(create), V(update) and V(delete) -- a list of dictionaries, or one
        dictionary (sent as a list of one).
      - The API identifies records to update or delete by their key (the C(id) field in the sandbox;
        check the vendor's method documentation for the real field name).
      - Sent as the JSON body of the request, in one request (the API's maximum per request is not documented).
    type: raw
  min_ttl:
    description:
      - Seconds of validity the token must have left before the request is sent; a token with less is renewed.
    type: int
    default: 300
  address:
    description:
      - The IP address the token is authorised for, as in M(eightbyeight.contactnow.contactnow_token);
        the same cached token is used. Only useful when the API sees this machine's requests coming
        from that address; a token bound to another address is refused ("Invalid token").
    type: str
notes:
  - "Where the vendor's documentation is thin, the module assumes: reads accept every argument as a
    POST form field; writes take the records as a JSON array body with the other arguments in the
    query string; a reply has C(success), C(error), C(total), C(list) (records read) and for writes
    C(key), C(bad) and C(info). The guide lists these assumptions."
  - Records that the API refuses (its C(bad) field) are reported as a warning; when it refuses all of them the task fails.
seealso:
  - module: eightbyeight.contactnow.contactnow_token
  - plugin: eightbyeight.contactnow.contactnow_api
    plugin_type: lookup
  - ref: ansible_collections.eightbyeight.contactnow.docsite.other_apis
    description: Calling the other ContactNow APIs -- worked examples and assumptions.
'''

EXAMPLES = r'''
- name: Set the connection once for every module of the collection
  module_defaults:
    group/eightbyeight.contactnow.contactnow:
      api_url: https://api.contactnow.8x8.com/api
      username: "{{ vault_contactnow_user }}"
      password: "{{ vault_contactnow_api_key }}"
  delegate_to: localhost
  run_once: true
  block:
    - name: Read the campaigns
      eightbyeight.contactnow.contactnow_api:
        script: database
        method: campaigns
      register: campaigns

    - name: Read the system outcome codes
      eightbyeight.contactnow.contactnow_api:
        script: database
        method: outcomecodes
        params:
          mode: system
      register: outcome_codes

    - name: Load two records into dataset 1 of a campaign
      eightbyeight.contactnow.contactnow_api:
        script: ecnow
        method: ecnow_records
        action: create
        data:
          - {dataset: 1, FirstName: Ada, HomePhone: "01632960001"}
          - {dataset: 1, FirstName: Alan, MobilePhone: "07700900002"}
      register: loaded

    - name: Show what came back
      ansible.builtin.debug:
        msg: >-
          {{ campaigns.records | map(attribute='name') | list }};
          {{ outcome_codes.total }} outcome codes; new key {{ loaded.response.key }}

    - name: Read the calls of the last day, two columns
      eightbyeight.contactnow.contactnow_api:
        script: reporting
        method: calls
        params:
          fields: [qid, outcome]
          range: "{{ now(utc=true).timestamp() | int - 86400 }}:{{ now(utc=true).timestamp() | int }}"
      register: calls
'''

RETURN = r'''
success:
  description: The API's C(success) field.
  returned: always, except for a write in check mode
  type: bool
  sample: true
total:
  description: The API's C(total) field, the number of records read or written, when it sends one.
  returned: always, except for a write in check mode
  type: int
  sample: 3
records:
  description:
    - The records of the reply (the API's C(list) field), identical for JSON and XML replies.
    - Values are text, as the API hands them back; an empty value is V(null).
    - Empty for writes, whose replies carry no records.
  returned: always, except for a write in check mode
  type: list
  elements: dict
  sample: [{id: "1", name: Spring renewals, type: outbound, active: "1"}]
response:
  description:
    - The whole reply, decoded the same way for JSON and XML -- lower-case keys, C(success)
      a boolean, C(total) a number, record lists (C(list), C(bad)) as lists of dictionaries,
      other values as text.
    - For writes, look here for C(key) (the new record's key), C(bad) (records refused) and C(info).
  returned: always, except for a write in check mode
  type: dict
  sample: {success: true, total: 1, key: "17", info: 1 created, list: []}
'''

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._api import ApiCall
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._module import ContactNowModule


def run(module):
    params = module.params
    call = ApiCall(module.connection_options(), address=params['address'])
    try:
        outcome = call.run(params['script'], params['method'], params['action'], params['params'], params['data'],
                           min_ttl=params['min_ttl'], check_mode=module.check_mode)
    finally:
        # The reply is returned as the server sent it: a token it echoes must not reach the result.
        module.no_log_values.update(call.tokens_sent)
    for warning in outcome.warnings:
        module.warn(warning)
    return outcome.as_dict()


def main():
    module = ContactNowModule(
        argument_spec=dict(
            script=dict(type='str', required=True),
            method=dict(type='str', required=True),
            action=dict(type='str', default='read', choices=['read', 'create', 'update', 'delete']),
            params=dict(type='dict', default={}),
            data=dict(type='raw'),
            min_ttl=dict(type='int', default=300),
            address=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == '__main__':
    main()
