from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt, comments dropped."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines
            if line.split('#')[0].strip()]


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
    include_package_data=True,
    python_requires='>=3.9',
    # mmpretrain is not listed: its metadata requires `mmcv`, which would
    # make pip build full mmcv from source. Install it with --no-deps
    # (requirements/mmpretrain.txt, done by tools/install.sh).
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
