from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from torch.utils.hooks import RemovableHandle

from ..peft.reparam import ReparamModule


class ScaleShift(ReparamModule):
    """SSF's per-channel affine map of one layer's output, ``gamma * y +
    beta`` (arXiv 2210.08823). SSF injects it into layers and can fold it
    into their weights; DAPT applies it through forward hooks.

    Args:
        num_channels (int): The layer's output channels.
        channel_dim (int): Where the channels are in the output: -1 for
            linear and norm layers (..., C), 1 for a patch-embedding
            convolution (B, C, H, W).
        init_std (float): gamma ~ N(1, init_std), beta ~ N(0, init_std);
            the paper's code uses 0.02. 0 starts as the identity.
    """

    def __init__(self,
                 num_channels: int,
                 channel_dim: int = -1,
                 init_std: float = 0.02):
        super().__init__()
        self.channel_dim = channel_dim
        self.scale = nn.Parameter(torch.ones(num_channels))
        self.shift = nn.Parameter(torch.zeros(num_channels))
        if init_std > 0:
            nn.init.normal_(self.scale, mean=1.0, std=init_std)
            nn.init.normal_(self.shift, std=init_std)

    def _broadcast(self, tensor, ndim):
        if self.channel_dim == -1:
            return tensor
        shape = [1] * ndim
        shape[self.channel_dim] = -1
        return tensor.view(shape)

    def forward(self, host_input, host_output):
        return (host_output * self._broadcast(self.scale, host_output.ndim) +
                self._broadcast(self.shift, host_output.ndim))

    def merge_blocker(self, host: nn.Module):
        if host.weight is None or host.bias is None:
            return (f'this {type(host).__name__} has no weight and bias to '
                    'take the scale and shift (adding them would change the '
                    "backbone's state-dict keys)")
        return None

    def merge_into(self, host: nn.Module) -> None:
        # gamma * (W x + b) + beta = (gamma W) x + (gamma b + beta): the
        # output channel is the first axis of every host's weight.
        scale = self.scale.to(host.weight.dtype)
        host.weight.mul_(scale.view(-1, *[1] * (host.weight.ndim - 1)))
        host.bias.mul_(scale).add_(self.shift.to(host.bias.dtype))


def _output_dims(module: nn.Module, owner: str) -> int:
    if isinstance(module, nn.Linear):
        return module.out_features
    if isinstance(module, nn.LayerNorm):
        return module.normalized_shape[0]
    out_channels = getattr(module, 'out_channels', None)
    if isinstance(out_channels, int):
        return out_channels
    raise ValueError(f'{owner}: cannot tell the output width of '
                     f'{type(module).__name__} to scale and shift it')


def scale_and_shift_outputs(
        root: nn.Module, paths: Dict[str, str], owner: str
) -> Tuple[Dict[str, ScaleShift], List[RemovableHandle]]:
    """DAPT's way of using :class:`ScaleShift`: one on the output of each
    submodule of ``root`` that ``paths`` names (key -> submodule path),
    applied by a forward hook and never folded into the weights.

    Returns:
        The scale-shifts by key, for the caller to register (so that they
        train), and the hooks' handles, for the caller to remove.
    """
    scale_shifts, handles = {}, []
    for key, path in paths.items():
        try:
            target = root.get_submodule(path)
        except AttributeError as error:
            raise ValueError(
                f'{owner}: {type(root).__name__} has no submodule {path!r} '
                'to scale and shift') from error
        scale_shift = ScaleShift(_output_dims(target, owner))
        scale_shifts[key] = scale_shift
        handles.append(
            target.register_forward_hook(
                lambda module, inputs, output, scale_shift=scale_shift:
                scale_shift(inputs, output)))
    return scale_shifts, handles
