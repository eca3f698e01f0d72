"""`make gpu-check`: the torch pass on a GPU, checked against float64 CPU references in one script.

    python -m hjexp.gpu_check --device cuda --profile quick --out gpu-check   (≤ 10 min on one GPU)
    python -m hjexp.gpu_check --device cpu --profile smoke --out DIR          (the dry run the tests make)

1. Correctness on the device (float32, the torch pass) against float64 references on the CPU from the
   same initial values: one fused pass (loss, gradient, prediction) at d = 2, 16, 64 against autograd of
   the closed forms; full-batch training and minibatch training (the same CPU draws) against
   torch.optim.Adam, eager, compiled (engine=compiled, where torch.compile runs) and on CUDA also replayed as
   CUDA graphs (engine=graphs); cross-entropy training
   of classifiers; one PGD restart (engine.pgd).
2. Launches and host syncs per steady-state step of the bench's four workloads: recorded with
   engine.opcount everywhere, and on CUDA also the GPU kernels torch.profiler sees, the syncs
   torch.cuda.set_sync_debug_mode reports and ms per step, eager and (training workloads) compiled and
   graphed: which capture of the step to keep is read off these figures.
3. `hjexp bench device=…` (quick profile only) and two experiments at the profile on the device, with wall
   times and peak memory.
Everything goes into one summary file, DIR/gpu-check.json (and the same as text on the console).
Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import torch

from hjexp import engine
from hjexp.draws import CpuDraws
from hjexp.engine import backend, pgd

# float32 on the device against float64 on the CPU: relative tolerances of the comparisons (the tool's
# choices, a few hundred float32 roundoffs after a few dozen steps; each result row states its own)
TOL = {"pass": 1e-4, "train": 2e-3, "minibatch": 2e-3, "cross_entropy": 2e-3, "pgd_distance": 1e-6}
# training-heavy experiments at quick (the GPU check); the two lightest at smoke (the CPU dry run)
EXPERIMENTS = {"quick": ("rate-sweep", "eps-robustness"), "smoke": ("identity", "recovery")}


def _sweep(d: int, seed: int = 0, n: int = 1000):
    """A width sweep of four widths × two seeds (prefix masks) on |x| over [−2, 2]^d."""
    gen = torch.Generator().manual_seed(seed)
    widths = torch.tensor([8, 8, 24, 24, 64, 64, 128, 128])
    mask = torch.arange(128)[None] < widths[:, None]
    eps = widths.double() ** (-1 / max(d, 2))
    model = engine.init_lse(8, 128, d, eps, w_scale=0.5 / math.sqrt(d), b_scale=0.3, generator=gen, neuron_mask=mask)
    x = 4 * torch.rand(n, d, generator=gen, dtype=torch.float64) - 2
    return model, x, x.norm(dim=-1)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def check_pass(device) -> list[dict]:
    """Loss and prediction of one torch pass on the device against the closed forms in float64 (the
    gradient enters every training check below)."""
    rows = []
    for d in (2, 16, 64):
        model, x, y = _sweep(d)
        ref = model.clone()
        loss_ref = engine.member_mse(ref.predict(x), y)
        dev = model.to(torch.float32, device)
        xd, yd = x.float().to(device), y.float().to(device)
        with backend.use("torch"):
            loss, pred = engine.loss(dev, xd, yd), engine.predict(dev, xd)
        err = max(_rel(loss, loss_ref), _rel(pred, ref.predict(x)))
        rows.append(dict(check=f"one pass, d={d}", max_rel_err=err, tol=TOL["pass"], ok=err <= TOL["pass"]))
    return rows


def torch_engines(device) -> list[str]:
    """The torch pass's engines to check here (bench.engine_paths less the C pass): eager, compiled where
    torch.compile can generate code, and on CUDA compiled and replayed as CUDA graphs (engine=graphs):
    which capture of the step is faster is what gpu-check is there to measure."""
    from hjexp import bench

    return [key for _label, key in bench.engine_paths(device) if key != "c"]


def check_training(device) -> list[dict]:
    """Full-batch and minibatch Adam on the device against torch.optim.Adam in float64 on the CPU, on each
    of torch_engines (an engine that raises is a failed check with its error, and the others still run)."""
    rows = []
    for name, batch in (("train", None), ("minibatch", 256)):
        model, x, y = _sweep(2, seed=1)
        ref = model.clone()  # the float64 reference, trained once for every engine
        ref_loss = engine.train_autograd(ref, x, y, steps=40, lr=0.01, batch_size=batch,
                                         generator=torch.Generator().manual_seed(7))
        for engine_name in torch_engines(device):
            dev = model.to(torch.float32, device)
            row = dict(check=f"{name} (40 Adam steps, d=2), engine={engine_name}", tol=TOL[name])
            try:
                with backend.use(backend.resolve(engine_name, device)):
                    fit = engine.train(dev, x.float().to(device), y.float().to(device), max_steps=40, lr=0.01,
                                       batch_size=batch, generator=torch.Generator().manual_seed(7))
            except Exception as exc:  # noqa: BLE001 — reported in the summary
                rows.append(dict(row, error=f"{type(exc).__name__}: {exc}", ok=False))
                continue
            m = model.neuron_mask
            err = max(_rel(fit.loss, ref_loss), _rel(dev.W[m.to(device)], ref.W.detach()[m]))
            rows.append(dict(row, max_rel_err=err, ok=err <= TOL[name]))
    return rows


def check_cross_entropy(device) -> dict:
    """train_cross_entropy on the device against the classifiers' logits written out and differentiated by autograd."""
    E, C, N, k, n, steps, lr, batch = 3, 4, 5, 12, 300, 30, 0.02, 64
    gen = torch.Generator().manual_seed(5)
    u = torch.randn(n, k, generator=gen, dtype=torch.float64)
    y = torch.randint(0, C, (n,), generator=gen)
    W = 0.5 * torch.randn(E, C, N, k, generator=gen, dtype=torch.float64)
    b = 0.1 * torch.randn(E, C, N, generator=gen, dtype=torch.float64)
    eps = torch.tensor([0.1, 0.5, 2.0], dtype=torch.float64)
    Wr, br = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    opt, draws, e = torch.optim.Adam([Wr, br], lr=lr), torch.Generator().manual_seed(9), eps.reshape(-1, 1, 1)

    def logits(x):  # [E, n, C]
        return e * torch.logsumexp((torch.einsum("nk,ecjk->encj", x, Wr) + br[:, None]) / e[..., None], -1)

    for _ in range(steps):
        idx = torch.randint(n, (batch,), generator=draws)
        ce = torch.nn.functional.cross_entropy(logits(u[idx]).flatten(0, 1), y[idx].repeat(E), reduction="none")
        opt.zero_grad()
        ce.view(E, -1).mean(-1).sum().backward()
        opt.step()
    net = engine.LSE(W.flatten(0, 1).float().to(device), b.flatten(0, 1).float().to(device),
                     eps.repeat_interleave(C).float().to(device))
    with backend.use("torch"):
        engine.train_cross_entropy(net, u.float().to(device), y.to(device), C, steps=steps, lr=lr, batch=batch,
                                   generator=torch.Generator().manual_seed(9))
    err = _rel(net.W.view(E, C, N, k), Wr)
    return dict(check="cross-entropy (30 Adam steps)", max_rel_err=err, tol=TOL["cross_entropy"],
                ok=err <= TOL["cross_entropy"])


def check_pgd(device) -> list[dict]:
    """engine.pgd on the device against the CPU in float64: the attack objective (margins and ∇ₓ) at the
    same points in float32, and one ℓ2 restart in float64 from the same CPU draws (float32 iterates part
    from float64 ones after a few sign-sensitive steps, so the restart is compared in one precision)."""
    E, C, N, k, D, P = 3, 10, 8, 20, 64, 120
    gen = torch.Generator().manual_seed(4)
    f64 = dict(generator=gen, dtype=torch.float64)
    W, b = torch.randn(E, C, N, k, **f64), 0.1 * torch.randn(E, C, N, **f64)
    eps = torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64)
    mean, comps = torch.full((D,), 0.5, dtype=torch.float64), torch.linalg.qr(torch.randn(D, k, **f64))[0]
    x, member = torch.rand(P, D, **f64), (torch.arange(P) % E).sort().values
    e = eps[member, None, None]  # labels: each model's own clean class, so every attack starts from a correct one
    y = (e[..., 0] * torch.logsumexp((torch.einsum("pk,pcnk->pcn", (x - mean) @ comps, W[member]) + b[member]) / e,
                                     -1)).argmax(1)
    radius = torch.full((P,), 0.1, dtype=torch.float64)  # about half the pairs break
    args = (W, b, eps, mean, comps, x, y, member, radius)

    def on(dtype):
        return [a.to(device, dtype) if a.is_floating_point() else a.to(device) for a in args]

    slot, width = pgd.layout(member, E)
    gap_ref, g_ref = pgd.objective(*args[:5], x, member, y, "ce", slot, width)
    W32, b32, e32, m32, c32, x32, y32, mem32, _ = on(torch.float32)
    s32, w32 = pgd.layout(mem32, E)
    gap, g = pgd.objective(W32, b32, e32, m32, c32, x32, mem32, y32, "ce", s32, w32)
    err = max(_rel(gap, gap_ref), _rel(g, g_ref))
    rows = [dict(check="PGD objective (margins, ∇ₓ), float32", max_rel_err=err, tol=TOL["pass"], ok=err <= TOL["pass"])]
    kw = dict(norm="l2", loss="ce", steps=20, box=(0.0, 1.0))
    found_ref, dist_ref = pgd.attack_rows(*args, generator=torch.Generator().manual_seed(1), **kw)
    found, dist = pgd.attack_rows(*on(torch.float64), generator=torch.Generator().manual_seed(1), **kw)
    agree = float((found.cpu() == found_ref).double().mean())
    both = found.cpu() & found_ref
    err = _rel(dist.cpu()[both], dist_ref[both]) if bool(both.any()) else 0.0
    rows.append(dict(check="PGD ℓ2 restart, float64", max_rel_err=err, tol=TOL["pgd_distance"], found_agree=agree,
                     found=int(found_ref.sum()), ok=err <= TOL["pgd_distance"] and agree == 1.0))
    return rows


def counts(device, smoke: bool = False) -> list[dict]:
    """Launches and host syncs per steady-state step (engine.opcount; on CUDA also torch.profiler's
    GPU kernels and set_sync_debug_mode's sync warnings)."""
    from hjexp import bench

    only = ("d=2 sweep", "PGD, engine.pgd") if smoke else ()  # the dry run: two workloads, three steps
    found = bench.dispatch_counts(device, steps=3 if smoke else 6, only=only)
    rows = [dict(workload=name, launches=L, syncs=S) for name, (L, S, _note) in found.items()]
    if device.type == "cuda":
        loads = bench._torch_loads(device)
        for row in rows:
            row.update(_cuda_counts(loads[row["workload"]][0], row["workload"]))
            for engine_name in torch_engines(device)[1:]:
                if row["workload"].startswith("PGD"):
                    continue
                try:
                    found = _cuda_counts(loads[row["workload"]][0], row["workload"], engine_name=engine_name)
                except Exception as exc:  # noqa: BLE001 — one capture failing must not lose the other figures
                    found = {"error": f"{type(exc).__name__}: {exc}"}
                row.update({f"{engine_name}_{k}": v for k, v in found.items()})
    return rows


def _cuda_counts(train, name: str, steps: int = 6, engine_name: str = "torch") -> dict:
    """GPU kernels, sync warnings and ms per step of ``train`` on ``engine_name`` (the torch pass eager or compiled)."""
    from torch.profiler import ProfilerActivity, profile

    with backend.use(backend.resolve(engine_name, "cuda")):
        train(3, lambda _k: None)  # warm-up: allocations, plans, compiles and graph recordings
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            train(steps, lambda _k: None)
            torch.cuda.synchronize()
        kernels = sum(e.count for e in prof.key_averages() if e.device_type.name == "CUDA")
        t = time.perf_counter()
        train(steps, lambda _k: None)
        torch.cuda.synchronize()
        step_ms = (time.perf_counter() - t) * 1e3
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                train(steps, lambda _k: None)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    per = steps + 1 if name == "PGD" else steps
    return dict(gpu_kernels_per_step=kernels / per, sync_warnings_per_step=len(caught) / per, ms_per_step=step_ms / per)


def experiments(device, profile: str, out: Path) -> list[dict]:
    """Two experiments at ``profile`` on the device: wall time, peak memory, verdicts."""
    from rich.console import Console

    from hjexp import config
    from hjexp.errors import UserError
    from hjexp.runner import execute

    rows = []
    for name in EXPERIMENTS[profile]:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        overrides = [f"profile={profile}", f"device={device.type}", f"out={out / name}"]
        row = dict(experiment=name, profile=profile)
        try:
            run_dir = execute(name, config.load(name, overrides), overrides, Console(quiet=True))
        except (UserError, RuntimeError) as exc:  # reported in the summary; the other checks still count
            row.update(rc=1, error=f"{type(exc).__name__}: {exc}")
        else:
            import pandas as pd

            row.update(rc=0, verdicts=pd.read_csv(run_dir / "summary.csv").verdict.value_counts().to_dict(),
                       engine=json.loads((run_dir / "meta.json").read_text())["engine"]["backend"])
        row["wall_s"] = round(time.perf_counter() - t, 1)
        if device.type == "cuda":
            row["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
        rows.append(row)
    rows.append(dict(peak_host_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--profile", default="quick", choices=["smoke", "quick"])
    ap.add_argument("--out", default="gpu-check")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu-check: this torch sees no CUDA device; run it on a GPU machine, or DEV=cpu for the dry run")
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report: dict = {"device": str(device), "torch": torch.__version__, "profile": a.profile}
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        report["gpu"] = dict(name=p.name, capability=f"{p.major}.{p.minor}", memory_gib=round(p.total_memory / 2**30, 1))
    seconds = report["section_s"] = {}
    t = time.perf_counter()
    with CpuDraws() if device.type != "cpu" else nullcontext():  # the CPU references' draws, on the device
        checks = check_pass(device) + check_training(device) + [check_cross_entropy(device)] + check_pgd(device)
    report["checks"] = checks
    seconds["checks"], t = round(time.perf_counter() - t, 1), time.perf_counter()
    report["counts"] = counts(device, smoke=a.profile == "smoke")
    seconds["counts"], t = round(time.perf_counter() - t, 1), time.perf_counter()
    if a.profile == "quick":
        bench = subprocess.run([sys.executable, "-m", "hjexp", "bench", f"device={device.type}"],
                               capture_output=True, text=True)
        (out / "bench.txt").write_text(bench.stdout + bench.stderr)
        report["bench"] = f"{out / 'bench.txt'} (rc {bench.returncode})"
    else:
        report["bench"] = "skipped at smoke (hjexp bench takes ~20 s on a CPU)"
    seconds["bench"], t = round(time.perf_counter() - t, 1), time.perf_counter()
    report["experiments"] = experiments(device, a.profile, out)
    seconds["experiments"] = round(time.perf_counter() - t, 1)
    report["wall_s"] = round(time.perf_counter() - start, 1)
    report["ok"] = all(c["ok"] for c in checks) and all(r.get("rc", 0) == 0 for r in report["experiments"])
    (out / "gpu-check.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
