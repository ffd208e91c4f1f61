import pytest
import torch
import torch.nn.functional as F

from adapterx.models.merging import (DynamicMerge, TaskGate, ViTMerger,
                                     classifier_logits, group_parameters,
                                     route)
from adapterx.registry import MODELS
from tests.merging.tiny import perturbed_states, tiny_classifier

CLASSES = [3, 4, 5]


@pytest.fixture(scope='module')
def merger():
    model = tiny_classifier().eval()
    pretrained = {name: value.detach()
                  for name, value in model.named_parameters()}
    return ViTMerger(model, pretrained, perturbed_states(model, CLASSES))


@pytest.fixture(scope='module')
def gate():
    torch.manual_seed(0)
    return MODELS.build(dict(type='TaskGate', num_tasks=3, width=4)).eval()


def test_layout_of_mmpretrain_classifier(merger):
    groups = merger.groups
    assert groups.naming.library == 'mmpretrain'
    assert groups.head == ('head.layers.head.weight', 'head.layers.head.bias')
    assert set(groups.embeddings) == {
        'backbone.cls_token', 'backbone.pos_embed',
        'backbone.patch_embed.projection.weight',
        'backbone.patch_embed.projection.bias'
    }
    assert set(groups.norms) == {
        f'backbone.{module}.{kind}' for module in (
            'layers.0.ln1', 'layers.0.ln2', 'layers.1.ln1', 'layers.1.ln2',
            'ln1') for kind in ('weight', 'bias')
    }
    assert list(groups.units) == [
        'backbone.layers.0.attention', 'backbone.layers.0.mlp',
        'backbone.layers.1.attention', 'backbone.layers.1.mlp'
    ]
    assert all(name.startswith('backbone.layers.1.ffn.')
               for name in groups.units['backbone.layers.1.mlp'])
    # Every parameter has exactly one part.
    names = [name for name, _ in merger.model.named_parameters()]
    assert sorted(groups.shared + groups.head) == sorted(names)


def test_layout_of_timm_vit():
    from timm.models.vision_transformer import VisionTransformer
    model = VisionTransformer(img_size=32, patch_size=8, embed_dim=32,
                              depth=2, num_heads=2, num_classes=3)
    groups = group_parameters(dict(model.named_parameters()))
    assert groups.naming.library == 'timm'
    assert groups.head == ('head.weight', 'head.bias')
    assert 'norm.weight' in groups.norms and 'cls_token' in groups.embeddings
    assert groups.units['blocks.1.mlp'] == (
        'blocks.1.mlp.fc1.weight', 'blocks.1.mlp.fc1.bias',
        'blocks.1.mlp.fc2.weight', 'blocks.1.mlp.fc2.bias')
    assert groups.other == ()
    with pytest.raises(ValueError, match='Not a known ViT'):
        group_parameters({'conv.weight': torch.zeros(1)})


@pytest.mark.parametrize('m', [0, 1, 2])
def test_one_hot_probabilities_reproduce_the_task(merger, m):
    static = merger.static('ties')
    similarity = merger.similarity()
    merge = merger.dynamic_merge(static, m, similarity)
    dynamic = set(merge.dynamic)
    assert dynamic >= set(merger.groups.embeddings + merger.groups.norms)
    assert len(dynamic) == len(merger.groups.embeddings +
                               merger.groups.norms) + 2 * m * 4
    for task in range(3):
        parameters = merge.parameters_for(F.one_hot(torch.tensor(task),
                                                    3).float())
        for name in dynamic:
            assert torch.equal(parameters[name], merger.finetuned[task][name])
        for name in set(merger.groups.shared) - dynamic:
            assert torch.equal(parameters[name], static[name])
        for name in merger.groups.head:
            assert torch.equal(parameters[name], merger.finetuned[task][name])


def test_all_blocks_dynamic_one_hot_equals_individual_model(merger):
    merge = merger.dynamic_merge(merger.static('weight_average'), 2,
                                 merger.similarity())
    inputs = torch.randn(4, 3, 32, 32)
    naming = merger.groups.naming
    for task in range(3):
        merged = classifier_logits(
            merger.model, merge.parameters_for(torch.eye(3)[task]), inputs,
            naming)
        alone = classifier_logits(merger.model, merger.finetuned[task],
                                  inputs, naming)
        assert torch.equal(merged, alone)


def test_mixed_probabilities_mix_dynamic_parameters(merger):
    merge = merger.dynamic_merge(merger.static('task_arithmetic'), 1,
                                 merger.similarity())
    probabilities = torch.tensor([0.2, 0.5, 0.3])
    parameters = merge.parameters_for(probabilities)
    name = merger.groups.embeddings[0]
    expected = sum(p * state[name]
                   for p, state in zip(probabilities, merger.finetuned))
    torch.testing.assert_close(parameters[name], expected)
    # Task merging: the head of the most probable task (task 1).
    assert parameters['head.layers.head.weight'].shape[0] == CLASSES[1]


def test_head_follows_the_argmax(merger, gate):
    merged = merger.dynamic(merger.static('ties'), gate, 1,
                            merger.similarity(), routing='sample')
    probabilities = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6],
                                  [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    prediction = merged(torch.randn(4, 3, 32, 32), probabilities)
    assert prediction.tasks.tolist() == [0, 2, 1, 2]
    # Columns beyond the routed head's classes are -inf.
    for row, task in zip(prediction.logits, prediction.tasks):
        assert torch.isfinite(row[:CLASSES[task]]).all()
        assert torch.isinf(row[CLASSES[task]:]).all()


def test_per_sample_routing_equals_each_sample_alone(merger, gate):
    merged = merger.dynamic(merger.static('ties'), gate, 1,
                            merger.similarity(), routing='sample')
    inputs = torch.randn(6, 3, 32, 32)
    probabilities = torch.softmax(torch.randn(6, 3), 1)
    probabilities[3] = probabilities[1]  # two samples share a route
    together = merged(inputs, probabilities)
    for index in range(6):
        alone = classifier_logits(
            merger.model, merged.merge.parameters_for(probabilities[index]),
            inputs[index:index + 1], merger.groups.naming)[0]
        width = alone.shape[0]
        torch.testing.assert_close(together.logits[index, :width], alone)
    assert len(route(probabilities, 'sample')) == 5
    # The gate's own probabilities are used when none are given.
    assert torch.equal(merged(inputs).probabilities,
                       gate.probabilities(inputs))


def test_batch_and_task_routing(merger, gate):
    probabilities = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6],
                                  [0.8, 0.1, 0.1]])
    (indices, batch_route), = route(probabilities, 'batch')
    assert indices.tolist() == [0, 1, 2]
    torch.testing.assert_close(batch_route, probabilities.mean(0))
    groups = {tuple(indices.tolist()): group
              for indices, group in route(probabilities, 'task')}
    assert set(groups) == {(0, 2), (1, )}
    torch.testing.assert_close(groups[(0, 2)], probabilities[[0, 2]].mean(0))
    merged = merger.dynamic(merger.static('ties'), gate, 1,
                            merger.similarity(), routing='batch')
    prediction = merged(torch.randn(3, 3, 32, 32), probabilities)
    assert prediction.tasks.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match='Unknown routing'):
        route(probabilities, 'token')


def test_domain_merging_mixes_heads(merger):
    model = merger.model
    states = perturbed_states(model, [4, 4, 4], seed=1)
    domain = ViTMerger(model, merger.pretrained, states)
    merge = domain.dynamic_merge(domain.static('ties'), 0,
                                 domain.similarity(), head_mode='domain')
    probabilities = torch.tensor([0.5, 0.25, 0.25])
    head = merge.parameters_for(probabilities)['head.layers.head.weight']
    torch.testing.assert_close(head, sum(
        p * state['head.layers.head.weight']
        for p, state in zip(probabilities, states)))
    with pytest.raises(ValueError, match='one label space'):
        merger.dynamic_merge(merger.static('ties'), 0, merger.similarity(),
                             head_mode='domain')


def test_storage_matches_a_direct_count(merger, gate):
    similarity = merger.similarity()
    model_parameters = dict(merger.model.named_parameters())
    heads = sum(state[name].numel() for state in merger.finetuned
                for name in merger.groups.head)
    shared = sum(model_parameters[name].numel()
                 for name in merger.groups.shared)
    gate_size = sum(parameter.numel() for parameter in gate.parameters())
    assert merger.static_storage() == shared + heads
    assert merger.individual_storage() == 3 * shared + heads
    for m in (0, 1, 2):
        merge = merger.dynamic_merge(merger.static('ties'), m, similarity)
        dynamic = sum(model_parameters[name].numel() for name in merge.dynamic)
        assert ViTMerger.dynamic_storage(merge, gate) == (
            shared - dynamic + 3 * dynamic + heads + gate_size)
    # All blocks dynamic: every shared parameter is stored T times.
    assert sum(merge.storage().values()) == merger.individual_storage()


def test_gate_architectures_and_errors():
    mobile = TaskGate(num_tasks=3, arch='mobilenet_v2', width_mult=0.25)
    assert mobile(torch.randn(2, 3, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match='Unknown gate arch'):
        TaskGate(num_tasks=3, arch='resnet')
    with pytest.raises(ValueError, match='one-hot|Expected 3'):
        DynamicMerge({'a': torch.zeros(1)}, [{'a': torch.zeros(1)}] * 3,
                     ['a'], []).parameters_for(torch.ones(2))


def test_timm_vit_one_hot_equals_individual_model():
    from timm.models.vision_transformer import VisionTransformer
    torch.manual_seed(0)
    model = VisionTransformer(img_size=32, patch_size=8, embed_dim=32,
                              depth=2, num_heads=2, num_classes=3).eval()
    pretrained = {name: value.detach()
                  for name, value in model.named_parameters()}
    generator = torch.Generator().manual_seed(0)
    states = [{name: value + 0.02 * torch.randn(value.shape,
                                                generator=generator)
               for name, value in pretrained.items()} for _ in range(3)]
    merger = ViTMerger(model, pretrained, states)
    merge = merger.dynamic_merge(merger.static('ties'), 2,
                                 merger.similarity())
    inputs = torch.randn(2, 3, 32, 32)
    merged = classifier_logits(model, merge.parameters_for(torch.eye(3)[1]),
                               inputs, merger.groups.naming)
    assert torch.equal(merged, classifier_logits(model, states[1], inputs,
                                                 merger.groups.naming))


def test_hard_gate_groups_by_predicted_task(merger, gate):
    merged = merger.dynamic(merger.static('ties'), gate, 1,
                            merger.similarity(), hard=True)
    inputs = torch.randn(8, 3, 32, 32)
    probabilities = merged.task_probabilities(inputs)
    assert torch.equal(probabilities.sum(1), torch.ones(8))
    assert torch.equal(probabilities.argmax(1),
                       gate.probabilities(inputs).argmax(1))
    assert len(route(probabilities, 'sample')) == len(
        probabilities.argmax(1).unique())


def test_merger_names_the_model_at_fault(merger):
    states = [dict(state) for state in merger.finetuned]
    del states[1]['backbone.pos_embed']
    with pytest.raises(ValueError, match='fine-tuned model 1 lacks'):
        ViTMerger(merger.model, merger.pretrained, states)
    states = [dict(state) for state in merger.finetuned]
    states[2]['backbone.cls_token'] = torch.zeros(1, 1, 8)
    with pytest.raises(ValueError, match='fine-tuned model 2 has parameters '
                       'of other shapes.*backbone.cls_token'):
        ViTMerger(merger.model, merger.pretrained, states)
    with pytest.raises(ValueError, match='at least 2'):
        ViTMerger(merger.model, merger.pretrained, states[:1])


def test_a_model_fine_tuned_from_other_weights_is_refused(merger):
    assert all(0 < change < 0.5 for change in merger.relative_changes)
    other = tiny_classifier(seed=1)
    states = [dict(state) for state in merger.finetuned]
    states[1].update({name: value.detach()
                      for name, value in other.named_parameters()
                      if name in merger.pretrained})
    labels = ['a.pth', 'b.pth', 'c.pth']
    with pytest.raises(ValueError, match=r"Not fine-tuned from the "
                       r"pretrained weights: .*\['b.pth: 1\.\d\d'\].*more "
                       r'than 0.5'):
        ViTMerger(merger.model, merger.pretrained, states, labels)
    # A larger limit accepts them.
    ViTMerger(merger.model, merger.pretrained, states, labels,
              max_relative_change=2.0)
    with pytest.raises(ValueError, match='2 labels for 3'):
        ViTMerger(merger.model, merger.pretrained, states, labels[:2])
