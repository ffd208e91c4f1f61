import os
import os.path as osp
import shutil
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# What mim and mmengine look for in an installed OpenMMLab package's `.mim`
# folder: `mim train adapterx CONFIG`, `_base_ = 'adapterx::...'`.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt, comments dropped."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines
            if line.split('#')[0].strip()]


def mim_mode(argv):
    """How the setup command in ``argv`` installs ``adapterx/.mim``:
    ``'symlink'`` for an editable install (the links follow the sources),
    ``'copy'`` when a wheel or a source archive is built (``pip install .``
    builds a wheel), None for anything else (metadata, clean)."""
    if {'develop', 'editable_wheel'} & set(argv):
        return 'symlink'
    if {'bdist_wheel', 'sdist'} & set(argv):
        return 'copy'
    return None


def add_mim_extension(repo_path, mode):
    """Put the configs, tools and model index into ``adapterx/.mim`` of
    the repository at ``repo_path``, as mmpretrain's setup.py does: linked
    (``mode='symlink'``) or copied (``'copy'``), replacing what an earlier
    build left there."""
    if mode not in ('symlink', 'copy'):
        raise ValueError(f"mode must be 'symlink' or 'copy', not {mode!r}")
    mim_path = osp.join(repo_path, 'adapterx', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        source = osp.join(repo_path, name)
        target = osp.join(mim_path, name)
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        if mode == 'symlink':
            os.symlink(osp.relpath(source, mim_path), target)
        elif osp.isdir(source):
            shutil.copytree(
                source, target,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(source, target)


if __name__ == '__main__':
    if mim_mode(sys.argv[1:]) is not None:
        add_mim_extension(str(HERE), mim_mode(sys.argv[1:]))
    version = {}
    exec((HERE / 'adapterx' / 'version.py').read_text(), version)
    setup(
        name='adapterx',
        version=version['__version__'],
        description='Parameter-efficient adaptation of 2D and 3D vision '
        'transformers (Adapter-X, EWA, partial fine-tuning, ViT merging) on '
        'OpenMMLab',
        long_description=(HERE / 'README.md').read_text(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        # The `.mim` folder (no package: data files only).
        package_data={'adapterx': ['.mim/**/*', '.mim/*']},
        include_package_data=True,
        python_requires='>=3.9',
        # mmpretrain is not listed: its metadata requires `mmcv`, which
        # would make pip build full mmcv from source. Install it with
        # --no-deps (requirements/mmpretrain.txt, done by tools/install.sh).
        install_requires=read_requirements('runtime'),
        extras_require={
            'tests': read_requirements('tests'),
            # mmengine's TensorboardVisBackend and WandbVisBackend (see the
            # README's "Logging to TensorBoard or Weights & Biases").
            'tb': ['tensorboard'],
            'wandb': ['wandb'],
            'dense': read_requirements('dense'),
        },
        license='Apache License 2.0',
    )
