#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark the collection against hand-written ansible.builtin.uri playbooks (a measurement, not a test).

Three jobs, each run three ways -- this collection, the same work written with ansible.builtin.uri,
and a floor that does no API work at all -- with the playbooks in tools/bench/ (the validate job's
30-task playbooks are written at run time around its task files in tools/bench/tasks/):

  fanout    a token fact for every host of a local fleet (lookup / uri get per host / constant set_fact)
  validate  30 validate tasks in a row (contactnow_token_info / uri / ansible.builtin.ping)
  rotation  rotate the password of many accounts: get, newpass, verify (contactnow_password /
            three uri tasks per account / one ping per account)
  fleet     rotate 200 accounts end to end, each with its own file store: one run of the collection
            playbook rotate_accounts (an inventory host per account, forks --forks) / one run of the
            single-account playbook rotate_password per account (``single``) / one hand-written uri
            playbook over the same inventory (generate, get, newpass, verify, write the store file)

Two jobs have a fourth variant that measures what no implementation can avoid, built in the
benchmark's work directory (collection benchprobe.docs):

  fanout    ``probe``: a lookup that carries the contactnow_token lookup's documentation (options and
            doc fragments) and returns a constant -- what Ansible spends loading such a lookup in every
            forked worker.
  validate  ``bare``: the least module that sends validate -- AnsibleModule with api_url and token,
            one http.client POST, the JSON answer's success field -- with no retries, timeouts
            per attempt, error classification or secret scrubbing.

The sandbox server (tests/sandbox/contactnow_sandbox.py) runs on 127.0.0.1. Each round runs every
variant of a job once, in an order that rotates from round to round, so that a machine getting
slower or faster during the run moves all variants alike; ratios are taken round by round and
their median is reported. API calls are counted from the sandbox's request log.

    python tools/benchmark.py [--jobs fanout,validate,rotation,fleet] [--rounds 3] [--hosts 200]
                              [--forks 20] [--accounts N] [--json .tmp/bench/results.json]

--accounts sets the accounts of the rotation job (default 50) and of the fleet job (default 200);
a small one (--jobs fleet --accounts 10 --rounds 1) is a quick check.

Run it with the Python of the environment that has ansible-core and xmltodict (the
ansible-playbook next to that Python is used unless --ansible-playbook says otherwise).
"""

from __future__ import absolute_import, division, print_function

import argparse
import ast
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

try:
    from urllib.parse import urlencode
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover
    sys.exit('Python 3 is required')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOKS = os.path.join(REPO, 'tools', 'bench')
SANDBOX = os.path.join(REPO, 'tests', 'sandbox', 'contactnow_sandbox.py')
USERNAME = 'bench-user'
PASSWORD = 'Bench-Pass-4711'
VARIANTS = ('collection', 'uri', 'floor')
PROBE = 'probe'
BARE = 'bare'
# The variants that bound what any implementation costs; each is also reported over the floor.
BOUND_VARIANTS = (PROBE, BARE)
PROBE_COLLECTION = ('benchprobe', 'docs')

# job -> what it does, and the targets: (variant compared with, highest ratio allowed), as issue 18
# set them with the move to requests: the fan-out within 1.25x the probe and at least 8x faster than
# uri (0.125x), validate no slower than uri, rotation at most 0.35x uri. The fleet job has none.
JOBS = {
    'fanout': {
        'title': 'a token fact on each of {hosts} hosts, forks {forks}',
        'targets': (('probe', 1.25), ('uri', 0.125)),
        'extra_variants': (PROBE,),
    },
    'validate': {
        'title': '30 validate tasks',
        'targets': (('uri', 1.0),),
        'extra_variants': (BARE,),
    },
    'rotation': {
        'title': 'rotate {accounts} accounts (get, newpass, verify)',
        'targets': (('uri', 0.35),),
    },
    'fleet': {
        'title': 'rotate_accounts: {fleet_accounts} accounts, forks {forks}',
        'targets': (),
        'variants': ('collection', 'single', 'uri'),
    },
}
ROTATION_ACCOUNTS = 50
FLEET_ACCOUNTS = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--jobs', default='fanout,validate,rotation,fleet',
                        help='comma-separated jobs to run (default: fanout,validate,rotation,fleet)')
    parser.add_argument('--rounds', type=int, default=3, help='rounds per job; each runs every variant once (default 3)')
    parser.add_argument('--hosts', type=int, default=200, help='hosts in the fan-out fleet (default 200)')
    parser.add_argument('--forks', type=int, default=20, help='ansible-playbook --forks for the fan-out (default 20)')
    parser.add_argument('--accounts', type=int, default=None,
                        help='accounts the rotation job (default %d) and the fleet job (default %d) rotate'
                        % (ROTATION_ACCOUNTS, FLEET_ACCOUNTS))
    parser.add_argument('--json', default=os.path.join(REPO, '.tmp', 'bench', 'results.json'),
                        help='where to write the results as JSON (default .tmp/bench/results.json)')
    parser.add_argument('--logs', default=os.path.join(REPO, '.tmp', 'bench', 'logs'),
                        help='directory for the output of every ansible-playbook run (default .tmp/bench/logs)')
    parser.add_argument('--ansible-playbook', default=None, help='ansible-playbook to run (default: next to this Python, else PATH)')
    parser.add_argument('--timeout', type=int, default=5400, help='seconds allowed for the whole benchmark (default 5400)')
    args = parser.parse_args(argv)
    args.jobs = [job.strip() for job in args.jobs.split(',') if job.strip()]
    unknown = [job for job in args.jobs if job not in JOBS]
    if unknown:
        parser.error('unknown job(s) %s; choose from %s' % (', '.join(unknown), ', '.join(JOBS)))
    if args.rounds < 1 or args.hosts < 1 or args.forks < 1 or (args.accounts is not None and args.accounts < 1):
        parser.error('--rounds, --hosts, --forks and --accounts must be at least 1')
    args.fleet_accounts = args.accounts or FLEET_ACCOUNTS
    args.accounts = args.accounts or ROTATION_ACCOUNTS
    return args


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


def make_probe_collection(root):
    """benchprobe.docs under ``root``: the fan-out probe lookup and the bare validate module (see the module docstring)."""
    source_path = os.path.join(REPO, 'plugins', 'lookup', 'contactnow_token.py')
    with open(source_path) as handle:
        tree = ast.parse(handle.read(), source_path)
    docs = dict((node.targets[0].id, node.value.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'))
    directory = os.path.join(root, 'ansible_collections', PROBE_COLLECTION[0], PROBE_COLLECTION[1], 'plugins', 'lookup')
    os.makedirs(directory)
    with open(os.path.join(directory, 'contactnow_token.py'), 'w') as handle:
        for name in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            handle.write('%s = %r\n' % (name, docs[name]))
        handle.write('\nfrom ansible.plugins.lookup import LookupBase\n\n\n'
                     'class LookupModule(LookupBase):\n'
                     '    def run(self, terms, variables=None, **kwargs):\n'
                     '        self.set_options(var_options=variables, direct=kwargs)\n'
                     '        return [\'0123456789abcdef0123456789abcdef01234567\']\n')
    modules = os.path.join(root, 'ansible_collections', PROBE_COLLECTION[0], PROBE_COLLECTION[1], 'plugins', 'modules')
    os.makedirs(modules)
    with open(os.path.join(modules, 'validate.py'), 'w') as handle:
        handle.write(BARE_VALIDATE_MODULE)
    return root


# The bare validate module: what every module that sends validate must at least do.
BARE_VALIDATE_MODULE = '''\
import http.client
import json
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(api_url=dict(type='str', required=True),
                                              token=dict(type='str', required=True, no_log=True)),
                           supports_check_mode=True)
    url = urlsplit(module.params['api_url'])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = urlencode(dict(action='validate', format='json', token=module.params['token']))
    connection.request('POST', url.path.rstrip('/') + '/token.php', body, {'Content-Type': 'application/x-www-form-urlencoded'})
    reply = json.loads(connection.getresponse().read())
    module.exit_json(changed=False, valid=bool(reply.get('success')), expire=reply.get('expire'))


main()
'''


VALIDATE_TASKS = 30


def write_validate_playbooks(directory):
    """validate_<variant>.yml in ``directory``: 30 tasks in a row, each a static import of that variant's
    tools/bench/tasks/validate_<variant>.yml (static, so resolved when the playbook is parsed and free
    at run time; written out here rather than kept as near-identical files)."""
    os.makedirs(directory)
    for variant in job_variants('validate'):
        tasks = os.path.join(PLAYBOOKS, 'tasks', 'validate_%s.yml' % variant)
        lines = ['---', '- name: %d validate tasks, %s' % (VALIDATE_TASKS, variant), '  hosts: bench_controller',
                 '  gather_facts: false', '  tasks:']
        for number in range(1, VALIDATE_TASKS + 1):
            lines += ['    - name: Task %d' % number, '      ansible.builtin.import_tasks: %s' % json.dumps(tasks)]
        with open(os.path.join(directory, 'validate_%s.yml' % variant), 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
    return directory


def job_variants(job):
    return JOBS[job].get('variants', VARIANTS) + JOBS[job].get('extra_variants', ())


def rotation_accounts(count):
    return [{'username': 'bench-rot-%03d' % number, 'current': 'Rotate-Start-%03d' % number,
             'new': 'Rotate-Next-%03d-xyz' % number} for number in range(1, count + 1)]


class Sandbox:
    """The sandbox server on 127.0.0.1, and its control API."""

    def __init__(self, workdir, accounts, lifetime):
        port_file = os.path.join(workdir, 'port')
        arguments = ['--account', '%s:%s' % (USERNAME, PASSWORD)]
        for account in accounts:
            arguments += ['--account', '%s:%s' % (account['username'], account['current'])]
        self.log_path = os.path.join(workdir, 'sandbox.log')
        with open(self.log_path, 'w') as log:
            self.process = subprocess.Popen(
                [sys.executable, SANDBOX, '--host', '127.0.0.1', '--port', '0', '--port-file', port_file,
                 '--max-lifetime', str(lifetime)] + arguments,
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                sys.exit('the sandbox did not start; see %s' % self.log_path)
            time.sleep(0.05)
        with open(port_file) as handle:
            self.url = 'http://127.0.0.1:%s' % handle.read().strip()

    def control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = Request(self.url + '/_sandbox/' + path, data=data, method='GET' if data is None else 'POST')
        with urlopen(request, timeout=10) as response:
            return json.loads(response.read().decode('utf-8'))

    def calls(self):
        """API calls since the last clear_log, by action."""
        counts = {}
        for request in self.control('log')['requests']:
            action = request.get('action') or 'other'
            counts[action] = counts.get(action, 0) + 1
        return counts

    def get_token(self):
        body = urlencode({'action': 'get', 'format': 'json', 'username': USERNAME, 'password': PASSWORD}).encode('ascii')
        with urlopen(Request(self.url + '/token.php', data=body, method='POST'), timeout=10) as response:
            reply = json.loads(response.read().decode('utf-8'))
        if not reply.get('success'):
            sys.exit('the sandbox refused the benchmark account')
        return reply['token']

    def stop(self):
        try:
            self.control('shutdown', {})
        except Exception:  # pylint: disable=broad-except
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class Runner:
    """Runs one variant of one job as an ansible-playbook run and times it."""

    def __init__(self, args, workdir, sandbox):
        self.args = args
        self.workdir = workdir
        self.sandbox = sandbox
        self.ansible_playbook = find_ansible_playbook(args.ansible_playbook)
        self.deadline = time.monotonic() + args.timeout
        self.accounts = rotation_accounts(args.accounts)
        self.fleet_inventory = write_fleet_inventory(workdir, rotation_accounts(args.fleet_accounts), sandbox.url)
        self.inventory = os.path.join(workdir, 'inventory.ini')
        with open(self.inventory, 'w') as handle:
            handle.write('[fleet]\nhost[%03d:%03d]\n' % (1, args.hosts) if args.hosts > 1 else '[fleet]\nhost001\n')
            handle.write('[bench_controller]\nlocalhost\n')
            handle.write('[all:vars]\nansible_connection=local\nansible_python_interpreter=%s\n' % sys.executable)
        config = os.path.join(workdir, 'ansible.cfg')
        open(config, 'w').close()  # no stray ansible.cfg: every setting at its default
        self.env = dict((name, value) for name, value in os.environ.items()
                        if not name.startswith(('CONTACTNOW_', 'ANSIBLE_')))
        self.env.update({
            'ANSIBLE_CONFIG': config,
            'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join((collections_path(workdir),
                                                         make_probe_collection(os.path.join(workdir, 'probe')))),
            'ANSIBLE_LOCAL_TEMP': os.path.join(workdir, 'ansible-local'),
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
        })
        os.makedirs(args.logs, exist_ok=True)
        self.playbooks = {'validate': write_validate_playbooks(os.path.join(workdir, 'playbooks'))}
        self.runs = 0

    def extra_vars(self, job):
        values = {'bench_api_url': self.sandbox.url, 'bench_username': USERNAME, 'bench_password': PASSWORD}
        if job == 'validate':
            values['bench_token'] = self.sandbox.get_token()
        if job == 'rotation':
            values['bench_accounts'] = self.accounts
        path = os.path.join(self.workdir, 'vars-%s.json' % job)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
            json.dump(values, handle)
        return path

    def commands(self, job, variant, extra_vars):
        """The ansible-playbook runs of one variant: one, except for the fleet's single (one per account)."""
        playbook = os.path.join(self.playbooks.get(job, PLAYBOOKS), '%s_%s.yml' % (job, variant))
        if job != 'fleet':
            return [[self.ansible_playbook, '-i', self.inventory, '-e', '@' + extra_vars,
                     '--forks', str(self.args.forks if job == 'fanout' else 5), playbook]]
        store_dir = os.path.join(self.workdir, 'stores-%d' % self.runs)
        os.makedirs(store_dir, mode=0o700)
        if variant != 'single':
            return [[self.ansible_playbook, '-i', self.fleet_inventory, '-e', 'bench_store_dir=' + store_dir,
                     '--forks', str(self.args.forks), playbook]]
        commands = []
        for account in rotation_accounts(self.args.fleet_accounts):
            values = {'rotate_password_api_url': self.sandbox.url, 'rotate_password_username': account['username'],
                      'rotate_password_initial_password': account['current'],
                      'rotate_password_store_path': os.path.join(store_dir, account['username'])}
            path = os.path.join(store_dir, '%s.vars.json' % account['username'])
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
                json.dump(values, handle)
            commands.append([self.ansible_playbook, '-i', self.inventory, '-e', '@' + path, playbook])
        return commands

    def run(self, job, variant, round_number, extra_vars):
        """Wall seconds the run took, CPU seconds its processes used, and the API calls it sent."""
        if job in ('rotation', 'fleet'):
            self.sandbox.control('reset', {})  # every account back at its first password, no tokens
        self.sandbox.control('clear_log', {})
        self.runs += 1
        env = dict(self.env, XDG_CACHE_HOME=os.path.join(self.workdir, 'cache-%d' % self.runs))  # a cold token cache
        commands = self.commands(job, variant, extra_vars)
        log_path = os.path.join(self.args.logs, '%s-%s-%d.log' % (job, variant, round_number))
        with open(log_path, 'wb') as log:
            cpu_before = _children_cpu()
            started = time.monotonic()
            for command in commands:
                self._run_one(command, env, log, log_path, job, variant)
            elapsed = time.monotonic() - started
            cpu = _children_cpu() - cpu_before
        return elapsed, cpu, self.sandbox.calls()

    def _run_one(self, command, env, log, log_path, job, variant):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BenchmarkError('the time limit (--timeout %d) was reached' % self.args.timeout)
        # A session of its own, so that an interrupted benchmark stops the run's workers too.
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            raise BenchmarkError('the time limit (--timeout %d) was reached during %s %s' % (self.args.timeout, job, variant))
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        if returncode != 0:
            raise BenchmarkError('%s %s failed (rc %d); see %s' % (job, variant, returncode, log_path))


def write_fleet_inventory(workdir, accounts, api_url):
    """The fleet job's inventory (0600: it holds the initial passwords): group contactnow_accounts, one host
    per account; the store path is a group-wide default built from the username, as a user would write it."""
    inventory = {'all': {'children': {'contactnow_accounts': {
        'vars': {'rotate_password_api_url': api_url,
                 'rotate_password_store_path': '{{ bench_store_dir }}/{{ rotate_password_username }}'},
        'hosts': dict((account['username'], {'rotate_password_initial_password': account['current']}) for account in accounts),
    }}}}
    path = os.path.join(workdir, 'fleet-inventory.json')
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
        json.dump(inventory, handle)
    return path


def _children_cpu():
    """User + system seconds of the finished child processes (ansible-playbook with its workers and modules)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class BenchmarkError(Exception):
    pass


def run_job(runner, job, rounds):
    extra_vars = runner.extra_vars(job)
    variants = job_variants(job)
    times = dict((variant, []) for variant in variants)
    cpu = dict((variant, []) for variant in variants)
    calls = dict((variant, []) for variant in variants)
    for round_number in range(rounds):
        shift = round_number % len(variants)
        order = variants[shift:] + variants[:shift]  # each variant takes each place in turn
        for variant in order:
            elapsed, used, sent = runner.run(job, variant, round_number + 1, extra_vars)
            times[variant].append(elapsed)
            cpu[variant].append(used)
            calls[variant].append(sent)
            print('  %-9s round %d  %-10s %7.2fs wall %7.2fs cpu  %s'
                  % (job, round_number + 1, variant, elapsed, used, format_calls(sent)), flush=True)
    result = summarise(job, times, cpu, calls)
    result['title'] = JOBS[job]['title'].format(hosts=runner.args.hosts, forks=runner.args.forks, accounts=runner.args.accounts,
                                                fleet_accounts=runner.args.fleet_accounts)
    return result


def summarise(job, times, cpu, calls):
    result = {'times': times, 'cpu': cpu, 'calls': calls, 'median': {}, 'min': {}, 'max': {}, 'cpu_median': {},
              'ratios': {}, 'cpu_ratios': {}, 'targets': []}
    for variant in job_variants(job):
        result['median'][variant] = statistics.median(times[variant])
        result['min'][variant] = min(times[variant])
        result['max'][variant] = max(times[variant])
        result['cpu_median'][variant] = statistics.median(cpu[variant])
    for other in job_variants(job)[1:]:
        result['ratios'][other] = _paired_ratios(times['collection'], times[other])
        result['cpu_ratios'][other] = _paired_ratios(cpu['collection'], cpu[other])
    bound = next((variant for variant in BOUND_VARIANTS if variant in times), None)
    if bound:
        # Where any implementation starts from: the bound variant over the floor.
        result['bound_over_floor'] = _paired_ratios(times[bound], times['floor'])
        result['bound_over_floor_cpu'] = _paired_ratios(cpu[bound], cpu['floor'])
    for other, limit in JOBS[job]['targets']:
        ratio = result['ratios'][other]['median']
        cpu_ratio = result['cpu_ratios'][other]['median']
        result['targets'].append({'versus': other, 'limit': limit, 'ratio': ratio, 'met': ratio <= limit,
                                  'cpu_ratio': cpu_ratio, 'cpu_met': cpu_ratio <= limit})
    return result


def _paired_ratios(mine, theirs):
    paired = [a / b for a, b in zip(mine, theirs)]
    return {'median': statistics.median(paired), 'min': min(paired), 'max': max(paired), 'rounds': paired}


def format_calls(counts):
    if not counts:
        return '0 calls'
    return '%d calls (%s)' % (sum(counts.values()), ', '.join('%s %d' % item for item in sorted(counts.items())))


def typical_calls(runs):
    """The call counts of a variant's runs; one figure when every run sent the same."""
    totals = sorted(set(sum(counts.values()) for counts in runs))
    return '/'.join(str(total) for total in totals)


def print_table(args, results, meta):
    print()
    print('eightbyeight.contactnow benchmark: ansible-core %s, Python %s, %d round(s), %s'
          % (meta['ansible_core'], meta['python'], args.rounds, meta['machine']))
    print('wall: seconds of whole ansible-playbook runs, median (min-max) over the rounds; cpu: median CPU seconds')
    print('of the run\'s processes. Ratios: this collection over the variant, taken round by round (the order')
    print('alternates), median (min-max). Each target is judged on both ratios.')
    print()
    widths = (44, 10, 22, 6, 5, 18, 5, 33)
    row = '| ' + ' | '.join('%%-%ds' % width for width in widths) + ' |'
    print(row % ('job', 'variant', 'wall s', 'cpu s', 'calls', 'wall ratio', 'cpu', 'target'))
    print('|' + '|'.join('-' * (width + 2) for width in widths) + '|')
    for job, result in results.items():
        limits = dict(JOBS[job]['targets'])
        for variant in job_variants(job):
            seconds = '%.2f (%.2f-%.2f)' % (result['median'][variant], result['min'][variant], result['max'][variant])
            ratio = cpu_ratio = target = ''
            if variant != 'collection':
                figures = result['ratios'][variant]
                ratio = '%.2fx (%.2f-%.2f)' % (figures['median'], figures['min'], figures['max'])
                cpu_ratio = '%.2fx' % result['cpu_ratios'][variant]['median']
                target = _target_note(result, variant, limits)
            print(row % (result['title'] if variant == 'collection' else '', variant, seconds,
                         '%.1f' % result['cpu_median'][variant], typical_calls(result['calls'][variant]),
                         ratio, cpu_ratio, target))


def _target_note(result, variant, limits):
    """A row's last column: its target's verdicts and, for a probe or bare row, that variant over the floor."""
    notes = []
    if variant in limits:
        notes.append('<= %sx: %s' % (_limit_text(limits[variant]), _verdicts(result, variant, limits[variant])))
    if variant in BOUND_VARIANTS:
        notes.append(_bound_note(result, variant))
    return '; '.join(notes)


def _bound_note(result, variant):
    """The probe or bare row's note: that variant itself over the floor."""
    return '%s/floor %.2fx (cpu %.2fx)' % (variant, result['bound_over_floor']['median'], result['bound_over_floor_cpu']['median'])


def _limit_text(limit):
    """A target ratio with two decimals, or three when it needs them (0.125)."""
    text = '%.3f' % limit
    return text[:-1] if text.endswith('0') else text


def _verdicts(result, variant, limit):
    """Whether the target is met by the wall ratio and by the CPU ratio."""
    return 'wall %s, cpu %s' % tuple('met' if result[kind][variant]['median'] <= limit else 'NOT met'
                                     for kind in ('ratios', 'cpu_ratios'))


def rst_table(results):
    """The table as an RST list-table, for docs/docsite/rst/performance.rst."""
    lines = ['.. list-table::', '   :header-rows: 1', '', '   * - Job', '     - Variant', '     - Wall s, median (min-max)',
             '     - CPU s', '     - API calls', '     - Collection / variant, wall (CPU)', '     - Target']
    for job, result in results.items():
        limits = dict(JOBS[job]['targets'])
        for variant in job_variants(job):
            ratio = target = ''
            if variant != 'collection':
                figures = result['ratios'][variant]
                ratio = '%.2fx (%.2fx)' % (figures['median'], result['cpu_ratios'][variant]['median'])
                target = _target_note(result, variant, limits)
            cells = [result['title'] if variant == 'collection' else '', variant,
                     '%.1f (%.1f-%.1f)' % (result['median'][variant], result['min'][variant], result['max'][variant]),
                     '%.1f' % result['cpu_median'][variant], typical_calls(result['calls'][variant]), ratio, target]
            lines.append('   * - ' + cells[0])
            lines.extend('     - ' + cell for cell in cells[1:])
    return '\n'.join(line.rstrip() for line in lines) + '\n'


def ansible_version(ansible_playbook):
    try:
        first = subprocess.run([ansible_playbook, '--version'], stdout=subprocess.PIPE, timeout=60,
                               check=False).stdout.decode().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return 'unknown'
    if '[core ' in first:
        return first.split('[core ', 1)[1].rstrip(']')
    return first


def machine():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    load = ', load %.2f' % os.getloadavg()[0] if hasattr(os, 'getloadavg') else ''
    return '%s %s, %s cores%s' % (platform.system(), platform.machine(), cores, load)


def _stop(signum, frame):
    raise SystemExit('benchmark interrupted by signal %d' % signum)


def main(argv=None):
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)  # clean up (the run in progress, the sandbox) on the way out
    workdir = tempfile.mkdtemp(prefix='contactnow-bench-')
    sandbox = None
    try:
        sandbox = Sandbox(workdir, rotation_accounts(max(args.accounts, args.fleet_accounts)), args.timeout + 120)
        runner = Runner(args, workdir, sandbox)
        meta = {'ansible_core': ansible_version(runner.ansible_playbook), 'python': platform.python_version(),
                'machine': machine(), 'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                'rounds': args.rounds, 'hosts': args.hosts, 'forks': args.forks, 'accounts': args.accounts,
                'fleet_accounts': args.fleet_accounts}
        results = {}
        try:
            for job in args.jobs:
                results[job] = run_job(runner, job, args.rounds)
        except BenchmarkError as exc:
            print('benchmark stopped: %s' % exc, file=sys.stderr)
            if not results:
                return 1
        meta['load_after'] = machine()
        meta['finished'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        print_table(args, results, meta)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as handle:
            json.dump({'meta': meta, 'results': results}, handle, indent=2, sort_keys=True)
        with open(os.path.splitext(args.json)[0] + '.rst', 'w') as handle:
            handle.write(rst_table(results))
        print('results: %s (and the table as RST beside it)' % args.json)
        return 0 if len(results) == len(args.jobs) else 1
    finally:
        if sandbox is not None:
            sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
