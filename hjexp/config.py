"""Composing a run's configuration with Hydra, and refusing bad input early.

configs/config.yaml holds the run-wide keys (profile, device, engine, dtype, seed, out);
configs/experiment/<name>.yaml holds the experiment's ``params``. A value that
depends on the size profile is written ``${per_profile:SMOKE,QUICK,PAPER}``, so
each knob shows its three sizes side by side and a user override replaces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from hjexp.engine.backend import Engine
from hjexp.errors import UserError
from hjexp.paths import CONFIG_DIR


class Profile(Enum):
    smoke = 0
    quick = 1
    paper = 2


class Device(Enum):
    auto = 0
    cpu = 1
    cuda = 2


class DType(Enum):
    auto = 0
    float32 = 1
    float64 = 2


@dataclass
class RunConfig:
    """Schema of the run-wide keys: Enums make ``profile=nonsense`` fail loudly."""

    profile: Profile = Profile.quick
    device: Device = Device.auto
    engine: Engine = Engine.auto
    dtype: DType = DType.auto
    seed: int = 0
    threads: int = 0
    out: str | None = None
    resume: str | None = None
    judge: Any = field(default_factory=dict)   # judging tolerances: configs/config.yaml and experiment yaml
    params: Any = field(default_factory=dict)


def _per_profile(smoke: Any, quick: Any, paper: Any, *, _root_: DictConfig) -> Any:
    return {"smoke": smoke, "quick": quick, "paper": paper}[_root_.profile.name]


def _register() -> None:
    if not OmegaConf.has_resolver("per_profile"):
        OmegaConf.register_new_resolver("per_profile", _per_profile)
    cs = ConfigStore.instance()
    if "run_schema" not in cs.repo:
        cs.store(name="run_schema", node=RunConfig)


def _compose(name: str, overrides: list[str]) -> DictConfig:
    _register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=[f"experiment={name}", *overrides])
    except Exception as exc:  # Hydra/OmegaConf raise many types; all are user input errors here
        raise UserError(_explain(exc, name, overrides)) from None
    finally:
        GlobalHydra.instance().clear()


def _explain(exc: Exception, name: str, overrides: list[str]) -> str:
    while exc.__cause__ is not None and "Error merging override" in str(exc):
        exc = exc.__cause__  # Hydra wraps the informative OmegaConf error
    text = " ".join(str(exc).split())
    key = re.search(r"Key '([^']+)' is not in struct", text) or re.search(r"Could not override '([^']+)'", text)
    if key:
        hint = "" if key.group(1).startswith("params.") else "experiment knobs live under params. (e.g. params.t=0.5); "
        return f"unknown config key {key.group(1)!r}; {hint}see the valid keys with `hjexp run {name} --cfg`"
    missing = re.search(r"Could not find '([^']+)'.*?Available options in '[^']+':\s*(.*?)(?: Config search path|$)", text)
    if missing:
        return f"no config {missing.group(1)!r}; available: {missing.group(2)}"
    enum = re.search(r"Invalid value '([^']*)', expected one of \[([^\]]*)\].*?full_key: (\S+)", text)
    if enum:
        return f"{enum.group(3)}={enum.group(1)} is not valid; choose one of: {enum.group(2)}"
    value = re.search(r"Value '([^']*)' (?:of type '\w+' )?could not be converted to (\w+).*?full_key: (\S+)", text)
    if value:
        return f"{value.group(3)}={value.group(1)} is not a valid {value.group(2)}; give a number of that type"
    return f"bad configuration ({' '.join(overrides) or 'defaults'}): {text[:300]}"


def load(name: str, overrides: list[str]) -> DictConfig:
    """Composed, resolved and validated config of experiment ``name``."""
    cfg = resolve(_compose(name, overrides), overrides, name)
    if any(o.lstrip("+~").startswith("params.") for o in overrides):
        defaults = resolve(_compose(name, [o for o in overrides if not o.lstrip("+~").startswith("params.")]), [])
        _check_types(defaults.params, cfg.params, "params")
    _check_values(cfg.params, "params")
    return cfg


def resolve(cfg: DictConfig, overrides: list[str], name: str = "EXPERIMENT") -> DictConfig:
    """Resolve interpolations in place. (OmegaConf.resolve cannot turn a ``${per_profile:...}``
    node into a list, so params are rebuilt from their resolved container.)"""
    try:
        params = OmegaConf.to_container(cfg.params, resolve=True)
        out, resume = cfg.out, cfg.resume
    except Exception as exc:
        raise UserError(_explain(exc, name, overrides)) from None
    with open_dict(cfg):
        cfg.params = params
        cfg.out = out
        cfg.resume = resume
    OmegaConf.set_struct(cfg, True)
    return cfg


def _check_types(default: Any, new: Any, path: str) -> None:
    """Overrides must keep the type of the default (ints may stand for floats)."""
    if isinstance(default, DictConfig):
        for k in new:
            if k not in default:
                raise UserError(f"unknown config key '{path}.{k}'; see the valid keys with `hjexp run EXPERIMENT --cfg`")
            _check_types(default[k], new[k], f"{path}.{k}")
        return
    if default is None:
        return
    if isinstance(default, ListConfig):
        if not isinstance(new, ListConfig):
            raise UserError(f"{path} must be a list like [1,2,3], got {new!r}")
        if len(default):
            for i, item in enumerate(new):
                _check_types(default[0], item, f"{path}[{i}]")
        return
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
    }.get(type(default), lambda v: True)
    if not ok(new):
        raise UserError(f"{path}={new!r} has the wrong type; expected {type(default).__name__} like {default!r}")


# Value rules every experiment shares, in one place, keyed by the knob's name (the last part of
# its path): (what the name matches, the rule, how to say it). A knob named by these conventions
# is checked in every experiment without any code of its own.
_POSITIVE = ("eps", "t", "lr", "sigma", "noise", "scale", "radius", "tol", "h")
_COUNT = ("n", "seeds", "steps", "width", "widths", "dims", "d", "grid", "repeats", "restarts", "batch")
_FRACTION = ("frac", "fraction", "share", "quantile")


def _rule(key: str):
    """The shared rule for a knob name, or None. The name's first word decides before its last
    (``eps_grid`` is a list of ε, ``n_eps`` a count)."""
    words = key.split("_")
    positive = (lambda x: x > 0), "> 0"
    count = (lambda x: x >= 1), "a positive count (≥ 1)"
    fraction = (lambda x: 0 < x < 1), "a fraction in (0, 1)"
    for word in (words[0], words[-1]):
        if word in _FRACTION:
            return fraction
        if word in _POSITIVE:
            return positive
        if word in _COUNT or word in ("size", "sizes"):
            return count
    return None


def _check_values(params: Any, path: str) -> None:
    """Rules every experiment shares (see _rule): ε, t, lr > 0; counts ≥ 1; fractions in (0, 1);
    grids non-empty. Ranges written [lo, hi] are not judged element by element."""
    for k, v in params.items():
        where = f"{path}.{k}"
        if isinstance(v, DictConfig):
            _check_values(v, where)
            continue
        values = list(v) if isinstance(v, ListConfig) else [v]
        if isinstance(v, ListConfig) and not values:
            raise UserError(f"{where} is an empty grid; give at least one value, e.g. {where}=[1,2]")
        rule = _rule(str(k))
        if rule is None or k.endswith("_range"):
            continue
        ok, words = rule
        bad = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool) and not ok(x)]
        if bad:
            shown = OmegaConf.to_container(v) if isinstance(v, ListConfig) else v
            why = " (ε is a viscosity/temperature)" if str(k).startswith("eps") else ""
            raise UserError(f"{where} must be {words}{why}, got {shown}")
