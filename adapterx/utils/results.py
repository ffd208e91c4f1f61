"""Measured results that the README and docs show: each table is written by
the command that measured it into a JSON file under ``docs/results/``,
with the commit, the command and the machine, and rendered into the README
between markers, so that no number there is typed by hand::

    <!-- results: docs/results/demo_digits.json -->
    | method | ... |
    <!-- /results -->

``tools/update_readme_results.py`` rewrites the README's tables from their
files; the test suite fails when one differs.
"""
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from typing import List, Sequence

import torch

RESULTS_BLOCK = re.compile(
    r'<!-- results: (?P<path>\S+) -->\n(?P<table>.*?)<!-- /results -->\n',
    re.S)


# Where the measuring commands write: a second command run from the same
# checkout finds the first one's output changed, which is not a change of
# the code that measures.
RESULTS_FOLDERS = ('docs/results', 'docs/benchmarks', 'docs/demo')


def current_commit(repo_root: str) -> str:
    """The checked-out commit, with ``+uncommitted`` when tracked files
    other than the results (:data:`RESULTS_FOLDERS`) differ from it."""

    def git(*args):
        return subprocess.run(['git', '-C', repo_root, *args],
                              capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git('rev-parse', 'HEAD') or 'unknown'
    # A run from uncommitted code names the commit it started from.
    changed = git('status', '--porcelain', '--untracked-files=no', '--',
                  '.', *(f':(exclude){folder}' for folder in RESULTS_FOLDERS))
    return commit + ('+uncommitted' if changed else '')


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def machine() -> dict:
    """What the numbers were measured on."""
    return dict(
        cpu=_cpu_model(),
        cores=len(os.sched_getaffinity(0)),
        # Other work on the machine slows the timings.
        load_average_1min=os.getloadavg()[0],
        torch_threads=torch.get_num_threads(),
        gpu=torch.cuda.get_device_name(0)
        if torch.cuda.is_available() else None,
        python=platform.python_version(),
        torch=torch.__version__,
        system=platform.platform())


def write_results(path: str, title: str, header: Sequence[str],
                  rows: Sequence[Sequence[str]], repo_root: str,
                  data=None) -> dict:
    """Write a results file: the table as shown (``header`` and the
    formatted ``rows``), the raw ``data`` it was made from, and the commit,
    command and machine; returns what it wrote."""
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f'{path}: every row needs {len(header)} cells')
    command = ' '.join(
        shlex.quote(part) for part in
        [os.path.relpath(sys.argv[0], repo_root), *sys.argv[1:]])
    record = dict(
        title=title,
        header=list(header),
        rows=[list(row) for row in rows],
        data=data,
        command=command,
        environment={
            key: os.environ[key]
            for key in ('OMP_NUM_THREADS', ) if key in os.environ
        },
        commit=current_commit(repo_root),
        machine=machine(),
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, 'w') as file:
        json.dump(record, file, indent=2)
        file.write('\n')
    return record


def render_table(record: dict) -> str:
    """The Markdown table of a results file."""
    lines = [
        '| ' + ' | '.join(record['header']) + ' |',
        '|' + '---|' * len(record['header'])
    ]
    lines += ['| ' + ' | '.join(row) + ' |' for row in record['rows']]
    return '\n'.join(lines) + '\n'


def results_blocks(text: str) -> List[re.Match]:
    """The results blocks of a Markdown text, in order."""
    return list(RESULTS_BLOCK.finditer(text))


def render_results_blocks(text: str, repo_root: str) -> str:
    """``text`` with every results block rendered from its file.

    Raises:
        FileNotFoundError: A block names a file that does not exist.
    """

    def rendered(match):
        path = os.path.join(repo_root, match['path'])
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f'The README block <!-- results: {match["path"]} --> names '
                'a file that does not exist; run the command that measures '
                'it (see the text above the block)')
        with open(path) as file:
            record = json.load(file)
        return (f'<!-- results: {match["path"]} -->\n{render_table(record)}'
                '<!-- /results -->\n')

    return RESULTS_BLOCK.sub(rendered, text)
