"""One rule for torch's CPU threads in every tool (adapterx/utils/
cpu_threads.py): --threads, else OMP_NUM_THREADS, else half the cores."""
import re

import pytest
import torch

from adapterx.utils import cpu_threads
from adapterx.utils.cpu_threads import (configure_cpu_threads,
                                        configure_cpu_threads_without_gpu)
from .utils import REPO_ROOT

# The tools that run models on the CPU (merge_vits.py is reworked on
# another branch).
CPU_TOOLS = ('tools/train.py', 'tools/test.py', 'tools/model_soups.py',
             'tools/demo/run_demo.py', 'tools/demo/run_ewa_experiment.py',
             'tools/demo/pretrain_demo_backbone.py',
             'tools/analysis_tools/benchmark.py',
             'tools/analysis_tools/merge_memory_benchmark.py')


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_flag_then_omp_num_threads_then_half_the_cores(monkeypatch):
    monkeypatch.setattr('os.sched_getaffinity', lambda pid: set(range(6)))
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    assert configure_cpu_threads() == 3 == torch.get_num_threads()
    monkeypatch.setattr('os.sched_getaffinity', lambda pid: {0})
    assert configure_cpu_threads() == 1
    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    assert configure_cpu_threads() == 2 == torch.get_num_threads()
    assert configure_cpu_threads(threads=4) == 4 == torch.get_num_threads()


@pytest.mark.parametrize('threads, variable, message', [
    (0, None, '--threads 0: give a positive number'),
    (None, 'many', "OMP_NUM_THREADS='many' is not a positive"),
    (None, '0', "OMP_NUM_THREADS='0' is not a positive"),
])
def test_bad_counts_are_named(monkeypatch, threads, variable, message):
    monkeypatch.setenv('OMP_NUM_THREADS', variable or '1')
    with pytest.raises(ValueError, match=re.escape(message)):
        configure_cpu_threads(threads)


def test_a_gpu_machine_keeps_torchs_default(monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    monkeypatch.setattr(cpu_threads.torch.cuda, 'is_available', lambda: True)
    torch.set_num_threads(2)
    assert configure_cpu_threads_without_gpu() is None
    assert torch.get_num_threads() == 2
    monkeypatch.setattr(cpu_threads.torch.cuda, 'is_available',
                        lambda: False)
    assert configure_cpu_threads_without_gpu() == 1 == torch.get_num_threads()


def test_the_thread_count_is_chosen_in_one_place():
    setters = sorted(
        str(path.relative_to(REPO_ROOT))
        for folder in ('adapterx', 'tools') for path in
        (REPO_ROOT / folder).rglob('*.py')
        if 'set_num_threads(' in path.read_text())
    assert setters == ['adapterx/utils/cpu_threads.py']
    for tool in CPU_TOOLS:
        assert 'configure_cpu_threads' in (REPO_ROOT / tool).read_text(), tool
