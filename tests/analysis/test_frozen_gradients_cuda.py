"""The profiler check that frozen weights get no gradient, on a GPU under
bfloat16 autocast (how the methods train there): CUDA's backward must
skip the frozen weights' products too."""
import pytest
import torch
from mmengine.config import Config

from adapterx.benchmarking import check_frozen_gradients
from adapterx.benchmarking.model_setup import (build_frozen_model,
                                               synthetic_batch)
from adapterx.utils import register_all_modules
from ..utils import REPO_ROOT

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a GPU')


def cuda_check(config, **options):
    register_all_modules()
    cfg = Config.fromfile(REPO_ROOT / 'configs' / 'tiny' / config)
    cfg.merge_from_dict(options)
    model, _ = build_frozen_model(cfg)
    model.cuda().train()
    # Batch 6: no input gradient (B, 32) has a weight's shape.
    inputs, samples = synthetic_batch((6, 3, 32, 32), 4, 'cuda')

    def loss():
        with torch.autocast('cuda', dtype=torch.bfloat16):
            return model.parse_losses(model(inputs, samples,
                                            mode='loss'))[0]

    return check_frozen_gradients(model, loss)


def test_full_finetuning_forms_every_weight_gradient_on_cuda():
    report = cuda_check('full-finetune_vit-tiny_1xb8-2e_tiny-images.py')
    assert report.trainable_weight_gradients == {
        '96x32': 2, '32x32': 2, '64x32': 2, '32x64': 2, '4x32': 1}


@pytest.mark.parametrize('config, options', [
    ('linear-probe_vit-tiny_1xb8-2e_tiny-images.py', {}),
    ('adapterx_vit-tiny_1xb8-2e_tiny-images.py',
     {'model.peft.bottleneck_dims': 4}),
])
def test_frozen_weights_get_no_gradient_on_cuda(config, options):
    report = cuda_check(config, **options)
    assert report.frozen_weights == 8
    assert report.frozen_weight_gradients == {} == report.ambiguous
    assert report.trainable_weight_gradients
