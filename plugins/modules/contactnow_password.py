#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: contactnow_password
short_description: Rotate the password (API key) of an 8x8 ContactNow API account
version_added: 0.1.0
description:
  - Makes O(new_password) the live password of the account O(username), with the API's C(newpass) action.
  - Idempotent. The current password (O(password)) is tried first; when the API refuses it but accepts
    O(new_password), the rotation has already happened and nothing is changed. When the API accepts
    neither, the module fails with a message that says so, naming neither password.
  - A run that succeeds makes at most one failed authentication, so it does not push an account with a
    lockout policy towards a lockout.
  - C(newpass) is only ever sent with the token that C(get) has just returned for O(username) and the
    current password, so no other account can be changed. The C(token) option of earlier versions is gone
    for that reason.
  - Everything local that must work after C(newpass) (the token cache) is checked B(before) it is sent;
    when that check fails, C(newpass) is not sent and the run fails with RV(live_password=unknown) (another
    run may be sending the same O(new_password), see below). A local failure after a confirmed change is a
    warning on a successful result, never a failure that hides the change.
  - The module always assumes that another run may be sending the same O(new_password) (the
    C(eightbyeight.contactnow.rotate_password) role resumes a pending password in every run that finds one),
    and that the API may revoke the account's tokens when its password changes. So when its own C(newpass)
    changes nothing -- refused by the API, or never sent because the connection failed -- it asks C(get) with
    O(new_password). Accepted, the run succeeds with RV(live_password=new) and a warning that another run
    changed the password. Refused, the result is RV(live_password=current) only when the API refused
    O(new_password) itself (a password rule, which refuses it to every run alike), else
    RV(live_password=unknown) (for example C(Invalid token), which another run's change explains). There is
    no option to turn this off. The question costs one failed sign-in, only on a run that fails anyway.
  - C(newpass) is sent at most once per run and never retried. If its reply is lost (a timeout, a broken
    connection or TLS stream, an answer that is not an API reply), the server may have acted, or may still
    act later (a slow server). The module then asks C(get) with O(new_password). When it is accepted, the
    run succeeds with RV(live_password=new). Otherwise the run fails with RV(live_password=unknown), since the
    current password still being accepted proves nothing (the server may still apply the change).
    Keep both passwords; a re-run with the same options finds out which one is live and converges.
  - Every result, successful or failed, has RV(live_password) (V(current), V(new) or V(unknown)). Decide on
    that field, never on the message text. See the rotation guide for the table of outcomes.
  - After a change the module verifies that the API accepts O(new_password) and returns a token obtained
    with it. The account's token in the local cache is replaced by that token (see O(cache)).
  - Tokens issued before the change are not deleted. Whether the API keeps them valid after C(newpass) is
    not documented; use M(eightbyeight.contactnow.contactnow_token) with O(eightbyeight.contactnow.contactnow_token#module:state=absent)
    to revoke one.
  - Tokens are bound to the IP address that requests them. The returned token is for the machine that runs
    the module, which is the managed host, or the controller with C(delegate_to=localhost).
  - Keep the new password somewhere safe B(before) running this module, so that it is never lost if the
    run is interrupted. The C(eightbyeight.contactnow.rotate_password) role does that for you.
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
      - Sends C(get) with the current password, and when the API refuses it C(get) with O(new_password), to find
        out which password is live. Never C(newpass) or C(delete); the token cache is not written.
      - Predicts C(changed) as a real run would. When the password would change, RV(token), RV(expire)
        and RV(expires_in) are V(null), since no token under the new password exists yet.
  diff_mode:
    support: full
    details:
      - "The diff is data: C(before) and C(after) are dicts saying which of the two passwords is live, for
        example C({password: current}) and C({password: new}), with the account they concern; a password value
        is never shown. In check mode C(after) is the prediction."
  idempotent:
    support: full
    details:
      - Once O(new_password) is live, a re-run with the same options reports no change (the current
        password is refused, O(new_password) is accepted).
options:
  password:
    description:
      - The account's B(current) password (API key).
      - Sent only in the body of POST requests, never in a URL, and never logged.
      - If not set, the environment variable E(CONTACTNOW_PASSWORD) is used.
    type: str
  new_password:
    description:
      - The password the account should have after the run.
      - Must meet the API's password rules; when the API refuses it, the module fails with the API's
        own words and the current password keeps working.
      - When it equals O(password), the module only checks that the API accepts it.
    type: str
    required: true
notes:
  - Where the password comes from and goes to matters more than this module. Store O(new_password) (for example
    in a vault, or as pending in the C(eightbyeight.contactnow.rotate_password) role's store) before the run,
    and make it the current password in your store after it.
  - Use C(no_log=true) on the task if you register the result, since the returned token is a credential.
seealso:
  - module: eightbyeight.contactnow.contactnow_token
  - name: Creating an API Token for ContactNow
    description: The vendor's description of the token API, including C(newpass).
    link: https://support.8x8.com/contact-center/8x8-contactnow/integrations-and-apis/creating-an-api-token-for-contactnow
'''

EXAMPLES = r'''
- name: Rotate the API password from the controller
  eightbyeight.contactnow.contactnow_password:
    username: "{{ contactnow_user }}"
    password: "{{ contactnow_current_password }}"
    new_password: "{{ contactnow_next_password }}"
  delegate_to: localhost
  run_once: true
  no_log: true
  register: rotation

- name: Use the token obtained with the new password
  ansible.builtin.uri:
    url: https://api.contactnow.8x8.com/api/database.php
    method: POST
    body_format: form-urlencoded
    body:
      token: "{{ rotation.token }}"
      method: campaigns
      action: read
      format: json
  delegate_to: localhost
  run_once: true

- name: Set the connection once for every module of the collection (EU region)
  module_defaults:
    group/eightbyeight.contactnow.contactnow:
      api_url: https://api-106.dxi.eu
      username: "{{ contactnow_user }}"
      password: "{{ contactnow_current_password }}"
  block:
    - name: Preview the rotation (check mode with diff; never shows a password)
      eightbyeight.contactnow.contactnow_password:
        new_password: "{{ contactnow_next_password }}"
      check_mode: true
      diff: true
      delegate_to: localhost
      run_once: true

    - name: Rotate
      eightbyeight.contactnow.contactnow_password:
        new_password: "{{ contactnow_next_password }}"
      delegate_to: localhost
      run_once: true

# In AWX / Automation Controller, a custom credential type injects CONTACTNOW_API_URL,
# CONTACTNOW_USERNAME and CONTACTNOW_PASSWORD into the job's environment; the module reads them.
# Do not pass passwords with the task keyword `environment`: ansible-playbook -vvv prints it.
- name: Rotate with the connection taken from the CONTACTNOW_* environment variables
  eightbyeight.contactnow.contactnow_password:
    new_password: "{{ contactnow_next_password }}"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
live_password:
  description:
    - Which of the two passwords the account accepts after the run, as far as the module could establish. Never a
      password value. Returned on success B(and on failure); decide on this field, never on the message.
    - V(current) -- the account provably still has the current password; the API refused O(new_password) itself
      (a password rule) and C(get) with it was refused too, or nothing needed to be sent. In check mode, the
      account's state before the run.
    - V(new) -- C(get) with O(new_password) succeeded.
    - V(unknown) -- neither is established, for example after a lost reply to C(newpass) while O(new_password)
      is not accepted yet (the server may still apply the change), after a refusal another run's change
      explains (C(Invalid token)) or a request that never left this machine while another run may still send
      O(new_password), or when the API could not be reached before anything was sent. Keep both passwords and
      re-run.
  returned: always
  type: str
  choices: [current, new, unknown]
  sample: new
token:
  description:
    - A token obtained with the password that is live after the run (O(new_password)). Treat it as a secret.
    - V(null) in check mode when the password would change.
  returned: success
  type: str
  sample: bd932b769fc7263316345627d0a9ef3b8f8d1f8d
expire:
  description:
    - When RV(token) expires, in seconds since the epoch, as the API reports it.
    - V(null) when RV(token) is.
  returned: success
  type: int
  sample: 1307975676
expires_in:
  description:
    - Seconds from now until RV(expire), by the clock of the machine running the module.
    - V(null) when RV(token) is.
  returned: success
  type: int
  sample: 43190
'''

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._module import ContactNowModule
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._password import PasswordRotation


def run_module(module):
    options = module.connection_options()
    rotation = PasswordRotation(options, module.params['new_password'])
    outcome = rotation.rotate(check_mode=module.check_mode)
    return outcome.as_dict(diff=module._diff, header=rotation.where)


def main():
    module = ContactNowModule(
        argument_spec=dict(
            new_password=dict(type='str', required=True, no_log=True),
        ),
        supports_check_mode=True,
    )
    module.run(lambda: run_module(module))


if __name__ == '__main__':
    main()
