"""The merge memory benchmark's data layout, and the README's table and
limits against its committed JSON."""
import json

from adapterx.registry import DATASETS
from adapterx.utils import register_all_modules
from tests.utils import REPO_ROOT, load_tool

JSON = REPO_ROOT / 'docs' / 'benchmarks' / 'cpu_merge_memory.json'
RESULTS = REPO_ROOT / 'docs' / 'results' / 'merge_memory.json'


def load_benchmark():
    return load_tool('tools/analysis_tools/merge_memory_benchmark.py')


def test_written_split_is_an_image_folder_dataset(tmp_path):
    tool = load_benchmark()
    tool.write_split(str(tmp_path), task=3, size=23, seed=0)
    register_all_modules(init_default_scope=False)
    dataset = DATASETS.build(dict(
        type='CustomDataset', data_root=str(tmp_path),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
    assert len(dataset) == 23
    assert dataset.CLASSES == tuple(f'class_{k}'
                                    for k in range(tool.NUM_CLASSES))
    labels = sorted(int(dataset[index]['data_samples'].gt_label)
                    for index in range(len(dataset)))
    assert labels == sorted(index % tool.NUM_CLASSES for index in range(23))
    assert dataset[0]['inputs'].shape == (3, tool.IMG_SIZE, tool.IMG_SIZE)


def test_readme_table_and_limits_follow_the_json():
    report = json.loads(JSON.read_text())
    readme = (REPO_ROOT / 'README.md').read_text()
    assert '<!-- results: docs/results/merge_memory.json -->' in readme
    # The README's table and the benchmark's JSON come from one run.
    record = json.loads(RESULTS.read_text())
    assert record['data']['runs'] == report['runs']
    assert record['commit'] == report['commit']
    runs = report['runs']
    assert len(runs) >= 2
    small, large = runs[0], runs[-1]
    assert large['test_images'] >= 4 * small['test_images']
    assert all(run['peak_rss_mib'] < 4 * 1024 for run in runs)
    # Memory does not grow with the test sets: holding the larger run's
    # 3,497 preprocessed 224 px images would add about 40 %, while the peak
    # RSS of one commit varies by about 10 % from run to run (1,338 / 1,276
    # and 1,193 / 1,327 MiB for the two fractions).
    assert large['peak_rss_mib'] <= 1.2 * small['peak_rss_mib']
    assert report['command'].startswith(
        'python tools/analysis_tools/merge_memory_benchmark.py')
