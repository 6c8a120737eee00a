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

import ipaddress
import os

from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.validation import check_type_bool, check_type_int

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
    'allow_insecure_http': (dict(type='bool', default=False), 'CONTACTNOW_ALLOW_INSECURE_HTTP'),
}

CONNECTION_OPTION_NAMES = tuple(_CONNECTION_OPTIONS)

# Far above any sensible value, low enough that arithmetic and timers stay ordinary.
_MAX_TIMEOUT = 24 * 3600
_MAX_RETRIES = 100
_MAX_DIGITS = 15

INSECURE_TLS_WARNING = ('validate_certs is false: the API certificate is not checked, so anyone in between can read '
                        'the password and tokens; use ca_path for a private CA instead')


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


def require_seconds(value, name):
    """``value`` as a whole number of seconds, zero or more; an OptionError naming ``name`` otherwise.

    Shared by the module and the lookup (min_ttl, revalidate_interval), so both accept the same values.
    """
    number = _as_int(value, name)
    if number < 0:
        raise OptionError('%s must be zero or more seconds' % name)
    return number


def _as_int(value, name):
    """ansible-core's int conversion, without its leniencies: no bool, no fraction, no 1e9 or 1_000."""
    if isinstance(value, bool) or (isinstance(value, str) and not _is_integer_text(value.strip())):
        raise OptionError('%s must be a whole number' % name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # older ansible-core refuses floats
    try:
        return check_type_int(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise OptionError('%s must be a whole number' % name) from None


def _is_integer_text(text):
    """An optional sign and 1 to 15 ASCII digits.

    String methods rather than a regular expression: this module is compiled in every forked lookup
    worker, and compiling a pattern there costs more than all the lookup's checks.
    """
    digits = text[1:] if text[:1] in ('+', '-') else text
    return 0 < len(digits) <= _MAX_DIGITS and digits.isascii() and digits.isdigit()


def _as_bool(value, name):
    """ansible-core's reading of true/false (yes/no, on/off, 1/0, ...), as a module's bool option has."""
    try:
        return check_type_bool(value)
    except (TypeError, ValueError):
        raise OptionError('%s must be true or false' % name) from None


def _as_optional_text(value, name):
    if value is None or isinstance(value, str):
        return value
    raise OptionError('%s must be a string' % name)


def is_loopback(hostname):
    """127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: traffic that never leaves the machine."""
    name = (hostname or '').strip('[]').rstrip('.').lower()
    if name == 'localhost' or name.endswith('.localhost'):
        return True
    try:
        address = ipaddress.ip_address(name.split('%', 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, 'ipv4_mapped', None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


class ConnectionOptions:
    """The normalised connection settings the client and the cache work from.

    ``warnings`` lists what the caller should tell the user (modules: ``module.warn``; the lookup:
    ``display.warning``), for settings that work but weaken security.
    """

    # A lookup also reads the contactnow_<option> variables, so its messages name them too.
    read_from_variables = False

    def __init__(self, api_url=DEFAULT_API_URL, username=None, password=None, validate_certs=True,
                 ca_path=None, timeout=30, retries=3, response_format='json', cache=True, allow_insecure_http=False):
        if not isinstance(api_url, str) or '://' not in api_url:
            raise OptionError('api_url must be an absolute http:// or https:// URL, for example %s' % DEFAULT_API_URL)
        api_url = api_url.strip()
        scheme = api_url.split('://', 1)[0].lower()
        if scheme not in ('http', 'https'):
            raise OptionError('api_url must start with http:// or https://, not %s://' % scheme[:10])
        try:
            parts = urlsplit(api_url)
            hostname = parts.hostname
            port = parts.port
        except ValueError:
            raise OptionError('api_url is not a valid URL (check the host name and port), for example %s' % DEFAULT_API_URL)
        if '@' in parts.netloc:
            raise OptionError('api_url must not contain a user name or password (user:password@host): they would show in '
                              'logs and messages; set the username and password options instead')
        if not hostname:
            raise OptionError('api_url has no host name, for example %s' % DEFAULT_API_URL)
        if parts.query or parts.fragment:
            raise OptionError('api_url must be a base URL without a query string or fragment, for example %s' % DEFAULT_API_URL)
        if any(char.isspace() or not char.isprintable() for char in api_url):
            raise OptionError('api_url must not contain spaces or control characters')
        allow_insecure_http = _as_bool(allow_insecure_http, 'allow_insecure_http')
        if scheme == 'http' and not is_loopback(hostname) and not allow_insecure_http:
            raise OptionError('api_url uses http:// to a host that is not this machine, so the password and tokens would '
                              'cross the network in clear text; use https://, or set allow_insecure_http: true if that '
                              'network is trusted')
        timeout = _as_int(timeout, 'timeout') if timeout is not None else None
        if timeout is None or not 0 < timeout <= _MAX_TIMEOUT:
            raise OptionError('timeout must be a positive number of seconds (at most %d)' % _MAX_TIMEOUT)
        retries = _as_int(retries, 'retries') if retries is not None else None
        if retries is None or not 0 <= retries <= _MAX_RETRIES:
            raise OptionError('retries must be zero or more (at most %d)' % _MAX_RETRIES)
        if response_format not in ('json', 'xml'):
            raise OptionError("format must be 'json' or 'xml'")
        validate_certs = _as_bool(validate_certs, 'validate_certs')
        ca_path = _as_optional_text(ca_path, 'ca_path') or None
        if ca_path and validate_certs and scheme == 'https' and not os.access(ca_path, os.R_OK):
            raise OptionError('ca_path names no readable CA bundle (no such file, or no permission to read it); check the '
                              'path (it is read on the machine that runs the task), or leave ca_path unset for the system CAs')
        self.api_url = api_url.rstrip('/')
        self.username = _as_optional_text(username, 'username')
        self.password = _as_optional_text(password, 'password')
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retries = retries
        self.response_format = response_format
        self.cache = _as_bool(cache, 'cache')
        self.allow_insecure_http = allow_insecure_http
        self._hostname = hostname
        self._port = port
        self.warnings = []
        if not validate_certs and scheme == 'https':
            self.warnings.append(INSECURE_TLS_WARNING)
        if scheme == 'http' and not is_loopback(hostname):
            self.warnings.append('allow_insecure_http is true: the password and tokens cross the network to %s in clear '
                                 'text' % self.host)

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
        options = cls.from_mapping(dict((name, lookup.get_option(name)) for name in CONNECTION_OPTION_NAMES))
        options.read_from_variables = True
        return options

    def replaced(self, **changes):
        """A copy with some settings changed (keyword names as in the constructor), validated again."""
        values = dict(api_url=self.api_url, username=self.username, password=self.password,
                      validate_certs=self.validate_certs, ca_path=self.ca_path, timeout=self.timeout,
                      retries=self.retries, response_format=self.response_format, cache=self.cache,
                      allow_insecure_http=self.allow_insecure_http)
        values.update(changes)
        return ConnectionOptions(**values)

    @property
    def token_url(self):
        return self.api_url + '/token.php'

    @property
    def host(self):
        """The host (and port) of api_url, for messages that say where a request went."""
        host = '[%s]' % self._hostname if ':' in self._hostname else self._hostname
        return host if self._port is None else '%s:%d' % (host, self._port)

    @property
    def verify(self):
        """The certificate check asked for: a CA bundle path, True or False."""
        if not self.validate_certs:
            return False
        return self.ca_path or True

    def require_credentials(self, purpose='get a token', password_name='password'):
        """Fail with an actionable message when username or password is missing for ``purpose``."""
        if not self.username:
            raise OptionError('username is required to %s: %s' % (purpose, self._how_to_set('username')))
        if not self.password:
            raise OptionError('%s is required to %s: %s' % (password_name, purpose, self._how_to_set('password')))

    def _how_to_set(self, name):
        env_var = _CONNECTION_OPTIONS[name][1]
        if self.read_from_variables:
            return 'set the %s option, %s or the contactnow_%s variable' % (name, env_var, name)
        return 'set the %s option or %s' % (name, env_var)
