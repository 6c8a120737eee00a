# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module of the collection does the same way: argument spec, set-up, error reporting.

This is a private module of the collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._errors import ContactNowError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import (
    ConnectionOptions,
    OptionError,
    connection_argument_spec,
)


class ContactNowModule(AnsibleModule):
    """An AnsibleModule with the connection options and one way to turn errors into fail_json."""

    def __init__(self, argument_spec, returned_secrets=(), **kwargs):
        """``returned_secrets``: options holding a credential the module also returns (contactnow_token's
        ``token``). ``no_log`` would mask the returned value too, so they are kept out of the host's log
        and the reported invocation here instead.
        """
        spec = connection_argument_spec()
        spec.update(argument_spec)
        self._returned_secrets = tuple(returned_secrets)
        super(ContactNowModule, self).__init__(argument_spec=spec, **kwargs)
        self._warned = []

    def _masked_params(self):
        params = dict(self.params)
        for name in self._returned_secrets:
            if params.get(name) is not None:
                params[name] = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
        return params

    def _log_invocation(self):
        # AnsibleModule logs every parameter that is not no_log; log the returned secrets masked.
        unmasked = self.params
        self.params = self._masked_params()
        try:
            super(ContactNowModule, self)._log_invocation()
        finally:
            self.params = unmasked

    def exit_json(self, **kwargs):
        kwargs.setdefault('invocation', {'module_args': self._masked_params()})
        super(ContactNowModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.setdefault('invocation', {'module_args': self._masked_params()})
        super(ContactNowModule, self).fail_json(msg, **kwargs)

    def connection_options(self, **changes):
        """The validated connection options (with ``changes`` applied); their warnings are shown once."""
        try:
            options = ConnectionOptions.from_module(self)
            if changes:
                options = options.replaced(**changes)
        except OptionError as exc:
            self.fail_json(msg=str(exc))
        for warning in options.warnings:
            if warning not in self._warned:
                self._warned.append(warning)
                self.warn(warning)
        return options

    def run(self, body):
        """Call ``body()`` and report its dict with exit_json, or its error with fail_json.

        Errors are already one line with secrets scrubbed; no traceback is attached on purpose.
        """
        try:
            result = body()
        except (ContactNowError, OptionError) as exc:
            # Fields a caller must act on (contactnow_password's live_password) travel as data, not as message text.
            self.fail_json(msg=str(exc), **getattr(exc, 'result', {}))
        for warning in result.pop('warnings', None) or []:
            self.warn(warning)
        self.exit_json(**result)
