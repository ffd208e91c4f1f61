import torch

from adapterx.models.modules import PromptGenerator
from adapterx.registry import ADAPTERS


def test_one_prompt_per_sample_from_the_mean_adapter_output():
    generator = PromptGenerator(8, act_cfg=None)
    with torch.no_grad():
        generator.gamma.fill_(1.0)
        generator.beta.zero_()
    adapter_out = torch.randn(3, 5, 8)
    prompt = generator(adapter_out)
    assert prompt.shape == (3, 1, 8)
    assert torch.allclose(prompt, adapter_out.mean(dim=1, keepdim=True))


def test_affine_map_after_gelu():
    generator = PromptGenerator(8)
    adapter_out = torch.randn(3, 5, 8)
    expected = torch.nn.functional.gelu(adapter_out).mean(
        1, keepdim=True) * generator.gamma + generator.beta
    assert torch.allclose(generator(adapter_out), expected)


def test_initialisation_near_identity():
    torch.manual_seed(0)
    generator = PromptGenerator(4096)
    assert abs(generator.gamma.mean().item() - 1.0) < 0.005
    assert abs(generator.gamma.std().item() - 0.02) < 0.005
    assert abs(generator.beta.mean().item()) < 0.005


def test_built_from_the_registry():
    generator = ADAPTERS.build(
        dict(type='PromptGenerator', embed_dims=8, act_cfg=None))
    assert isinstance(generator, PromptGenerator)
    assert isinstance(generator.activation, torch.nn.Identity)
    assert generator(torch.randn(2, 3, 8)).shape == (2, 1, 8)
