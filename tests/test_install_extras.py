"""setup.py's extras ([tb], [wandb], [dense]) and the README's
visualizer-backend line."""
import re
import subprocess
import sys

from mmengine.config import Config

from adapterx.registry import VISUALIZERS
from adapterx.utils import register_all_modules
from .utils import REPO_ROOT, TINY_CONFIG


def requirement_lines(name):
    lines = (REPO_ROOT / 'requirements' / name).read_text().splitlines()
    return [line for line in lines if line and not line.startswith('#')]


def test_extras(tmp_path):
    subprocess.run([sys.executable, 'setup.py', '-q', 'egg_info',
                    '--egg-base', str(tmp_path)], cwd=REPO_ROOT, check=True,
                   capture_output=True)
    requires = (tmp_path / 'adapterx.egg-info' / 'requires.txt').read_text()
    extras = {
        match.group(1): match.group(2).split()
        for match in re.finditer(r'^\[(\w+)\]\n((?:.+\n)*)', requires,
                                 re.MULTILINE)
    }
    assert extras['tb'] == ['tensorboard']
    assert extras['wandb'] == ['wandb']
    # What tools/install_downstream.sh installs beside full mmcv.
    assert extras['dense'] == requirement_lines('dense.txt')
    assert {'mmsegmentation==1.2.2', 'mmdet==3.3.0'} <= set(extras['dense'])
    assert 'requirements/dense.txt' in (
        REPO_ROOT / 'tools' / 'install_downstream.sh').read_text()


def test_the_readmes_visualizer_line_builds_both_backends(tmp_path):
    readme = (REPO_ROOT / 'README.md').read_text()
    section = readme[readme.index('## Logging to TensorBoard'):]
    line = re.search(r'```python\n(visualizer = .*?)```', section,
                     re.DOTALL).group(1)
    register_all_modules()
    cfg = Config.fromfile(str(TINY_CONFIG))
    cfg.merge_from_dict(Config.fromstring(line, '.py').to_dict())
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name='readme_tensorboard',
             save_dir=str(tmp_path)))
    assert type(visualizer).__name__ == 'UniversalVisualizer'
    assert [type(backend).__name__
            for backend in visualizer._vis_backends.values()] == [
                'LocalVisBackend', 'TensorboardVisBackend'
            ]
