# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the AWX guide's jobs the way AWX runs them: credential injectors rendered as AWX renders them,
then ansible_runner.run() with the project, inventory and job template extra variables from the guide.

Usage: awx_job.py CONFIG.json RESULT.json
CONFIG: {"guide": awx-guide.rst, "credential_types": [credential type files], "work_dir": ...,
         "store_dir": replaces /var/lib/contactnow, "sandbox_control": ..., "python": interpreter for localhost,
         "credentials": {guide credential name: its inputs}, "initial_passwords": {username: password},
         "secrets": [more secrets no event may show, e.g. a Vault root token],
         "token_pattern": regex of tokens issued during the jobs that the test cannot know (Vault logins),
         "token_samples": [tokens of that kind, which the pattern must match],
         "jobs": [{"name": ..., "template": job template name, "inventory": "localhost" | "accounts",
                   "credentials": {guide credential name: inputs for this job instead}}]}
Each job gets the credentials its job template names in the guide; each credential's type is the guide's
awx.awx.credential task's credential_type, found by name among the credential type files, and the inputs
must fill in at least the fields the guide's credential shows.
RESULT: {job name: {"status", "rc", "events", "stdout"}}, "secrets_in_events" (how many of the sandbox's
passwords and tokens, the credentials' secret inputs and the other secrets appear in any event's stdout; never
which), "tokens_in_events" (matches of token_pattern) and "token_pattern_matches" (it matches every sample).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from types import SimpleNamespace

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


def render_injectors(credential_type, inputs, file_dir):
    """Environment and extra variables for a credential, as AWX's CredentialType.inject_credential makes them:
    a sandboxed Jinja environment whose namespace holds the credential's non-empty inputs (secrets decrypted),
    with boolean fields that were not given set to False. Each file injector is rendered to a 0600 file in
    file_dir (the job's env/ directory, as AWX does) and named in the namespace as tower.filename (a single
    `template`) or tower.filename.<label> (`template.<label>`)."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {}
    for field, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[field] = value
    for field in credential_type['inputs'].get('fields', []):
        if field.get('type') == 'boolean' and field['id'] not in inputs:
            namespace[field['id']] = False
    injectors = credential_type.get('injectors', {})
    filenames = SimpleNamespace()
    for label, template in injectors.get('file', {}).items():
        fd, path = tempfile.mkstemp(dir=file_dir)  # mode 0600
        with os.fdopen(fd, 'w') as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        if '.' in label:
            setattr(filenames, label.split('.', 1)[1], path)
        else:
            filenames = path
    namespace['tower'] = namespace['awx'] = SimpleNamespace(filename=filenames)
    env = {name: sandbox.from_string(template).render(**namespace) for name, template in injectors.get('env', {}).items()}

    def build(node):
        if isinstance(node, dict):
            return {build(key): build(value) for key, value in node.items()}
        if isinstance(node, list):
            return [build(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    return env, build(injectors.get('extra_vars', {}))


def job_credentials(blocks, template, credential_types, job_inputs, file_dir):
    """Environment, extra variables and secret values of the job template's credentials, merged as AWX merges
    those of a job with several credentials."""
    env, extra_vars, secrets = {}, {}, []
    for name in template.get('credentials', []):
        shown = awx_task(blocks, 'awx.awx.credential', name)
        credential_type = credential_types[shown['credential_type']]
        inputs = job_inputs[name]
        missing = set(shown.get('inputs', {})) - set(inputs)
        if missing:
            raise SystemExit('the AWX guide\'s credential %r has inputs the test does not give: %s' % (name, sorted(missing)))
        credential_env, credential_extra_vars = render_injectors(credential_type, inputs, file_dir)
        env.update(credential_env)
        extra_vars.update(credential_extra_vars)
        secrets.extend(inputs.get(field['id']) for field in credential_type['inputs'].get('fields', []) if field.get('secret'))
    return env, extra_vars, [secret for secret in secrets if secret]


def on_store_dir(value, store_dir):
    """The guide's values with its store directory replaced by the test's."""
    return json.loads(json.dumps(value).replace(GUIDE_STORE_DIR, store_dir))


def main(config_path, result_path):
    with open(config_path) as handle:
        config = json.load(handle)
    with open(config['guide']) as handle:
        blocks = guide_examples(handle.read())
    credential_types = {}
    for path in config['credential_types']:
        with open(path) as handle:
            credential_type = yaml.safe_load(handle)
        # AWX renders injectors in a sandboxed Jinja environment: an input named like one of its globals (range,
        # dict, namespace...) is that global whenever the credential leaves the input empty.
        shadowing = set(field['id'] for field in credential_type['inputs'].get('fields', [])) & set(ImmutableSandboxedEnvironment().globals)
        if shadowing:
            raise SystemExit('%s: input ids named like Jinja globals: %s' % (path, sorted(shadowing)))
        credential_types[credential_type['name']] = credential_type

    results = {}
    secrets = list(config.get('secrets', []))
    for job in config['jobs']:
        template = awx_task(blocks, 'awx.awx.job_template', job['template'])
        data_dir = os.path.join(config['work_dir'], job['name'])
        for part in ('project', 'inventory', 'env'):
            os.makedirs(os.path.join(data_dir, part), mode=0o700)
        env, credential_extra_vars, credential_secrets = job_credentials(
            blocks, template, credential_types, {**config['credentials'], **job.get('credentials', {})}, os.path.join(data_dir, 'env'))
        env['XDG_CACHE_HOME'] = os.path.join(config['work_dir'], 'cache')
        secrets.extend(credential_secrets)
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
        started = time.monotonic()
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
        print('job %s: status %s, rc %s, %d events, %.1f s' % (job['name'], runner.status, runner.rc, len(events), time.monotonic() - started))
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
    secrets = sorted(set(secret for secret in secrets + seen['passwords'] + seen['tokens'] if secret))
    all_stdout = '\n'.join(job['stdout'] for job in results.values())
    results['secrets_looked_for'] = len(secrets)
    results['secrets_in_events'] = sum(1 for secret in secrets if secret in all_stdout)
    if config.get('token_pattern'):
        pattern = re.compile(config['token_pattern'])
        results['tokens_in_events'] = len(pattern.findall(all_stdout))
        results['token_pattern_matches'] = bool(config.get('token_samples')) and all(pattern.fullmatch(token) for token in config['token_samples'])
    fd = os.open(result_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump(results, handle)


if __name__ == '__main__':
    main(*sys.argv[1:3])
