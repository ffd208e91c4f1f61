from .layers import EdgeConvPromptGenerator, IDPTPrompt
from .model import IDPT

__all__ = ['IDPT', 'IDPTPrompt', 'EdgeConvPromptGenerator']
