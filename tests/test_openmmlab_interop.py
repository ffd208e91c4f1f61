"""The configs run under OpenMMLab's own tools, and an installed adapterx
carries them the OpenMMLab way.

- mmpretrain's ``tools/train.py`` and ``tools/test.py`` (the copies its
  package installs under ``mmpretrain/.mim/tools``, which ``mim train
  mmpretrain`` runs) train and test a demo config: the runtime base
  imports adapterx (``custom_imports``) and names its runner with its scope
  (``runner_type='adapterx.PeftRunner'``), and loaders without workers say
  ``persistent_workers=False``, which those tools would otherwise turn on.
- setup.py puts the configs, tools and model index into ``adapterx/.mim``,
  linked for an editable install, copied into a wheel (``pip install .``).
"""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import mmpretrain
import pytest
from mmengine.config import Config
from mmengine.registry import RUNNERS

from adapterx.engine import PeftRunner
from .utils import REPO_ROOT, load_tool, run_tool

MMPRETRAIN_TOOLS = Path(mmpretrain.__file__).parent / '.mim' / 'tools'
DEMO = (REPO_ROOT / 'configs' / 'demo' /
        'adapterx_vit-demo_1xb32-10e_digits.py')


@pytest.fixture(scope='module')
def setup_py():
    return load_tool('setup.py')


def test_the_runtime_base_names_what_openmmlab_tools_need():
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / '_base_' /
                              'default_runtime.py'))
    assert cfg.custom_imports == dict(imports=['adapterx'],
                                      allow_failed_imports=False)
    # mmpretrain's tools build the runner from mmengine's root registry.
    assert RUNNERS.get(cfg.runner_type) is PeftRunner


@pytest.mark.slow
def test_mmpretrains_own_tools_train_and_test_a_demo_config(tmp_path):
    work_dir = tmp_path / 'work'
    command = [
        sys.executable, MMPRETRAIN_TOOLS / 'train.py', DEMO, '--work-dir',
        work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1'
    ]
    run_tool(*command)
    # adapterx's freezing hook ran: Adapter-X's share, not every weight.
    assert (work_dir / 'trainable_parameters.json').is_file()
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    output = run_tool(sys.executable, MMPRETRAIN_TOOLS / 'test.py', DEMO,
                      checkpoint, '--work-dir', work_dir)
    assert 'accuracy/top1' in output


@pytest.mark.parametrize('argv, mode', [
    (['develop'], 'symlink'),
    (['editable_wheel', '--dist-dir', 'x'], 'symlink'),
    (['bdist_wheel', '--dist-dir', 'x'], 'copy'),
    (['sdist'], 'copy'),
    (['egg_info'], None),
    (['dist_info', '--output-dir', 'x'], None),
])
def test_the_install_mode_follows_the_setup_command(setup_py, argv, mode):
    assert setup_py.mim_mode(argv) == mode


def small_repository(root):
    (root / 'adapterx').mkdir(parents=True)
    (root / 'configs' / '_base_').mkdir(parents=True)
    (root / 'configs' / '_base_' / 'default_runtime.py').write_text('a = 1\n')
    (root / 'tools').mkdir()
    (root / 'tools' / 'train.py').write_text('# train\n')
    (root / 'model-index.yml').write_text('Import: []\n')
    return root


def test_copies_are_the_files_and_replace_an_earlier_build(setup_py,
                                                           tmp_path):
    root = small_repository(tmp_path)
    mim = root / 'adapterx' / '.mim'
    setup_py.add_mim_extension(str(root), 'symlink')
    setup_py.add_mim_extension(str(root), 'copy')
    for name in ('configs', 'tools', 'model-index.yml'):
        assert not (mim / name).is_symlink()
    assert (mim / 'configs' / '_base_' / 'default_runtime.py').read_text() \
        == 'a = 1\n'
    assert (mim / 'tools' / 'train.py').read_text() == '# train\n'
    assert (mim / 'model-index.yml').read_text() == 'Import: []\n'


def test_links_follow_the_sources(setup_py, tmp_path):
    root = small_repository(tmp_path)
    setup_py.add_mim_extension(str(root), 'copy')
    setup_py.add_mim_extension(str(root), 'symlink')
    link = root / 'adapterx' / '.mim' / 'configs'
    assert link.is_symlink()
    assert link.resolve() == (root / 'configs').resolve()
    (root / 'configs' / 'new.py').write_text('b = 2\n')
    assert (link / 'new.py').read_text() == 'b = 2\n'


def test_an_unknown_mode_is_refused(setup_py, tmp_path):
    with pytest.raises(ValueError, match="'symlink' or 'copy', not 'move'"):
        setup_py.add_mim_extension(str(small_repository(tmp_path)), 'move')


def test_a_built_wheel_carries_configs_tools_and_model_index(tmp_path):
    """``pip install .`` installs the wheel pip builds: built here from a
    copy of the committed files, without network or build isolation."""
    source = tmp_path / 'source'
    tracked = subprocess.run(['git', 'ls-files'], cwd=REPO_ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
    for name in tracked:
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    run_tool(sys.executable, '-m', 'pip', 'wheel', source, '--no-deps',
             '--no-build-isolation', '--quiet', '--wheel-dir',
             tmp_path / 'dist')
    wheel, = (tmp_path / 'dist').glob('adapterx-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ('configs/adapterx_vitb_vtab.py',
                 'configs/_base_/default_runtime.py',
                 'configs/_base_/protocols/vit-b16_8xb8-100e_vtab1k.py',
                 'configs/adapterx/metafile.yml', 'tools/train.py',
                 'tools/dist_train.sh', 'model-index.yml'):
        assert f'adapterx/.mim/{name}' in names
    assert not any('__pycache__' in name for name in names)
