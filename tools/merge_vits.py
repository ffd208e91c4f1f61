"""Merge T ViTs fine-tuned on different tasks from one pretrained ViT, and
report accuracy and storage of every method.

    python tools/merge_vits.py CONFIG [--pretrained FILE]
        [--checkpoints CKPT ...] [--m M ...] [--static METHOD ...]
        [--work-dir DIR] [--verbose] [--trust-checkpoint]
        [--cfg-options k=v ...]

CONFIG (see configs/merging/demo_merge.py) gives:

- ``model``: the classifier architecture (mmpretrain, as for training);
- ``pretrained``: the weights every model was fine-tuned from (a model
  whose weights are farther from them than ``merging.max_relative_change``
  of their norm, default 0.5, is refused);
- ``tasks``: per task ``name``, ``checkpoint`` (a runner checkpoint, or a
  trainable-only one whose missing tensors are the pretrained ones; the
  head is the task's own and must have as many classes as ``test_data``),
  ``test_data`` (a dataset config) and optionally ``gate_data`` (the
  unlabeled images the gate learns the task from; default ``train_data``,
  the task's training images, never its test set);
- ``merging``: ``static`` methods (:data:`STATIC_MERGES` and the AdaMerging
  variants of :data:`ADAMERGING_METHODS`) and their options (AdaMerging's
  under ``adamerging``: ``steps``, ``lr``, ``init``, ``batch_size``,
  ``density``, ``seed``), ``combine_with`` (the static merge behind the
  dynamic one), ``m`` (list), ``similarity`` (``metric``, ``source``),
  ``head_mode`` (``task`` / ``domain``), ``routing`` (list of ``sample`` /
  ``task`` / ``batch``), ``hard``;
- ``gate`` (a ``TaskGate`` config; a MobileNetV2 gate may start from a
  torchvision weights file, ``pretrained``) and ``gate_training``
  (``epochs``, ``lr``, ``batch_size``, ``seed``, ``pool_cap``: at most this
  many images a task, default 1,000, None for all; ``trivial_augment``:
  TrivialAugmentWide on the gate's images, default True);
- ``batch_size`` (evaluation, default 128) and ``num_workers`` (of every
  loader, default 0);
- ``save_merged`` (default False): also write each static merge's shared
  tensors (the merged model without heads; each task keeps its own head)
  to ``<method>.safetensors`` in the work dir.

AdaMerging learns its coefficients from the tasks' unlabeled TEST images
(the method's test-time protocol; labels are never read); the gate never
sees a test image. Every test set and gate pool is streamed through a data
loader (datasets read their files as asked, batch by batch), so memory
does not grow with their sizes. Bad input (a model fine-tuned from other
weights, a head of another class count than its test data, a data folder
that is not an image-folder layout, a gate file of another architecture,
an unknown method) is refused before any work, naming the file or key.

Prints a progress bar and, at the end, the accuracy table; the full log
goes to ``<work dir>/merge_vits.log`` (``--verbose`` also prints it).
Writes ``merge_report.{json,md}`` and ``accuracy_vs_storage.png`` to the
work dir (default ``work_dirs/<config name>``).
"""
import argparse
import logging
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                           TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table
from torch.utils.data import DataLoader
from torchvision.transforms import TrivialAugmentWide

from adapterx.checkpoint.comparison import (align_keys, complete_state,
                                            load_checkpoint_weights)
from adapterx.checkpoint.io import save_weights
from adapterx.evaluation import MergeResult, write_merge_report
from adapterx.models.merging import (ADAMERGING_METHODS, HEAD_MODES,
                                     ROUTINGS, STATIC_MERGES, GatePool,
                                     PreprocessedBatches, UnlabeledImages,
                                     ViTMerger, classifier_logits,
                                     group_parameters, least_similar_units,
                                     train_gate)
from adapterx.registry import DATASETS, MODELS
from adapterx.utils import register_all_modules
from adapterx.utils.tool_args import add_trust_argument

logger = logging.getLogger('merge_vits')
DEFAULT_MERGING = dict(
    static=['weight_average', 'task_arithmetic', 'ties'],
    combine_with='ties', m=[0], head_mode='task',
    routing=['sample', 'batch'], hard=False, max_relative_change=0.5,
    similarity=dict(metric='cosine', source='weights'))
IMAGE_FOLDER_LAYOUT = ('an image folder: <data_root>/<class name>/<image> '
                       '(one sub-folder of images per class)')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--pretrained', help="overrides cfg.pretrained")
    parser.add_argument('--checkpoints', nargs='+',
                        help="the tasks' fine-tuned checkpoints, in the "
                        "order of cfg.tasks (override theirs)")
    parser.add_argument('--m', type=int, nargs='+',
                        help='overrides cfg.merging.m')
    parser.add_argument('--static', nargs='+',
                        help='overrides cfg.merging.static')
    parser.add_argument('--work-dir')
    parser.add_argument('--verbose', action='store_true',
                        help='print the log (always written to '
                        '<work dir>/merge_vits.log) besides the progress '
                        'bar and the final table')
    add_trust_argument(parser, 'the checkpoints')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def load_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.pretrained:
        cfg.pretrained = args.pretrained
    if args.checkpoints:
        if len(args.checkpoints) != len(cfg.tasks):
            raise ValueError(f'--checkpoints gives {len(args.checkpoints)} '
                             f'files for {len(cfg.tasks)} tasks in '
                             f'{args.config}')
        for task, checkpoint in zip(cfg.tasks, args.checkpoints):
            task['checkpoint'] = checkpoint
    if args.m is not None:
        cfg.merging['m'] = args.m
    if args.static is not None:
        cfg.merging['static'] = args.static
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or os.path.join(
        'work_dirs', os.path.splitext(os.path.basename(args.config))[0])
    for key in ('model', 'pretrained', 'tasks', 'merging'):
        if key not in cfg:
            raise KeyError(f'{args.config} has no {key!r}')
    for index, task in enumerate(cfg.tasks):
        for key in ('name', 'checkpoint', 'test_data'):
            if key not in task:
                raise KeyError(f'{args.config}: tasks[{index}] has no {key!r}')
        if 'gate_data' not in task and 'train_data' not in task:
            raise KeyError(f'{args.config}: tasks[{index}] ({task["name"]}) '
                           "needs 'gate_data' or 'train_data' for the gate")
    return cfg


def merge_settings(cfg) -> dict:
    """``cfg.merging`` over :data:`DEFAULT_MERGING`, its method names,
    routings and head mode checked.

    Raises:
        ValueError: An unknown static method, combined merge, routing or
            head mode (the message names the key and the known values).
    """
    settings = dict(DEFAULT_MERGING, **cfg.merging)
    known = sorted(STATIC_MERGES) + sorted(ADAMERGING_METHODS)
    for key, methods in (('static', settings['static']),
                         ('combine_with', [settings['combine_with']])):
        unknown = [method for method in methods if method not in known]
        if unknown:
            raise ValueError(f'merging.{key}: unknown merges {unknown}; '
                             f'known: {known}')
    unknown = [routing for routing in settings['routing']
               if routing not in ROUTINGS]
    if unknown:
        raise ValueError(f'merging.routing: unknown {unknown}; known: '
                         f'{list(ROUTINGS)}')
    if settings['head_mode'] not in HEAD_MODES:
        raise ValueError(f"merging.head_mode={settings['head_mode']!r}; "
                         f'known: {list(HEAD_MODES)}')
    return settings


def setup_logging(work_dir: str, verbose: bool, console: Console) -> str:
    """The full log to ``work_dir/merge_vits.log``; on the console
    warnings only, or everything with ``verbose``. Returns the log path."""
    path = os.path.join(work_dir, 'merge_vits.log')
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers.clear()
    to_file = logging.FileHandler(path, mode='w')
    to_file.setFormatter(logging.Formatter('%(asctime)s %(levelname)s '
                                           '%(message)s'))
    to_console = RichHandler(console=console, show_path=False,
                             show_time=False)
    to_console.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.addHandler(to_file)
    logger.addHandler(to_console)
    return path


class Counted:
    """Re-iterable ``batches`` that call ``advance()`` as each batch is
    read."""

    def __init__(self, batches, advance):
        self.batches = batches
        self.advance = advance

    def __iter__(self):
        for batch in self.batches:
            self.advance()
            yield batch

    def __len__(self):
        return len(self.batches)


class StageProgress:
    """A rich progress display: the current stage's bar and an overall bar
    over the whole run's batches, each with its time remaining."""

    def __init__(self, console: Console, total: int):
        self.display = Progress(
            TextColumn('{task.description:<34}'), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn('ETA'),
            TimeRemainingColumn(), console=console, transient=True)
        self.overall = self.display.add_task('all stages', total=total)
        self.current = None

    def __enter__(self):
        self.display.__enter__()
        return self

    def __exit__(self, *exc):
        return self.display.__exit__(*exc)

    def stage(self, description: str, total: int):
        """Start a stage of ``total`` batches; returns its advance()."""
        if self.current is not None:
            self.display.remove_task(self.current)
        self.current = self.display.add_task(description, total=total)
        current = self.current

        def advance():
            self.display.advance(current)
            self.display.advance(self.overall)

        return advance


def build_architecture(cfg):
    """The classifier, built without loading anything (every parameter is
    passed at each forward)."""
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model_cfg['backbone'] = dict(model_cfg['backbone'], init_cfg=None)
    model = MODELS.build(model_cfg)
    return model.eval()


def in_model_dtypes(state, names):
    """``state`` in the dtypes of the model's parameters ``names``: a
    file stored in half precision (the demo's fractal backbone) merges
    and runs in the model's precision, as ``load_state_dict`` would copy
    it; mixing dtypes would fail at the first forward."""
    return {name: value.to(names[name].dtype) if name in names else value
            for name, value in state.items()}


def load_models(cfg, model, trust):
    """Pretrained parameters and each task's full parameters (a
    trainable-only checkpoint's missing shared tensors are the
    pretrained ones), named as the model names them and in its dtypes."""
    names = dict(model.named_parameters())
    pretrained = load_checkpoint_weights(cfg.pretrained, trust=trust)
    pretrained_state = in_model_dtypes(
        align_keys(pretrained.state_dict, names, cfg.pretrained), names)
    heads = list(group_parameters(names).head)
    shared = [name for name in names if name not in heads]
    missing = [name for name in shared if name not in pretrained_state]
    if missing:
        raise ValueError(f'{cfg.pretrained} lacks {len(missing)} backbone '
                         f'tensors of the model, e.g. {missing[:5]}')
    finetuned = []
    for task in cfg.tasks:
        weights = load_checkpoint_weights(task['checkpoint'], trust=trust)
        state = complete_state(weights, pretrained_state, shared)
        absent = [name for name in heads if name not in weights.state_dict]
        if absent:
            raise ValueError(f"{task['checkpoint']} (task {task['name']}) "
                             f'has no head tensors {absent}')
        state.update({name: weights.state_dict[name] for name in heads})
        finetuned.append(in_model_dtypes(state, names))
    return pretrained_state, finetuned


def build_dataset(cfg, task, key):
    """``task[key]`` (a dataset config) built, its pipeline defaulting to
    cfg.pipeline.

    Raises:
        ValueError: The dataset cannot be read (a missing folder, or one
            without a sub-folder of images per class); the message names
            the task, the key, the folder and the layout expected.
    """
    dataset_cfg = dict(task[key])
    if 'pipeline' not in dataset_cfg and cfg.get('pipeline') is not None:
        dataset_cfg['pipeline'] = cfg.pipeline
    try:
        return DATASETS.build(dataset_cfg)
    except (FileNotFoundError, RuntimeError) as error:
        where = dataset_cfg.get('data_root', dataset_cfg.get('ann_file'))
        raise ValueError(
            f"Task {task['name']}: its {key} ({dataset_cfg.get('type')} at "
            f'{where}) cannot be read: {error}. Expected '
            f'{IMAGE_FOLDER_LAYOUT}, or the layout its dataset type '
            'reads') from error


def check_heads_share_labels(cfg, merger):
    """Domain merging mixes the heads: they need one shape.

    Raises:
        ValueError: Naming the checkpoints and their head shapes.
    """
    shapes = {task['checkpoint']: [tuple(value.shape) for value in
                                   merger.head_of(index).values()]
              for index, task in enumerate(cfg.tasks)}
    if any(shape != shapes[cfg.tasks[0]['checkpoint']]
           for shape in shapes.values()):
        raise ValueError(f"merging.head_mode='domain' mixes the heads, which "
                         f'needs one label space; the heads differ: {shapes}. '
                         "Use head_mode='task' for tasks with their own "
                         'labels')


def evaluation_batches(cfg, model, dataset, shuffle=False, batch_size=None,
                       seed=0):
    """The (preprocessed inputs, labels) batches of a test set, read as
    they are iterated."""
    loader = DataLoader(dataset,
                        batch_size=batch_size or cfg.get('batch_size', 128),
                        shuffle=shuffle,
                        num_workers=cfg.get('num_workers', 0),
                        collate_fn=pseudo_collate,
                        generator=torch.Generator().manual_seed(seed))
    return PreprocessedBatches(loader, model.data_preprocessor)


def gate_batches(cfg, model, datasets, pool_cap=1000, trivial_augment=True,
                 batch_size=32, seed=0):
    """The gate's shuffled (preprocessed images, task) batches over each
    task's gate_data (default train_data, never the test set), at most
    ``pool_cap`` images a task."""
    pool = GatePool(
        datasets, cap=pool_cap,
        augment=TrivialAugmentWide() if trivial_augment else None, seed=seed)
    loader = DataLoader(pool, batch_size=batch_size, shuffle=True,
                        num_workers=cfg.get('num_workers', 0),
                        collate_fn=GatePool.collate,
                        generator=torch.Generator().manual_seed(seed))
    return PreprocessedBatches(loader, model.data_preprocessor)


def check_head_classes(cfg, model, merger, test_sets):
    """Refuse, before any work, a task whose head scores another number of
    classes than its test data has (its metainfo's ``classes``; a dataset
    without them is not checked, with a warning): one test image is
    classified with the task's own model to count the head's outputs,
    whatever the head's layout.

    Raises:
        ValueError: Naming the task, the checkpoint and both counts.
    """
    for index, (task, dataset) in enumerate(zip(cfg.tasks, test_sets)):
        classes = (dataset.metainfo or {}).get('classes')
        if not classes:
            logger.warning('Task %s: its test data names no classes; the '
                           "head's class count is not checked", task['name'])
            continue
        data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
        with torch.no_grad():
            logits = classifier_logits(
                model, {**merger.shared_of(index), **merger.head_of(index)},
                data['inputs'], merger.groups.naming)
        if logits.shape[1] != len(classes):
            raise ValueError(
                f"Task {task['name']}: the head of {task['checkpoint']} "
                f'scores {logits.shape[1]} classes, but its test data '
                f"({task['test_data']['type']}) has {len(classes)}: the "
                "checkpoint's head is another task's, or the data is")


def percent(correct, total):
    return 100.0 * correct / max(total, 1)


def accuracy(batches, logits_of):
    correct = total = 0
    for inputs, labels in batches:
        with torch.no_grad():
            correct += int((logits_of(inputs).argmax(1) == labels).sum())
        total += len(labels)
    return percent(correct, total)


def routed_accuracy(merged, batches, task, head_mode):
    """Accuracy of a dynamic merge on task ``task``'s test batches, and how
    often the routed task is ``task``; under task merging a sample routed
    to another task's head is wrong."""
    correct = routed = total = 0
    for inputs, labels in batches:
        prediction = merged(inputs)
        right = prediction.logits.argmax(1) == labels
        on_task = prediction.tasks == task
        if head_mode == 'task':
            right &= on_task
        correct += int(right.sum())
        routed += int(on_task.sum())
        total += len(labels)
    return percent(correct, total), percent(routed, total)


def results_table(results, names) -> Table:
    """The report's accuracy table, 2 decimals."""
    table = Table(title='Accuracy (%) per task and storage')
    for column in ['method', *names, 'mean', 'storage (params)',
                   'x individual']:
        table.add_column(column, justify='left' if column == 'method'
                         else 'right')
    individual = next(result.storage for result in results
                      if result.method == 'individual')
    for result in results:
        table.add_row(result.label,
                      *[f'{result.accuracies[name]:.2f}' for name in names],
                      f'{result.mean:.2f}', f'{result.storage:,}',
                      f'{result.storage / individual:.2f}')
    return table


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_config(args)
    settings = merge_settings(cfg)
    # Components the classifier builds inside itself (an adapterx backbone
    # under mmpretrain's ImageClassifier) are found in the config's scope.
    init_default_scope(cfg.get('default_scope', 'adapterx'))
    os.makedirs(cfg.work_dir, exist_ok=True)
    console = Console(stderr=True)
    log_path = setup_logging(cfg.work_dir, args.verbose, console)
    logger.info('config %s, work dir %s', args.config, cfg.work_dir)
    gate_training = dict(cfg.get('gate_training', {}))
    epochs, lr = gate_training.pop('epochs', 5), gate_training.pop('lr', 1e-3)
    set_random_seed(gate_training.get('seed', 0))
    names = [task['name'] for task in cfg.tasks]
    # Everything that can be refused is checked before any work, the gate
    # first: a gate file of another architecture is refused before any
    # model is read.
    gate = MODELS.build(dict(cfg.get('gate', dict(type='TaskGate')),
                             num_tasks=len(names)))
    model = build_architecture(cfg)
    pretrained, finetuned = load_models(cfg, model, args.trust_checkpoint)
    merger = ViTMerger(model, pretrained, finetuned,
                       labels=[task['checkpoint'] for task in cfg.tasks],
                       max_relative_change=settings['max_relative_change'])
    logger.info('relative change from the pretrained weights: %s', {
        name: round(change, 4)
        for name, change in zip(names, merger.relative_changes)})
    blocks = len(merger.groups.units_of('attention'))
    if not all(0 <= m <= blocks for m in settings['m']):
        raise ValueError(f"merging.m={settings['m']}: each m must be "
                         f'between 0 and the model\'s {blocks} blocks')
    if settings['head_mode'] == 'domain':
        check_heads_share_labels(cfg, merger)
    test_sets = [build_dataset(cfg, task, 'test_data') for task in cfg.tasks]
    check_head_classes(cfg, model, merger, test_sets)
    tests = [evaluation_batches(cfg, model, dataset) for dataset in test_sets]
    adamerging = dict(settings.get('adamerging', {}))
    ada_batch_size = adamerging.pop('batch_size', 16)
    ada_seed = adamerging.pop('seed', 0)
    adamerging.setdefault('steps', 100)
    # Without a dynamic merge the gate would route nothing: neither it nor
    # the static merge behind a dynamic one is made.
    dynamic_merges = bool(settings['m'])
    gate_loader = []
    if dynamic_merges:
        gate_sets = [build_dataset(cfg, task, 'gate_data' if 'gate_data'
                                   in task else 'train_data')
                     for task in cfg.tasks]
        gate_loader = gate_batches(cfg, model, gate_sets, **gate_training)

    statics = list(settings['static'])
    if dynamic_merges and settings['combine_with'] not in statics:
        statics.append(settings['combine_with'])
    evaluation = sum(len(batches) for batches in tests)
    runs = len(settings['m']) * len(settings['routing'])
    total = evaluation * (1 + len(settings['static']) + runs) + sum(
        (adamerging['steps'] + 1) * len(names) for method in statics
        if method in ADAMERGING_METHODS) + epochs * len(gate_loader)

    results = []
    with StageProgress(console, total) as progress:

        def evaluate(method, shared_of_task, storage, **extra):
            advance = progress.stage(method, evaluation)
            accuracies = {
                name: accuracy(Counted(tests[index], advance),
                               lambda inputs, index=index: classifier_logits(
                                   model, {**shared_of_task(index),
                                           **merger.head_of(index)},
                                   inputs, merger.groups.naming))
                for index, name in enumerate(names)
            }
            results.append(MergeResult(method, accuracies, storage, **extra))
            logger.info('%s: %s', method, accuracies)

        def merge(method):
            if method in STATIC_MERGES:
                return merger.static(method, **settings.get(method, {})), {}
            granularity, plus = ADAMERGING_METHODS[method]
            advance = progress.stage(method, (adamerging['steps'] + 1) *
                                     len(names))
            # The method's protocol: the test images, never their labels.
            images = [Counted(UnlabeledImages(evaluation_batches(
                cfg, model, dataset, shuffle=True,
                batch_size=ada_batch_size, seed=ada_seed + index)), advance)
                      for index, dataset in enumerate(test_sets)]
            learned = merger.adamerging(images, granularity, plus,
                                        **adamerging)
            logger.info('%s: entropy %.4f -> %.4f, coefficients per task '
                        '(mean over tensors) %s', method,
                        learned.entropies[0], learned.entropies[-1],
                        learned.coefficients.mean(1).tolist())
            return learned.merged, dict(
                entropies=learned.entropies,
                coefficients=dict(zip(names, learned.coefficients.mean(
                    1).tolist())))

        evaluate('individual', merger.shared_of, merger.individual_storage())
        merged, saved = {}, {}
        for method in statics:
            merged[method], extra = merge(method)
            if method in settings['static']:
                if cfg.get('save_merged', False):
                    saved[method] = os.path.join(cfg.work_dir,
                                                 f'{method}.safetensors')
                    save_weights(saved[method], merged[method], dict(
                        method=method, options=settings.get(method, {}),
                        pretrained=cfg.pretrained,
                        checkpoints={task['name']: task['checkpoint']
                                     for task in cfg.tasks}))
                    logger.info('%s: merged model written to %s', method,
                                saved[method])
                evaluate(method, lambda index, state=merged[method]: state,
                         merger.static_storage(), **extra)

        losses = []
        if dynamic_merges:
            advance = progress.stage('gate', epochs * len(gate_loader))
            losses = train_gate(gate, Counted(gate_loader, advance),
                                epochs=epochs, lr=lr)
            logger.info('gate loss per epoch: %s',
                        [round(loss, 4) for loss in losses])

        metric = settings['similarity'].get('metric', 'cosine')
        similarity = merger.similarity(
            metric, settings['similarity'].get('source', 'weights'))
        for m in settings['m']:
            for routing in settings['routing']:
                dynamic = merger.dynamic(
                    merged[settings['combine_with']], gate, m, similarity,
                    metric, settings['head_mode'], routing,
                    settings['hard'])
                advance = progress.stage(f'dynamic m={m} ({routing})',
                                         evaluation)
                scores = [routed_accuracy(dynamic, Counted(tests[index],
                                                           advance),
                                          index, settings['head_mode'])
                          for index in range(len(names))]
                result = MergeResult(
                    'dynamic',
                    dict(zip(names, [score for score, _ in scores])),
                    merger.dynamic_storage(dynamic.merge, gate), m=m,
                    routing=routing,
                    gate_accuracy=dict(zip(names,
                                           [rate for _, rate in scores])),
                    dynamic_units=least_similar_units(
                        merger.groups, similarity, m, metric))
                results.append(result)
                logger.info('%s: %s storage %s', result.label,
                            result.accuracies, f'{result.storage:,}')

    settings.update(
        pretrained=cfg.pretrained,
        checkpoints={task['name']: task['checkpoint'] for task in cfg.tasks},
        relative_changes=dict(zip(names, merger.relative_changes)),
        gate=cfg.get('gate', dict(type='TaskGate')),
        gate_training=cfg.get('gate_training', {}), gate_losses=losses,
        metric=metric, source=settings['similarity'].get('source', 'weights'))
    paths = write_merge_report(results, similarity, settings, cfg.work_dir)
    table = results_table(results, names)
    output = Console()
    if not output.is_terminal:
        # A file or pipe: the table at its natural width, not folded to 80
        # columns.
        output = Console(width=10_000)
    output.print(table)
    for method, path in saved.items():
        output.print(f'{method}: merged model written to {path}',
                     soft_wrap=True)
    for kind, path in dict(paths, log=log_path).items():
        output.print(f'{kind} report: {path}' if kind != 'log'
                     else f'log: {path}', soft_wrap=True)


if __name__ == '__main__':
    main()
