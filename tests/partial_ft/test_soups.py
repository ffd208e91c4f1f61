"""Uniform and greedy soups, and the refusal of ingredients that do not
belong together."""
import pytest
import torch
from mmengine.config import Config

from adapterx.checkpoint import CheckpointWeights, average_state_dicts
from adapterx.models.partial_ft import (check_held_out, check_ingredients,
                                        dataset_holds, greedy_soup,
                                        ingredient_states,
                                        pretrained_checkpoint_of,
                                        same_weights_file, uniform_soup,
                                        unit_mean_soup)
from adapterx.utils.stored_config import StoredConfigError


def random_state(seed, shapes=(('w', (4, 3)), ('b', (4, )))):
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(*shape, generator=generator)
            for name, shape in shapes}


def full(state, path='full.pth', **meta):
    return CheckpointWeights(path, dict(state), meta)


def test_soup_of_identical_checkpoints_is_the_checkpoint():
    state = random_state(0)
    state['index'] = torch.arange(5)
    reference = random_state(1)
    reference['index'] = torch.arange(5)
    soup = uniform_soup([full(state) for _ in range(3)], reference)
    assert soup.keys() == state.keys()
    for name, value in state.items():
        assert torch.equal(soup[name], value), name
        assert soup[name].dtype == value.dtype


def test_uniform_soup_adds_the_mean_delta_and_frozen_units_add_none():
    reference = random_state(0)
    first, second = random_state(1), random_state(2)
    # A partial run that trained 'w' only: its file leaves 'b' out.
    partial = CheckpointWeights('trainable_epoch_2.pth',
                                {'w': second['w']}, {}, trainable_only=True)
    soup = uniform_soup([full(first), partial], reference)
    # The partial run's delta of 'b' is zero.
    deltas = {
        'w': (first['w'] - reference['w']) + (second['w'] - reference['w']),
        'b': first['b'] - reference['b'],
    }
    for name in reference:
        torch.testing.assert_close(soup[name],
                                   reference[name] + deltas[name] / 2)


def test_a_full_checkpoint_of_a_partial_run_equals_its_trainable_file():
    reference = random_state(0)
    trained_w = random_state(5)['w']
    as_full = full(dict(reference, w=trained_w))
    as_trainable_only = CheckpointWeights('t.pth', {'w': trained_w}, {},
                                          trainable_only=True)
    first, second = ingredient_states([as_full, as_trainable_only],
                                      reference)
    assert all(torch.equal(first[name], second[name]) for name in reference)


@pytest.mark.parametrize('state, message', [
    ({'w': torch.zeros(4, 3)}, r"run_b\.pth lacks 1 tensor.*\['b'\]"),
    ({'w': torch.zeros(7, 3), 'b': torch.zeros(7)},
     r"run_b\.pth has tensors of other shapes.*another label space.*"
     r"w: \(7, 3\) vs \(4, 3\)"),
    (dict(random_state(3), extra=torch.zeros(1)),
     r"run_b\.pth holds tensors the model does not have.*\['extra'\]"),
])
def test_ingredients_that_do_not_fit_the_model_are_refused(state, message):
    with pytest.raises(ValueError, match=message):
        ingredient_states([full(random_state(1)), full(state, 'run_b.pth')],
                          random_state(0))


def test_integer_tensors_must_agree():
    states = [dict(random_state(0), index=torch.arange(3)),
              dict(random_state(1), index=torch.arange(1, 4))]
    with pytest.raises(ValueError, match='index is a non-floating-point'):
        average_state_dicts(states)


def distance_score(target):
    def evaluate(state):
        return -float(sum((state[name] - target[name]).norm()
                          for name in target))
    return evaluate


def test_greedy_soup_keeps_what_helps_and_leaves_out_what_hurts():
    target, offset = random_state(0), random_state(1)
    states = {
        'a.pth': {name: target[name] + offset[name] for name in target},
        'b.pth': {name: target[name] - offset[name] for name in target},
        'c.pth': {name: target[name] + 10 * offset[name] for name in target},
    }
    result = greedy_soup(states, distance_score(target))
    # a and b score the same (a first, in the given order); their mean is
    # the target, and c pulls the soup away from it.
    assert result.chosen == ['a.pth', 'b.pth']
    assert [(name, kept) for name, _, kept in result.trials] == [
        ('b.pth', True), ('c.pth', False)]
    for name in target:
        torch.testing.assert_close(result.state_dict[name], target[name])
    assert result.score == pytest.approx(0, abs=1e-5)


def test_greedy_soup_keeps_an_ingredient_that_ties():
    """Model soups keeps an ingredient when the soup's score does not fall
    (``>=``): on a score that every soup ties, all join."""
    states = {f'{index}.pth': random_state(index) for index in range(3)}
    result = greedy_soup(states, lambda state: 0.5)
    assert result.chosen == ['0.pth', '1.pth', '2.pth']
    assert [(name, score, kept) for name, score, kept in result.trials] == [
        ('1.pth', 0.5, True), ('2.pth', 0.5, True)]
    for name, value in average_state_dicts(list(states.values())).items():
        assert torch.equal(result.state_dict[name], value), name


@pytest.mark.parametrize('seed', range(5))
def test_greedy_soup_never_ends_below_its_best_ingredient(seed):
    states = {f'{index}.pth': random_state(10 * seed + index)
              for index in range(4)}
    evaluate = distance_score(random_state(100 + seed))
    result = greedy_soup(states, evaluate)
    assert result.score >= max(result.scores.values())
    assert result.score == evaluate(result.state_dict)
    assert result.scores == {name: evaluate(state)
                             for name, state in states.items()}


def runner_checkpoint(path, pretrained, classes=('cat', 'dog')):
    init_cfg = None if pretrained is None else dict(
        type='Pretrained', checkpoint=str(pretrained))
    cfg = Config(dict(model=dict(backbone=dict(init_cfg=init_cfg))))
    return full(random_state(0), str(path), cfg=cfg.pretty_text,
                dataset_meta=dict(classes=list(classes)))


@pytest.fixture
def pretrained_files(tmp_path):
    paths = {name: tmp_path / f'{name}.pth'
             for name in ('pretrained', 'copy', 'other')}
    torch.save(random_state(0), paths['pretrained'])
    torch.save(random_state(0), paths['copy'])
    torch.save(random_state(1), paths['other'])
    return paths


def test_ingredients_from_the_same_pretrained_weights_pass(
        pretrained_files):
    check_ingredients([
        runner_checkpoint('a.pth', pretrained_files['pretrained']),
        runner_checkpoint('b.pth', pretrained_files['copy']),
        CheckpointWeights('t.pth', random_state(0), {}, trainable_only=True),
    ], str(pretrained_files['pretrained']))


def test_other_pretrained_weights_are_refused_naming_the_file(
        pretrained_files):
    with pytest.raises(ValueError,
                       match=r'b\.pth was fine-tuned from .*other\.pth'):
        check_ingredients([
            runner_checkpoint('a.pth', pretrained_files['pretrained']),
            runner_checkpoint('b.pth', pretrained_files['other']),
        ], str(pretrained_files['pretrained']))
    with pytest.raises(ValueError,
                       match=r'c\.pth was not trained from pretrained'):
        check_ingredients([runner_checkpoint('c.pth', None)],
                          str(pretrained_files['pretrained']))


def test_another_label_space_is_refused_naming_the_file(pretrained_files):
    pretrained = pretrained_files['pretrained']
    with pytest.raises(ValueError,
                       match=r"b\.pth and a\.pth have different classes "
                       r"\(2 vs 2; the first difference is class 1: "
                       r"'fox' vs 'dog'\)"):
        check_ingredients([
            runner_checkpoint('a.pth', pretrained),
            runner_checkpoint('b.pth', pretrained, ('cat', 'fox')),
        ], str(pretrained))


def test_a_label_space_other_than_the_scored_data_is_refused(
        pretrained_files):
    pretrained = str(pretrained_files['pretrained'])
    ingredients = [runner_checkpoint('a.pth', pretrained),
                   CheckpointWeights('bare.pth', random_state(0))]
    check_ingredients(ingredients, pretrained, classes=('cat', 'dog'))
    # Even one ingredient, of the same class count, is checked.
    with pytest.raises(ValueError,
                       match=r"a\.pth and the soup config's data have "
                       r"different classes \(2 vs 3; the first difference "
                       r"is class 1: 'dog' vs 'cow'\)"):
        check_ingredients(ingredients[:1], pretrained,
                          classes=('cat', 'cow', 'dog'))


def test_pretrained_checkpoint_of_a_config():
    pretrained = dict(type='Pretrained', checkpoint='w.pth')
    for init_cfg, expected in [(pretrained, 'w.pth'),
                               ([dict(type='Normal'), pretrained], 'w.pth'),
                               (None, None), (dict(type='Normal'), None)]:
        cfg = Config(dict(model=dict(backbone=dict(init_cfg=init_cfg))))
        assert pretrained_checkpoint_of(cfg) == expected


def test_same_weights_file(pretrained_files):
    pretrained = str(pretrained_files['pretrained'])
    assert same_weights_file(pretrained, pretrained)
    assert same_weights_file(pretrained, str(pretrained_files['copy']))
    assert not same_weights_file(pretrained, str(pretrained_files['other']))
    assert not same_weights_file(pretrained, 'elsewhere/pretrained.pth')


def test_an_ingredients_stored_config_is_read_not_executed(
        pretrained_files, tmp_path):
    sentinel = tmp_path / 'SENTINEL'
    payload = f"__import__('os').system('touch {sentinel}')"
    pretrained = str(pretrained_files['pretrained'])
    checkpoint = runner_checkpoint('a.pth', pretrained)
    # Code beside the settings is ignored; the check still holds.
    checkpoint.meta['cfg'] = f"{payload}\n{checkpoint.meta['cfg']}"
    check_ingredients([checkpoint], pretrained)
    # Code in the setting the check needs is refused, naming the file.
    checkpoint.meta['cfg'] = f'model = {payload}\n'
    with pytest.raises(StoredConfigError,
                       match=r'The config stored in a\.pth sets model'):
        check_ingredients([checkpoint], pretrained)
    assert not sentinel.exists()


UNIT_SHAPES = (('attn', (4, 3)), ('ffn', (4, 5)), ('head', (2, 4)),
               ('frozen', (3, )))


def test_unit_mean_soup_keeps_each_runs_delta_on_its_own_units():
    """An attention-only and an FFN-only run (both train the head): the
    per-unit mean is each run on the unit it trained, their mean on the
    head, the reference where neither trained; the uniform soup halves
    the single deltas."""
    reference = random_state(0, UNIT_SHAPES)
    trained = random_state(1, UNIT_SHAPES)
    attention_run = CheckpointWeights(
        'attention_only.pth', dict(reference, attn=trained['attn'],
                                   head=trained['head']))
    # The FFN run as a trainable-only file: its other tensors are filled in.
    ffn_head = random_state(2, UNIT_SHAPES)['head']
    ffn_run = CheckpointWeights('trainable_ffn_only.safetensors',
                                {'ffn': trained['ffn'], 'head': ffn_head},
                                {}, trainable_only=True)
    soup = unit_mean_soup([attention_run, ffn_run], reference)
    assert soup.keys() == reference.keys()
    assert torch.equal(soup['attn'], trained['attn'])
    assert torch.equal(soup['ffn'], trained['ffn'])
    assert torch.equal(soup['frozen'], reference['frozen'])
    head_mean = (trained['head'].double() + ffn_head.double()) / 2
    assert torch.equal(soup['head'], head_mean.float())

    uniform = uniform_soup([attention_run, ffn_run], reference)
    half_delta = reference['attn'] + (trained['attn'] - reference['attn']) / 2
    torch.testing.assert_close(uniform['attn'], half_delta)
    assert torch.equal(uniform['head'], soup['head'])


def test_unit_mean_soup_of_runs_that_trained_everything_is_uniform():
    reference = random_state(0)
    ingredients = [full(random_state(seed)) for seed in (1, 2, 3)]
    soup = unit_mean_soup(ingredients, reference)
    uniform = uniform_soup(ingredients, reference)
    for name, value in uniform.items():
        assert torch.equal(soup[name], value), name


def vtab(split, task='dtd', data_root='data/vtab-1k',
         pipeline=(dict(type='LoadImageFromFile'), )):
    return dict(type='VTAB1k', data_root=data_root, task=task, split=split,
                pipeline=list(pipeline))


@pytest.mark.parametrize('training, scored, held', [
    (vtab('train800val200'), vtab('val200'), True),
    (vtab('train800val200'), vtab('train800'), True),
    (vtab('train800val200'), vtab('train800val200', pipeline=[]), True),
    (vtab('train800'), vtab('val200'), False),
    (vtab('val200'), vtab('train800val200'), False),
    (vtab('train800val200'), vtab('test'), False),
    (vtab('train800val200'), vtab('val200', task='eurosat'), False),
    (vtab('train800val200'), vtab('val200', data_root='other'), False),
    # Any other dataset holds only an identical one.
    (dict(type='CUB200', data_root='data/fgvc', split='train'),
     dict(type='CUB200', data_root='data/fgvc', split='val'), False),
    (dict(type='CustomDataset', data_root='d', ann_file='train.txt',
          pipeline=[dict(type='RandomFlip')], test_mode=False),
     dict(type='CustomDataset', data_root='./d', ann_file='train.txt',
          pipeline=[], test_mode=True), True),
    (dict(type='CustomDataset', data_root='d', ann_file='train.txt'),
     dict(type='CustomDataset', data_root='d', ann_file='test.txt'), False),
    # Wrappers hold what they wrap.
    (dict(type='ConcatDataset', datasets=[vtab('train800'),
                                          vtab('val200')]),
     vtab('val200'), True),
    (dict(type='RepeatDataset', times=2, dataset=vtab('train800')),
     vtab('val200'), False),
])
def test_dataset_holds(training, scored, held):
    assert dataset_holds(training, scored) is held


def stored_training(path, dataset):
    cfg = Config(dict(train_dataloader=dict(batch_size=2, dataset=dataset)))
    return full(random_state(0), str(path), cfg=cfg.pretty_text)


def test_scoring_on_an_ingredients_training_data_is_refused_naming_both():
    final_run = stored_training('final/epoch_100.pth',
                                vtab('train800val200'))
    with pytest.raises(ValueError,
                       match=r"--split val scores on VTAB1k\(task='dtd', "
                       r"split='val200'.*inside the training data of "
                       r"final/epoch_100\.pth \(VTAB1k\(task='dtd', "
                       r"split='train800val200'.*train800"):
        check_held_out([final_run], vtab('val200'), vtab('train800'),
                       '--split val')


def test_runs_trained_on_train800_score_on_val200():
    """The config each checkpoint records decides; CONFIG's training data
    stands in for a checkpoint that records none."""
    tuning_run = stored_training('tune/epoch_100.pth', vtab('train800'))
    bare = CheckpointWeights('bare.pth', random_state(0))
    check_held_out([tuning_run], vtab('val200'), vtab('train800val200'),
                   '--split val')
    check_held_out([tuning_run, bare], vtab('val200'), vtab('train800'),
                   '--split val')
    with pytest.raises(ValueError, match=r'training data of bare\.pth'):
        check_held_out([tuning_run, bare], vtab('val200'),
                       vtab('train800val200'), '--split val')
