"""tools/demo/run_merge_demo.py: fine-tune every task of a merge config,
merge, tabulate."""
import json
import sys

import pytest

from tests.utils import REPO_ROOT, load_tool, run_tool


def report_row(method, accuracies, storage, **extra):
    return dict(dict(m=None, routing=None, gate_accuracy={}), method=method,
                accuracies=accuracies, storage=storage,
                mean=sum(accuracies.values()) / len(accuracies), **extra)


def test_table_of_a_report():
    tool = load_tool('tools/demo/run_merge_demo.py')
    header, rows = tool.table(dict(results=[
        report_row('individual', {'a': 90.0, 'b': 80.0}, 2000),
        report_row('ties', {'a': 50.0, 'b': 61.234}, 1000),
        report_row('dynamic', {'a': 70.0, 'b': 80.0}, 1500, m=1,
                   routing='sample', gate_accuracy={'a': 100.0, 'b': 95.0}),
    ]))
    assert header == ['method', 'a', 'b', 'mean', 'storage (params)',
                      'x individual', 'routed right %']
    assert rows == [
        ['individual', '90.00', '80.00', '85.00', '2,000', '1.00', '-'],
        ['ties', '50.00', '61.23', '55.62', '1,000', '0.50', '-'],
        ['dynamic m=1 (sample)', '70.00', '80.00', '75.00', '1,500', '0.75',
         '97.50'],
    ]


@pytest.mark.slow
def test_one_command_fine_tunes_merges_and_tabulates(tmp_path):
    merging = REPO_ROOT / 'configs' / 'merging'
    finetune = tmp_path / 'finetune.py'
    finetune.write_text('\n'.join([
        f"_base_ = ['{merging / 'demo_finetune_short.py'}']",
        'param_scheduler = []',
        'train_cfg = dict(max_epochs=1, val_interval=1)',
    ]) + '\n')
    config = tmp_path / 'merge.py'
    config.write_text('\n'.join([
        f"_base_ = ['{merging / 'demo_merge_domains.py'}']",
        f"finetune = '{finetune}'",
        "tasks = [dict(name=domain, checkpoint='unused.pth',",
        "              train_data=dict(type='DigitDomains', domain=domain,",
        "                              split='train'),",
        "              test_data=dict(type='DigitDomains', domain=domain,",
        "                             split='test'))",
        "         for domain in ('clean', 'inverted')]",
        "merging = dict(static=['ties', 'layer_wise_adamerging'], m=[0],",
        '               adamerging=dict(steps=2))',
        'gate_training = dict(epochs=1)',
    ]) + '\n')
    output = run_tool(sys.executable,
                      REPO_ROOT / 'tools' / 'demo' / 'run_merge_demo.py',
                      config, '--work-dir', tmp_path / 'work',
                      '--results-json', tmp_path / 'merge.json')
    assert 'fine-tuning clean' in output and 'fine-tuning inverted' in output
    report = json.loads(
        (tmp_path / 'work' / 'report' / 'merge_report.json').read_text())
    assert report['settings']['checkpoints'] == {
        domain: str(tmp_path / 'work' / domain / 'epoch_1.pth')
        for domain in ('clean', 'inverted')}
    assert report['settings']['head_mode'] == 'domain'
    record = json.loads((tmp_path / 'merge.json').read_text())
    assert record['header'][1:3] == ['clean', 'inverted']
    assert [row[0] for row in record['rows']] == [
        'individual', 'ties', 'layer_wise_adamerging', 'dynamic m=0 (sample)']
    assert record['rows'][0][3] == f"{report['results'][0]['mean']:.2f}"
    assert record['command'].startswith('tools/demo/run_merge_demo.py')
    assert record['data']['finetuning_s'] > 0
