"""The ``geometry`` command and :func:`measure_activations`."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from ricci_ray.errors import ConfigError
from ricci_ray.geometry import network_geometry
from ricci_ray.geometry_cli import add_geometry_command, load_activations, measure_activations


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_geometry_command(sub)
    args = parser.parse_args(["geometry", *argv])
    return args.handler(args)


def network(n_layers: int = 12, n: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    layers = [rng.normal(size=(n, 3))]
    for _ in range(n_layers - 1):
        weights = rng.normal(size=(layers[-1].shape[1], 6))
        layers.append(np.maximum(layers[-1] @ weights, 0.0).astype(np.float32))
    return layers


def test_prints_tables_and_writes_json(tmp_path, capsys):
    layers = network()
    np.savez(tmp_path / "acts.npz", *layers)  # arr_0 .. arr_11: arr_10 must stay 11th
    out = tmp_path / "geometry.json"

    status = run(str(tmp_path / "acts.npz"), "--k", "5", "12", "--json", str(out))

    assert status == 0
    expected = network_geometry(layers, [5, 12])
    written = json.loads(out.read_text())
    assert (written["convention"], written["curvature"]) == ("paper", "forman")
    assert (written["n_points"], written["n_layers"]) == (40, 12)
    assert list(written["ks"]) == ["5", "12"]
    for k, result in expected.items():
        entry = written["ks"][str(k)]
        assert entry["ric"] == result.ric.tolist()
        assert entry["g"] == result.g.tolist()
        assert entry["n_components"] == result.n_components.tolist()
        assert entry["rho"] == result.ricci_coef
        assert entry["reason"] == result.reason
        if result.eta is None:
            assert entry["eta"] is None
        else:
            assert entry["eta"] == result.eta.tolist() and len(entry["eta"]) == 10
    printed = capsys.readouterr().out
    assert "k = 5 (paper convention, forman curvature)" in printed
    assert printed.count("layer") == 2
    assert len(printed.strip().splitlines()) == 2 * (2 + 12) + 1


def test_unnamed_arrays_sorted_naturally(tmp_path):
    layers = network(n_layers=11)  # arr_10 must come after arr_9, not after arr_1
    np.savez(tmp_path / "acts.npz", *layers)
    loaded = load_activations(tmp_path / "acts.npz")
    assert all(np.array_equal(a, b) for a, b in zip(loaded, layers, strict=True))


def test_named_arrays_need_an_explicit_order(tmp_path):
    layers = network(n_layers=4)
    names = ["input", "h1", "h2", "h3", "h4"][: len(layers)]
    np.savez(tmp_path / "acts.npz", **dict(zip(names, layers, strict=True)))
    # Sorting these names would put the input last: refuse rather than guess.
    with pytest.raises(ConfigError, match="--layers naming the input"):
        load_activations(tmp_path / "acts.npz")
    loaded = load_activations(tmp_path / "acts.npz", names)
    assert all(np.array_equal(a, b) for a, b in zip(loaded, layers, strict=True))
    with pytest.raises(ConfigError, match="given: h9"):
        load_activations(tmp_path / "acts.npz", ["input", "h9"])


def test_undefined_rho_is_null(tmp_path, capsys):
    # Two hidden layers only: eta has one entry, rho needs 3.
    np.savez(tmp_path / "acts.npz", *network(n_layers=3))
    run(str(tmp_path / "acts.npz"), "--k", "4", "--json", str(tmp_path / "g.json"))
    entry = json.loads((tmp_path / "g.json").read_text())["ks"]["4"]
    assert entry["rho"] is None and entry["reason"] == "fewer than 3 layer pairs (depth 2)"
    assert "rho undefined: fewer than 3 layer pairs" in capsys.readouterr().out


@pytest.mark.parametrize("curvature", ["augmented_forman", "approx_ollivier"])
def test_curvature_and_convention_options(tmp_path, curvature):
    layers = network(n_layers=6)
    np.savez(tmp_path / "acts.npz", *layers)
    out = tmp_path / "g.json"
    argv = ["--k", "6", "--convention", "undirected", "--curvature", curvature, "--json", str(out)]
    run(str(tmp_path / "acts.npz"), *argv)
    entry = json.loads(out.read_text())["ks"]["6"]
    expected = network_geometry(layers, [6], convention="undirected", curvature=curvature)[6]
    assert entry["ric"] == pytest.approx(expected.ric.tolist())


def test_measure_activations_python_entry():
    measured = measure_activations(network(n_layers=6), [3], convention="undirected")
    assert measured["ks"]["3"]["status"] in ("ok", "undefined")
    assert len(measured["ks"]["3"]["ric"]) == 6


@pytest.mark.parametrize(
    ("make", "argv", "fragment"),
    [
        (None, ["--k", "3"], "activations: allowed an existing .npz file; given"),
        (lambda p: np.savez(p), ["--k", "3"], "allowed at least 2 arrays (input and one hidden"),
        (
            lambda p: np.savez(p, np.zeros((10, 2)), np.zeros((9, 2))),
            ["--k", "3"],
            "same number of rows (points); given arr_0: 10, arr_1: 9",
        ),
        (
            lambda p: np.savez(p, np.zeros((10, 2)), np.zeros(10)),
            ["--k", "3"],
            "allowed 2-D arrays (n_points, n_features); given arr_0 (10, 2), arr_1 (10,)",
        ),
        (
            lambda p: np.savez(p, *network(n_layers=3, n=10)),
            ["--k", "3", "10"],
            "ks: allowed integers 1 <= k < n_points = 10; given 10",
        ),
        (
            lambda p: p.write_text("not an archive"),
            ["--k", "3"],
            "activations: allowed an .npz archive (np.savez); given",
        ),
    ],
)
def test_errors(tmp_path, make, argv, fragment):
    path = tmp_path / "acts.npz"
    if make is not None:
        make(path)
    with pytest.raises(ConfigError) as info:
        run(str(path), *argv)
    assert fragment in str(info.value)


def test_single_array_file_is_rejected(tmp_path):
    path = tmp_path / "acts.npy"
    np.save(path, np.zeros((5, 2)))
    with pytest.raises(ConfigError, match="a single array"):
        load_activations(path)
