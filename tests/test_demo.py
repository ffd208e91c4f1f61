import json
import re
import sys

import pytest

from .utils import REPO_ROOT, run_tool

pytestmark = pytest.mark.slow  # every test here starts training


def test_demo_runs_the_three_methods_and_prints_the_table(tmp_path):
    output = run_tool(sys.executable,
                      REPO_ROOT / 'tools' / 'demo' / 'run_demo.py', 'digits',
                      '--work-dir', tmp_path, '--max-epochs', '1',
                      '--results-json', tmp_path / 'demo.json')
    table = output[output.index('Digits demo ('):].splitlines()
    rows = {}
    for method in ('Adapter-X', 'Full fine-tuning', 'Linear probing'):
        line = next(line for line in table if line.startswith(method + ' '))
        rows[method] = re.findall(r'[\d,.]+', line[len(method):])
    (accuracy, without_head, percent, with_head, percent_with_head,
     seconds) = rows['Adapter-X']
    assert 0 <= float(accuracy) <= 100 and float(seconds) > 0
    assert 0 < float(percent) < 5  # a small share of the backbone
    assert float(percent) < float(percent_with_head) < 100
    assert rows['Full fine-tuning'][2] == rows['Full fine-tuning'][4] == \
        '100.00'
    assert rows['Linear probing'][1:3] == ['0', '0.00']
    # The console: a progress bar per method, then the table; mmengine's
    # log is in each run's work dir.
    assert ' - mmengine - INFO - ' not in output
    for method in rows:
        assert f'{method} (epoch 1/1)' in output
    (adapterx_log, ) = (tmp_path / 'adapterx_vit-demo_1xb32-10e_digits').glob(
        '*/*.log')
    # The pretrained demo backbone was loaded, not a random one.
    assert 'vit_demo_fractal.safetensors' in adapterx_log.read_text()
    # The README's table comes from this file, with its provenance.
    record = json.loads((tmp_path / 'demo.json').read_text())
    assert [row[0] for row in record['rows']] == list(rows)
    assert record['rows'][0][1:] == rows['Adapter-X']
    assert record['command'].startswith('tools/demo/run_demo.py digits')
    assert len(record['commit']) >= 40 and record['machine']['cores'] >= 1
