"""kNN and Nadaraya–Watson against brute-force loops; kNN error shrinks with n."""

import torch

from hjexp import baselines as B
from hjexp.data import targets as T
from hjexp.data.manifolds import uniform_box

F64 = torch.float64


def _data(E=3, n=40, m=15, d=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(E, n, d, generator=gen, dtype=F64)
    y = torch.randn(E, n, generator=gen, dtype=F64)
    q = torch.randn(E, m, d, generator=gen, dtype=F64)
    mask = torch.arange(n)[None] < torch.tensor([40, 25, 10])[:, None]
    return x, y, q, mask


def test_knn_matches_brute_force_with_masks_and_per_member_k():
    x, y, q, mask = _data()
    k = torch.tensor([7, 3, 1])
    got = B.knn_predict(x, y, q, k, mask=mask, budget=64)  # tiny budget: exercises the chunking
    for e in range(3):
        n = int(mask[e].sum())
        for i in range(q.shape[1]):
            dist = [float(((q[e, i] - x[e, j]) ** 2).sum()) for j in range(n)]
            order = sorted(range(n), key=dist.__getitem__)[: int(k[e])]
            assert abs(got[e, i].item() - sum(float(y[e, j]) for j in order) / int(k[e])) < 1e-12


def test_nadaraya_watson_matches_brute_force():
    x, y, q, mask = _data(seed=1)
    h = torch.tensor([0.3, 0.8, 2.0], dtype=F64)
    got = B.nadaraya_watson(x, y, q, h, mask=mask, budget=100)
    for e in range(3):
        n = int(mask[e].sum())
        w = torch.exp(-((q[e][:, None] - x[e, :n][None]) ** 2).sum(-1) / (2 * h[e] ** 2))  # [m, n]
        assert torch.allclose(got[e], (w @ y[e, :n]) / w.sum(-1), rtol=1e-10, atol=1e-12)


def test_knn_and_nadaraya_watson_together_equal_each_alone():
    x, y, q, _ = _data(seed=2)
    k, h = torch.tensor([5, 2, 9]), torch.tensor([0.05, 0.5, 1.5], dtype=F64)
    knn, nw = B.knn_and_nadaraya_watson(x, y, q, k, h, budget=100)
    assert torch.equal(knn, B.knn_predict(x, y, q, k, budget=100))
    assert torch.equal(nw, B.nadaraya_watson(x, y, q, h, budget=100))


def test_schedules():
    assert B.knn_k(64, 1) == 16 and B.knn_k(10**6, 2) == 1000 and B.knn_k(5, 1, c=100) == 5
    assert abs(B.nw_bandwidth(64, 4, 2.0) - 2 * 64 ** (-1 / 6)) < 1e-15
    # smoothness s = 2 (semiconcave targets, rate-sweep): k = ⌈32^(4/6)⌉ = ⌈10.08⌉, h = 16^(−1/8) = 1/√2
    assert B.knn_k(32, 2, s=2) == 11 and abs(B.nw_bandwidth(16, 4, s=2) - 2 ** -0.5) < 1e-15


def test_knn_error_shrinks_with_n_on_a_linear_target():
    gen = torch.Generator().manual_seed(0)
    S, d, ns = 6, 1, [64, 512, 4096]
    x = uniform_box((S, max(ns)), d, -1.0, 1.0, generator=gen, dtype=F64)
    y = T.noisy(x[..., 0], 0.3, generator=gen)
    q = uniform_box((S, 500), d, -0.9, 0.9, generator=gen, dtype=F64)
    rmse = []
    for n in ns:
        k = torch.full((S,), B.knn_k(n, d))
        pred = B.knn_predict(x[:, :n], y[:, :n], q, k)
        rmse.append(((pred - q[..., 0]) ** 2).mean().sqrt().item())
    assert rmse[0] > 1.5 * rmse[1] > 1.5 * 1.5 * rmse[2], rmse
