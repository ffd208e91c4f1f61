from typing import List, Optional

from torch import Tensor


class ForwardContext:
    """What the modules a PEFT method added to one backbone hand each other
    during one forward pass. One instance per wrapper, shared by the
    modules; the wrapper resets it at the start of every forward, so after
    a forward it describes that forward alone.

    Attributes:
        prompts (Tensor | None): The prompt tokens (B, P, C) in flight:
            inside a block those in its sequence, between blocks those the
            last block handed on; after the forward, those that left the
            last block (for heads that pool them).
        routings (list[RoutingResult]): The SMoA routings of the forward,
            in the order the SMoAs ran (for the load-balancing loss).
        positions (Tensor | None): The position embeddings (B, G, C) the
            backbone added to its tokens after the prefix, where a method
            needs the tokens without them (IDPT).
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.prompts: Optional[Tensor] = None
        self.routings: List = []
        self.positions: Optional[Tensor] = None
