from mmengine.hooks import Hook

from adapterx.registry import HOOKS


@HOOKS.register_module()
class PartialFineTuneHook(Hook):
    """The former home of partial fine-tuning's selection, kept so that a
    config written for it fails with the replacement spelled out: the
    selection is now the model's method
    (:class:`~adapterx.models.partial_ft.PartialFineTune`), applied when the
    model is built."""

    def __init__(self, **selection):
        settings = ', '.join(f'{key}={value!r}'
                             for key, value in selection.items()
                             if key in ('strategy', 'units',
                                        'angle_selection'))
        raise ValueError(
            'PartialFineTuneHook was replaced by a method: remove it from '
            "custom_hooks (keep dict(type='ParameterFreezeHook')) and set "
            "model = dict(peft=dict(_delete_=True, type='PartialFineTune', "
            f'{settings or "strategy=..."}))')
