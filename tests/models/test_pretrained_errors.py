"""What ``init_cfg=dict(type='Pretrained', ...)`` says about a file that is
not the module's weights: a runner checkpoint, a prefix the file does not
have (another width: test_strict_pretrained.py)."""
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from ..fixtures import pretrained_adapterx_vit, tiny_mmpretrain_vit


def vit_state():
    torch.manual_seed(7)
    return tiny_mmpretrain_vit().state_dict()


def runner_checkpoint(path, backbone_state):
    """A training run's epoch_N.pth: the whole classifier, with the
    message hub (which plain torch.load(weights_only=True) refuses)."""
    history = HistoryBuffer()
    history.update(0.5)
    torch.save(
        dict(meta=dict(epoch=2),
             state_dict={
                 **{f'backbone.{k}': v for k, v in backbone_state.items()},
                 'head.fc.weight': torch.zeros(3, 32),
             },
             message_hub=dict(log_scalars={'train/loss': history})), path)
    return path


def test_runner_checkpoint_without_prefix_says_how_to_use_it(tmp_path):
    path = runner_checkpoint(tmp_path / 'epoch_2.pth', vit_state())
    with pytest.raises(ValueError) as error:
        pretrained_adapterx_vit(path)
    assert str(error.value) == (
        f"{path} is a runner checkpoint (a training run's epoch_N.pth, the "
        'whole model), not weights of VisionTransformer. To start this '
        "module from the run's backbone, set prefix='backbone.' in its "
        f"init_cfg; to load the whole model, set load_from='{path}' (or "
        f'pass --resume {path} to continue that run).')


def test_runner_checkpoint_with_prefix_loads_its_backbone(tmp_path):
    state = vit_state()
    path = runner_checkpoint(tmp_path / 'epoch_2.pth', state)
    model = pretrained_adapterx_vit(path, prefix='backbone.')
    for key, value in state.items():
        assert torch.equal(model.module.state_dict()[key], value), key


def test_prefix_the_file_lacks_names_its_prefixes(tmp_path):
    path = runner_checkpoint(tmp_path / 'epoch_2.pth', vit_state())
    with pytest.raises(ValueError) as error:
        pretrained_adapterx_vit(path, prefix='encoder')
    assert str(error.value) == (
        f"{path} has no key under the init_cfg prefix 'encoder'; its keys "
        "start with 'backbone.', 'head.'.")
