"""Command-line arguments shared by the tools (tools/train.py,
tools/test.py, the soups, converters and deployment tools)."""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

# The dataloaders a config may define, each None or a dict.
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def tool_description(docstring: str) -> str:
    """A tool's ``--help`` description: the first paragraph of its module
    docstring, on one line (its first line alone may stop mid-sentence)."""
    return ' '.join(docstring.strip().split('\n\n')[0].split())


def add_trust_argument(parser, checkpoint_help: str) -> None:
    """--trust-checkpoint: full unpickling of ``checkpoint_help``'s files,
    refused by default (weights-only loading). ``--trust``, the converters'
    former name, is accepted and not shown."""
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help=f'allow full unpickling of {checkpoint_help} if it holds more '
        'than tensors and runner state (can run arbitrary code: only for '
        'files whose origin you trust)')
    parser.add_argument(
        '--trust',
        dest='trust_checkpoint',
        action='store_true',
        help=argparse.SUPPRESS)


def add_verbose_argument(parser) -> None:
    """--verbose: mmengine's INFO messages on the console too."""
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="show mmengine's INFO messages on the console, not only "
        'warnings and errors (the log files in the work dirs hold them '
        'either way)')


def add_dataloader_arguments(parser, persistent_workers: bool) -> None:
    """--no-pin-memory and, for tools whose loaders outlive one pass
    (training), --no-persistent-workers."""
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='set pin_memory=False in every dataloader of the config')
    if persistent_workers:
        parser.add_argument(
            '--no-persistent-workers',
            action='store_true',
            help='set persistent_workers=False in every dataloader of the '
            'config (workers restart each epoch)')


def apply_dataloader_arguments(cfg, args) -> None:
    """What add_dataloader_arguments' flags ask, in every dataloader the
    config defines."""
    settings = {}
    if args.no_pin_memory:
        settings['pin_memory'] = False
    if getattr(args, 'no_persistent_workers', False):
        settings['persistent_workers'] = False
    for name in DATALOADERS:
        if cfg.get(name) is not None:
            cfg[name].update(settings)


def add_non_strict_argument(parser, checkpoint_help: str) -> None:
    """--non-strict: load ``checkpoint_help`` even if it does not fit the
    model (config ``load_strict=False``); for the tools whose runner loads
    it (``load_from``, ``--resume``)."""
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help=f'load {checkpoint_help} even if it does not fit the model '
        '(tensors missing, unexpected or of other shapes): the tensors that '
        'fit load and the rest is logged, as in mmengine (config: '
        'load_strict=False). By default such a file is refused before any '
        'work')


def add_common_arguments(parser, checkpoint_help: str) -> None:
    """--work-dir, --trust-checkpoint, --cfg-options, --launcher and the
    launcher's --local-rank."""
    parser.add_argument('--work-dir', help='directory for logs and outputs')
    add_trust_argument(parser, checkpoint_help)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs merged into the '
        'config (e.g. train_dataloader.batch_size=32; a list as key="[a,b]" '
        'or key=a,b; no spaces)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (dist_train.sh / dist_test.sh pass pytorch, '
        'slurm_train.sh slurm)')
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help="this process's rank on its node, passed by "
        'torch.distributed.launch (torchrun sets LOCAL_RANK instead)')


def parse_common(parser, argv=None):
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_common_arguments(cfg, args):
    """Launcher, work dir (default ``work_dirs/<config name>``), trust and
    strict loading."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    # Only the tools that take --non-strict (add_non_strict_argument).
    if getattr(args, 'non_strict', False):
        cfg.load_strict = False


def build_runner(cfg):
    """adapterx's RUNNERS node finds PeftRunner (and mmengine's Runner)."""
    from mmengine.runner import Runner

    from adapterx.registry import RUNNERS
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(
        cfg)


def finish_distributed() -> None:
    """Wait for every rank, then tear the process group down.

    mmengine never destroys it; a rank that exits while gloo's threads still
    serve its peers can abort at interpreter shutdown ("terminate called
    without an active exception") and fail a run that had finished.
    """
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
