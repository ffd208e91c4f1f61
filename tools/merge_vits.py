"""Merge T ViTs fine-tuned on different tasks from one pretrained ViT, and
report accuracy and storage of every method.

    python tools/merge_vits.py CONFIG [--pretrained FILE]
        [--checkpoints CKPT ...] [--m M ...] [--static METHOD ...]
        [--work-dir DIR] [--trust-checkpoint] [--cfg-options k=v ...]

CONFIG (see configs/merging/demo_merge.py) gives:

- ``model``: the classifier architecture (mmpretrain, as for training);
- ``pretrained``: the weights every model was fine-tuned from;
- ``tasks``: per task ``name``, ``checkpoint`` (a runner checkpoint, or a
  trainable-only one whose missing tensors are the pretrained ones; the
  head is the task's own), ``test_data`` (a dataset config) and optionally
  ``gate_data`` (the unlabeled images the gate learns the task from;
  default ``train_data``, the task's training images, never its test set);
- ``merging``: ``static`` methods and their options, ``combine_with`` (the
  static merge behind the dynamic one), ``m`` (list), ``similarity``
  (``metric``, ``source``), ``head_mode`` (``task`` / ``domain``),
  ``routing`` (list of ``sample`` / ``task`` / ``batch``), ``hard``;
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

Every test set and gate pool is streamed through a data loader (datasets
read their files as asked, batch by batch), so memory does not grow with
their sizes.

Writes ``merge_report.{json,md}`` and ``accuracy_vs_storage.png`` to the
work dir (default ``work_dirs/<config name>``).
"""
import argparse
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed
from torch.utils.data import DataLoader
from torchvision.transforms import TrivialAugmentWide

from adapterx.checkpoint.comparison import (align_keys, complete_state,
                                            load_checkpoint_weights)
from adapterx.checkpoint.io import save_weights
from adapterx.evaluation import MergeResult, write_merge_report
from adapterx.models.merging import (GatePool, PreprocessedBatches,
                                     ViTMerger, classifier_logits,
                                     group_parameters, least_similar_units,
                                     train_gate)
from adapterx.registry import DATASETS, MODELS
from adapterx.utils import register_all_modules
from adapterx.utils.tool_args import add_trust_argument


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


def build_architecture(cfg):
    """The classifier, built without loading anything (every parameter is
    passed at each forward)."""
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model_cfg['backbone'] = dict(model_cfg['backbone'], init_cfg=None)
    model = MODELS.build(model_cfg)
    return model.eval()


def load_models(cfg, model, trust):
    """Pretrained parameters and each task's full parameters (a
    trainable-only checkpoint's missing shared tensors are the
    pretrained ones), named as the model names them."""
    names = dict(model.named_parameters())
    pretrained = load_checkpoint_weights(cfg.pretrained, trust=trust)
    pretrained_state = align_keys(pretrained.state_dict, names,
                                  cfg.pretrained)
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
        finetuned.append(state)
    return pretrained_state, finetuned


def build_dataset(cfg, dataset_cfg):
    """A dataset config built, its pipeline defaulting to cfg.pipeline."""
    dataset_cfg = dict(dataset_cfg)
    if 'pipeline' not in dataset_cfg and cfg.get('pipeline') is not None:
        dataset_cfg['pipeline'] = cfg.pipeline
    return DATASETS.build(dataset_cfg)


def evaluation_batches(cfg, model, dataset_cfg):
    """The (preprocessed inputs, labels) batches of a test set, read as
    they are iterated."""
    loader = DataLoader(build_dataset(cfg, dataset_cfg),
                        batch_size=cfg.get('batch_size', 128), shuffle=False,
                        num_workers=cfg.get('num_workers', 0),
                        collate_fn=pseudo_collate)
    return PreprocessedBatches(loader, model.data_preprocessor)


def gate_batches(cfg, model, pool_cap=1000, trivial_augment=True,
                 batch_size=32, seed=0):
    """The gate's shuffled (preprocessed images, task) batches over each
    task's gate_data (default train_data, never the test set), at most
    ``pool_cap`` images a task."""
    pool = GatePool(
        [build_dataset(cfg, task.get('gate_data', task.get('train_data')))
         for task in cfg.tasks], cap=pool_cap,
        augment=TrivialAugmentWide() if trivial_augment else None, seed=seed)
    loader = DataLoader(pool, batch_size=batch_size, shuffle=True,
                        num_workers=cfg.get('num_workers', 0),
                        collate_fn=GatePool.collate,
                        generator=torch.Generator().manual_seed(seed))
    return PreprocessedBatches(loader, model.data_preprocessor)


def check_head_classes(cfg, model, merger, tests):
    """Refuse, before any evaluation, a task whose head scores another
    number of classes than its test set has (its metainfo's ``classes``;
    a dataset without them is not checked): one test image is classified
    with the task's own model to count the head's outputs."""
    for index, (task, batches) in enumerate(zip(cfg.tasks, tests)):
        dataset = batches.loader.dataset
        classes = dataset.metainfo.get('classes')
        if not classes:
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


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_config(args)
    # Components the classifier builds inside itself (an adapterx backbone
    # under mmpretrain's ImageClassifier) are found in the config's scope.
    init_default_scope(cfg.get('default_scope', 'adapterx'))
    os.makedirs(cfg.work_dir, exist_ok=True)
    settings = dict(cfg.merging)
    settings.setdefault('similarity', dict(metric='cosine', source='weights'))
    settings.setdefault('combine_with', 'ties')
    settings.setdefault('head_mode', 'task')
    settings.setdefault('routing', ['sample', 'batch'])
    gate_training = dict(cfg.get('gate_training', {}))
    epochs, lr = gate_training.pop('epochs', 5), gate_training.pop('lr', 1e-3)
    set_random_seed(gate_training.get('seed', 0))
    names = [task['name'] for task in cfg.tasks]
    # Built first: a gate weights file of another architecture is refused
    # before any model is loaded or evaluated.
    gate = MODELS.build(dict(cfg.get('gate', dict(type='TaskGate')),
                             num_tasks=len(names)))

    model = build_architecture(cfg)
    pretrained, finetuned = load_models(cfg, model, args.trust_checkpoint)
    merger = ViTMerger(model, pretrained, finetuned)
    naming = merger.groups.naming
    tests = [evaluation_batches(cfg, model, task['test_data'])
             for task in cfg.tasks]
    check_head_classes(cfg, model, merger, tests)

    results = []

    def evaluate(method, shared_of_task, storage):
        accuracies = {
            name: accuracy(tests[index], lambda inputs, index=index:
                           classifier_logits(
                               model, {**shared_of_task(index),
                                       **merger.head_of(index)},
                               inputs, naming))
            for index, name in enumerate(names)
        }
        results.append(MergeResult(method, accuracies, storage))
        print(f'{method}: {accuracies}', flush=True)

    evaluate('individual', merger.shared_of, merger.individual_storage())
    statics = {}
    for method in settings['static']:
        statics[method] = merger.static(method, **settings.get(method, {}))
        if cfg.get('save_merged', False):
            path = os.path.join(cfg.work_dir, f'{method}.safetensors')
            save_weights(path, statics[method], dict(
                method=method, options=settings.get(method, {}),
                pretrained=cfg.pretrained,
                checkpoints={task['name']: task['checkpoint']
                             for task in cfg.tasks}))
            print(f'{method}: merged model written to {path}')
        evaluate(method, lambda index, state=statics[method]: state,
                 merger.static_storage())

    combined = settings['combine_with']
    if combined not in statics:
        statics[combined] = merger.static(combined,
                                          **settings.get(combined, {}))
    losses = train_gate(gate, gate_batches(cfg, model, **gate_training),
                        epochs=epochs, lr=lr)
    print(f'gate loss per epoch: {[round(loss, 4) for loss in losses]}')

    metric = settings['similarity'].get('metric', 'cosine')
    similarity = merger.similarity(
        metric, settings['similarity'].get('source', 'weights'))
    for m in settings['m']:
        for routing in settings['routing']:
            merged = merger.dynamic(statics[combined], gate, m, similarity,
                                    metric, settings['head_mode'], routing,
                                    settings.get('hard', False))
            scores = [routed_accuracy(merged, tests[index], index,
                                      settings['head_mode'])
                      for index in range(len(names))]
            result = MergeResult(
                'dynamic', dict(zip(names, [score for score, _ in scores])),
                merger.dynamic_storage(merged.merge, gate), m=m,
                routing=routing,
                gate_accuracy=dict(zip(names, [rate for _, rate in scores])),
                dynamic_units=least_similar_units(merger.groups, similarity,
                                                  m, metric))
            results.append(result)
            print(f'{result.label}: {result.accuracies} '
                  f'storage {result.storage:,}', flush=True)

    settings.update(
        pretrained=cfg.pretrained,
        checkpoints={task['name']: task['checkpoint'] for task in cfg.tasks},
        gate=cfg.get('gate', dict(type='TaskGate')),
        gate_training=cfg.get('gate_training', {}), gate_losses=losses,
        metric=metric, source=settings['similarity'].get('source', 'weights'))
    paths = write_merge_report(results, similarity, settings, cfg.work_dir)
    for kind, path in paths.items():
        print(f'{kind} report: {path}')


if __name__ == '__main__':
    main()
