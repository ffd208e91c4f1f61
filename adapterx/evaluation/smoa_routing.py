"""How an Adapter-X model's SMoA routers use their experts on a dataset.

For every router (one per block and placement), over every sub-token it
routes (class token, patch tokens and prompts; each of the H sub-tokens
of the multi-head split counts once):

- ``load``: the share of the top-k assignments each expert receives (sums
  to 1); the experts a sub-token's k most probable choices name, so soft
  routing is counted by its k most probable experts too;
- ``mean_probability``: each expert's mean router probability (sums to 1);
- ``token_entropy``: the mean entropy of a sub-token's router distribution
  (nats, in [0, log N]): 0 when each sub-token is sure of its expert;
- ``load_entropy``: the entropy of ``load`` (in [0, log N]): log N when the
  experts share the sub-tokens evenly, 0 when one takes them all;
- ``balance_loss``: the Switch load-balancing loss the model trains with,
  ``N * sum_n f_n P_n`` (f: share of sub-tokens whose most probable expert
  is n; P: mean probability), over the whole dataset instead of one batch:
  1 for uniform routing, N when one expert takes every sub-token.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import torch
import torch.nn as nn
from torch import Tensor

from adapterx.models.methods.adapterx import AdapterX, AdapterXBlockAdapters
from adapterx.models.modules import SMoA


@dataclass
class RouterStatistics:
    """One router's counts, accumulated over the batches it routed."""
    name: str
    num_experts: int
    top_k: int
    sub_tokens: int = 0
    entropy_sum: float = 0.0
    # Per expert: top-k assignments, top-1 choices, summed probabilities.
    assignments: Tensor = field(init=False)
    top1: Tensor = field(init=False)
    probability_sums: Tensor = field(init=False)

    def __post_init__(self):
        zeros = torch.zeros(self.num_experts, dtype=torch.float64)
        self.assignments = zeros.clone()
        self.top1 = zeros.clone()
        self.probability_sums = zeros.clone()

    def add(self, probs: Tensor) -> None:
        """Count the router probabilities of one forward, (..., N)."""
        flat = probs.detach().reshape(-1, self.num_experts).double().cpu()
        chosen = flat.topk(self.top_k, dim=-1).indices.reshape(-1)
        self.assignments += torch.bincount(
            chosen, minlength=self.num_experts).double()
        self.top1 += torch.bincount(
            flat.argmax(dim=-1), minlength=self.num_experts).double()
        self.probability_sums += flat.sum(dim=0)
        self.entropy_sum += float(-torch.special.xlogy(flat, flat).sum())
        self.sub_tokens += flat.shape[0]

    def _check_counted(self) -> None:
        if not self.sub_tokens:
            raise ValueError(f'Router {self.name} routed no sub-token: no '
                             'forward reached it')

    @property
    def load(self) -> Tensor:
        self._check_counted()
        return self.assignments / self.assignments.sum()

    @property
    def mean_probability(self) -> Tensor:
        self._check_counted()
        return self.probability_sums / self.sub_tokens

    @property
    def token_entropy(self) -> float:
        self._check_counted()
        return self.entropy_sum / self.sub_tokens

    @property
    def load_entropy(self) -> float:
        return float(-torch.special.xlogy(self.load, self.load).sum())

    @property
    def balance_loss(self) -> float:
        self._check_counted()
        return float(self.num_experts * (
            self.top1 / self.sub_tokens * self.mean_probability).sum())

    def as_dict(self) -> dict:
        return dict(
            router=self.name,
            num_experts=self.num_experts,
            top_k=self.top_k,
            sub_tokens=self.sub_tokens,
            load=self.load.tolist(),
            mean_probability=self.mean_probability.tolist(),
            token_entropy=self.token_entropy,
            load_entropy=self.load_entropy,
            max_entropy=math.log(self.num_experts),
            balance_loss=self.balance_loss)


def adapterx_routers(model: nn.Module, source: str) -> Dict[str, SMoA]:
    """The routed SMoAs of the Adapter-X model(s) in ``model``, in depth
    order, named ``block <i> <placement>``.

    Raises:
        ValueError: ``model`` (built from ``source``, for the message) holds
            no Adapter-X blocks, or no SMoA with a router (one-expert
            pools route nothing).
    """
    blocks = [module for module in model.modules()
              if isinstance(module, AdapterXBlockAdapters)]
    if not blocks:
        raise ValueError(
            f'{source} is not an Adapter-X model ({type(model).__name__} '
            "has no AdapterX blocks): routing diagnostics need a model with "
            "peft=dict(type='AdapterX', ...)")
    routers = {}
    for index, block in enumerate(blocks):
        for placement, smoa in (('attn', block.attn_smoa),
                                ('mlp', block.mlp_smoa)):
            if smoa is not None and smoa.router is not None:
                routers[f'block {index} {placement}'] = smoa
    if not routers:
        raise ValueError(
            f'{source}: every Adapter-X pool has one expert, so no token is '
            'routed and there is nothing to diagnose')
    return routers


def balance_loss_weight(model: nn.Module) -> float:
    """The weight the (first) Adapter-X wrapper in ``model`` gives its
    balance loss."""
    return next(module.balance_loss_weight for module in model.modules()
                if isinstance(module, AdapterX))


class RoutingRecorder:
    """Forward hooks on SMoAs that accumulate :class:`RouterStatistics`
    while a ``with`` block runs forwards.

    Args:
        routers (Mapping[str, SMoA]): Name -> routed SMoA (e.g.
            :func:`adapterx_routers`). Each must be called with
            ``return_routing=True``, as Adapter-X's blocks call them.
    """

    def __init__(self, routers: Mapping[str, SMoA]):
        self.routers = dict(routers)
        self.statistics = {
            name: RouterStatistics(name, smoa.router.num_experts,
                                   smoa.router.top_k)
            for name, smoa in self.routers.items()
        }
        self._handles: List = []

    def _hook(self, name: str):
        def record(module, inputs, output):
            if not isinstance(output, tuple):
                raise RuntimeError(
                    f'SMoA {name} was called without return_routing=True: '
                    'its routing cannot be recorded')
            self.statistics[name].add(output[1].probs)
        return record

    def __enter__(self) -> 'RoutingRecorder':
        self._handles = [
            smoa.register_forward_hook(self._hook(name))
            for name, smoa in self.routers.items()
        ]
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def summary(self, weight: Optional[float] = None) -> dict:
        """Every router's statistics and, given the model's balance-loss
        ``weight``, the loss it would add on this data (``weight`` times
        the routers' mean balance loss, as :meth:`AdapterX.\
auxiliary_losses` weighs them)."""
        routers = [stats.as_dict() for stats in self.statistics.values()]
        summary = dict(routers=routers)
        if weight is not None:
            summary['balance_loss_weight'] = weight
            summary['loss_balance'] = weight * sum(
                router['balance_loss'] for router in routers) / len(routers)
        return summary


def plot_routing(summary: dict, path: str, title: str) -> None:
    """A heat map per quantity, router (row) x expert (column): the
    top-k load and the mean router probability, each cell annotated."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    routers = summary['routers']
    names = [router['router'] for router in routers]
    num_experts = max(router['num_experts'] for router in routers)
    panels = (('load', 'top-k load (share of assignments)'),
              ('mean_probability', 'mean router probability'))
    grids = []
    for key, _ in panels:
        grid = torch.full((len(routers), num_experts), float('nan'))
        for row, router in enumerate(routers):
            grid[row, :router['num_experts']] = torch.tensor(router[key])
        grids.append(grid)
    top = max(float(grid.nan_to_num(0).max()) for grid in grids)
    figure, axes = plt.subplots(
        1, 2, figsize=(3.2 + 1.3 * num_experts, 1.2 + 0.42 * len(routers)),
        sharey=True, constrained_layout=True)
    for axis, (_, label), grid in zip(axes, panels, grids):
        image = axis.imshow(grid.numpy(), cmap='viridis', vmin=0, vmax=top,
                            aspect='auto')
        for row in range(grid.shape[0]):
            for column in range(grid.shape[1]):
                value = float(grid[row, column])
                if not math.isnan(value):
                    axis.text(column, row, f'{100 * value:.0f}%',
                              ha='center', va='center', fontsize=8,
                              color='white' if value < top / 2 else 'black')
        axis.set_xticks(range(num_experts),
                        [f'expert {n}' for n in range(num_experts)])
        axis.set_xlabel('expert')
        axis.set_title(label, fontsize=10)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].set_ylabel('router (block, placement)')
    figure.colorbar(image, ax=axes, label='share of sub-tokens / probability')
    figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=120)
    plt.close(figure)
