import numpy as np
import pytest
import torch

from asal.errors import AsalError
from asal.models.strategies import initial_selection, query

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
        query("bald", torch.full((3, 2), 0.5), 1, torch.Generator(), ["a", "b", "c"])


def test_budget_larger_than_pool():
    with pytest.raises(AsalError, match="larger than the pool"):
        initial_selection("asal", [["a"], ["b"]], 2, seed=0)


def test_queries_pick_the_most_uncertain():
    prob = torch.tensor([[0.9, 0.1], [0.55, 0.45], [0.3, 0.7], [0.5, 0.5]])
    gen = torch.Generator().manual_seed(0)
    keys = [f"c/train/good/{i}.png" for i in range(4)]
    assert query("least_confidence", prob, 2, gen, keys) == [3, 1]
    assert query("margin", prob, 1, gen, keys) == [3]
    assert query("entropy", prob, 3, gen, keys) == [3, 1, 2]
    picks = query("random", prob, 4, torch.Generator().manual_seed(0), keys)
    assert sorted(picks) == [0, 1, 2, 3]


# ----------------------------------------------------------- the cold-start baselines

import pandas as pd  # noqa: E402

from asal.models.strategies import PoolViews  # noqa: E402

KEYS = [f"c/train/good/{i:03d}.png" for i in range(60)]


def _views(features=None, scores=None) -> PoolViews:
    return PoolViews(KEYS, (lambda: features) if features is not None else None,
                     (lambda: scores) if scores is not None else None)


def test_pt4al_takes_evenly_spaced_picks_from_the_top_batch_sorted_as_numbers():
    # scores written as text would sort 9e-05 above 0.5; as numbers the top batch is 0 .. 11
    scores = pd.DataFrame({"path": KEYS, "score": [f"{60 - i}e-1" if i < 12 else f"{i}e-05"
                                                    for i in range(60)]})
    batches = [KEYS[b * 12:(b + 1) * 12] for b in range(5)]
    picks = initial_selection("pt4al", batches, 1, seed=0, views=_views(scores=scores))
    assert picks == [KEYS[i] for i in (0, 2, 4, 7, 9)]      # i * 12 // 5
    rotated = initial_selection("asal_rotation", batches, 1, seed=0, views=_views(scores=scores))
    assert rotated[0] == KEYS[0] and rotated[1] == KEYS[59]    # the top of batches 0 and 1
    with pytest.raises(AsalError, match="rotation"):
        initial_selection("pt4al", batches, 1, seed=0)
    with pytest.raises(AsalError, match="top batch of 12"):
        initial_selection("pt4al", batches, 3, seed=0, views=_views(scores=scores))


def _clusters(n_clusters=10, per=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, 16)) * 10
    x = np.repeat(centres, per, axis=0) + rng.normal(size=(n_clusters * per, 16)) * 0.1
    return x, np.repeat(np.arange(n_clusters), per)


BATCHES_60 = [KEYS[b * 12:(b + 1) * 12] for b in range(5)]


def test_typiclust_takes_one_typical_image_of_every_cluster():
    x, cluster = _clusters()
    picks = initial_selection("typiclust", BATCHES_60, 2, seed=0, views=_views(features=x))
    assert len(picks) == len(set(picks)) == 10
    # ten tight, far-apart clusters and ten picks: one from each
    assert sorted(cluster[[KEYS.index(p) for p in picks]]) == list(range(10))
    assert picks == initial_selection("typiclust", BATCHES_60, 2, seed=0,
                                      views=_views(features=x))


def test_probcover_covers_the_larger_dense_region_first_then_the_other():
    # two tight groups in opposite directions, 50 and 10 images: the first pick's ball
    # covers the 50, the second the 10, and nothing is left to cover after that
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)
    x = np.concatenate([direction + rng.normal(size=(50, 16)) * 0.01,
                        -direction + rng.normal(size=(10, 16)) * 0.01])
    picks = initial_selection("probcover", BATCHES_60, 2, seed=0, views=_views(features=x))
    assert len(picks) == len(set(picks)) == 10
    assert KEYS.index(picks[0]) < 50 <= KEYS.index(picks[1])
    assert picks == initial_selection("probcover", BATCHES_60, 2, seed=0,
                                      views=_views(features=x))


@pytest.mark.parametrize("init", ["typiclust", "probcover"])
def test_feature_selections_name_missing_features_and_too_many_picks(init):
    x, _ = _clusters()
    with pytest.raises(AsalError, match="pretrained"):
        initial_selection(init, [KEYS[:30], KEYS[30:]], 2, seed=0)
    small = PoolViews(KEYS[:8], lambda: x[:8])
    with pytest.raises(AsalError, match=f"{init}' was asked for 10 picks.*holds 8"):
        initial_selection(init, [KEYS[:30], KEYS[30:]], 5, seed=0, views=small)


def test_a_clustered_query_of_five_follows_its_rule():
    """Five picks, none twice, each the most uncertain of its k-means cluster among the 25
    most uncertain, most uncertain first; the top-k query takes five near-copies."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from asal.models.strategies import SHORTLIST, query

    rng = np.random.default_rng(0)
    n, k = 200, 5
    features = rng.normal(size=(n, 8))
    features[:8] += 10                         # 8 near-copies, also the most uncertain ones
    p_defect = rng.choice([0.2, 0.8], n) + rng.uniform(-0.15, 0.15, n)
    p_defect[:8] = 0.5 + rng.uniform(-0.01, 0.01, 8)
    prob = torch.tensor(np.stack([1 - p_defect, p_defect], 1))
    keys = [f"c/train/x/{i:03d}.png" for i in range(n)]
    top = query("least_confidence", prob, k, None, keys, salt=3)
    picks = query("least_confidence", prob, k, None, keys, salt=3, batch="clustered",
                  features=lambda: features)
    assert all(t < 8 for t in top)                      # top-k: five of one kind
    assert len(set(picks)) == k and sum(p < 8 for p in picks) < k
    order = query("least_confidence", prob, n, None, keys, salt=3)
    shortlist = order[:SHORTLIST * k]
    assert set(picks) <= set(shortlist)
    assert picks == sorted(picks, key=order.index)       # most uncertain first
    x = StandardScaler().fit_transform(features[shortlist])
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=3)
    cluster = dict(zip(shortlist, kmeans.fit_predict(x)))
    assert sorted(cluster[p] for p in picks) == list(range(k))   # one per cluster
    for p in picks:                                       # and its most uncertain member
        assert min((r for r in shortlist if cluster[r] == cluster[p]), key=order.index) == p
