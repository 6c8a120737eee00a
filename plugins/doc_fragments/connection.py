# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options every module and the lookup accept.  Modules read the environment
    # variables named here through env_fallback; the lookup declares them in the PLUGINS fragment.
    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the ContactNow API; C(/token.php) is appended to it for tokens and passwords, and
        C(/<script>.php) for M(eightbyeight.contactnow.contactnow_api).
      - The default is the address the vendor's token API support page gives for C(token.php). The vendor's
        developer repository gives one base per region for every script, C(token.php) included,
        V(https://api.contactnow.8x8.com/api) (US) and V(https://api-106.dxi.eu) (EU and the other regions),
        and warns that a wrong base gives invalid results; use the one for your region with
        M(eightbyeight.contactnow.contactnow_api). A 404 from C(token.php) or a script names these bases.
      - A URL with a user name or password in it (V(https://user:secret@host)) is refused, so that no
        credential can show in a log or a message; use O(username) and O(password).
      - V(http://) is refused unless the host is this machine (V(127.0.0.0/8), V(::1), V(localhost)) or
        O(allow_insecure_http=true), so that credentials never cross the network in clear text by accident.
      - IPv6 addresses go in brackets, with or without a port (V(https://[2001:db8::1]), V(https://[::1]:8443)).
      - Proxies are taken from the environment of the process that runs the plugin, as C(requests) reads them,
        E(HTTPS_PROXY) (or E(ALL_PROXY)) for V(https://) URLs, through a C(CONNECT) tunnel, E(HTTP_PROXY) for
        V(http://), skipping the hosts, domains (V(.example.com)) and networks (V(10.0.0.0/8)) listed in
        E(NO_PROXY). A proxy URL may be V(http://) or V(https://) and may hold a user name and password
        (V(http://user:password@proxy:3128)); that password never shows in a message.
      - If not set, the environment variable E(CONTACTNOW_API_URL) is used.
    type: str
    default: https://api.contactnow.8x8.com
  username:
    description:
      - API username, obtained from 8x8 support.
      - Needed whenever a token must be fetched, and to find the account's cached token.
      - If not set, the environment variable E(CONTACTNOW_USERNAME) is used.
    type: str
  password:
    description:
      - API key (the account's current password).
      - Sent only in the body of POST requests, never in a URL, and never logged.
      - If not set, the environment variable E(CONTACTNOW_PASSWORD) is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate (and that it is for the host in O(api_url)). Only turn this off
        against a test server; V(false) draws a warning on every task. For a private CA, set O(ca_path) instead.
      - Without O(ca_path), certificates are checked against the CAs C(requests) trusts, the bundle named by
        E(REQUESTS_CA_BUNDLE) if set, else the C(certifi) bundle (which a distribution's C(requests) often
        replaces with the system store).
      - If not set, the environment variable E(CONTACTNOW_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM CA bundle to verify the API's certificate with, for a private CA or a TLS-inspecting proxy.
      - It must exist and be readable on the machine that runs the task (the managed host for modules,
        the controller for the lookup); otherwise the task fails before any request.
      - When set, only the CAs in this bundle are trusted, not the default ones as well, and E(REQUESTS_CA_BUNDLE)
        is ignored.
      - A directory works only if it was prepared with C(openssl rehash) (C(c_rehash)), as OpenSSL looks certificates
        up there by their hashed names. Otherwise point O(ca_path) at one PEM bundle file.
      - If not set, the environment variable E(CONTACTNOW_CA_PATH) is used; else E(REQUESTS_CA_BUNDLE) or the
        C(certifi) bundle, as C(requests) chooses.
    type: path
  timeout:
    description:
      - Seconds one HTTP request may take in all, from resolving the host name to the last byte of the
        answer (name resolution, connecting to each of the name's addresses, the TLS handshake, sending and
        every read together, not per step). A slow resolver, unreachable addresses or a server that answers
        slowly or trickles its answer fail within about this many seconds per attempt.
      - A request given up on at this limit is never sent afterwards; one whose body was never sent is
        reported as not sent, so even a password change is retried.
      - Each retry gets its own O(timeout), so the worst case for a task is about
        O(timeout) times (O(retries) + 1), plus the backoff between attempts.
      - If not set, the environment variable E(CONTACTNOW_TIMEOUT) is used.
    type: int
    default: 30
  retries:
    description:
      - How many times to retry a transient failure (connection error, timeout, HTTP 429 or 5xx,
        an answer that cannot be decoded), with exponential backoff and jitter.
      - Password changes are never retried once the request may have reached the server.
      - If not set, the environment variable E(CONTACTNOW_RETRIES) is used.
    type: int
    default: 3
  format:
    description:
      - Response format to ask the API for. Results are identical either way.
      - If not set, the environment variable E(CONTACTNOW_FORMAT) is used.
    type: str
    choices: [json, xml]
    default: json
  cache:
    description:
      - Whether to use the local token cache on the machine that runs the plugin.
      - The cache holds one file per API URL, username and address under C($XDG_CACHE_HOME/eightbyeight.contactnow)
        (else C(~/.cache/eightbyeight.contactnow)), directory mode 0700, files 0600. It stores tokens and
        their expiry times, never passwords.
      - If not set, the environment variable E(CONTACTNOW_CACHE) is used.
    type: bool
    default: true
  allow_insecure_http:
    description:
      - Allow an V(http://) O(api_url) to a host that is not this machine. The password and tokens
        then cross the network in clear text, so only set this for a network you trust completely
        (an isolated test network); every task warns while it is in use.
      - V(http://) to V(127.0.0.0/8), V(::1) or V(localhost) needs no opt-in.
      - If not set, the environment variable E(CONTACTNOW_ALLOW_INSECURE_HTTP) is used.
    type: bool
    default: false
    version_added: 0.1.0
notes:
  - "Tokens are bound to the IP address that requested them. A module runs on the managed host, so
    the token it gets works from that host; use C(delegate_to: localhost) to get a token for the
    controller, or the C(address) option where a plugin offers it."
requirements:
  - requests (on the machine that runs the task, the managed host for modules and the controller for lookups)
  - xmltodict (only for O(format=xml) or servers that answer in XML)
'''

    # Where the lookups read the same options from, besides their keyword arguments.
    PLUGINS = r'''
options:
  api_url:
    env:
      - name: CONTACTNOW_API_URL
    ini:
      - section: contactnow
        key: api_url
    vars:
      - name: contactnow_api_url
  username:
    env:
      - name: CONTACTNOW_USERNAME
    ini:
      - section: contactnow
        key: username
    vars:
      - name: contactnow_username
  password:
    env:
      - name: CONTACTNOW_PASSWORD
    vars:
      - name: contactnow_password
  validate_certs:
    env:
      - name: CONTACTNOW_VALIDATE_CERTS
    ini:
      - section: contactnow
        key: validate_certs
    vars:
      - name: contactnow_validate_certs
  ca_path:
    env:
      - name: CONTACTNOW_CA_PATH
    ini:
      - section: contactnow
        key: ca_path
    vars:
      - name: contactnow_ca_path
  timeout:
    env:
      - name: CONTACTNOW_TIMEOUT
    ini:
      - section: contactnow
        key: timeout
    vars:
      - name: contactnow_timeout
  retries:
    env:
      - name: CONTACTNOW_RETRIES
    ini:
      - section: contactnow
        key: retries
    vars:
      - name: contactnow_retries
  format:
    env:
      - name: CONTACTNOW_FORMAT
    ini:
      - section: contactnow
        key: format
    vars:
      - name: contactnow_format
  cache:
    env:
      - name: CONTACTNOW_CACHE
    ini:
      - section: contactnow
        key: cache
    vars:
      - name: contactnow_cache
  allow_insecure_http:
    env:
      - name: CONTACTNOW_ALLOW_INSECURE_HTTP
    ini:
      - section: contactnow
        key: allow_insecure_http
    vars:
      - name: contactnow_allow_insecure_http
'''

    # The token options both lookups take, with the same sources as the connection options.
    LOOKUP_TOKEN = r'''
options:
  min_ttl:
    description:
      - Seconds of validity the token must have left (the token returned, or the one a read is sent
        with). A cached token with less is renewed; the lookup sends C(get), and if the API hands back
        the same nearly expired token, C(delete)s it and sends C(get) again.
      - Judged from the API's C(expire) against the controller's clock. Zero or more.
      - A value no new token can meet (more than the lifetime seen for the account, or more than
        7 days) fails without deleting the account's current token.
    type: int
    default: 300
    env:
      - name: CONTACTNOW_MIN_TTL
    ini:
      - section: contactnow
        key: min_ttl
    vars:
      - name: contactnow_min_ttl
  address:
    description:
      - IP address to authorise instead of the controller's, for example a client machine when the
        controller makes tokens on its behalf. Such a token cannot be validated from the controller,
        so it is not revalidated until it is renewed by O(min_ttl).
      - The cache keeps one entry per address, shared by both lookups and the modules.
    type: str
    env:
      - name: CONTACTNOW_ADDRESS
    ini:
      - section: contactnow
        key: address
    vars:
      - name: contactnow_address
'''
