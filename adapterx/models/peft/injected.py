import torch.nn as nn

from .wrapper import InjectedModule, PeftWrapper


def _joined(prefix: str, name: str) -> str:
    return f'{prefix}.{name}' if prefix else name


def peft_added_modules(module: nn.Module) -> dict:
    """The modules a PEFT method added to ``module``, each with the
    state-dict keys (full names) of its tensors.

    They are the :class:`InjectedModule` instances inside the backbone and
    whatever a :class:`PeftWrapper` holds beside the backbone it wraps
    (e.g. Adapter-X's shared expert pools, FacT's factors): no pretrained
    file of the backbone can hold them.

    Returns:
        dict[str, list[str]]: Module name -> its keys, in
        ``named_modules`` order; a tensor of the wrapper itself is listed
        under its own name.
    """
    added = {}

    def inside_added(name):
        return any(name.startswith(f'{parent}.') for parent in added)

    for name, submodule in module.named_modules():
        if inside_added(name):
            continue
        if isinstance(submodule, InjectedModule):
            added[name] = [
                _joined(name, key) for key in submodule.state_dict()
            ]
        elif isinstance(submodule, PeftWrapper):
            for key in submodule.state_dict():
                owner = key.split('.')[0]
                if owner != 'module':
                    added.setdefault(_joined(name, owner),
                                     []).append(_joined(name, key))
    return added


def injected_tensor_names(module: nn.Module) -> set:
    """State-dict keys of ``module`` that belong to the modules a PEFT
    method added (:func:`peft_added_modules`)."""
    return {
        key
        for keys in peft_added_modules(module).values()
        for key in keys
    }


def added_state_dict(module: nn.Module) -> dict:
    """The tensors of the modules a PEFT method added to ``module``
    (:func:`injected_tensor_names`), under ``module``'s state-dict keys:
    not the backbone tensors a method retrains (Adapter-X's norms), which
    :meth:`~adapterx.models.peft.PeftModel.adapter_state_dict` adds to make
    the set that training changes."""
    added = injected_tensor_names(module)
    return {
        key: value
        for key, value in module.state_dict().items() if key in added
    }
