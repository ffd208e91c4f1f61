"""tools/analysis_tools/gpu_check.sh --dry-run: every step of the GPU
check (issue #21) at tiny sizes on the CPU, through the real configs.

Slow for a unit test (about 2-4 minutes on 2 cores: some twenty Python
processes); it is what keeps the one GPU run from failing on a config or
a path.
"""
import json
import subprocess
import sys

import pytest
import torch

from ..utils import REPO_ROOT, run_tool

SCRIPT = REPO_ROOT / 'tools' / 'analysis_tools' / 'gpu_check.sh'
OUTPUTS = {'gpu_vitb16.json', 'gpu_vitb16.md', 'gpu_point.json',
           'gpu_pipeline.json', 'gpu_cuda_paths.json', 'summary.md',
           'log.txt'}


@pytest.mark.slow
def test_dry_run_runs_every_step(tmp_path):
    out = tmp_path / 'out'
    run_tool('bash', SCRIPT, out, '--dry-run', timeout=900)
    assert {path.name for path in out.iterdir()} == OUTPUTS  # flat, few
    vit = json.loads((out / 'gpu_vitb16.json').read_text())
    assert set(vit['results']['eager']) == {
        'full_finetune', 'linear_probe', 'adaptformer', 'lora', 'adapterx'}
    assert set(vit['results']['compiled']) == {
        'full_finetune', 'linear_probe', 'adaptformer', 'adapterx'}
    for results in vit['results'].values():
        for result in results.values():
            assert result['train_step_ms'] > 0 and result['inference_ms'] > 0
    adapterx = vit['results']['eager']['adapterx']
    assert not adapterx['frozen_gradients']['frozen_weight_gradients']
    assert vit['results']['compiled']['adapterx']['graph_breaks'][
        'graph_breaks'] == 0
    # Every target is computed (pass or fail), none left unmeasured.
    assert len(vit['targets']) == 8
    assert all(target['pass'] in (True, False) for target in vit['targets'])
    point = json.loads((out / 'gpu_point.json').read_text())['results']
    assert set(point) == {'adapterx', 'dapt', 'full_finetune'}
    assert all(result['grouping']['fps_backend'] == 'torch'
               for result in point.values())
    pipeline = json.loads((out / 'gpu_pipeline.json').read_text())
    runs = pipeline['runs']
    assert set(runs) == {'train.py', 'test.py', 'dist_train.sh 1'}
    assert all(run['returncode'] == 0 for run in runs.values())
    for name in ('train.py', 'dist_train.sh 1'):
        assert runs[name]['images_per_second'] > 0
        assert runs[name]['busy'] == pytest.approx(
            runs[name]['images_per_second'] /
            pipeline['pure_step']['samples_per_second'])
    assert 0 <= runs['test.py']['metrics']['accuracy/top1'] <= 100
    cuda_paths = json.loads((out / 'gpu_cuda_paths.json').read_text())
    (pytest_run, ) = (value for key, value in cuda_paths.items()
                      if key != 'environment')
    assert pytest_run['returncode'] == 0
    assert 'skipped' in pytest_run['summary']  # the GPU tests, here
    summary = (out / 'summary.md').read_text()
    assert 'FAIL' in summary or 'pass' in summary
    assert 'Steps that failed' not in summary
    log = (out / 'log.txt').read_text()
    assert '0 step(s) failed' in log


@pytest.mark.skipif(torch.cuda.is_available(), reason='has a GPU')
def test_without_a_gpu_the_real_run_ends_in_one_line(tmp_path):
    completed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'analysis_tools' /
         'gpu_check.py', tmp_path / 'out'], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        'gpu_check.py: --device cuda: torch ' + torch.__version__ +
        ' sees no CUDA device on this machine; use --device cpu '
        '(or --dry-run)']


BENCHMARK = REPO_ROOT / 'tools' / 'analysis_tools' / 'benchmark.py'
TINY_ADAPTERX = (REPO_ROOT / 'configs' / 'tiny' /
                 'adapterx_vit-tiny_1xb8-2e_tiny-images.py')


def one_line_failure(*args):
    completed = subprocess.run([sys.executable, BENCHMARK, TINY_ADAPTERX,
                                *args], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 1
    (line, ) = completed.stderr.strip().splitlines()
    return line


@pytest.mark.skipif(torch.cuda.is_available(), reason='has a GPU')
def test_benchmark_without_cuda_says_so_in_one_line():
    assert one_line_failure('--device', 'cuda') == (
        f'benchmark.py: --device cuda: torch {torch.__version__} sees no '
        'CUDA device on this machine; use --device cpu')


def test_benchmark_that_cannot_compile_says_so_in_one_line():
    line = one_line_failure('--compile', '--compile-backend', 'no_such')
    assert line.startswith(
        f'benchmark.py: --compile: torch {torch.__version__} cannot compile '
        "for cpu with the 'no_such' backend here (InvalidBackend: ")
    assert line.endswith('); run without --compile')
