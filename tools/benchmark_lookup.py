#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark the contactnow_token lookup's fan-out (a measurement, not a test).

Starts the sandbox server on loopback, builds an inventory of local hosts, and times with the same
forks a play in which every host sets a fact from the lookup against the same play setting a
constant fact. Each lookup round starts with an empty token cache, so it includes the one get the
whole fleet needs. Prints both timings side by side, their ratio and the gets the sandbox saw.

    python tools/benchmark_lookup.py [--hosts 200] [--forks 20] [--rounds 3]
                                     [--ansible-playbook PATH] [--timeout 600]

Run it with the Python of the environment that has ansible-core, requests and xmltodict (the
ansible-playbook next to that Python is used unless --ansible-playbook says otherwise).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

try:
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover
    sys.exit('Python 3 is required')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANDBOX = os.path.join(REPO, 'tests', 'sandbox', 'contactnow_sandbox.py')
USERNAME = 'bench-user'
PASSWORD = 'Bench-Pass-4711'

LOOKUP_PLAY = '''---
- name: Fact from the lookup
  hosts: all
  gather_facts: false
  tasks:
    - name: Set the token fact
      ansible.builtin.set_fact:
        bench_token: "{{ lookup('eightbyeight.contactnow.contactnow_token') }}"
'''

CONSTANT_PLAY = '''---
- name: Constant fact
  hosts: all
  gather_facts: false
  tasks:
    - name: Set a constant fact
      ansible.builtin.set_fact:
        bench_token: 0123456789abcdef0123456789abcdef01234567
'''


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--hosts', type=int, default=200, help='local hosts in the inventory (default 200)')
    parser.add_argument('--forks', type=int, default=20, help='ansible-playbook --forks (default 20)')
    parser.add_argument('--rounds', type=int, default=3, help='runs of each play; the median is compared (default 3)')
    parser.add_argument('--ansible-playbook', default=None, help='ansible-playbook to run (default: next to this Python, else PATH)')
    parser.add_argument('--timeout', type=int, default=600, help='seconds allowed for the whole benchmark (default 600)')
    return parser.parse_args()


def find_ansible_playbook(explicit):
    if explicit:
        return explicit
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which('ansible-playbook')
    if not found:
        sys.exit('ansible-playbook not found; pass --ansible-playbook')
    return found


def collections_path(workdir):
    """A collections root where ansible_collections/eightbyeight/contactnow is this checkout."""
    parts = REPO.split(os.sep)
    if parts[-3:] == ['ansible_collections', 'eightbyeight', 'contactnow']:
        return os.sep.join(parts[:-3])
    root = os.path.join(workdir, 'collections')
    os.makedirs(os.path.join(root, 'ansible_collections', 'eightbyeight'))
    os.symlink(REPO, os.path.join(root, 'ansible_collections', 'eightbyeight', 'contactnow'))
    return root


def start_sandbox(workdir, lifetime):
    port_file = os.path.join(workdir, 'port')
    accounts = os.path.join(workdir, 'accounts.json')
    with os.fdopen(os.open(accounts, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
        json.dump({USERNAME: PASSWORD}, handle)
    log = open(os.path.join(workdir, 'sandbox.log'), 'w')
    process = subprocess.Popen(
        [sys.executable, SANDBOX, '--host', '127.0.0.1', '--port', '0', '--port-file', port_file,
         '--accounts-file', accounts, '--max-lifetime', str(lifetime)],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit('the sandbox did not start; see %s' % log.name)
        time.sleep(0.05)
    with open(port_file) as handle:
        return process, 'http://127.0.0.1:%s' % handle.read().strip()


def control(url, path, body=None):
    data = None if body is None else json.dumps(body).encode('utf-8')
    request = Request(url + '/_sandbox/' + path, data=data, method='GET' if data is None else 'POST')
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode('utf-8'))


def write_inventory(workdir, hosts):
    path = os.path.join(workdir, 'inventory.ini')
    with open(path, 'w') as handle:
        handle.write('[fleet]\n')
        handle.write('host[%03d:%03d]\n' % (1, hosts))
        handle.write('[fleet:vars]\nansible_connection=local\nansible_python_interpreter=%s\n' % sys.executable)
    return path


def run_play(ansible_playbook, inventory, playbook, forks, env, deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        sys.exit('benchmark time limit reached')
    started = time.monotonic()
    try:
        result = subprocess.run([ansible_playbook, '-i', inventory, '--forks', str(forks), playbook],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=remaining, check=False)
    except subprocess.TimeoutExpired:
        sys.exit('benchmark time limit reached while running %s' % os.path.basename(playbook))
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        output = result.stdout.decode('utf-8', 'replace')
        sys.exit('%s failed (rc %d):\n%s' % (os.path.basename(playbook), result.returncode, output[-4000:]))
    return elapsed


def ansible_version(ansible_playbook):
    try:
        first = subprocess.run([ansible_playbook, '--version'], stdout=subprocess.PIPE, timeout=60, check=False).stdout.decode().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return 'unknown'
    if '[core ' in first:
        return first.split('[core ', 1)[1].rstrip(']')
    return first


def main():
    args = parse_args()
    deadline = time.monotonic() + args.timeout
    ansible_playbook = find_ansible_playbook(args.ansible_playbook)
    workdir = tempfile.mkdtemp(prefix='contactnow-bench-')
    sandbox = None
    try:
        sandbox, url = start_sandbox(workdir, args.timeout + 60)
        inventory = write_inventory(workdir, args.hosts)
        plays = {}
        for name, text in (('lookup', LOOKUP_PLAY), ('constant', CONSTANT_PLAY)):
            plays[name] = os.path.join(workdir, name + '.yml')
            with open(plays[name], 'w') as handle:
                handle.write(text)
        base_env = dict(os.environ)
        for name in list(base_env):
            if name.startswith('CONTACTNOW_'):
                del base_env[name]
        base_env.update({
            'ANSIBLE_COLLECTIONS_PATH': collections_path(workdir),
            'ANSIBLE_CONFIG': os.path.join(workdir, 'none.cfg'),  # no stray ansible.cfg
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'CONTACTNOW_API_URL': url,
            'CONTACTNOW_USERNAME': USERNAME,
            'CONTACTNOW_PASSWORD': PASSWORD,
        })
        open(base_env['ANSIBLE_CONFIG'], 'w').close()

        times = {'constant': [], 'lookup': []}
        gets = []
        for round_number in range(args.rounds):
            env = dict(base_env, XDG_CACHE_HOME=os.path.join(workdir, 'cache-%d' % round_number))  # cold cache
            times['constant'].append(run_play(ansible_playbook, inventory, plays['constant'], args.forks, base_env, deadline))
            control(url, 'clear_log', {})
            times['lookup'].append(run_play(ansible_playbook, inventory, plays['lookup'], args.forks, env, deadline))
            requests = control(url, 'log')['requests']
            gets.append(sum(1 for request in requests if request.get('action') == 'get'))

        constant = statistics.median(times['constant'])
        lookup = statistics.median(times['lookup'])
        ratio = lookup / constant
        print('contactnow_token lookup benchmark: %d local hosts, forks %d, ansible-core %s, %d round(s)'
              % (args.hosts, args.forks, ansible_version(ansible_playbook), args.rounds))
        print('%-28s %s %10s' % ('play', ' '.join('%9s' % ('run %d' % (n + 1)) for n in range(args.rounds)), 'median'))
        for label, key in (('set_fact constant', 'constant'), ('set_fact from lookup', 'lookup')):
            print('%-28s %s %9.2fs' % (label, ' '.join('%8.2fs' % value for value in times[key]), statistics.median(times[key])))
        print('ratio lookup / constant:     %.2f  (target <= 2.00: %s)' % (ratio, 'met' if ratio <= 2.0 else 'NOT met'))
        print('gets per lookup run:         %s  (target: 1 each)' % ', '.join(str(count) for count in gets))
        return 0
    finally:
        if sandbox is not None:
            try:
                control(url, 'shutdown', {})
            except Exception:  # pylint: disable=broad-except
                pass
            try:
                sandbox.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sandbox.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
