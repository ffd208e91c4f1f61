import torch
from mmengine.dist import all_reduce, broadcast, get_world_size
from mmengine.hooks import Hook

from adapterx.checkpoint.state_dicts import unwrap_model
from adapterx.registry import HOOKS


def find_rank_divergence(module: torch.nn.Module, atol: float = 0.0):
    """Compare every parameter and buffer of ``module`` with rank 0's copy.

    Collective: every rank must call it. Returns the ``(name, max_abs_diff)``
    pairs where this rank differs from rank 0 by more than ``atol``.
    """
    diverged = []
    for name, tensor in module.state_dict().items():
        reference = tensor.detach().clone()
        broadcast(reference, src=0)
        if tensor.is_floating_point():
            difference = (tensor.detach() - reference).abs().max().item()
        else:
            difference = float((tensor != reference).any().item())
        if difference > atol:
            diverged.append((name, difference))
    return diverged


@HOOKS.register_module()
class RankConsistencyHook(Hook):
    """At the end of distributed training, check that every rank holds the
    same weights as rank 0, and fail loudly if not.

    DDP keeps replicas in step only while every rank applies the same
    update; a parameter that one rank freezes and another does not, or a
    buffer updated outside the all-reduce, silently splits them. PeftRunner
    registers this hook in every distributed run.
    """

    priority = 'VERY_LOW'

    def __init__(self, atol: float = 0.0):
        self.atol = atol

    def after_train(self, runner) -> None:
        world_size = get_world_size()
        if world_size == 1:
            return
        model = unwrap_model(runner.model)
        diverged = find_rank_divergence(model, self.atol)
        count = torch.tensor([len(diverged)])
        all_reduce(count)
        if count.item() > 0:
            details = ', '.join(f'{name} (max |diff| {diff:.3g})'
                                for name, diff in diverged[:5])
            raise RuntimeError(
                f'Weights differ between ranks after training: '
                f'{count.item()} tensor(s) in total'
                + (f'; on this rank: {details}' if diverged else ''))
        runner.logger.info(
            f'All {world_size} ranks hold identical weights '
            f'({len(model.state_dict())} tensors checked).')
