"""engine.pgd: the sync-free PGD restart against eps-robustness's torch PGD loop (which compacts rows,
syncing every step): the same examples found at the same distances, and 0 host syncs per step."""

from __future__ import annotations

import pytest
import torch

from hjexp.engine import opcount, pgd
from hjexp.registry import _package

_package()  # experiments import as hjexp_experiments.*
from hjexp_experiments.eps_robustness import attacks, classifier  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem(seed=0, E=3, C=4, N=5, k=6, D=30, images=40):
    gen = torch.Generator().manual_seed(seed)
    comps = torch.linalg.qr(torch.randn(D, k, generator=gen, dtype=torch.float64))[0]
    eps = torch.tensor([0.1, 0.5, 2.0][:E], dtype=torch.float64)
    model = classifier.init_classifier(E, C, N, torch.full((D,), 0.5, dtype=torch.float64), comps, eps, w_init=3.0,
                                       generator=gen).to(torch.float64)
    x = torch.rand(images, D, generator=gen, dtype=torch.float64)
    y = torch.randint(0, C, (images,), generator=gen)
    pairs = torch.arange(E * images)
    image, member = pairs % images, pairs // images
    return model, x[image], y[image], member


def _args(model):
    return model.W.detach(), model.b.detach(), model.eps, model.mean, model.comps


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("loss", ["ce", "margin"])
def test_sync_free_restart_finds_what_the_compacting_loop_finds(norm, loss):
    model, x0, y, member = _problem()
    radius = torch.full((len(y),), 0.02 if norm == "linf" else 0.1, dtype=torch.float64)
    kw = dict(norm=norm, loss=loss, steps=12, box=(0.0, 1.0))
    found_ref, dist_ref = attacks._attack_rows(model, x0, y, member, radius, generator=torch.Generator().manual_seed(7),
                                               layout=None, **kw)
    found, dist = pgd.attack_rows(*_args(model), x0, y, member, radius, generator=torch.Generator().manual_seed(7), **kw)
    assert 0 < int(found_ref.sum()) < len(y)  # some pairs broken, some not: the comparison says something
    assert int((found_ref & (dist_ref > 0)).sum()) >= 5  # ... and some by the attack, not as clean errors
    assert torch.equal(found, found_ref)
    torch.testing.assert_close(dist, dist_ref, rtol=1e-9, atol=0)


def test_a_pgd_step_reads_nothing_but_every_read_every_steps():
    model, x0, y, member = _problem()
    radius = torch.full((len(y),), 0.01, dtype=torch.float64)  # small: most pairs stay unbroken
    with opcount.Recorder() as rec:
        pgd.attack_rows(*_args(model), x0, y, member, radius, norm="linf", loss="ce", steps=25, box=(0.0, 1.0),
                        generator=torch.Generator().manual_seed(7), progress=rec.mark)
    syncs = [s["syncs"] for s in rec.steps]
    assert len(syncs) == 26 and syncs[0] == 2  # the padded layout (bincount, its width), once per call
    K = pgd.READ_EVERY
    assert [k for k, v in enumerate(syncs) if v and k] == [K - 1, 2 * K - 1], syncs
    assert max(s["launches"] for s in rec.steps[1:K - 1]) <= 60
