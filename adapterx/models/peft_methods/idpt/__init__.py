from .edgeconv_prompt import EdgeConvPromptGenerator
from .idpt import IDPT

__all__ = ['IDPT', 'EdgeConvPromptGenerator']
