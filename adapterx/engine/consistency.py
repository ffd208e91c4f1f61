from adapterx.checkpoint.state_dicts import unwrap_model
from adapterx.datasets import VTAB1k
from adapterx.datasets.point_cloud_files import FewestPoints
from adapterx.datasets.point_transforms import ResamplePoints
from adapterx.datasets.vtab1k import resolve_vtab1k_task, vtab1k_task_table
from adapterx.models.backbones import PointGrouper
from adapterx.registry import DATASETS


def check_peft_reaches_model(cfg, model) -> None:
    """Fail before a run starts when a config inherits a PEFT base (which
    sets the top-level ``peft``) but does not hand it to its model.

    The classifiers treat a missing ``peft`` as full fine-tuning, so such a
    config would train every parameter whatever its base names (a
    ``peft`` anywhere in the model, e.g. a dense backbone's, counts). An
    explicit ``model.peft=None`` (a merged checkpoint tested as a plain
    backbone) is a choice and passes.
    """
    if cfg is None or not isinstance(model, dict) or 'peft' not in cfg:
        return
    if not _names_peft(model):
        method = cfg['peft'].get('type') if isinstance(
            cfg['peft'], dict) else cfg['peft']
        raise ValueError(
            f'The config sets peft (type {method!r}, from its PEFT base) but '
            'its model has no peft key, so the model would train every '
            'parameter (full fine-tuning). Hand the method to the model: '
            'model = dict(peft={{_base_.peft}}).')


def _names_peft(config) -> bool:
    # The classifiers take ``peft``; another codebase's model hands it to
    # its backbone (``PeftViTDense``).
    if isinstance(config, dict):
        return 'peft' in config or any(
            _names_peft(value) for value in config.values())
    if isinstance(config, (list, tuple)):
        return any(_names_peft(value) for value in config)
    return False


def check_dataset_fits_model(model, dataset, loop_name: str) -> None:
    """Fail before a run starts when the data cannot go through the model:
    :func:`check_num_classes` and :func:`check_points_per_cloud`."""
    check_num_classes(model, dataset, loop_name)
    check_points_per_cloud(model, dataset, loop_name)


def check_num_classes(model, dataset, loop_name: str) -> None:
    """Fail before a run starts when the model's class count is not the
    dataset's.

    Switching a task on the command line but not the head (or the data
    preprocessor) would otherwise train a head of the wrong size, or fail
    deep inside the loss on the first label out of range.

    Raises:
        ValueError: naming the dataset, both counts and the config keys.
    """
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    if classes is None:
        return
    model = unwrap_model(model)
    expected = len(classes)
    places = {
        'model.head.num_classes': getattr(
            getattr(model, 'head', None), 'num_classes', None),
        'data_preprocessor.num_classes': getattr(
            getattr(model, 'data_preprocessor', None), 'num_classes', None),
    }
    _refuse_other_counts(places, expected,
                         f'The {loop_name} dataset ({type(dataset).__name__}'
                         f'{_describe(dataset)})')


def check_num_classes_in_config(cfg) -> None:
    """Fail before any data is read when a config's class counts
    (``model.head.num_classes``, ``data_preprocessor.num_classes``) are not
    those of the datasets its loaders name.

    A benchmark config takes them from its protocol base; one that
    overrides them (or switches the task or dataset without them) is
    refused here, where :func:`check_num_classes` would only see it once
    the data is read. The class count of a dataset config is its
    ``num_classes`` or ``classes``, else its type's (a VTAB-1k task's from
    the task table, an FGVC dataset's ``NUM_CLASSES``, the ``classes`` of
    its ``METAINFO``); a dataset whose count its config does not fix is
    left to :func:`check_num_classes`.

    Raises:
        ValueError: naming the loader, the dataset, both counts and the
            config keys.
    """
    model = cfg.get('model') or {}
    preprocessor = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or {}
    places = {
        'model.head.num_classes': (model.get('head') or {}).get(
            'num_classes'),
        'data_preprocessor.num_classes': preprocessor.get('num_classes'),
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        expected = _configured_class_count(dataset)
        if expected is not None:
            task = dataset.get('task')
            _refuse_other_counts(
                places, expected, f"{loader}.dataset ({dataset['type']}"
                f"{f', task {task!r}' if task else ''})")


def _configured_class_count(dataset):
    """The class count a dataset config fixes, or None."""
    if not isinstance(dataset, dict):
        return None
    if dataset.get('num_classes') is not None:
        return dataset['num_classes']
    if isinstance(dataset.get('classes'), (list, tuple)):
        return len(dataset['classes'])
    dataset_type = dataset.get('type')
    dataset_class = DATASETS.get(dataset_type) if isinstance(
        dataset_type, str) else dataset_type
    if not isinstance(dataset_class, type):
        return None
    if issubclass(dataset_class, VTAB1k):
        task = dataset.get('task')
        if task is None:
            return None
        # A benchmark in VTAB-1k's layout brings its own task table.
        table = vtab1k_task_table(dataset.get('tasks'))
        return table[resolve_vtab1k_task(task, dataset.get('tasks'))
                     ].num_classes
    if getattr(dataset_class, 'NUM_CLASSES', None) is not None:
        return dataset_class.NUM_CLASSES
    classes = (getattr(dataset_class, 'METAINFO', None) or {}).get('classes')
    return len(classes) if classes else None


def _refuse_other_counts(places, expected, described_dataset) -> None:
    wrong = {key: value for key, value in places.items()
             if value is not None and value != expected}
    if wrong:
        settings = ', '.join(f'{key}={value}' for key, value in wrong.items())
        raise ValueError(
            f'{described_dataset} has {expected} classes, but the config '
            f'sets {settings}. Set them to {expected} (for a VTAB-1k task, '
            'use its config under configs/<method>/ or override the task '
            'and both class counts together).')


def _describe(dataset) -> str:
    task = getattr(dataset, 'task', None)
    return f", task '{task}'" if task else ''


def check_points_per_cloud(model, dataset, loop_name: str) -> None:
    """Fail before a run starts when a cloud reaches the model with fewer
    points than its furthest point sampling and kNN grouping take.

    Otherwise the first batch with such a cloud fails inside the model
    ("cannot sample 32 of 10 points"), naming neither the data nor the
    settings. The count is the dataset's smallest cloud (its
    ``fewest_points``, set by the point-cloud datasets when they load),
    or the last ``ResamplePoints`` of the pipeline, which fixes it.

    Raises:
        ValueError: naming the dataset, the file and key (or setting) the
            count comes from, and the model's settings.
    """
    groupers = [module for module in model.modules()
                if isinstance(module, PointGrouper)]
    if not groupers:
        return
    for leaf in _leaf_datasets(dataset):
        fewest = getattr(leaf, 'fewest_points', None)
        if fewest is None:
            continue
        num_points, source = _points_after(
            getattr(getattr(leaf, 'pipeline', None), 'transforms', ()),
            fewest)
        for grouper in groupers:
            needed = max(grouper.num_groups, grouper.group_size)
            if num_points < needed:
                raise ValueError(
                    f'The {loop_name} dataset ({type(leaf).__name__}) gives '
                    f'the model clouds of {num_points} points ({source}), '
                    'but the model chooses num_groups='
                    f'{grouper.num_groups} centres by furthest point '
                    f'sampling and group_size={grouper.group_size} '
                    'neighbours of each (model.backbone.num_groups and '
                    f'group_size): every cloud needs {needed} points or '
                    'more. Lower those settings, use clouds of more points, '
                    'or add ResamplePoints(num_points=...) to the pipeline, '
                    'which fills small clouds up by repeating points.')


def _leaf_datasets(dataset):
    """``dataset``, or the datasets inside mmengine's dataset wrappers."""
    inner = getattr(dataset, 'datasets', None) or (
        [dataset.dataset] if hasattr(dataset, 'dataset') else None)
    if inner is None:
        return [dataset]
    return [leaf for each in inner for leaf in _leaf_datasets(each)]


def _points_after(transforms, points):
    """``points`` (a ``FewestPoints``) after ``transforms``: a
    ``ResamplePoints`` sets the count; in a test-time augmentation, the
    smallest of its branches counts."""
    for transform in transforms:
        if isinstance(transform, ResamplePoints):
            points = FewestPoints(
                transform.num_points,
                f'ResamplePoints(num_points={transform.num_points}) in the '
                'pipeline')
        elif hasattr(transform, 'transforms'):
            points = _points_after(transform.transforms, points)
        elif hasattr(transform, 'subroutines'):
            points = min(_points_after(branch.transforms, points)
                         for branch in transform.subroutines)
    return points
