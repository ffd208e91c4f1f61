"""The conftest guard: a test that starts training without the `slow`
marker fails, naming itself and what it started; other processes and
marked tests are left alone."""
import subprocess
import sys

import pytest
from mmengine.runner import Runner

from .utils import REPO_ROOT

UNMARKED = (r'tests/test_slow_marker.py::{test} starts {what} but has no '
            r'`slow` marker: add @pytest\.mark\.slow')


def test_an_unmarked_test_may_not_start_a_training_tool():
    with pytest.raises(pytest.fail.Exception,
                       match=UNMARKED.format(
                           test='test_an_unmarked_test_may_not_start_a_'
                           'training_tool', what=r'dist_train\.sh')):
        subprocess.run([REPO_ROOT / 'tools' / 'dist_train.sh', 'any.py', 1],
                       cwd=REPO_ROOT)


def test_a_shell_command_line_is_read_too():
    with pytest.raises(pytest.fail.Exception,
                       match=UNMARKED.format(
                           test='test_a_shell_command_line_is_read_too',
                           what=r'train\.py')):
        subprocess.run(f'{sys.executable} tools/train.py any.py', shell=True,
                       cwd=REPO_ROOT)


def test_an_unmarked_test_may_not_train_in_process():
    with pytest.raises(pytest.fail.Exception,
                       match=UNMARKED.format(
                           test='test_an_unmarked_test_may_not_train_in_'
                           'process', what=r'Runner\.train')):
        Runner.train(object())


def test_other_processes_start_unmarked():
    completed = subprocess.run([sys.executable, '-c', 'print("tools")'],
                               capture_output=True, text=True)
    assert completed.stdout == 'tools\n'


@pytest.mark.slow
def test_a_marked_test_reaches_the_tool():
    # --help: the tool's own process starts (and exits at once) instead of
    # the guard failing the test.
    completed = subprocess.run(
        [sys.executable, REPO_ROOT / 'tools' / 'train.py', '--help'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert '--work-dir' in completed.stdout


@pytest.fixture(scope='module')
def trained_for_the_module():
    Runner.train(object())


def test_a_module_fixture_may_not_train_for_an_unmarked_test(request):
    with pytest.raises(pytest.fail.Exception,
                       match=UNMARKED.format(
                           test='test_a_module_fixture_may_not_train_for_an_'
                           'unmarked_test', what=r'Runner\.train')):
        request.getfixturevalue('trained_for_the_module')
