"""FacT's factors (arXiv 2212.03145) and their use in one linear layer.

FacT stacks the d x d weight matrices of all blocks into one tensor of
shape (12L, d, d) (per block: W_q, W_k, W_v, W_o and the four d x d pieces
of each of fc1 and fc2) and learns its increment in a factorised form
shared across all of them: the j-th matrix's increment is

    dW_j = s * V M_j U,   U: (r, d), V: (d, r), M_j: (r, r)

- FacT-TT (tensor-train): every M_j is a free r x r core.
- FacT-TK (Tucker): M_j = sum_k C[:, :, k] P[k, j] from one core tensor
  C (r, r, r) and a factor P (r, 12L).

V starts at zero, so dW = 0 and the output is unchanged at step 0.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...peft.reparam import ReparamModule

FACT_MODES = ('tt', 'tk')


class FacTFactors(nn.Module):
    """The shared factors U, V and the cores of all ``num_matrices``
    d x d matrices, for ``mode`` ``'tt'`` or ``'tk'``.

    Init as the paper's code: U and the TT cores like ``nn.Linear`` weights
    (Kaiming-uniform), V zero, the TK core and factor Xavier-uniform.
    """

    def __init__(self, mode: str, embed_dims: int, rank: int,
                 num_matrices: int):
        super().__init__()
        if mode not in FACT_MODES:
            raise ValueError(f'FacT mode must be one of {FACT_MODES}, got '
                             f'{mode!r}')
        if rank < 1:
            raise ValueError(f'FacT rank must be >= 1, got {rank}')
        self.mode = mode
        self.u = nn.Parameter(torch.empty(rank, embed_dims))
        self.v = nn.Parameter(torch.zeros(embed_dims, rank))
        nn.init.kaiming_uniform_(self.u, a=math.sqrt(5))
        if mode == 'tt':
            self.cores = nn.Parameter(torch.empty(num_matrices, rank, rank))
            for core in self.cores:
                nn.init.kaiming_uniform_(core, a=math.sqrt(5))
        else:
            self.core = nn.Parameter(torch.empty(rank, rank, rank))
            self.factor = nn.Parameter(torch.empty(rank, num_matrices))
            nn.init.xavier_uniform_(self.core)
            nn.init.xavier_uniform_(self.factor)

    def middle(self, start: int, end: int) -> torch.Tensor:
        """M_j for j in [start, end): (end - start, r, r)."""
        if self.mode == 'tt':
            return self.cores[start:end]
        return torch.einsum('pqk,kj->jpq', self.core, self.factor[:,
                                                                  start:end])


class FacTIncrement(ReparamModule):
    """FacT's increment of one linear layer whose (out, in) weight is a
    grid of ``out // d`` x ``in // d`` matrices of the stacked tensor, the
    ``start``-th onwards in row-major order.

    The shared :class:`FacTFactors` live in the wrapper (they are
    trained once, whatever the number of layers); this module holds only a
    reference, so it has no tensors of its own.
    """

    def __init__(self, factors: FacTFactors, start: int, grid: tuple,
                 scale: float, dropout: float):
        super().__init__()
        # A tuple hides the shared factors from this module's parameters.
        self._factors = (factors, )
        self.start = start
        self.grid = grid
        self.scale = scale
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def _middles(self):
        rows, cols = self.grid
        middles = self._factors[0].middle(self.start, self.start + rows * cols)
        return middles.view(rows, cols, *middles.shape[1:])

    def forward(self, host_input, host_output):
        factors = self._factors[0]
        rows, cols = self.grid
        # (..., cols, d) -> (..., cols, r) -> (..., rows, r) -> (..., rows, d)
        pieces = host_input.unflatten(-1, (cols, -1))
        projected = F.linear(pieces, factors.u)
        mixed = torch.einsum('...br,abrq->...aq', projected, self._middles())
        delta = F.linear(self.dropout(mixed), factors.v)
        return host_output + self.scale * delta.flatten(-2)

    def delta_weight(self) -> torch.Tensor:
        """The (out, in) increment: block (a, b) is s V M_ab^T U."""
        factors = self._factors[0]
        blocks = torch.einsum('dq,abrq,re->adbe', factors.v, self._middles(),
                              factors.u)
        rows, dims, cols, _ = blocks.shape
        return self.scale * blocks.reshape(rows * dims, cols * dims)

    def merge_into(self, host: nn.Linear) -> None:
        host.weight += self.delta_weight().to(host.weight.dtype)
