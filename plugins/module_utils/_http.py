# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The client's HTTP transport, on ``http.client`` and ``ssl`` from the standard library.

This is a private module of the collection: its interface may change without notice.

One POST per connection (``Connection: close``), no redirects followed, no cookies, no
decompression.  :class:`Transport` has the ``post()`` shape the client (and its unit tests' fake
sessions) work with.  ``requests`` is not used: importing it and its dependencies cost more
than the rest of a module run.

- The request headers are written first, then the body is read from the file-like object it was
  given (``http.client`` reads file-like bodies only after the headers were sent), so an unread
  body proves that the server never got it.
- ``watch`` (given by the client) is called with each new TCP socket as soon as it is connected,
  before any TLS handshake or proxy tunnel, so a watchdog can shut it down at a deadline.
- Proxies come from the environment, as ``requests`` took them: ``HTTPS_PROXY`` (for ``https://``
  URLs, through a CONNECT tunnel), ``HTTP_PROXY`` (for ``http://``), ``ALL_PROXY`` for both, and
  ``NO_PROXY``.  Loopback hosts are never proxied.  ``urllib.request`` (a slow import) is only
  imported when one of those variables is set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import ipaddress
import os
import socket
import ssl

from urllib.parse import unquote, urlencode, urlsplit

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import is_loopback

_PROXY_VARIABLES = ('https_proxy', 'http_proxy', 'all_proxy')


def tls_context(validate_certs=True, ca_path=None):
    """An SSL context: the system CAs (or only ``ca_path``) with host name checks, or no checks at all."""
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_path and os.path.isdir(ca_path):
        return ssl.create_default_context(capath=ca_path)
    return ssl.create_default_context(cafile=ca_path or None)


class _Stream:
    """The answer body of an HTTPResponse, read in pieces; a short body raises IncompleteRead."""

    def __init__(self, response):
        self._response = response

    def read1(self, size=-1):
        chunk = self._response.read1(size)
        if not chunk and size != 0:
            remaining = getattr(self._response, 'length', None)
            if remaining:
                raise http.client.IncompleteRead(b'', remaining)  # the answer ended before Content-Length
        return chunk

    read = read1

    def close(self):
        self._response.close()


class Response:
    """What ``Transport.post`` returns: ``status_code``, ``headers`` (case-insensitive), ``raw`` and ``close()``."""

    def __init__(self, connection, response):
        self._connection = connection
        self.status_code = response.status
        self.headers = response.msg
        self.raw = _Stream(response)

    def close(self):
        try:
            self.raw.close()
        finally:
            self._connection.close()


class Transport:
    """POST requests over fresh connections, with the interface the client expects of a session."""

    def __init__(self, user_agent, watch=None):
        self.user_agent = user_agent
        self.watch = watch
        self.secrets = ()  # proxy credentials from the environment, for the client to scrub
        self._contexts = {}

    def post(self, url, data, params=None, headers=None, timeout=30, verify=True, **_ignored):
        """Send ``data`` (bytes or a file-like object with ``__len__``) to ``url``; a :class:`Response`.

        ``verify`` is an ``ssl.SSLContext``, or True / False / a CA bundle path (a context is then
        built, once per value).  Extra keyword arguments (``allow_redirects``, ``stream``) are
        accepted and ignored: redirects are never followed and answers are always streamed.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ('http', 'https') or not parts.hostname:
            raise http.client.InvalidURL('not an http:// or https:// URL with a host name')
        port = parts.port  # ValueError for a bad port
        target = parts.path or '/'
        if params:
            target += '?' + urlencode(params, doseq=True)
        proxy = self._proxy_for(scheme, parts.hostname, port)
        request_headers = {'User-Agent': self.user_agent}
        request_headers.update(headers or {})
        request_headers['Content-Length'] = str(len(data))
        if scheme == 'https':
            context = self._context(verify)
            if proxy:
                connection = http.client.HTTPSConnection(proxy[0], proxy[1], timeout=timeout, context=context)
                connection.set_tunnel(parts.hostname, port, headers=proxy[2])
            else:
                connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout, context=context)
        elif proxy:  # plain HTTP through a proxy: the absolute URL goes in the request line
            connection = http.client.HTTPConnection(proxy[0], proxy[1], timeout=timeout)
            target = '%s://%s%s' % (scheme, parts.netloc, target)
            request_headers.update(proxy[2])
        else:
            connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
        connection._create_connection = self._connector()
        try:
            connection.connect()  # TCP, the proxy tunnel and the TLS handshake: nothing of the request sent yet
            connection.request('POST', target, body=data, headers=request_headers)
            return Response(connection, connection.getresponse())
        except BaseException:
            connection.close()
            raise

    def _connector(self):
        watch = self.watch

        def create_connection(address, *args, **kwargs):
            sock = socket.create_connection(address, *args, **kwargs)
            # Headers and the body leave in two writes: without this, Nagle's algorithm holds the
            # body back until the server acknowledges the headers (up to 40 ms of delayed ACK).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if watch is not None:
                watch(sock)
            return sock
        return create_connection

    def _context(self, verify):
        if isinstance(verify, ssl.SSLContext):
            return verify
        key = verify if isinstance(verify, str) else bool(verify)
        if key not in self._contexts:
            self._contexts[key] = tls_context(validate_certs=key is not False, ca_path=key if isinstance(key, str) else None)
        return self._contexts[key]

    def _proxy_for(self, scheme, hostname, port):
        """(host, port, headers) of the proxy to use from the environment, or None."""
        if is_loopback(hostname):
            return None
        if not any(name.lower() in _PROXY_VARIABLES and value for name, value in os.environ.items()):
            return None  # the common case: no proxy, and no slow import of urllib.request
        import urllib.request

        proxies = urllib.request.getproxies_environment()
        proxy_url = proxies.get(scheme) or proxies.get('all')
        if not proxy_url:
            return None
        host = hostname if port is None else '%s:%d' % (hostname, port)
        if '[' not in host and ':' in hostname:
            host = '[%s]' % hostname if port is None else '[%s]:%d' % (hostname, port)
        if urllib.request.proxy_bypass_environment(host, proxies) or _in_no_proxy_network(hostname, proxies.get('no', '')):
            return None
        return self._parse_proxy(proxy_url)

    def _parse_proxy(self, proxy_url):
        if '://' not in proxy_url:
            proxy_url = 'http://' + proxy_url
        try:
            parts = urlsplit(proxy_url)
            proxy_port = parts.port or 80
        except ValueError:
            raise http.client.InvalidURL('the proxy address in the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) '
                                         'is not a valid URL')
        if parts.scheme.lower() != 'http' or not parts.hostname:
            raise http.client.InvalidURL('the proxy in the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) must be '
                                         'an http://host:port proxy; %s:// proxies are not supported' % parts.scheme[:10])
        headers = {}
        if parts.username is not None or parts.password is not None:
            user = unquote(parts.username or '')
            password = unquote(parts.password or '')
            self.secrets = tuple(secret for secret in (password, parts.password) if secret)
            credentials = base64.b64encode(('%s:%s' % (user, password)).encode('utf-8')).decode('ascii')
            headers['Proxy-Authorization'] = 'Basic %s' % credentials
        return parts.hostname, proxy_port, headers


def _in_no_proxy_network(hostname, no_proxy):
    """Whether an IP address host falls in a NO_PROXY entry written as a network (10.0.0.0/8), as requests allowed."""
    try:
        address = ipaddress.ip_address(hostname.strip('[]'))
    except ValueError:
        return False
    for entry in no_proxy.replace(' ', '').split(','):
        if '/' in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False
