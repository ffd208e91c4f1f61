"""The merge report: its Markdown and JSON, and a plot in which every
series stays visible."""
import json

import matplotlib
from matplotlib.colors import to_hex

from adapterx.evaluation import MergeResult, write_merge_report
from adapterx.evaluation.merge_report import figure_of

matplotlib.use('Agg')
TASKS = ('a', 'b')


def results():
    def row(method, value, storage, **extra):
        return MergeResult(method, dict.fromkeys(TASKS, value), storage,
                           **extra)

    rows = [row('individual', 90.0, 3_000_000),
            row('weight_average', 60.0, 1_000_000),
            row('ties', 60.0, 1_000_000),
            row('layer_wise_adamerging', 70.0, 1_000_000,
                entropies=[1.5, 1.2, 0.9], coefficients={'a': 0.4,
                                                         'b': 0.35})]
    # The two routings coincide, and m=2 reproduces the individual models.
    for routing in ('sample', 'batch'):
        rows += [row('dynamic', value, storage, m=m, routing=routing,
                     gate_accuracy=dict.fromkeys(TASKS, 100.0))
                 for m, value, storage in ((0, 65.0, 1_100_000),
                                           (2, 90.0, 3_050_000))]
    return rows


def test_every_series_is_distinguishable():
    figure = figure_of(results())
    axes = figure.axes[0]
    series = {line.get_label(): line for line in axes.get_lines()}
    assert set(series) == {'individual models', 'weight_average', 'ties',
                           'layer_wise_adamerging', 'dynamic (sample routing)',
                           'dynamic (batch routing)'}
    colours = [to_hex(line.get_color()) for line in series.values()]
    assert len(set(colours)) == len(colours)
    sample = series['dynamic (sample routing)']
    batch = series['dynamic (batch routing)']
    assert (sample.get_linestyle(), sample.get_marker()) != (
        batch.get_linestyle(), batch.get_marker())
    # The individual models' star is drawn over the m=2 points it equals.
    star = series['individual models']
    assert star.get_zorder() > max(line.get_zorder()
                                   for line in series.values()
                                   if line is not star)
    # Static merges share one storage: drawn side by side, not on top of
    # one another.
    statics = [series[name] for name in ('weight_average', 'ties',
                                         'layer_wise_adamerging')]
    figure.canvas.draw()
    positions = [line.get_transform().transform(
        (line.get_xdata()[0], line.get_ydata()[0]))[0] for line in statics]
    assert len({round(position) for position in positions}) == 3
    assert 'millions of parameters' in axes.get_xlabel()
    assert '%' in axes.get_ylabel()
    texts = [text.get_text() for text in axes.texts]
    assert texts == ['m=0', 'm=2']
    assert axes.get_legend() is not None


def test_report_files(tmp_path):
    paths = write_merge_report(results(), {'unit': 0.5},
                               dict(metric='cosine', source='weights'),
                               str(tmp_path))
    report = json.loads((tmp_path / 'merge_report.json').read_text())
    adamerging = report['results'][3]
    assert adamerging['entropies'] == [1.5, 1.2, 0.9]
    assert adamerging['mean'] == 70.0
    markdown = (tmp_path / 'merge_report.md').read_text()
    assert 'unlabeled test images' in markdown
    assert '| layer_wise_adamerging | 2 | 1.5000 | 0.9000 | 0.400 | 0.350 |' \
        in markdown
    assert '| dynamic m=2 (batch) | 90.00 | 90.00 | 90.00 | 3,050,000 | ' \
        '1.017 |' in markdown
    assert open(paths['png'], 'rb').read(4) == b'\x89PNG'
