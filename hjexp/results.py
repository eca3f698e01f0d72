"""The run directory: atomic files, meta.json with status, summary.csv contract.

    outputs/<experiment>/<YYYY-mm-dd_HH-MM-SS>_<hash>/
        config.yaml  results.csv  summary.csv  meta.json  figures/  run.log
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from hjexp.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would give: mkstemp's 0600 would hide results from collaborators


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write via a temp file in the same folder + rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, frame.to_csv(index=False))


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, json.dumps(obj, indent=2, default=str) + "\n")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def new_run_dir(root: Path, name: str, config_text: str) -> Path:
    """A fresh, exclusively created run folder; concurrent runs never share one."""
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(100):
        salt = f"{config_text}{os.getpid()}{time.time_ns()}{attempt}"
        short = hashlib.sha1(salt.encode()).hexdigest()[:6]
        path = root / name / f"{stamp}_{short}"
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create a run folder under {root} ({exc.strerror}); run from a writable "
                            "folder or set HJEXP_OUTPUTS to one") from None
    raise RuntimeError(f"could not create a fresh run folder under {root / name}")


def claim_out_dir(out: str) -> Path:
    """out=DIR: the run goes exactly there; refuse to mix with an earlier run's files."""
    path = Path(out)
    try:
        if path.exists() and any(path.iterdir()):
            raise UserError(f"out={out} already holds files; give an empty or new folder")
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"out={out} cannot be written ({exc.strerror}); give a folder you can write to") from None
    return path


def point_latest(run_dir: Path) -> None:
    """outputs/<name>/latest -> the newest *complete* run (a relative symlink, swapped atomically)."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, link)
