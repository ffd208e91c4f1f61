"""What the weight-converter command lines share: their SRC / DST /
--trust-checkpoint / --verbose arguments and how they write the result."""
from pathlib import Path

from adapterx.checkpoint.io import check_safetensors_name, save_weights
from adapterx.utils.tool_args import add_trust_argument, add_verbose_argument


def add_conversion_arguments(parser, src_help: str) -> None:
    """``src``, ``dst``, ``--trust-checkpoint`` and ``--verbose``."""
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='output .safetensors')
    add_trust_argument(parser, 'SRC')
    add_verbose_argument(parser)


def save_converted(state_dict: dict, dst, meta: dict) -> str:
    """Write ``state_dict`` to ``dst``, a safetensors file (no pickle),
    ``meta`` (where the weights come from) as its JSON metadata; return a
    one-line summary."""
    dst = Path(dst)
    check_safetensors_name(dst, 'the converted weights (DST)')
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_weights(dst, state_dict, meta)
    num_values = sum(tensor.numel() for tensor in state_dict.values())
    return f'wrote {len(state_dict)} tensors ({num_values:,} values) to {dst}'
