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
    """The training tool that ``command`` (a Popen argument) runs, or
    None."""
    arguments = [command] if isinstance(command, (str, Path)) else command
    for argument in arguments:
        path = Path(str(argument))
        if path.name in TRAINING_TOOLS and 'tools' in path.parts:
            return path.name
    return None


@pytest.fixture(autouse=True)
def training_needs_the_slow_marker(request, monkeypatch):
    """Fail a test that trains (a training tool's process, or an in-process
    ``Runner.train``) without the ``slow`` marker, before the training
    starts: the fast subset must not silently grow slow again."""
    if request.node.get_closest_marker('slow'):
        return
    test = request.node.nodeid
    start_process = subprocess.Popen.__init__

    def guarded_start_process(popen, args, *more, **options):
        tool = training_tool_in(args)
        if tool:
            pytest.fail(UNMARKED_TRAINING.format(test=test, what=tool))
        start_process(popen, args, *more, **options)

    def guarded_start_training(runner):
        pytest.fail(UNMARKED_TRAINING.format(test=test, what='Runner.train'))

    monkeypatch.setattr(subprocess.Popen, '__init__', guarded_start_process)
    monkeypatch.setattr(Runner, 'train', guarded_start_training)
