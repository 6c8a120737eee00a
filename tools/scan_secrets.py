#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Scan the -vvv output of an integration run for secrets that no_log should hide.

    python tools/scan_secrets.py OUTPUT_LOG SECRETS_DIR

SECRETS_DIR holds one JSON file per sandbox the run started (the sandbox's ``--secrets-file``,
written when it exits; setup_sandbox passes it under ansible-test): every password the sandbox
saw, every token it issued, and every request that carried a credential in its URL.

Fails (exit 1, one line per finding, never the secret itself) when:

- any password appears anywhere in the output (no module returns a password, so every
  occurrence is a leak: a message, module arguments, a diff, a fact of a test's own plumbing);
- a token appears where a token is never data the user asked for: a message (``msg``, an
  ``[ERROR]``/``[WARNING]`` line), module arguments (``invocation``), an exception or
  traceback, warnings, or a module's stderr. A token *returned* by contactnow_token or the lookup
  (``token``, facts, a debug of it) is the plugin doing its job, not a leak;
- any sandbox recorded a credential in a URL query string.

JSON results are parsed (including outputs nested in a ``stdout`` string, such as a nested
ansible-playbook's) so that a token is judged by the key it sits under. Exit 2: no secrets files
(the run started no sandbox, or the sandboxes could not write them) -- a scan that found
nothing to look for proves nothing.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys

# Keys under which a token must never appear.
FORBIDDEN_KEYS = frozenset(("msg", "invocation", "module_args", "exception", "warnings", "deprecations", "stderr",
                            "stderr_lines", "module_stderr", "module_stdout", "fail_msg"))
# A result line of the default callback: `ok: [host] => {` (a JSON object follows, up to `}`).
RESULT_START = re.compile(r"^(?:ok|changed|failed|fatal|skipping|ignored|included|unreachable)\b.*=> (\{.*)$")
# Free-text lines that are messages to the user.
MESSAGE_LINE = re.compile(r"\[(?:ERROR|WARNING|DEPRECATION WARNING)\]|Traceback \(most recent call last\)")
TOKEN_LIKE = re.compile(r"[0-9a-f]{40}")


def load_secrets(directory):
    passwords, tokens, url_leaks, files = set(), set(), [], 0
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        files += 1
        passwords.update(p for p in data.get("passwords", []) if p)
        tokens.update(t for t in data.get("tokens", []) if t)
        url_leaks.extend(dict(leak, sandbox=os.path.basename(path)) for leak in data.get("credentials_in_urls", []))
    return files, passwords, tokens, url_leaks


def json_blocks(text):
    """(line number, parsed object) of each JSON result in a callback's output, and the free-text lines."""
    lines = text.splitlines()
    blocks, free = [], []
    index = 0
    decoder = json.JSONDecoder()
    while index < len(lines):
        match = RESULT_START.match(lines[index])
        if match:
            # The object runs to the first line that is exactly "}" (pretty-printed), or is this one line.
            for end in range(index, min(len(lines), index + 200000)):
                if end == index and match.group(1).rstrip().endswith("}"):
                    candidate = match.group(1)
                elif end > index and lines[end] == "}":
                    candidate = "\n".join([match.group(1)] + lines[index + 1:end + 1])
                else:
                    continue
                try:
                    obj = decoder.raw_decode(candidate)[0]
                except ValueError:
                    continue
                blocks.append((index + 1, obj))
                free.append((index + 1, lines[index][:match.start(1)]))
                index = end + 1
                break
            else:
                free.append((index + 1, lines[index]))
                index += 1
            continue
        free.append((index + 1, lines[index]))
        index += 1
    return blocks, free


def walk(obj, path=()):
    """(key path, string) of every string in a parsed result."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from walk(value, path + (str(key),))
    elif isinstance(obj, list):
        for value in obj:
            yield from walk(value, path)
    elif isinstance(obj, str):
        yield path, obj


def scan_text(text, where, passwords, tokens, findings, depth=0):
    # Passwords: anywhere at all, in any form the text holds.
    for secret in passwords:
        if secret in text:
            findings.append("%s: a password the sandbox saw appears in the output (%d times)" % (where, text.count(secret)))
    if depth > 3 or not TOKEN_LIKE.search(text):
        return
    blocks, free = json_blocks(text)
    for line_no, line in free:
        if MESSAGE_LINE.search(line):
            for token in TOKEN_LIKE.findall(line):
                if token in tokens:
                    findings.append("%s line %d: a token in a message line" % (where, line_no))
    for line_no, obj in blocks:
        for path, value in walk(obj):
            if not TOKEN_LIKE.search(value):
                continue
            if path and path[-1] in ("stdout", "content") and "\n" in value:
                # Output of a nested run (or a file): judge what it holds by the same rules.
                scan_text(value, "%s line %d %s" % (where, line_no, "/".join(path)), set(), tokens, findings, depth + 1)
                continue
            if FORBIDDEN_KEYS.intersection(path):
                leaked = set(TOKEN_LIKE.findall(value)) & tokens
                if leaked:
                    findings.append("%s line %d: %d token(s) under %s" % (where, line_no, len(leaked), "/".join(path)))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    output_path, secrets_dir = argv[1], argv[2]
    files, passwords, tokens, url_leaks = load_secrets(secrets_dir)
    if not files:
        sys.stderr.write("scan_secrets: no sandbox secrets files in %s: nothing to scan for\n" % secrets_dir)
        return 2
    with open(output_path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    findings = []
    scan_text(text, os.path.basename(output_path), passwords, tokens, findings)
    for leak in url_leaks:
        findings.append("%s: a %s request to %s carried %s in its URL"
                        % (leak["sandbox"], leak["action"], leak["path"], ", ".join(leak["url_args"])))
    for finding in findings:
        print("LEAK " + finding)
    print("scan_secrets: %d sandboxes, %d passwords, %d tokens looked for in %s (%d bytes): %s"
          % (files, len(passwords), len(tokens), output_path, len(text),
             "%d findings" % len(findings) if findings else "clean"))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
