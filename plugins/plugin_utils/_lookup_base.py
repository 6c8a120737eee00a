# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What both lookups of the collection do the same way: options, warnings, errors, the token manager.

This is a private module of the collection: its interface may change without notice.

It imports neither the token manager, the HTTP code nor the errors they raise: collection code is
compiled afresh in every forked worker, and the token lookup answers a trusted cache hit without them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions, OptionError

display = Display()


class ContactNowLookupBase(LookupBase):
    """A lookup that takes its options as keywords and ``contactnow_*`` variables, never as terms.

    Subclasses set ``NAME`` (the fully qualified name, for messages) and ``KEYWORD_EXAMPLE``.
    """

    NAME = None
    KEYWORD_EXAMPLE = None

    def take_options(self, terms, variables, kwargs):
        """Refuse terms, then set the options from the keywords and the templated own variables."""
        if terms:
            raise AnsibleLookupError('the %s lookup takes no terms; pass options as keywords, for example %s'
                                     % (self.NAME, self.KEYWORD_EXAMPLE))
        self.set_options(var_options=self._own_variables(variables), direct=kwargs)

    @contextlib.contextmanager
    def lookup_errors(self):
        """Our errors as AnsibleLookupError: already one line, secrets scrubbed.

        ``from None`` keeps the chain, and so -vvv, to that one line.  ``_errors`` is imported only
        when something failed: only the token manager and the client, which import it themselves,
        raise ContactNowError, and a trusted cache hit builds neither.
        """
        try:
            yield
        except OptionError as exc:
            raise AnsibleLookupError(str(exc)) from None
        except Exception as exc:
            from ansible_collections.eightbyeight.contactnow.plugins.module_utils._errors import ContactNowError

            if isinstance(exc, ContactNowError):
                raise AnsibleLookupError(str(exc)) from None
            raise

    def connection_options(self):
        """The validated connection options; their warnings are shown, naming this lookup."""
        options = ConnectionOptions.from_lookup(self)
        for warning in options.warnings:
            display.warning('%s lookup: %s' % (self.NAME, warning))
        return options

    def token_manager(self, options):
        return self._token_manager(options, self.get_option('address'))

    def _token_manager(self, options, address):
        """The one place a lookup builds its TokenManager (tests substitute the client here)."""
        from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager

        return TokenManager(options, address=address)

    def _own_variables(self, variables):
        """The contactnow_* variables this lookup reads, templated.

        Ansible hands a lookup its variables untemplated, so ``contactnow_api_url: "{{ my_url }}"``
        would otherwise arrive as the template text.  Only the names our options declare are
        templated: touching other variables costs time and may fail on unrelated undefined ones.
        """
        if not variables:
            return None
        own = {}
        for definition in self.option_definitions.values():
            for source in definition.get('vars') or ():
                if source['name'] in variables:
                    own[source['name']] = self._templar.template(variables[source['name']])
        return own
