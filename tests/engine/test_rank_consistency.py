import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from adapterx.engine import find_rank_divergence


def _compare_after_perturbing_rank_one(rank, init_file, results):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    if rank == 1:
        with torch.no_grad():
            model[0].bias[2] += 0.5
        model[1].num_batches_tracked += 1
    results[rank] = find_rank_divergence(model)
    dist.destroy_process_group()


def test_divergence_is_found_on_the_rank_that_differs(tmp_path):
    results = mp.Manager().dict()
    mp.spawn(
        _compare_after_perturbing_rank_one,
        args=(str(tmp_path / 'init'), results),
        nprocs=2)
    assert results[0] == []
    names = dict(results[1])
    assert set(names) == {'0.bias', '1.num_batches_tracked'}
    assert abs(names['0.bias'] - 0.5) < 1e-6
