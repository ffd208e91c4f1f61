"""What the weight-converter command lines share: their SRC / DST / --trust
arguments and how they write the result."""
from pathlib import Path

import torch


def add_conversion_arguments(parser, src_help: str) -> None:
    """``src``, ``dst`` and ``--trust``."""
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='output .pth')
    parser.add_argument(
        '--trust',
        action='store_true',
        help='allow full unpickling of SRC (can run arbitrary code: only '
        'for files whose origin you trust)')


def save_converted(state_dict: dict, dst) -> str:
    """Write ``{'state_dict': state_dict}`` (tensors only, so it loads under
    ``weights_only=True``) to ``dst``; return a one-line summary."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': state_dict}, dst)
    num_values = sum(tensor.numel() for tensor in state_dict.values())
    return f'wrote {len(state_dict)} tensors ({num_values:,} values) to {dst}'
