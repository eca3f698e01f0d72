"""Every experiment × profile composes and validates; every numeric knob refuses an impossible value."""

import copy

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf

from hjexp import config, registry
from hjexp.errors import UserError

NAMES = [n for n, e in registry.experiments().items() if e.module is not None]


PROFILES = ("smoke", "quick", "paper")


@pytest.mark.parametrize("name", NAMES)
def test_every_profile_composes_validates_and_sizes_the_run(name):
    """Each profile composes, passes the experiment's own validate, and selects its own sizes: a
    profile that composed to another profile's params (an ignored ``profile=``) fails here."""
    params = {}
    for profile in PROFILES:
        cfg = config.load(name, [f"profile={profile}"])
        assert cfg.profile.name == profile
        validate = getattr(registry.get(name).module, "validate", None)
        if validate is not None:
            validate(cfg.params)  # raises UserError on a config the experiment cannot run
        params[profile] = OmegaConf.to_container(cfg.params)
    assert [params[a] != params[b] for a, b in (("smoke", "quick"), ("quick", "paper"))] == [True, True], name


def _numeric_leaves(node, path=()):
    for k, v in node.items():
        if isinstance(v, DictConfig):
            yield from _numeric_leaves(v, (*path, k))
        elif isinstance(v, ListConfig):
            if len(v) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                yield (*path, k), v
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield (*path, k), v


def _refuses(defaults: DictConfig, path: tuple, value) -> str:
    params = copy.deepcopy(OmegaConf.to_container(defaults))
    node = params
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    new = OmegaConf.create(params)
    with pytest.raises(UserError) as err:
        config._check_types(defaults, new, "params")
        config._check_values(new, "params")
    return str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_numeric_knobs_refuse_impossible_values(name):
    defaults = config.load(name, ["profile=smoke"]).params
    checked = 0
    for path, value in _numeric_leaves(defaults):
        key = path[-1]
        where = "params." + ".".join(path)
        message = _refuses(defaults, path, "abc" if not isinstance(value, ListConfig) else ["abc"])
        assert "\n" not in message and where in message, message
        rule = config._rule(key)
        if rule is not None and not key.endswith("_range"):
            ok, words = rule
            impossible = next(x for x in (0, -1, 1.5) if not ok(x))
            message = _refuses(defaults, path, [impossible] if isinstance(value, ListConfig) else impossible)
            assert words in message and where in message, message
            checked += 1
    assert checked or not list(_numeric_leaves(defaults))
