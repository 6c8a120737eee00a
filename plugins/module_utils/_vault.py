# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``hashi_vault`` store of the rotate_password role: one HashiCorp Vault / OpenBao KV v2 secret per account.

This is a private module of the collection: its interface may change without notice.

The secret holds ``password`` (the live password), ``pending`` (only while a rotation is in flight) and
``rotated_at`` (when ``password`` became live, ISO 8601 UTC).  Every write is check-and-set on the version the
caller last saw, so it works on ``cas_required`` mounts and an overlapping run can never overwrite another's
write.  A write reports ``conflict`` only when the secret's version has moved on; any other refusal is a
:class:`VaultError` naming Vault's status and its own error text, never a secret.

``requests`` is imported only when a request is made, so that the file store never pays for it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import is_loopback

DEFAULT_TIMEOUT = 30
# Vault's error texts are short; anything longer is cut so that one message stays one line.
MAX_ERROR_TEXT = 300

# The module's hashi_vault options (documented in the eightbyeight.contactnow.hashi_vault doc fragment).
ARGUMENT_SPEC = dict(
    vault_url=dict(type='str', fallback=(env_fallback, ['VAULT_ADDR'])),
    vault_token=dict(type='str', no_log=True, fallback=(env_fallback, ['VAULT_TOKEN'])),
    vault_role_id=dict(type='str', fallback=(env_fallback, ['VAULT_ROLE_ID', 'ANSIBLE_HASHI_VAULT_ROLE_ID'])),
    vault_secret_id=dict(type='str', no_log=True, fallback=(env_fallback, ['VAULT_SECRET_ID', 'ANSIBLE_HASHI_VAULT_SECRET_ID'])),
    vault_namespace=dict(type='str', fallback=(env_fallback, ['VAULT_NAMESPACE'])),
    vault_mount=dict(type='str', default='secret', fallback=(env_fallback, ['CONTACTNOW_VAULT_MOUNT'])),
    vault_path=dict(type='str', fallback=(env_fallback, ['CONTACTNOW_VAULT_PATH'])),
    vault_ca_path=dict(type='path', fallback=(env_fallback, ['VAULT_CACERT'])),
    vault_validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['CONTACTNOW_VAULT_VALIDATE_CERTS'])),
    version=dict(type='int'),
)


class VaultError(Exception):
    """A Vault that cannot be used as the store: one line, naming the secret, never a secret value."""


def _segments(text, name):
    parts = [part for part in (text or '').split('/') if part]
    if not parts:
        raise VaultError('%s must not be empty' % name)
    if any(part in ('.', '..') for part in parts):
        raise VaultError('%s must not contain "." or ".." segments: %s' % (name, text))
    return parts


def secret_name(mount, path):
    """``mount/path`` as a person types it (messages, the bao CLI), slashes trimmed."""
    return '/'.join(_segments(mount, 'vault_mount') + _segments(path, 'vault_path'))


def api_path(mount, kind, path):
    """The API path of a KV v2 endpoint (``data``, ``metadata``...), every segment URL-encoded.

    >>> api_path('secret', 'data', 'contactnow/api user@x')
    'secret/data/contactnow/api%20user%40x'
    """
    return '/'.join(quote(part, safe='') for part in _segments(mount, 'vault_mount') + [kind] + _segments(path, 'vault_path'))


def error_text(body, secrets=()):
    """Vault's own error text from an answer body (``{"errors": [...]}``), cut short, secrets scrubbed."""
    errors = body.get('errors') if isinstance(body, dict) else None
    if isinstance(errors, list):
        text = '; '.join(' '.join(str(item).split()) for item in errors if str(item).strip())
    else:
        text = ''
    for secret in secrets:
        if secret:
            text = text.replace(secret, '********')
    if len(text) > MAX_ERROR_TEXT:
        text = text[:MAX_ERROR_TEXT] + '...'
    return text or 'no error text'


def refusal(what, status, body, secrets=()):
    """The message for an answer Vault refused: what was asked, the status, Vault's words, and a hint."""
    hints = {
        401: 'the token is not valid',
        403: 'the token is not valid, has expired, or its policies do not grant this (see the minimal policy in the '
             'rotation guide)',
        404: 'the path does not exist; check vault_mount, vault_path and vault_namespace',
        503: 'Vault is sealed or in standby',
    }
    message = '%s: Vault answered HTTP %s (%s)' % (what, status, error_text(body, secrets))
    hint = hints.get(status)
    return message + ('; ' + hint if hint else '')


def mount_problem(mount, path, status, body, secrets=()):
    """Why ``mount`` cannot hold the store (None when it is a KV v2 mount), from sys/internal/ui/mounts."""
    where = secret_name(mount, path)
    if status == 403 or status == 404:
        return ('Vault refused to describe the mount of %s to this token (HTTP %s: %s): the token is not valid or has '
                'expired, its policies grant nothing under %s, or nothing is mounted at %s/; check the Vault token (or '
                'AppRole), vault_mount, vault_namespace and the token\'s policies'
                % (where, status, error_text(body, secrets), where, mount.strip('/')))
    if status != 200:
        return refusal('Vault could not describe the mount of %s' % where, status, body, secrets)
    data = body.get('data') if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return 'Vault gave no description of the mount of %s' % where
    kind = data.get('type')
    version = str((data.get('options') or {}).get('version') or '1')
    mounted = data.get('path') or mount
    if kind not in ('kv', 'generic') or version != '2':
        return ('the secrets engine mounted at %s is %s, not a KV version 2 engine: the hashi_vault store needs KV '
                'version 2 for its versions and check-and-set; enable one (bao secrets enable -path=<mount> kv-v2) or '
                'upgrade this one (bao kv enable-versioning %s)'
                % (mounted, ('KV version %s' % version) if kind in ('kv', 'generic') else 'of type %s' % kind, mounted))
    return None


def parse_read(mount, path, status, body, secrets=()):
    """``(version, data)`` of a KV v2 read; ``(0, {})`` when the secret never existed.

    A latest version that was deleted or destroyed is an error: the store would otherwise look empty and be
    seeded again, while check-and-set (on version 0) could never match.
    """
    where = secret_name(mount, path)
    data = body.get('data') if isinstance(body, dict) else None
    metadata = data.get('metadata') if isinstance(data, dict) else None
    if status == 404 and not isinstance(metadata, dict):
        return 0, {}
    if status not in (200, 404):
        raise VaultError(refusal('reading the Vault secret %s failed' % where, status, body, secrets))
    if not isinstance(metadata, dict) or not isinstance(metadata.get('version'), int):
        raise VaultError('reading the Vault secret %s gave no KV version 2 answer (no version in its metadata); '
                         'is %s a KV version 2 mount?' % (where, mount))
    version = metadata['version']
    if metadata.get('destroyed'):
        raise VaultError('the latest version (%d) of the Vault secret %s was destroyed, so the store cannot tell which '
                         'password is live. Write the live password as a new version (bao kv put -mount=%s -cas=%d %s '
                         'password=...), then re-run' % (version, where, mount.strip('/'), version, path.strip('/')))
    if metadata.get('deletion_time') or data.get('data') is None:
        raise VaultError('the latest version (%d) of the Vault secret %s was deleted, so the store cannot tell which '
                         'password is live. Undelete it (bao kv undelete -mount=%s -versions=%d %s), then re-run'
                         % (version, where, mount.strip('/'), version, path.strip('/')))
    secret = data.get('data')
    if not isinstance(secret, dict):
        raise VaultError('the Vault secret %s (version %d) is not a map of keys' % (where, version))
    return version, secret


def text_value(secret, key, where):
    value = secret.get(key)
    if value is None or value == '':
        return None
    if not isinstance(value, str):
        raise VaultError('the key %s of the Vault secret %s is not a string' % (key, where))
    return value


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class Vault:
    """One Vault server: a requests session with its address, TLS settings, namespace and token."""

    def __init__(self, url, token=None, role_id=None, secret_id=None, namespace=None, ca_path=None,
                 validate_certs=True, timeout=DEFAULT_TIMEOUT):
        if not url:
            raise VaultError('vault_url is not set: give the Vault address (or set VAULT_ADDR), for example '
                             'https://vault.example.com:8200')
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise VaultError('vault_url must be an absolute http:// or https:// URL, for example https://vault.example.com:8200')
        if parts.username or parts.password:
            raise VaultError('vault_url must not hold a user name or password')
        if parts.scheme == 'http' and not is_loopback(parts.hostname):
            raise VaultError('vault_url uses http:// to a host that is not this machine, so the Vault token would cross '
                             'the network in clear text; use https://')
        if not token and not (role_id and secret_id):
            raise VaultError('no Vault credentials: give vault_token (or VAULT_TOKEN), or vault_role_id and '
                             'vault_secret_id for an AppRole login')
        self.url = url.rstrip('/')
        self.host = parts.netloc
        self.token = token
        self.role_id = role_id
        self.secret_id = secret_id
        self.namespace = namespace
        self.verify = (ca_path or True) if validate_certs else False
        self.timeout = timeout
        self._session = None

    @property
    def secrets(self):
        return [self.token, self.secret_id]

    def _call(self, method, path, body=None, authenticated=True):
        """``(status, decoded JSON body or {})``; a failure to get any answer is a VaultError."""
        try:
            import requests
        except ImportError:
            raise VaultError('the hashi_vault store needs the Python library requests on the host that runs the module '
                             '(pip install requests)')
        if self._session is None:
            self._session = requests.Session()
        headers = {}
        if self.namespace:
            headers['X-Vault-Namespace'] = self.namespace
        if authenticated:
            headers['X-Vault-Token'] = self._login()
        try:
            response = self._session.request(method, '%s/v1/%s' % (self.url, path), json=body, headers=headers,
                                             verify=self.verify, timeout=self.timeout, allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise VaultError('the TLS connection to Vault at %s failed (%s); give the CA that signed its certificate '
                             'as vault_ca_path' % (self.host, _reason(exc)))
        except requests.exceptions.RequestException as exc:
            raise VaultError('Vault at %s could not be reached (%s); check vault_url and that Vault is running'
                             % (self.host, _reason(exc)))
        try:
            decoded = response.json() if response.content else {}
        except ValueError:
            decoded = {}
        return response.status_code, decoded if isinstance(decoded, dict) else {}

    def _login(self):
        if not self.token:
            status, body = self._call('POST', 'auth/approle/login',
                                      dict(role_id=self.role_id, secret_id=self.secret_id), authenticated=False)
            token = ((body.get('auth') or {}) if status == 200 else {}).get('client_token')
            if not token:
                raise VaultError(refusal('the AppRole login to Vault (auth/approle/login) failed', status, body, self.secrets))
            self.token = token
        return self.token

    def check_mount(self, mount, path):
        """Fail unless ``mount`` is a KV version 2 mount the token may use (the preflight the Vault CLI does)."""
        status, body = self._call('GET', 'sys/internal/ui/mounts/' + '/'.join(
            quote(part, safe='') for part in _segments(mount, 'vault_mount') + _segments(path, 'vault_path')))
        problem = mount_problem(mount, path, status, body, self.secrets)
        if problem:
            raise VaultError(problem)

    def read(self, mount, path):
        status, body = self._call('GET', api_path(mount, 'data', path))
        return parse_read(mount, path, status, body, self.secrets)

    def write(self, mount, path, secret, cas):
        """The new version, or None when the secret is no longer at version ``cas`` (check-and-set mismatch)."""
        status, body = self._call('POST', api_path(mount, 'data', path), dict(options=dict(cas=cas), data=secret))
        if status == 200:
            version = (body.get('data') or {}).get('version')
            if isinstance(version, int):
                return version
            raise VaultError('Vault accepted the write of %s but returned no version' % secret_name(mount, path))
        # Decide on the data, not on the error text: a mismatch is a version that has moved on.
        if status == 400 and self.read(mount, path)[0] != cas:
            return None
        raise VaultError(refusal('writing the Vault secret %s failed' % secret_name(mount, path), status, body, self.secrets))


def _reason(exc):
    """The innermost reason of a requests error, without the URL and connection object it repeats."""
    reason = exc
    for dummy in range(6):
        inner = getattr(reason, 'reason', None)
        if not isinstance(inner, Exception) and reason.args and isinstance(reason.args[0], Exception):
            inner = reason.args[0]
        if not isinstance(inner, Exception) or inner is reason:
            break
        reason = inner
    text = ' '.join(str(reason).split())
    text = text.rsplit('Failed to establish a new connection: ', maxsplit=1)[-1]
    return (text[:200] + '...') if len(text) > 200 else text


def run(params, check_mode):
    """One action of the store on the account's secret; the module's result."""
    action = params['action']
    mount = params['vault_mount'] or 'secret'
    path = params['vault_path']
    if not path:
        raise VaultError('vault_path is required with backend=hashi_vault (the role passes contactnow/<username>)')
    where = secret_name(mount, path)
    vault = Vault(params['vault_url'], token=params['vault_token'], role_id=params['vault_role_id'],
                  secret_id=params['vault_secret_id'], namespace=params['vault_namespace'],
                  ca_path=params['vault_ca_path'], validate_certs=params['vault_validate_certs'])

    if action == 'read':
        vault.check_mount(mount, path)
        version, secret = vault.read(mount, path)
        return dict(changed=False, version=version, live=text_value(secret, 'password', where),
                    pending=text_value(secret, 'pending', where), rotated_at=text_value(secret, 'rotated_at', where))

    seen = params['version']
    if seen is None:
        raise VaultError('version (the version of %s that action=read returned) is required for action=%s'
                         % (where, action))
    value = params['value']
    if action in ('record_pending', 'make_live', 'drop_pending') and not value:
        raise VaultError('value is required for action=%s' % action)
    if check_mode:
        return dict(changed=True, conflict=False, version=seen)

    version, secret = vault.read(mount, path)
    live = text_value(secret, 'password', where)
    pending = text_value(secret, 'pending', where)
    unchanged = dict(changed=False, conflict=True, version=version, live=live, pending=pending)
    if version != seen:
        return unchanged  # another run wrote since this one read: it decides again on what it reads

    if action == 'record_pending':
        if pending is not None:
            return unchanged
        new = dict(secret, pending=value)
    elif action == 'make_live':
        expected = params['expected_live']
        if expected is not None and (live or '') != expected:
            return unchanged
        new = dict((key, item) for key, item in secret.items() if key != 'pending')
        if live != value:
            new.update(password=value, rotated_at=utc_now())
        if new == secret:
            return dict(changed=False, conflict=False, version=version, live=live)
    else:  # drop_pending: only the pending password this run recorded
        if pending != value:
            return dict(unchanged, conflict=pending is not None)
        new = dict((key, item) for key, item in secret.items() if key != 'pending')

    written = vault.write(mount, path, new, cas=version)
    if written is None:
        version, secret = vault.read(mount, path)
        return dict(changed=False, conflict=True, version=version, live=text_value(secret, 'password', where),
                    pending=text_value(secret, 'pending', where))
    return dict(changed=True, conflict=False, version=written, live=text_value(new, 'password', where))
