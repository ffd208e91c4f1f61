import subprocess
from pathlib import Path

import pytest
from mmengine.runner import Runner

from adapterx.testing import make_image_folder

# The tools whose process trains or evaluates a model: tens of seconds to
# minutes each on 2 cores, so a test that starts one is `slow`.
TRAINING_TOOLS = frozenset({
    'train.py', 'test.py', 'dist_train.sh', 'dist_test.sh', 'dist_launch.sh',
    'slurm_train.sh', 'run_vtab.py', 'run_demo.py', 'run_ewa_experiment.py',
    'pretrain_demo_backbone.py', 'gpu_check.sh'
})
UNMARKED_TRAINING = ('{test} starts {what} but has no `slow` marker: add '
                     '@pytest.mark.slow to it (or `pytestmark = '
                     'pytest.mark.slow` to its module) so that '
                     '`pytest -m "not slow"` stays fast.')


@pytest.fixture(scope='session')
def tiny_image_root(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp('tiny_images'))


def training_tool_in(command):
    """The training tool that ``command`` (a Popen argument: a list, or a
    string for ``shell=True``) runs, or None."""
    if isinstance(command, Path):
        arguments = [command]
    elif isinstance(command, str):
        arguments = command.split()
    else:
        arguments = command
    for argument in arguments:
        path = Path(str(argument))
        if path.name in TRAINING_TOOLS and 'tools' in path.parts:
            return path.name
    return None


# The test being set up, run or torn down (its module- and session-scoped
# fixtures included), for the guard below.
running_test = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global running_test
    running_test = item
    yield
    running_test = None


def fail_unless_slow(what):
    if running_test and not running_test.get_closest_marker('slow'):
        pytest.fail(
            UNMARKED_TRAINING.format(test=running_test.nodeid, what=what))


def pytest_configure(config):
    """Fail a test that trains (a training tool's process, or an in-process
    ``Runner.train``) without the ``slow`` marker, before the training
    starts: the fast subset must not silently grow slow again."""
    start_process = subprocess.Popen.__init__
    start_training = Runner.train

    def guarded_start_process(popen, args, *more, **options):
        tool = training_tool_in(args)
        if tool:
            fail_unless_slow(tool)
        start_process(popen, args, *more, **options)

    def guarded_start_training(runner):
        fail_unless_slow('Runner.train')
        return start_training(runner)

    subprocess.Popen.__init__ = guarded_start_process
    Runner.train = guarded_start_training
    config.add_cleanup(lambda: setattr(subprocess.Popen, '__init__',
                                       start_process))
    config.add_cleanup(lambda: setattr(Runner, 'train', start_training))
