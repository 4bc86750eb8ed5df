"""Sweep files are validated completely before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ricci_ray.errors import ConfigError
from ricci_ray.spec import TrialConfig, load_sweep, parse_sweep

REPO = Path(__file__).resolve().parents[1]

VALID = {
    "name": "t",
    "datasets": ["baptista-a"],
    "widths": ["narrow", "bottleneck"],
    "depths": [5],
    "seeds": [0, 1],
    "k": [10, 30],
}


def _with(**changes):
    doc = dict(VALID)
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize("path", sorted((REPO / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweep_files_are_valid(path):
    spec = load_sweep(path)
    assert spec.trial_configs()


def test_quick_sweep_is_the_readme_main_job():
    spec = load_sweep(REPO / "sweeps" / "quick.yaml")
    assert len(spec.trial_configs()) >= 24
    assert spec.datasets == ["baptista-a"]


def test_grid_is_the_product_of_its_axes():
    spec = parse_sweep(VALID)
    configs = spec.trial_configs(data_dir="/data")
    assert len(configs) == 1 * 2 * 1 * 2
    assert {(c.width, c.seed) for c in configs} == {
        ("narrow", 0),
        ("narrow", 1),
        ("bottleneck", 0),
        ("bottleneck", 1),
    }
    assert all(c.ks == (10, 30) and c.data_dir == "/data" for c in configs)


def test_trial_id_is_stable_and_ignores_location():
    a = parse_sweep(VALID).trial_configs(data_dir="/x")[0]
    b = parse_sweep(VALID).trial_configs(data_dir="/y")[0]
    assert a.trial_id == b.trial_id
    assert a.trial_id.startswith("baptista-a_narrow_d5_s0_")
    changed = parse_sweep(_with(k=[10, 31])).trial_configs()[0]
    assert changed.trial_id != a.trial_id


def test_trial_config_round_trips_through_a_dict():
    config = parse_sweep(VALID).trial_configs()[0]
    assert TrialConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("doc", "fragments"),
    [
        (
            _with(colour="red"),
            ["field 'colour'", "allowed: the keys name", "unknown key 'colour'"],
        ),
        (_with(recipe={"epochz": 3}), ["field 'recipe.epochz'", "unknown key", "epochs"]),
        (_with(depths=["five"]), ["field 'depths[0]'", "valid integer", "given: 'five'"]),
        (_with(depths=5), ["field 'depths'", "valid list", "given: 5"]),
        (
            _with(datasets=["mnist-3v4"]),
            ["field 'datasets[0]'", "one of", "baptista-a", "given: 'mnist-3v4'"],
        ),
        (_with(k=[10, 1000]), ["field 'k[1]'", "below the 1000 test points", "given: 1000"]),
        (_with(k=[0]), ["field 'k[0]'", ">= 1", "given: 0"]),
        (_with(depths=[4]), ["field 'depths[0]'", "odd depth", "given: 4"]),
        (
            _with(convention="mutual"),
            ["field 'convention'", "'paper' or 'undirected'", "given: 'mutual'"],
        ),
        (_with(seeds=[1, 1]), ["field 'seeds'", "distinct values"]),
        (_with(name=None), ["field 'name'", "required"]),
        (
            _with(resources={"cpus_per_trial": 0}),
            ["field 'resources.cpus_per_trial'", "greater than 0", "given: 0"],
        ),
    ],
)
def test_bad_sweep_is_rejected_naming_field_allowed_and_given(doc, fragments):
    with pytest.raises(ConfigError) as info:
        parse_sweep(doc, source="bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml: ")
    for fragment in fragments:
        assert fragment in message


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        parse_sweep(_with(depths=["x"], convention="y", extra=1))
    assert len(str(info.value).splitlines()) == 3


def test_value_problems_are_reported_with_structural_ones_in_one_pass():
    doc = _with(convention="y", datasets=["baptista-a", "baptista-z"], k=[0, 10, 10], seeds=[1, 1])
    with pytest.raises(ConfigError) as info:
        parse_sweep(doc)
    lines = str(info.value).splitlines()
    for fragment in ("'convention'", "'datasets[1]'", "'k[0]'", "'k': allowed: distinct"):
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)
    assert sum("'seeds': allowed: distinct" in line for line in lines) == 1
    assert len(lines) == 5, lines
    # A field that is itself malformed is not checked again for its values.
    with pytest.raises(ConfigError) as info:
        parse_sweep(_with(depths=["x", 2]))
    assert all("depths[1]" not in line for line in str(info.value).splitlines())


def test_k_values_that_resolve_to_the_same_k_are_rejected():
    with pytest.raises(ConfigError) as info:
        parse_sweep(_with(k=[50, 0.05]))  # 5 % of 1000 test points is 50
    assert "field 'k': allowed: values that stay distinct" in str(info.value)
    assert "[50, 50]" in str(info.value)


def test_yaml_scientific_notation_without_dot_is_a_number(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(VALID) + "recipe: {learning_rate: 1e-3}\n")
    assert load_sweep(path).recipe.learning_rate == pytest.approx(1e-3)


def test_unreadable_and_non_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_sweep(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sweep(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="a mapping of sweep fields"):
        load_sweep(listy)


def test_hehl_recipe_and_named_class_pairs_are_accepted():
    spec = parse_sweep(
        _with(
            datasets=["hehl-1", "fmnist-idx-3v8"],
            k=[10],
            recipe={"name": "hehl", "target_accuracy": 0.95},
        )
    )
    config = spec.trial_configs()[0]
    assert config.recipe == {
        "name": "hehl",
        "learning_rate": 1e-3,
        "target_accuracy": 0.95,
        "max_epochs": 10_000,
    }


@pytest.mark.parametrize(
    ("recipe", "fragments"),
    [
        ({"name": "sgd"}, ["field 'recipe.name'", "'paper' or 'hehl'", "given: 'sgd'"]),
        ({"name": "hehl", "epochs": 3}, ["field 'recipe.epochs'", "unknown key", "max_epochs"]),
        ({"name": "hehl", "target_accuracy": 2}, ["field 'recipe.target_accuracy'", "given: 2"]),
    ],
)
def test_bad_recipe_is_rejected(recipe, fragments):
    with pytest.raises(ConfigError) as info:
        parse_sweep(_with(recipe=recipe))
    for fragment in fragments:
        assert fragment in str(info.value)


def test_k_as_fractions_and_per_data_set_grids():
    fractions = parse_sweep(_with(datasets=["baptista-a", "mnist-1v7"], k=[0.05, 10]))
    ks = {c.dataset: c.ks for c in fractions.trial_configs()}
    assert ks == {"baptista-a": (10, 50), "mnist-1v7": (10, 25)}

    per_set = parse_sweep(
        _with(datasets=["baptista-a", "mnist-1v7"], k={"baptista-a": [6, 9], "mnist-1v7": [499]})
    )
    ks = {c.dataset: c.ks for c in per_set.trial_configs()}
    assert ks == {"baptista-a": (6, 9), "mnist-1v7": (499,)}


@pytest.mark.parametrize(
    ("k", "fragments"),
    [
        ({"baptista-a": [10]}, ["field 'k.mnist-1v7': required but missing"]),
        ({"baptista-a": [10], "mnist-1v7": [5], "x": [3]}, ["field 'k.x'", "given: 'x'"]),
        ({"baptista-a": [10], "mnist-1v7": [500]}, ["field 'k.mnist-1v7[0]'", "below the 500"]),
        ([0.05, 1.5], ["field 'k[1]'", "fraction of the test points", "given: 1.5"]),
    ],
)
def test_bad_k_grids(k, fragments):
    with pytest.raises(ConfigError) as info:
        parse_sweep(_with(datasets=["baptista-a", "mnist-1v7"], k=k))
    for fragment in fragments:
        assert fragment in str(info.value)
