import pytest
import torch

from asal.errors import AsalError
from asal.strategies import initial_selection, query

BATCHES = [[f"b{b}_{i}" for i in range(6)] for b in range(5)]


def test_asal_pick_order_interleaves_batches():
    assert initial_selection("asal", BATCHES, 2, seed=0) == [
        "b0_0", "b1_0", "b2_0", "b3_0", "b4_0", "b0_1", "b1_1", "b2_1", "b3_1", "b4_1"]


def test_top_takes_the_highest_scores():
    assert initial_selection("top", BATCHES, 2, seed=0) == BATCHES[0] + BATCHES[1][:4]


def test_random_is_reproducible_by_seed_and_unique():
    a = initial_selection("random", BATCHES, 2, seed=3)
    assert a == initial_selection("random", BATCHES, 2, seed=3)
    assert a != initial_selection("random", BATCHES, 2, seed=4)
    assert len(set(a)) == 10


def test_unknown_names_list_the_known_ones():
    with pytest.raises(AsalError, match=r"Unknown initial selection 'kmeans'.*'asal'"):
        initial_selection("kmeans", BATCHES, 2, seed=0)
    with pytest.raises(AsalError, match=r"Unknown query strategy 'bald'.*'least_confidence'"):
        query("bald", torch.full((3, 2), 0.5), 1, torch.Generator())


def test_budget_larger_than_pool():
    with pytest.raises(AsalError, match="larger than the pool"):
        initial_selection("asal", [["a"], ["b"]], 2, seed=0)


def test_queries_pick_the_most_uncertain():
    prob = torch.tensor([[0.9, 0.1], [0.55, 0.45], [0.3, 0.7], [0.5, 0.5]])
    gen = torch.Generator().manual_seed(0)
    assert query("least_confidence", prob, 2, gen) == [3, 1]
    assert query("margin", prob, 1, gen) == [3]
    assert query("entropy", prob, 3, gen) == [3, 1, 2]
    picks = query("random", prob, 4, torch.Generator().manual_seed(0))
    assert sorted(picks) == [0, 1, 2, 3]
