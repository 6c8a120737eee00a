# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""N concurrent clients against the sandbox: threads, each with its own client of the collection.

    clients.py API_URL USERNAME PASSWORD_FILE N

Every thread, released at once by a barrier: get, then validate the token it got. Prints one
JSON line: {"clients": N, "errors": [...], "tokens": <distinct tokens>, "valid": <validated>,
"seconds": <wall time>}. Bounded: every request has a timeout, every join a deadline.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def import_collection():
    """The collection's client, from the ansible_collections tree that ANSIBLE_COLLECTIONS_PATH names."""
    for root in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) + sys.path:
        if root and os.path.isdir(os.path.join(root, "ansible_collections", "eightbyeight", "contactnow")):
            sys.path.insert(0, root)
            break
    # pylint: disable=import-outside-toplevel
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import ContactNowClient
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions
    return ContactNowClient, ConnectionOptions


def main(argv):
    api_url, username, count = argv[1], argv[2], int(argv[4])
    with open(argv[3], encoding="utf-8") as handle:
        password = handle.read()
    client_class, options_class = import_collection()
    options = options_class.from_mapping({"api_url": api_url, "username": username, "password": password,
                                          "timeout": 30, "retries": 0, "cache": False})
    barrier = threading.Barrier(count, timeout=60)
    lock = threading.Lock()
    tokens, errors, valid = set(), [], [0]

    def one_client():
        try:
            client = client_class(options)
            barrier.wait()
            got = client.get_token(username, options.password)
            client.validate(got.token)
            with lock:
                tokens.add(got.token)
                valid[0] += 1
        except Exception as exc:  # pylint: disable=broad-except
            with lock:
                errors.append("%s: %s" % (type(exc).__name__, exc))

    started = time.monotonic()
    threads = [threading.Thread(target=one_client, daemon=True) for _index in range(count)]
    for thread in threads:
        thread.start()
    deadline = started + 120
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
    alive = sum(thread.is_alive() for thread in threads)
    if alive:
        errors.append("%d clients still running after 120 s" % alive)
    print(json.dumps({"clients": count, "errors": sorted(set(errors))[:20], "error_count": len(errors),
                      "tokens": len(tokens), "valid": valid[0], "seconds": round(time.monotonic() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
