import dataclasses
import math

import numpy as np
import pytest
import torch

from ricci_ray.data import load_dataset
from ricci_ray.errors import ConfigError
from ricci_ray.nets import (
    WIDTHS,
    HehlRecipe,
    PaperRecipe,
    build_mlp,
    evaluate,
    hidden_activations,
    hidden_widths,
    train,
    train_hehl,
    train_paper,
)


def _blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs in 4-D, centres 4 apart along the first axis, classes alternating."""
    rng = np.random.default_rng(seed)
    y = np.tile([0.0, 1.0], n // 2).astype(np.float32)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    x[:, 0] += 4 * y - 2
    return x, y


@pytest.mark.parametrize(
    ("width", "depth", "expected"),
    [
        ("narrow", 5, [25] * 5),
        ("narrow", 11, [25] * 11),
        ("wide", 5, [50] * 5),
        ("wide", 11, [50] * 11),
        ("bottleneck", 3, [50, 25, 50]),
        ("bottleneck", 5, [50, 50, 25, 50, 50]),
        ("bottleneck", 11, [50] * 5 + [25] + [50] * 5),
    ],
)
def test_hidden_widths(width, depth, expected):
    assert width in WIDTHS
    assert hidden_widths(width, depth) == expected


@pytest.mark.parametrize("depth", [1, 2, 4, 10])
def test_bottleneck_needs_odd_depth_of_at_least_3(depth):
    with pytest.raises(ConfigError, match=rf"depth: .*odd depth >= 3.*given {depth}"):
        hidden_widths("bottleneck", depth)


def test_hidden_widths_rejects_unknown_width_and_bad_depth():
    with pytest.raises(ConfigError, match="width: must be one of narrow, wide, bottleneck"):
        hidden_widths("deep", 5)
    with pytest.raises(ConfigError, match="depth: must be an integer >= 1; given 0"):
        hidden_widths("wide", 0)


def test_build_mlp_glorot_weights_and_zero_biases():
    model = build_mlp(3, [50, 25, 50], seed=0)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (3, 50),
        (50, 25),
        (25, 50),
        (50, 1),
    ]
    for layer in linears:
        bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        weights = layer.weight.detach()
        assert weights.abs().max() <= bound
        # A uniform draw on [-bound, bound] fills most of it (the 3x50 layer has 150 draws).
        assert weights.abs().max() > 0.8 * bound
        assert torch.count_nonzero(layer.bias) == 0


def test_build_mlp_outputs_probabilities():
    model = build_mlp(4, [8], seed=0)
    p = model(torch.randn(10, 4, generator=torch.Generator().manual_seed(0)))
    assert p.shape == (10,)
    assert ((p > 0) & (p < 1)).all()


def test_build_mlp_is_deterministic_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    first, again = build_mlp(3, [25] * 5, seed=11), build_mlp(3, [25] * 5, seed=11)
    other = build_mlp(3, [25] * 5, seed=12)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first.hidden[0].weight, other.hidden[0].weight)
    # nn.Linear's own default init consumes the global generator; seeded draws do not depend
    # on it, so a different global state still gives the same network.
    torch.set_rng_state(state)
    torch.manual_seed(1234)
    shifted = build_mlp(3, [25] * 5, seed=11)
    assert torch.equal(first.hidden[2].weight, shifted.hidden[2].weight)


def test_training_is_deterministic():
    x, y = _blobs()
    recipe = PaperRecipe(epochs=5, learning_rate=1e-2)
    results, weights = [], []
    for _ in range(2):
        model = build_mlp(4, [16, 16], seed=3)
        results.append(train_paper(model, x, y, recipe, seed=5))
        weights.append(model.output.weight.detach().clone())
    assert results[0] == results[1]
    assert torch.equal(weights[0], weights[1])
    assert results[0].accuracy_val > 0.9
    assert results[0].epochs == 5 and not results[0].diverged

    model = build_mlp(4, [16, 16], seed=3)
    train_paper(model, x, y, recipe, seed=6)
    assert not torch.equal(model.output.weight.detach(), weights[0])


def test_validation_split_holds_out_the_last_rows_unshuffled():
    # The last 20% of rows carry labels opposite to their blob: a model trained on the first
    # 80% must get them all wrong, which proves they were held out and not trained on.
    x, y = _blobs(n=100)
    y_flipped = y.copy()
    y_flipped[80:] = 1 - y_flipped[80:]
    model = build_mlp(4, [16], seed=0)
    result = train_paper(model, x, y_flipped, PaperRecipe(epochs=20, learning_rate=1e-2), seed=0)
    assert result.accuracy_train > 0.95
    assert result.accuracy_val < 0.05
    assert (result.loss_val, result.accuracy_val) == pytest.approx(
        evaluate(model, x[80:], y_flipped[80:])
    )
    assert (result.loss_train, result.accuracy_train) == pytest.approx(
        evaluate(model, x[:80], y_flipped[:80])
    )


def test_validation_split_can_be_a_seeded_random_subset():
    x, y = _blobs(n=100)
    y_flipped = y.copy()
    y_flipped[80:] = 1 - y_flipped[80:]
    recipe = PaperRecipe(epochs=20, learning_rate=1e-2, shuffle_split=True)
    model = build_mlp(4, [16], seed=0)
    result = train_paper(model, x, y_flipped, recipe, seed=0)
    # Flipped rows are now scattered between the two parts, so neither is pure.
    assert 0.05 < result.accuracy_val < 0.95


def test_no_validation_split():
    x, y = _blobs(n=40)
    result = train_paper(
        build_mlp(4, [8], seed=0), x, y, PaperRecipe(epochs=1, validation_split=0), seed=0
    )
    assert result.loss_val is None and result.accuracy_val is None


def test_divergence_stops_training_instead_of_raising():
    x, y = _blobs(n=40)
    x[3, 0] = np.inf
    result = train_paper(build_mlp(4, [8], seed=0), x, y, PaperRecipe(epochs=3), seed=0)
    assert result.diverged
    assert result.epochs == 0


def test_hidden_activations_shapes_and_non_negativity():
    widths = hidden_widths("bottleneck", 5)
    model = build_mlp(3, widths, seed=0)
    x = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    activations = hidden_activations(model, x)
    assert [a.shape for a in activations] == [(30, w) for w in widths]
    for a in activations:
        assert a.dtype == np.float32
        assert (a >= 0).all()
    # The last hidden layer feeds the output unit.
    logits = activations[-1] @ model.output.weight.detach().numpy().T + model.output.bias.item()
    np.testing.assert_allclose(logits[:, 0], model.logits(torch.from_numpy(x)).detach(), atol=1e-6)


@pytest.mark.parametrize(
    ("field", "value"),
    [("epochs", 0), ("batch_size", 0), ("learning_rate", 0.0), ("validation_split", 1.0)],
)
def test_recipe_rejects_bad_values(field, value):
    with pytest.raises(ConfigError, match=f"{field}: must be"):
        dataclasses.replace(PaperRecipe(), **{field: value})


def test_shape_mismatch_is_a_config_error():
    model = build_mlp(4, [8], seed=0)
    with pytest.raises(ConfigError, match=r"x: must have shape \(n, 4\)"):
        evaluate(model, np.zeros((5, 3), np.float32), np.zeros(5, np.float32))
    with pytest.raises(ConfigError, match=r"y: must have shape \(5,\)"):
        train_paper(model, np.zeros((5, 4)), np.zeros(4), PaperRecipe(), seed=0)


def test_paper_recipe_trains_baptista_a_well():
    data = load_dataset("baptista-a", data_seed=0)
    model = build_mlp(3, hidden_widths("narrow", 5), seed=0)
    result = train_paper(model, data.x_train, data.y_train, PaperRecipe(), seed=0)
    _, accuracy = evaluate(model, data.x_test, data.y_test)
    assert result.epochs == 50 and not result.diverged
    assert accuracy > 0.99


def test_shuffled_split_is_seeded():
    x, y = _blobs(n=100)
    recipe = PaperRecipe(epochs=2, learning_rate=1e-2, shuffle_split=True)
    results = []
    for seed in (0, 0, 1):
        model = build_mlp(4, [8], seed=0)
        results.append(train_paper(model, x, y, recipe, seed=seed))
    assert results[0] == results[1]
    assert results[0] != results[2]


# --- the Hehl recipe ------------------------------------------------------------------------


def test_hehl_recipe_defaults_and_validation():
    recipe = HehlRecipe()
    assert (recipe.learning_rate, recipe.target_accuracy) == (1e-3, 0.99)
    assert recipe.max_epochs >= 1000
    for field, value in [("learning_rate", 0.0), ("target_accuracy", 1.5), ("max_epochs", 0)]:
        with pytest.raises(ConfigError, match=f"{field}: must be"):
            dataclasses.replace(recipe, **{field: value})


def test_train_hehl_stops_at_the_target_accuracy():
    x, y = _blobs(n=200)
    model = build_mlp(4, [16, 16], seed=0)
    result = train_hehl(
        model, x, y, HehlRecipe(learning_rate=1e-2, target_accuracy=0.98, max_epochs=5000), seed=0
    )
    assert result.accuracy_train >= 0.98
    assert 0 < result.epochs < 5000
    assert result.loss_val is None and result.accuracy_val is None
    assert (result.loss_train, result.accuracy_train) == pytest.approx(evaluate(model, x, y))

    # One step fewer leaves the network below the target: training stopped at the first hit.
    fewer = build_mlp(4, [16, 16], seed=0)
    recipe = HehlRecipe(learning_rate=1e-2, target_accuracy=0.98, max_epochs=result.epochs - 1)
    assert train_hehl(fewer, x, y, recipe, seed=0).accuracy_train < 0.98


def test_train_hehl_stops_at_the_epoch_cap():
    # Labels independent of the inputs cannot be fitted to 100% in 7 steps.
    x, _ = _blobs(n=100)
    y = np.random.default_rng(0).integers(0, 2, 100).astype(np.float32)
    result = train_hehl(
        build_mlp(4, [8], seed=0), x, y, HehlRecipe(target_accuracy=1.0, max_epochs=7), seed=0
    )
    assert result.epochs == 7 and result.accuracy_train < 1 and not result.diverged


def test_train_hehl_divergence():
    x, y = _blobs(n=40)
    x[0, 0] = np.nan
    result = train_hehl(build_mlp(4, [8], seed=0), x, y, HehlRecipe(max_epochs=3), seed=0)
    assert result.diverged and result.epochs == 0


def test_train_dispatches_on_the_recipe():
    x, y = _blobs(n=60)
    for recipe, trainer in [
        (PaperRecipe(epochs=2), train_paper),
        (HehlRecipe(max_epochs=5), train_hehl),
    ]:
        via_train = train(build_mlp(4, [8], seed=1), x, y, recipe, seed=2)
        direct = trainer(build_mlp(4, [8], seed=1), x, y, recipe, seed=2)
        assert via_train == direct
    with pytest.raises(ConfigError, match="recipe: must be a PaperRecipe or a HehlRecipe"):
        train(build_mlp(4, [8], seed=1), x, y, {"name": "paper"}, seed=0)


@pytest.mark.parametrize(
    "recipe", [PaperRecipe(epochs=3, shuffle_split=True), HehlRecipe(max_epochs=50)]
)
def test_same_config_and_seed_give_identical_accuracy_and_activations(recipe):
    data = load_dataset("hehl-3", data_seed=1)
    x_train, y_train = data.x_train[:300], data.y_train[:300]
    runs = []
    for _ in range(2):
        model = build_mlp(3, hidden_widths("bottleneck", 5), seed=4)
        result = train(model, x_train, y_train, recipe, seed=4)
        runs.append(
            (
                result,
                evaluate(model, data.x_test, data.y_test),
                hidden_activations(model, data.x_test),
            )
        )
    (result_a, test_a, acts_a), (result_b, test_b, acts_b) = runs
    assert result_a == result_b
    assert test_a == test_b
    for a, b in zip(acts_a, acts_b, strict=True):
        np.testing.assert_array_equal(a, b)


# --- devices --------------------------------------------------------------------------------


def test_build_mlp_on_cpu_device():
    model = build_mlp(4, [8], seed=0, device="cpu")
    assert model.output.weight.device == torch.device("cpu")
    default = build_mlp(4, [8], seed=0)
    assert torch.equal(model.hidden[0].weight, default.hidden[0].weight)
    x, y = _blobs(n=40)
    train_hehl(model, x, y, HehlRecipe(max_epochs=2), seed=0)
    assert hidden_activations(model, x)[0].shape == (40, 8)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_device_without_cuda_is_a_config_error(device):
    with pytest.raises(ConfigError, match=r"device: must be 'cpu' or a CUDA device available"):
        build_mlp(4, [8], seed=0, device=device)


@pytest.mark.parametrize("device", ["gpu", "meta", 3.5])
def test_unknown_device_is_a_config_error(device):
    with pytest.raises(ConfigError, match="device: must be 'cpu' or 'cuda"):
        build_mlp(4, [8], seed=0, device=device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_matches_shapes():
    x, y = _blobs(n=64)
    model = build_mlp(4, [8], seed=0, device="cuda")
    result = train(model, x, y, PaperRecipe(epochs=2), seed=0)
    assert result.epochs == 2
    assert hidden_activations(model, x)[0].shape == (64, 8)
