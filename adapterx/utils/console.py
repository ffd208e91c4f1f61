"""What the tools show on the console: a progress bar with the time left
and the result, and mmengine's INFO messages only on request (``--verbose``;
the log files in the work dirs keep them all)."""
import logging

from mmengine.logging import MMLogger
from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)


# mmengine's warnings about its own internals (its CheckpointHook and
# mmcv's image loading still use FileClient): nothing a user can act on.
MMENGINE_INTERNAL_NOTICES = ('"FileClient" will be deprecated',
                             '"HardDiskBackend" is the alias of')


def without_mmengine_notices(record: logging.LogRecord) -> bool:
    """A logging filter: False for MMENGINE_INTERNAL_NOTICES."""
    return not str(record.msg).startswith(MMENGINE_INTERNAL_NOTICES)


def set_console_level(logger: logging.Logger, level: str) -> None:
    """Raise ``logger``'s console handlers to ``level`` (a level name) and
    drop mmengine's notices about its internals from them; its file
    handlers keep all they log. A handler already stricter (mmengine's
    console on ranks other than 0 shows errors only) stays as it is."""
    number = logging.getLevelName(level)
    if not isinstance(number, int):
        raise ValueError(f'console_log_level={level!r} is not a logging '
                         'level; use DEBUG, INFO, WARNING or ERROR')
    for handler in logger.handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(max(handler.level, number))
            handler.addFilter(without_mmengine_notices)


def quiet_tool_logger(name: str, verbose: bool) -> MMLogger:
    """The current mmengine logger of a tool that builds models without a
    runner (mmengine logs every parameter's initialisation at INFO): its
    console shows warnings and errors only unless ``verbose``."""
    logger = MMLogger.get_instance(name)
    if not verbose:
        set_console_level(logger, 'WARNING')
    return logger


def quiet_runner(cfg, verbose: bool, training: str = None) -> None:
    """Unless ``verbose``, the console of the runner ``cfg`` builds shows
    warnings and errors only, not mmengine's INFO messages (its log file in
    the work dir keeps them), and, given ``training`` (a label, e.g. the
    method), a progress bar of its training."""
    if verbose:
        return
    cfg.console_log_level = 'WARNING'
    if training is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='adapterx.ProgressBarHook', description=training)
        ]


def progress_bar(**options) -> Progress:
    """A rich progress bar: what runs, the bar, steps done of all, time
    spent and time left. ``options`` go to :class:`rich.progress.Progress`.
    Off a terminal (a log file, a pipe) it prints its final state once."""
    return Progress(
        TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn('left'), TimeRemainingColumn(),
        **options)
