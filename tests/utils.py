"""Helpers shared by the tests: run the project's tools as a user would."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = REPO_ROOT / 'configs'
TINY_CONFIG = CONFIGS / 'tiny' / 'full-finetune_vit-tiny_1xb8-2e_tiny-images.py'
PEFT_BASES = CONFIGS / '_base_' / 'peft'
# The methods whose configs share a folder with a sibling variant.
METHOD_FOLDERS = dict(fact_tt='fact', fact_tk='fact', vpt_deep='vpt',
                      vpt_shallow='vpt')


def load_tool(path):
    """A tool script (``tools/...``, relative to the repository root)
    imported as a module, to call its functions in-process."""
    path = REPO_ROOT / path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_root_options(data_root):
    """--cfg-options values that point every dataloader at ``data_root``."""
    return [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ]


def method_config(method, setting):
    """The benchmark config of the method of PEFT base ``<method>.py`` for
    ``setting`` (``'vit-b16_8xb8-100e_vtab1k-cifar'``): its folder and its
    prefix, mmpretrain's naming (``fact_tt`` ->
    ``configs/fact/fact-tt_<setting>.py``)."""
    folder = METHOD_FOLDERS.get(method, method)
    return CONFIGS / folder / f"{method.replace('_', '-')}_{setting}.py"


def peft_base(method):
    """The ``peft`` dict of the PEFT base config ``<method>.py``."""
    from mmengine.config import Config
    return Config.fromfile(str(PEFT_BASES / f'{method}.py')).peft.to_dict()


def run_tool(*args, timeout=600):
    """Run a command from the repository root with this interpreter's
    environment; fail the test with the command's output if it fails."""
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    result = subprocess.run([str(arg) for arg in args],
                            cwd=REPO_ROOT,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f'{args} failed:\n{output[-6000:]}'
    return output


def train(config, work_dir, *extra_args, data_root=None):
    options = data_root_options(data_root) if data_root else []
    cfg_options = [arg for arg in extra_args if '=' in arg] + options
    flags = [arg for arg in extra_args if '=' not in arg]
    return run_tool(sys.executable, REPO_ROOT / 'tools' / 'train.py', config,
                    '--work-dir', work_dir, *flags,
                    *(['--cfg-options', *cfg_options] if cfg_options else []))


def tiny_config_with(peft_base, directory):
    """A config in ``directory``: the tiny ViT run with the PEFT base
    ``peft_base`` (a path) in place of full fine-tuning."""
    config = Path(directory) / f'tiny_{Path(peft_base).stem}.py'
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}', "
        f"'{peft_base}']\n"
        'model = dict(peft={{_base_.peft}})\n')
    return config


def build_runner(config, work_dir, data_root, **cfg_options):
    """The runner of ``config`` on the data under ``data_root``, in this
    process."""
    from mmengine.config import Config

    from adapterx.registry import RUNNERS
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(
        dict(option.split('=') for option in data_root_options(data_root)))
    cfg.merge_from_dict(cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    return RUNNERS.build(cfg)


def train_in_process(config, work_dir, data_root, **cfg_options):
    """Train ``config`` on the data under ``data_root`` in this process
    (no interpreter start-up: seconds instead of half a minute on a busy
    machine); returns the runner."""
    runner = build_runner(config, work_dir, data_root, **cfg_options)
    runner.train()
    return runner
