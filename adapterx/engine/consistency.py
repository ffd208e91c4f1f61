from mmengine.model import is_model_wrapper


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
    model = model.module if is_model_wrapper(model) else model
    expected = len(classes)
    places = {
        'model.head.num_classes': getattr(
            getattr(model, 'head', None), 'num_classes', None),
        'data_preprocessor.num_classes': getattr(
            getattr(model, 'data_preprocessor', None), 'num_classes', None),
    }
    wrong = {key: value for key, value in places.items()
             if value is not None and value != expected}
    if wrong:
        settings = ', '.join(f'{key}={value}' for key, value in wrong.items())
        raise ValueError(
            f'The {loop_name} dataset ({type(dataset).__name__}'
            f'{_describe(dataset)}) has {expected} classes, but the config '
            f'sets {settings}. Set them to {expected} (for a VTAB-1k task, '
            'use its config under configs/adapterx/vtab/ or override the '
            'task and both class counts together).')


def _describe(dataset) -> str:
    task = getattr(dataset, 'task', None)
    return f", task '{task}'" if task else ''
