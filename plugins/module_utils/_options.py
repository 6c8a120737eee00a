# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connection options shared by every module and the lookup.

This is a private module of the collection: its interface may change without notice.

One table describes the options; modules get an argument spec from it and the lookup reads the
same names through ``get_option``.  Both end up with a :class:`ConnectionOptions`, which is all the
client and the cache ever see.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

DEFAULT_API_URL = 'https://api.contactnow.8x8.com'

# name -> (argument spec, environment variable)
_CONNECTION_OPTIONS = {
    'api_url': (dict(type='str', default=DEFAULT_API_URL), 'CONTACTNOW_API_URL'),
    'username': (dict(type='str'), 'CONTACTNOW_USERNAME'),
    'password': (dict(type='str', no_log=True), 'CONTACTNOW_PASSWORD'),
    'validate_certs': (dict(type='bool', default=True), 'CONTACTNOW_VALIDATE_CERTS'),
    'ca_path': (dict(type='path'), 'CONTACTNOW_CA_PATH'),
    'timeout': (dict(type='int', default=30), 'CONTACTNOW_TIMEOUT'),
    'retries': (dict(type='int', default=3), 'CONTACTNOW_RETRIES'),
    'format': (dict(type='str', default='json', choices=['json', 'xml']), 'CONTACTNOW_FORMAT'),
    'cache': (dict(type='bool', default=True), 'CONTACTNOW_CACHE'),
}

CONNECTION_OPTION_NAMES = tuple(_CONNECTION_OPTIONS)


def connection_argument_spec():
    """Argument spec for the connection options, each with its environment fallback.

    ``env_fallback`` (not an ``os.environ`` default) keeps ``no_log`` in force for values that come
    from the environment.
    """
    spec = {}
    for name, (option_spec, env_var) in _CONNECTION_OPTIONS.items():
        option = dict(option_spec)
        option['fallback'] = (env_fallback, [env_var])
        spec[name] = option
    return spec


class OptionError(ValueError):
    """An option value that cannot work; the message names the option, never its value."""


class ConnectionOptions:
    """The normalised connection settings the client and the cache work from."""

    def __init__(self, api_url=DEFAULT_API_URL, username=None, password=None, validate_certs=True,
                 ca_path=None, timeout=30, retries=3, response_format='json', cache=True):
        if not api_url or '://' not in api_url:
            raise OptionError('api_url must be an absolute http:// or https:// URL, for example %s' % DEFAULT_API_URL)
        scheme = api_url.split('://', 1)[0].lower()
        if scheme not in ('http', 'https'):
            raise OptionError('api_url must start with http:// or https://, not %s://' % scheme)
        if timeout is None or int(timeout) <= 0:
            raise OptionError('timeout must be a positive number of seconds')
        if retries is None or int(retries) < 0:
            raise OptionError('retries must be zero or more')
        if response_format not in ('json', 'xml'):
            raise OptionError("format must be 'json' or 'xml'")
        self.api_url = api_url.rstrip('/')
        self.username = username
        self.password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        self.timeout = int(timeout)
        self.retries = int(retries)
        self.response_format = response_format
        self.cache = bool(cache)

    @classmethod
    def from_mapping(cls, values):
        """Build from a dict holding (some of) the connection option names; None means default."""
        kwargs = dict((name, values[name]) for name in CONNECTION_OPTION_NAMES if values.get(name) is not None)
        if 'format' in kwargs:
            kwargs['response_format'] = kwargs.pop('format')
        return cls(**kwargs)

    @classmethod
    def from_module(cls, module):
        """Build from an AnsibleModule whose argument spec includes connection_argument_spec()."""
        return cls.from_mapping(module.params)

    @classmethod
    def from_lookup(cls, lookup):
        """Build from a lookup plugin after set_options(); the lookup's docs declare the same names."""
        return cls.from_mapping(dict((name, lookup.get_option(name)) for name in CONNECTION_OPTION_NAMES))

    @property
    def token_url(self):
        return self.api_url + '/token.php'

    @property
    def host(self):
        """The host part of api_url, for messages that say where a request went."""
        rest = self.api_url.split('://', 1)[1]
        return rest.split('/', 1)[0].rsplit('@', 1)[-1]

    @property
    def verify(self):
        """What requests expects for ``verify``: a CA bundle path, True or False."""
        if not self.validate_certs:
            return False
        return self.ca_path or True

    def require_credentials(self, purpose='get a token', password_name='password'):
        """Fail with an actionable message when username or password is missing for ``purpose``."""
        if not self.username:
            raise OptionError('username is required to %s: set the username option or CONTACTNOW_USERNAME' % purpose)
        if not self.password:
            raise OptionError('%s is required to %s: set the password option or CONTACTNOW_PASSWORD' % (password_name, purpose))
