# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the AWX guide's jobs the way AWX runs them: credential injectors rendered as AWX renders them,
then ansible_runner.run() with the project, inventory and job template extra variables from the guide.

Usage: awx_job.py CONFIG.json RESULT.json
CONFIG: {"guide": awx-guide.rst, "credential_type": credential_type.yml, "work_dir": ...,
         "store_dir": replaces /var/lib/contactnow, "sandbox_control": ..., "python": interpreter for localhost,
         "credential": {inputs of the ContactNow API credential}, "initial_passwords": {username: password},
         "jobs": [{"name": ..., "template": job template name, "inventory": "localhost" | "accounts"}]}
RESULT: {job name: {"status", "rc", "events", "stdout"}} and "secrets_in_events" (how many of the sandbox's
passwords and tokens appear in any event's stdout; never which).
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

GUIDE_STORE_DIR = '/var/lib/contactnow'


def guide_examples(rst_text):
    """Every YAML code block of the guide, as (first line, raw text, parsed value or None)."""
    blocks = []
    for match in re.finditer(r'^\.\. code-block:: yaml(?:\+jinja)?\n\n((?:   .*\n|\n)+)', rst_text, re.M):
        raw = '\n'.join(line[3:] for line in match.group(1).splitlines()) + '\n'
        try:
            parsed = yaml.safe_load(raw)
        except yaml.YAMLError:
            parsed = None
        blocks.append((raw.lstrip().splitlines()[0], raw, parsed))
    return blocks


def awx_task(blocks, module, name):
    """The guide's awx.awx task of this module and object name."""
    for _first, _raw, parsed in blocks:
        for task in parsed if isinstance(parsed, list) else []:
            if isinstance(task, dict) and isinstance(task.get(module), dict) and task[module].get('name') == name:
                return task[module]
    raise SystemExit('the AWX guide has no %s task for %r' % (module, name))


def guide_file(blocks, filename):
    """The guide's code block that starts with the comment '# <filename>'."""
    for first, raw, _parsed in blocks:
        if re.match(r'# %s\b' % re.escape(filename), first):
            return raw
    raise SystemExit('the AWX guide shows no file %s' % filename)


def render_injectors(credential_type, inputs):
    """Environment and extra variables for a credential, as AWX's CredentialType.inject_credential makes them:
    a sandboxed Jinja environment whose namespace holds the credential's non-empty inputs (secrets decrypted),
    with boolean fields that were not given set to False."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {}
    for field, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[field] = value
    for field in credential_type['inputs'].get('fields', []):
        if field.get('type') == 'boolean' and field['id'] not in inputs:
            namespace[field['id']] = False
    injectors = credential_type.get('injectors', {})
    env = {name: sandbox.from_string(template).render(**namespace) for name, template in injectors.get('env', {}).items()}

    def build(node):
        if isinstance(node, dict):
            return {build(key): build(value) for key, value in node.items()}
        if isinstance(node, list):
            return [build(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    return env, build(injectors.get('extra_vars', {}))


def on_store_dir(value, store_dir):
    """The guide's values with its store directory replaced by the test's."""
    return json.loads(json.dumps(value).replace(GUIDE_STORE_DIR, store_dir))


def main(config_path, result_path):
    with open(config_path) as handle:
        config = json.load(handle)
    with open(config['guide']) as handle:
        blocks = guide_examples(handle.read())
    with open(config['credential_type']) as handle:
        credential_type = yaml.safe_load(handle)
    env, credential_extra_vars = render_injectors(credential_type, config['credential'])
    env['XDG_CACHE_HOME'] = os.path.join(config['work_dir'], 'cache')

    results = {}
    for job in config['jobs']:
        template = awx_task(blocks, 'awx.awx.job_template', job['template'])
        data_dir = os.path.join(config['work_dir'], job['name'])
        os.makedirs(os.path.join(data_dir, 'project'), mode=0o700)
        os.makedirs(os.path.join(data_dir, 'inventory'), mode=0o700)
        with open(os.path.join(data_dir, 'project', template['playbook']), 'w') as handle:
            handle.write(guide_file(blocks, template['playbook']))
        if job['inventory'] == 'localhost':
            # Step 4's inventory: one host, localhost, with the guide's host variables.
            host = awx_task(blocks, 'awx.awx.host', 'localhost')
            inventory = {'all': {'hosts': {'localhost': dict(host['variables'], ansible_python_interpreter=config['python'])}}}
            inventory_text = yaml.safe_dump(inventory)
        else:
            # Step 8's inventory file, with the guide's group_vars file of initial passwords (unencrypted here).
            source = awx_task(blocks, 'awx.awx.inventory_source', 'ContactNow accounts file')
            inventory_text = json.dumps(on_store_dir(yaml.safe_load(guide_file(blocks, source['source_path'])), config['store_dir']))
            group_vars = os.path.join(data_dir, 'inventory', 'group_vars', 'contactnow_accounts')
            os.makedirs(group_vars, mode=0o700)
            fd = os.open(os.path.join(group_vars, 'initial.yml'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as handle:
                json.dump({'contactnow_initial_passwords': config['initial_passwords']}, handle)
        with open(os.path.join(data_dir, 'inventory', 'hosts.yml'), 'w') as handle:
            handle.write(inventory_text)

        extra_vars = dict(on_store_dir(template.get('extra_vars', {}), config['store_dir']), **credential_extra_vars)
        runner = ansible_runner.run(
            private_data_dir=data_dir,
            playbook=template['playbook'],
            envvars=env,
            extravars=extra_vars,
            forks=template.get('forks'),
            verbosity=3,
            quiet=True,
            timeout=240,
        )
        events = list(runner.events)
        # The job's status for the test's log; the last lines of its output when it did not succeed.
        # (Output the test scans for secrets, like every job event.)
        print('job %s: status %s, rc %s, %d events' % (job['name'], runner.status, runner.rc, len(events)))
        if runner.status != 'successful':
            print('\n'.join(runner.stdout.read().splitlines()[-25:]))
        results[job['name']] = {
            'status': runner.status,
            'rc': runner.rc,
            'events': len(events),
            'stdout': '\n'.join(event.get('stdout', '') for event in events),
        }

    with urllib.request.urlopen(config['sandbox_control'] + '/secrets', timeout=10) as reply:  # loopback only
        seen = json.load(reply)
    secrets = [secret for secret in seen['passwords'] + seen['tokens'] if secret]
    all_stdout = '\n'.join(job['stdout'] for job in results.values())
    results['secrets_looked_for'] = len(secrets)
    results['secrets_in_events'] = sum(1 for secret in secrets if secret in all_stdout)
    fd = os.open(result_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump(results, handle)


if __name__ == '__main__':
    main(*sys.argv[1:3])
