import torch.nn as nn


class InjectedModule(nn.Module):
    """Base of the modules a PEFT method adds *inside* a backbone (e.g.
    Adapter-X's per-block adapters).

    The backbone's pretrained checkpoints cannot hold their tensors, so the
    strict pretrained loading (:class:`StrictPretrainedInit`) expects them
    to be missing, and only them.
    """


def injected_tensor_names(module: nn.Module) -> set:
    """State-dict keys of ``module`` that belong to injected modules."""
    names = set()
    for prefix, submodule in module.named_modules():
        if isinstance(submodule, InjectedModule):
            names.update(f'{prefix}.{key}'
                         for key in submodule.state_dict())
    return names
