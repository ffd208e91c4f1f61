"""tools/analysis_tools/compare_methods.py and the table behind it, on work
dirs the tests write (values checked against hand computations) and on two
real tiny training runs."""
import csv
import json
import math
import sys

import pytest

from adapterx.datasets.vtab1k import VTAB1K_GROUPS
from adapterx.evaluation import compare_methods, discover_methods
from ..utils import REPO_ROOT, data_root_options, run_tool, train

TOOL = REPO_ROOT / 'tools' / 'analysis_tools' / 'compare_methods.py'


def write_task(directory, accuracy, without_head, percent_backbone,
               with_head, percent_model):
    directory.mkdir(parents=True)
    (directory / 'trainable_parameters.json').write_text(json.dumps(dict(
        trainable_without_head=without_head,
        percent_of_backbone_without_head=percent_backbone,
        trainable_with_head=with_head,
        percent_of_model_with_head=percent_model)))
    (directory / 'test_metrics.json').write_text(
        json.dumps({'accuracy/top1': accuracy}))


@pytest.fixture
def two_task_root(tmp_path):
    root = tmp_path / 'results'
    write_task(root / 'adapter' / 'objbg', 80.0, 162112, 0.19, 200000, 0.5)
    write_task(root / 'adapter' / 'modelnet', 91.0, 162112, 0.19, 300000,
               0.7)
    write_task(root / 'full' / 'objbg', 70.0, 85000000, 100.0, 85100000,
               100.0)
    write_task(root / 'full' / 'modelnet', 90.0, 85000000, 100.0, 85200000,
               100.0)
    return root


def test_table_2d_and_3d_conventions(two_task_root):
    methods = discover_methods(two_task_root)
    assert list(methods) == ['adapter', 'full']
    table = compare_methods(methods, '2d')
    assert table.header() == [
        'method', 'trainable params (M, without head, % of backbone)',
        'trainable (without head, % of backbone)', 'modelnet', 'objbg',
        'mean'
    ]
    assert table.rows() == [
        ['adapter', 0.162112, 0.19, 91.0, 80.0, 85.5],
        ['full', 85.0, 100.0, 90.0, 70.0, 80.0],
    ]
    assert table.markdown().splitlines()[2] == \
        '| adapter | 0.162 | 0.19 | 91.0 | 80.0 | 85.5 |'
    # 3D: the heads differ per task, the count is the mean over tasks.
    table = compare_methods(methods, '3d')
    assert table.header()[1] == 'trainable params (M, with head, % of model)'
    assert table.rows()[0][:3] == ['adapter', 0.25, pytest.approx(0.6)]
    assert table.rows()[1][:3] == ['full', 85.15, 100.0]


def test_vtab_group_means_and_mean_of_group_means(tmp_path):
    # Natural: six at 70, cifar 77 -> 71; Specialized: 80; Structured:
    # seven at 60, one at 68 -> 61; mean of group means (71+80+61)/3.
    accuracy = {task: base for group, base in
                zip(VTAB1K_GROUPS.values(), (70.0, 80.0, 60.0))
                for task in group}
    accuracy['cifar'] = 77.0
    accuracy[VTAB1K_GROUPS['Structured'][0]] = 68.0
    for task, value in accuracy.items():
        write_task(tmp_path / 'm' / task, value, 10, 0.1, 20, 0.2)
    table = compare_methods({'m': str(tmp_path / 'm')})
    header, row = table.header(), table.rows()[0]
    assert header[-4:] == ['Natural mean', 'Specialized mean',
                           'Structured mean', 'mean of group means']
    assert row[-4:-1] == [71.0, 80.0, 61.0]
    assert row[-1] == pytest.approx(212 / 3)
    assert table.markdown().endswith('| 71.0 | 80.0 | 61.0 | 70.7 |')


def test_a_method_missing_a_task_gets_no_mean(two_task_root):
    (two_task_root / 'full' / 'modelnet' / 'test_metrics.json').unlink()
    (two_task_root / 'full' / 'modelnet' /
     'trainable_parameters.json').unlink()
    table = compare_methods(discover_methods(two_task_root))
    assert table.rows()[1][3:] == ['-', 70.0, '-']
    assert table.rows()[0][-1] == 85.5


def test_missing_and_malformed_files_are_named(two_task_root):
    metrics = two_task_root / 'full' / 'objbg' / 'test_metrics.json'
    metrics.unlink()
    with pytest.raises(FileNotFoundError, match=str(metrics)):
        compare_methods(discover_methods(two_task_root))
    metrics.write_text(json.dumps({'accuracy/top5': 99.0}))
    with pytest.raises(KeyError, match="test_metrics.json has no "
                       "'accuracy/top1'"):
        compare_methods(discover_methods(two_task_root))
    metrics.write_text('{not json')
    with pytest.raises(ValueError, match='test_metrics.json is not valid'):
        compare_methods(discover_methods(two_task_root))
    empty = two_task_root / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='trainable_parameters.json'):
        compare_methods({'empty': str(empty)})


def test_markdown_csv_and_plot(two_task_root, tmp_path):
    # Linear probing: no trainable parameter without the head, still drawn
    # (at the left edge of the log axis).
    for task, accuracy in (('objbg', 50.0), ('modelnet', 60.0)):
        write_task(two_task_root / 'probe' / task, accuracy, 0, 0.0, 1000,
                   0.01)
    table = compare_methods(discover_methods(two_task_root))
    assert table.rows()[2] == ['probe', 0.0, 0.0, 60.0, 50.0, 55.0]
    assert table.markdown().splitlines()[3] == \
        '| full | 85.000 | 100.00 | 90.0 | 70.0 | 80.0 |'
    rows = list(csv.reader(table.csv().splitlines()))
    assert rows[0] == table.header()
    assert rows[1] == ['adapter', '0.162112', '0.19', '91.0', '80.0',
                       '85.5']
    table.plot(tmp_path / 'plot.png')
    assert (tmp_path / 'plot.png').read_bytes()[:4] == b'\x89PNG'


def test_plot_axes_ticks_legend_and_margins(two_task_root):
    for task, accuracy in (('objbg', 50.0), ('modelnet', 60.0)):
        write_task(two_task_root / 'probe' / task, accuracy, 0, 0.0, 1000,
                   0.01)
    figure = compare_methods(discover_methods(two_task_root)).figure()
    axes = figure.axes[0]
    # The x axis counts parameters (millions), not a percentage.
    assert axes.get_xlabel() == ('trainable parameters without the head '
                                 '(millions, log scale)')
    assert axes.get_ylabel() == 'mean of accuracy/top1 (%)'
    figure.canvas.draw()
    ticks = [label.get_text() for label in axes.get_xticklabels()]
    # Plain numbers; linear probing's 0 one decade left of the smallest.
    assert ticks == ['0', '0.1', '1', '10', '100']
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ['adapter: 0.162 M (0.19 %)', 'full: 85 M (100 %)',
                      'probe: 0 M (0 %)']
    # Every point well inside the axes: >= 0.3 decades from the x edges,
    # >= 10 % of the accuracy range from the y edges.
    (left, right), (bottom, top) = axes.get_xlim(), axes.get_ylim()
    points = [collection.get_offsets()[0]
              for collection in axes.collections]
    for x, y in points:
        assert math.log10(x) - math.log10(left) >= 0.3
        assert math.log10(right) - math.log10(x) >= 0.3
        assert min(y - bottom, top - y) >= 0.1 * (85.5 - 55.0)
    colours = {tuple(collection.get_facecolor()[0])
               for collection in axes.collections}
    assert len(colours) == 3
    # The names beside the points stay inside the axes (none cut at an
    # edge); the legend is right of them, covering no point.
    renderer = figure.canvas.get_renderer()
    inside = axes.get_window_extent(renderer)
    for name in axes.texts:
        box = name.get_window_extent(renderer)
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1, name.get_text()
        assert inside.y0 <= box.y0 and box.y1 <= inside.y1, name.get_text()
    assert axes.get_legend().get_window_extent(renderer).x0 >= inside.x1


@pytest.mark.slow
def test_two_real_tiny_runs(tmp_path, tiny_image_root):
    root = tmp_path / 'runs'
    for method in ('adapterx', 'linear_probe'):
        config = (REPO_ROOT / 'configs' / 'tiny' /
                  f"{method.replace('_', '-')}_vit-tiny_1xb8-2e_tiny-images.py")
        work_dir = root / method / 'tiny'
        train(config, work_dir, 'train_cfg.max_epochs=1',
              data_root=tiny_image_root)
        checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
        run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py', config,
                 checkpoint, '--work-dir', work_dir, '--dump-metrics',
                 work_dir / 'test_metrics.json', '--cfg-options',
                 *data_root_options(tiny_image_root))
    output = run_tool(sys.executable, TOOL, '--methods',
                      f'adapterx={root / "adapterx"}',
                      f'linear_probe={root / "linear_probe"}',
                      '--convention', '3d', '--out-dir', tmp_path / 'out')
    with open(tmp_path / 'out' / 'comparison.csv') as file:
        rows = list(csv.DictReader(file))
    assert [row['method'] for row in rows] == ['adapterx', 'linear_probe']
    for row in rows:
        work_dir = root / row['method'] / 'tiny'
        counts = json.loads(
            (work_dir / 'trainable_parameters.json').read_text())
        accuracy = json.loads(
            (work_dir / 'test_metrics.json').read_text())['accuracy/top1']
        assert float(row['tiny']) == accuracy == float(row['mean'])
        assert float(row['trainable params (M, with head, % of model)']) \
            == counts['trainable_with_head'] / 1e6
    # Linear probing trains the head alone: 4 classes x 32 + 4.
    assert float(rows[1]['trainable params (M, with head, % of model)']) \
        == 132 / 1e6
    assert float(rows[0]['trainable params (M, with head, % of model)']) \
        > 132 / 1e6
    assert '| adapterx |' in output
    assert (tmp_path / 'out' / 'comparison.md').read_text().startswith(
        '| method | trainable params (M, with head, % of model) |')
    assert (tmp_path / 'out' / 'accuracy_vs_params.png').stat().st_size > 0
