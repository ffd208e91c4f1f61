"""Zero-shot heads from CLIP's text tower: the tower computes what
transformers' CLIP computes from the same weights, the head rows follow
task arithmetic's recipe, and the two converter tools make the files a
merge config reads."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from adapterx.checkpoint.io import load_safetensors, save_weights
from adapterx.models.clip_text import (CLIPTextEncoder, fill_template,
                                       load_clip_tokenizer, tokenize,
                                       zero_shot_weights)
from adapterx.registry import MODELS
from tests.utils import load_tool
from .clip_reference import (EMBED_DIMS, TEXT, TINY_VOCAB_SIZE, VISION,
                             hf_text_model, hf_vision_model,
                             random_clip_state, write_tiny_tokenizer)

EOS = TINY_VOCAB_SIZE - 1


@pytest.fixture(scope='module')
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tokenizer')
    write_tiny_tokenizer(folder)
    return load_clip_tokenizer(folder)


def heads_tool():
    return load_tool('tools/model_converters/clip_zeroshot_heads.py')


def converter_tool():
    return load_tool('tools/model_converters/clip_to_mmpretrain.py')


def test_tokens_are_start_text_end_then_zeros(tokenizer):
    ids = tokenize(tokenizer, ['a photo.', 'ab'], TEXT['context'])
    assert ids.shape == (2, TEXT['context'])
    vocab = tokenizer.get_vocab()
    assert ids[1, :4].tolist() == [EOS - 1, vocab['a'], vocab['b</w>'], EOS]
    # 'photo' is 'ph' (a merge), 'o', 't', 'o</w>'; then '.</w>'.
    assert ids[0, :8].tolist() == [
        EOS - 1, vocab['a</w>'], vocab['ph'], vocab['o'], vocab['t'],
        vocab['o</w>'], vocab['.</w>'], EOS]
    assert ids[:, 8:].eq(0).all()
    # One token a character here, but for the start and end tokens.
    prompt = 'a prompt much too long for the small context'
    with pytest.raises(ValueError, match=f"'{prompt}' is 38 tokens long, "
                       "over the text tower's context of 32"):
        tokenize(tokenizer, [prompt], TEXT['context'])


@pytest.mark.parametrize('activation', ['quick_gelu', 'gelu'])
def test_the_text_tower_computes_clips_text_feature(tokenizer, activation):
    state = random_clip_state()
    encoder = CLIPTextEncoder.from_state_dict(state, heads=TEXT['heads'],
                                              activation=activation)
    ids = tokenize(tokenizer, ['a photo of a', 'cat.', '"7"'],
                   TEXT['context'])
    with torch.no_grad():
        ours = encoder(ids)
        reference = hf_text_model(state, EOS, activation)(
            input_ids=ids).text_embeds
        # Without the causal mask the features would change.
        encoder.causal_mask.zero_()
        unmasked = encoder(ids)
    assert ours.shape == (3, EMBED_DIMS)
    torch.testing.assert_close(ours, reference, atol=2e-5, rtol=1e-5)
    assert (ours - unmasked).abs().max() > 1e-3


def test_a_state_dict_without_text_tower_or_of_another_layout_is_refused():
    state = random_clip_state()
    with pytest.raises(ValueError, match='tower.pth holds no CLIP text '
                       'tower.*not an image tower'):
        CLIPTextEncoder.from_state_dict(
            {key: value for key, value in state.items()
             if key.startswith('visual.')}, source='tower.pth')
    del state['ln_final.bias']
    with pytest.raises(ValueError, match=r"clip.pth: .*missing: "
                       r"\['ln_final.bias'\]"):
        CLIPTextEncoder.from_state_dict(state, heads=4, source='clip.pth')
    state = random_clip_state()
    state['transformer.resblocks.0.ls_1.gamma'] = torch.ones(TEXT['width'])
    with pytest.raises(ValueError, match=r"unknown: "
                       r"\['transformer.resblocks.0.ls_1.gamma'\]"):
        CLIPTextEncoder.from_state_dict(state, heads=4)
    state = random_clip_state()
    state['text_projection.weight'] = state.pop('text_projection').T
    with pytest.raises(ValueError, match=r"missing: \['text_projection'\]"):
        CLIPTextEncoder.from_state_dict(state, heads=4)
    with pytest.raises(ValueError, match='5 heads do not divide'):
        CLIPTextEncoder.from_state_dict(random_clip_state(), heads=5)


def test_ids_outside_the_vocabulary_are_refused():
    encoder = CLIPTextEncoder.from_state_dict(random_clip_state(), heads=4)
    ids = torch.zeros(1, TEXT['context'], dtype=torch.long)
    ids[0, 0] = TINY_VOCAB_SIZE
    with pytest.raises(ValueError, match=f'Token id {TINY_VOCAB_SIZE} is '
                       f'outside .* vocabulary of {TINY_VOCAB_SIZE}'):
        encoder(ids)


def test_head_rows_are_scaled_normalised_means_of_normalised_prompts():
    features = {'a x': torch.tensor([3., 0.]), 'b x': torch.tensor([0., 1.]),
                'a y': torch.tensor([1., 1.]), 'b y': torch.tensor([-2., 0.])}

    def encode(texts):
        return torch.stack([features[text] for text in texts])

    weight = zero_shot_weights(encode, ['x', 'y'], ['a {}', 'b {}'],
                               torch.tensor(2.0))
    # x: mean of (1, 0) and (0, 1); y: mean of (0.71, 0.71) and (-1, 0).
    expected = torch.stack([
        F.normalize(torch.tensor([0.5, 0.5]), dim=0),
        F.normalize(torch.tensor([(2**-0.5 - 1) / 2, 2**-0.5 / 2]), dim=0),
    ]) * torch.tensor(2.0).exp()
    torch.testing.assert_close(weight, expected)
    with pytest.raises(ValueError, match="'a photo' must hold exactly one"):
        fill_template('a photo', 'cat')


def write_task(root, task, classes, templates=None):
    folder = root / task
    folder.mkdir(parents=True)
    (folder / 'classnames.txt').write_text(
        ''.join(f'{folder_name}\t{name}\n' for folder_name, name in classes))
    if templates is not None:
        (folder / 'templates.txt').write_text('\n'.join(templates) + '\n')


@pytest.fixture
def clip_file(tmp_path):
    state = random_clip_state()
    path = tmp_path / 'clip.safetensors'
    save_weights(path, state)
    return state, path


def test_the_heads_tool_writes_one_head_per_task(tmp_path, clip_file,
                                                  tokenizer):
    state, clip_path = clip_file
    write_tiny_tokenizer(tmp_path / 'tokenizer')
    root = tmp_path / 'data'
    write_task(root, 'MNIST', [(str(digit), str(digit)) for digit in (0, 1)])
    write_task(root, 'shapes', [('sq', 'square'), ('ci', 'circle'),
                                ('tr', 'triangle')], ['a {}.', 'the {}!'])
    heads_tool().main([str(clip_path), str(tmp_path / 'heads'),
                       '--tokenizer', str(tmp_path / 'tokenizer'),
                       '--data-root', str(root), '--tasks', 'MNIST',
                       'shapes', '--text-heads', str(TEXT['heads'])])
    reference = hf_text_model(state, EOS)

    def expected(class_names, templates):
        rows = []
        for name in class_names:
            ids = tokenize(tokenizer, [template.replace('{}', name)
                                       for template in templates],
                           TEXT['context'])
            with torch.no_grad():
                text = reference(input_ids=ids).text_embeds
            rows.append(F.normalize(F.normalize(text, dim=-1).mean(0),
                                    dim=0))
        return state['logit_scale'].exp() * torch.stack(rows)

    for task, class_names, templates in [
            ('MNIST', ['0', '1'], ['a photo of the number: "{}".']),
            ('shapes', ['square', 'circle', 'triangle'], ['a {}.',
                                                          'the {}!'])]:
        written = load_safetensors(tmp_path / 'heads' / f'{task}.safetensors')
        assert list(written['state_dict']) == ['head.fc.weight']
        assert written['meta']['classes'] == class_names
        assert written['meta']['templates'] == templates
        torch.testing.assert_close(written['state_dict']['head.fc.weight'],
                                   expected(class_names, templates),
                                   atol=2e-5, rtol=1e-5)


def test_the_heads_tool_checks_every_task_folder_before_loading(tmp_path):
    root = tmp_path / 'data'
    write_task(root, 'EuroSAT', [('AnnualCrop', 'annual crop land')])
    (root / 'DTD').mkdir()
    arguments = [str(tmp_path / 'absent.pth'), str(tmp_path / 'heads'),
                 '--tokenizer', str(tmp_path), '--data-root', str(root)]
    with pytest.raises(FileNotFoundError,
                       match=f'class list {root}/DTD/classnames.txt does '
                       'not exist'):
        heads_tool().main(arguments + ['--tasks', 'EuroSAT', 'DTD'])
    write_task(root, 'mine', [('a', 'b')])
    with pytest.raises(KeyError, match=f"'mine' is not one of the eight "
                       f'.*{root}/mine/templates.txt'):
        heads_tool().main(arguments + ['--tasks', 'mine'])
    with pytest.raises(FileNotFoundError, match='lacks.*vocab.json'):
        heads_tool().main(arguments + ['--tasks', 'EuroSAT'])


def test_a_converted_task_checkpoint_classifies_as_clip_does(tmp_path,
                                                             clip_file):
    state, clip_path = clip_file
    text = torch.randn(4, EMBED_DIMS)
    head = state['logit_scale'].exp() * F.normalize(text, dim=-1)
    save_weights(tmp_path / 'head.safetensors', {'head.fc.weight': head})
    converter_tool().main([str(clip_path), str(tmp_path / 'task.safetensors'),
                           '--head', str(tmp_path / 'head.safetensors')])
    init_default_scope('adapterx')
    model = MODELS.build(dict(
        type='PeftImageClassifier',
        backbone=dict(
            type='CLIPVisionTransformer',
            arch=dict(embed_dims=VISION['width'],
                      num_layers=VISION['layers'],
                      num_heads=VISION['heads'],
                      feedforward_channels=4 * VISION['width']),
            img_size=VISION['image_size'], patch_size=VISION['patch'],
            output_dims=EMBED_DIMS),
        head=dict(type='ZeroShotClsHead', num_classes=4,
                  in_channels=EMBED_DIMS)))
    converted = load_safetensors(tmp_path / 'task.safetensors')
    model.load_state_dict(converted['state_dict'], strict=True)
    model.eval()
    inputs = torch.randn(2, 3, VISION['image_size'], VISION['image_size'])
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
        image = hf_vision_model(state)(pixel_values=inputs).image_embeds
    expected = state['logit_scale'].exp() * F.cosine_similarity(
        image[:, None], text[None], dim=-1)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-5)
    assert converted['meta']['head'] == str(tmp_path / 'head.safetensors')


def test_a_head_of_another_width_is_refused(tmp_path, clip_file):
    _, clip_path = clip_file
    save_weights(tmp_path / 'head.safetensors',
                 {'head.fc.weight': torch.zeros(4, EMBED_DIMS + 1)})
    with pytest.raises(ValueError, match=f"another width than the image "
                       f"tower's {EMBED_DIMS}"):
        converter_tool().main([str(clip_path), str(tmp_path / 'out.safetensors'),
                               '--head', str(tmp_path / 'head.safetensors')])
    with pytest.raises(ValueError, match='no head file.*ln_final'):
        converter_tool().main([str(clip_path), str(tmp_path / 'out.safetensors'),
                               '--head', str(clip_path)])
