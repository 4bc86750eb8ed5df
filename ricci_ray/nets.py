"""The paper's fully connected networks and their training recipe (Baptista et al. 2024).

Everything here is deterministic on CPU for a given seed: randomness comes from explicit
CPU ``torch.Generator`` objects, never from torch's global generator. Thread settings are
left to the caller (the trial runner pins them). A network built with ``device="cuda"``
trains and is evaluated there; its initial weights and shuffles are the CPU ones, but GPU
kernels need not give bit-identical results from run to run.
"""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ricci_ray.architectures import WIDTHS, hidden_widths
from ricci_ray.errors import ConfigError

__all__ = [
    "WIDTHS",
    "MLP",
    "HehlRecipe",
    "PaperRecipe",
    "Recipe",
    "TrainResult",
    "build_mlp",
    "evaluate",
    "hidden_activations",
    "hidden_widths",
    "train",
    "train_hehl",
    "train_paper",
]


@dataclass(frozen=True)
class PaperRecipe:
    """Training recipe of the paper: RMSprop, binary cross-entropy, Keras-style validation."""

    epochs: int = 50
    batch_size: int = 32
    learning_rate: float = 1e-3
    rho: float = 0.9
    eps: float = 1e-7
    validation_split: float = 0.2
    shuffle_split: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs: must be >= 1; given {self.epochs!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size: must be >= 1; given {self.batch_size!r}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate: must be > 0; given {self.learning_rate!r}")
        if not 0 <= self.rho < 1:
            raise ConfigError(f"rho: must be in [0, 1); given {self.rho!r}")
        if not self.eps >= 0:
            raise ConfigError(f"eps: must be >= 0; given {self.eps!r}")
        if not 0 <= self.validation_split < 1:
            raise ConfigError(
                f"validation_split: must be in [0, 1); given {self.validation_split!r}"
            )


@dataclass(frozen=True)
class HehlRecipe:
    """Training recipe of Hehl et al.: full-batch Adam on every training row (nothing held
    out), stopped as soon as training accuracy reaches ``target_accuracy`` or after
    ``max_epochs`` steps."""

    learning_rate: float = 1e-3
    target_accuracy: float = 0.99
    max_epochs: int = 10_000

    def __post_init__(self) -> None:
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate: must be > 0; given {self.learning_rate!r}")
        if not 0 < self.target_accuracy <= 1:
            raise ConfigError(
                f"target_accuracy: must be in (0, 1]; given {self.target_accuracy!r}"
            )
        if isinstance(self.max_epochs, bool) or self.max_epochs < 1:
            raise ConfigError(f"max_epochs: must be >= 1; given {self.max_epochs!r}")


Recipe = PaperRecipe | HehlRecipe
EpochHook = Callable[[int], None]


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train_paper` or :func:`train_hehl`.

    ``loss_train`` and ``accuracy_train`` are measured on the training rows after the last
    epoch (Keras reports a running mean over the last epoch instead); the validation pair is
    ``None`` when nothing was held out (always, for the Hehl recipe). ``epochs`` counts
    completed epochs (optimizer steps, for the Hehl recipe); ``diverged`` is true when a
    non-finite loss stopped training early.
    """

    loss_train: float
    accuracy_train: float
    loss_val: float | None
    accuracy_val: float | None
    epochs: int
    diverged: bool


class MLP(nn.Module):
    """ReLU hidden layers and one sigmoid output unit; ``forward`` returns probabilities."""

    def __init__(self, in_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        dims = [in_dim, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.output = nn.Linear(dims[-1], 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid output, shape ``(n,)``."""
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.output(x).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


def build_mlp(
    in_dim: int, hidden: Sequence[int], *, seed: int, device: str | torch.device = "cpu"
) -> MLP:
    """A network of the paper: Glorot-uniform weights and zero biases, drawn from ``seed``.

    The weights are drawn on the CPU, so a seed gives the same initial network on every
    device; the network is then moved to ``device`` (``"cpu"``, or ``"cuda"`` / ``"cuda:N"``
    when CUDA is available), where training and evaluation follow it.

    Raises:
        ConfigError: bad sizes, or a device that is unknown or not available here.
    """
    device = _check_device(device)
    if in_dim < 1:
        raise ConfigError(f"in_dim: must be >= 1; given {in_dim!r}")
    if len(hidden) == 0 or any(w < 1 for w in hidden):
        raise ConfigError(f"hidden: must be a non-empty list of widths >= 1; given {hidden!r}")
    model = MLP(in_dim, hidden)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in [*model.hidden, model.output]:
            nn.init.xavier_uniform_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)
    return model.to(device)


def _check_device(device: str | torch.device) -> torch.device:
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device: must be 'cpu' or 'cuda[:N]'; given {device!r}") from exc
    if resolved.type == "cuda":
        n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n_gpus == 0 or (resolved.index is not None and resolved.index >= n_gpus):
            raise ConfigError(
                f"device: must be 'cpu' or a CUDA device available here ({n_gpus} found); "
                f"given {device!r}"
            )
    elif resolved.type != "cpu":
        raise ConfigError(f"device: must be 'cpu' or 'cuda[:N]'; given {device!r}")
    return resolved


def _device_of(model: MLP) -> torch.device:
    return model.output.weight.device


def _as_tensor(a: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    # torch.tensor copies, so read-only or non-contiguous arrays are fine.
    return torch.tensor(np.asarray(a, dtype=np.float32), device=device)


def _check_xy(model: MLP, x: np.ndarray, y: np.ndarray | None = None) -> None:
    in_dim = model.hidden[0].in_features
    if x.ndim != 2 or x.shape[1] != in_dim:
        raise ConfigError(f"x: must have shape (n, {in_dim}); given {x.shape}")
    if y is not None and y.shape != (x.shape[0],):
        raise ConfigError(f"y: must have shape ({x.shape[0]},) to match x; given {y.shape}")


def _bce_and_accuracy(model: MLP, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        logits = model.logits(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
        n_correct = int(((logits > 0).float() == y).sum())
    # An exact fraction (999/1000 == 0.999), not a float32 mean.
    return float(loss), n_correct / len(y)


def train_paper(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    recipe: PaperRecipe,
    *,
    seed: int,
    on_epoch_end: EpochHook | None = None,
) -> TrainResult:
    """Train ``model`` in place with the paper's recipe, following Keras ``fit`` semantics.

    Args:
        model: a network from :func:`build_mlp`.
        x: inputs, shape ``(n, in_dim)``.
        y: labels in {0, 1}, shape ``(n,)``.
        recipe: hyperparameters; ``validation_split`` holds out the last fraction of the rows
            as given (as Keras does), or a seeded random fraction with ``shuffle_split``.
        seed: seeds the held-out choice and the per-epoch shuffles of the training rows.
        on_epoch_end: called with the number of epochs done after each epoch (the model
            may be evaluated there; training resumes in train mode afterwards).
    """
    _check_xy(model, x, y)
    generator = torch.Generator().manual_seed(seed)
    device = _device_of(model)
    x_all, y_all = _as_tensor(x, device), _as_tensor(y, device)

    # Hold out validation rows the way Keras does: the last floor(n * split) are cut off.
    n_rows = x_all.shape[0]
    n_fit = int(np.floor(n_rows * (1.0 - recipe.validation_split)))
    if n_fit < 1:
        raise ConfigError(
            f"validation_split: leaves no training rows out of {n_rows}; "
            f"given {recipe.validation_split!r}"
        )
    order = torch.randperm(n_rows, generator=generator) if recipe.shuffle_split else None
    if order is not None:
        x_all, y_all = x_all[order.to(device)], y_all[order.to(device)]
    x_fit, y_fit = x_all[:n_fit], y_all[:n_fit]
    x_val, y_val = x_all[n_fit:], y_all[n_fit:]

    # torch adds eps outside the square root (g / (sqrt(v) + eps)); Keras adds it inside
    # (g / sqrt(v + eps)). With eps = 1e-7 the two differ only for near-zero gradients.
    optimizer = torch.optim.RMSprop(
        model.parameters(), lr=recipe.learning_rate, alpha=recipe.rho, eps=recipe.eps
    )
    # The logits form of binary cross-entropy is the stable equivalent of sigmoid + BCE;
    # Keras instead clips probabilities to [eps, 1 - eps].
    loss_fn = nn.BCEWithLogitsLoss()

    model.train()
    n_epochs_done, diverged = 0, False
    for _ in range(recipe.epochs):
        permutation = torch.randperm(n_fit, generator=generator).to(device)
        for start in range(0, n_fit, recipe.batch_size):
            batch = permutation[start : start + recipe.batch_size]
            loss = loss_fn(model.logits(x_fit[batch]), y_fit[batch])
            if not torch.isfinite(loss):
                diverged = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if diverged:
            break
        n_epochs_done += 1
        if on_epoch_end is not None:
            on_epoch_end(n_epochs_done)
            model.train()
    model.eval()

    loss_train, accuracy_train = _bce_and_accuracy(model, x_fit, y_fit)
    loss_val = accuracy_val = None
    if len(x_val) > 0:
        loss_val, accuracy_val = _bce_and_accuracy(model, x_val, y_val)
    return TrainResult(
        loss_train=loss_train,
        accuracy_train=accuracy_train,
        loss_val=loss_val,
        accuracy_val=accuracy_val,
        epochs=n_epochs_done,
        diverged=diverged or not np.isfinite(loss_train),
    )


def train_hehl(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    recipe: HehlRecipe,
    *,
    seed: int,
    on_epoch_end: EpochHook | None = None,
) -> TrainResult:
    """Train ``model`` in place with full-batch Adam until training accuracy reaches the
    target or the epoch cap (Hehl et al.'s recipe).

    Each epoch is one Adam step on the binary cross-entropy of all rows. Accuracy is checked
    on the forward pass that precedes each step, so training stops with a network whose
    accuracy on ``x`` is at least ``recipe.target_accuracy``, or after ``recipe.max_epochs``
    steps.

    Args:
        model: a network from :func:`build_mlp`.
        x: inputs, shape ``(n, in_dim)``.
        y: labels in {0, 1}, shape ``(n,)``.
        recipe: hyperparameters.
        seed: accepted for a common signature with :func:`train_paper`; full-batch training
            draws nothing at random, so the result depends on the network's seed only.
        on_epoch_end: called with the number of epochs (steps) done after each step.
    """
    _check_xy(model, x, y)
    device = _device_of(model)
    x_all, y_all = _as_tensor(x, device), _as_tensor(y, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()
    n_target = int(np.ceil(recipe.target_accuracy * len(y_all) - 1e-9))

    model.train()
    n_epochs_done, diverged = 0, False
    while n_epochs_done < recipe.max_epochs:
        logits = model.logits(x_all)
        loss = loss_fn(logits, y_all)
        if not torch.isfinite(loss):
            diverged = True
            break
        if int(((logits > 0).float() == y_all).sum()) >= n_target:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n_epochs_done += 1
        if on_epoch_end is not None:
            on_epoch_end(n_epochs_done)
            model.train()
    model.eval()

    loss_train, accuracy_train = _bce_and_accuracy(model, x_all, y_all)
    return TrainResult(
        loss_train=loss_train,
        accuracy_train=accuracy_train,
        loss_val=None,
        accuracy_val=None,
        epochs=n_epochs_done,
        diverged=diverged or not np.isfinite(loss_train),
    )


def train(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    recipe: Recipe,
    *,
    seed: int,
    on_epoch_end: EpochHook | None = None,
) -> TrainResult:
    """Train ``model`` in place with ``recipe``: :func:`train_paper` for a
    :class:`PaperRecipe`, :func:`train_hehl` for a :class:`HehlRecipe`."""
    if isinstance(recipe, PaperRecipe):
        return train_paper(model, x, y, recipe, seed=seed, on_epoch_end=on_epoch_end)
    if isinstance(recipe, HehlRecipe):
        return train_hehl(model, x, y, recipe, seed=seed, on_epoch_end=on_epoch_end)
    raise ConfigError(f"recipe: must be a PaperRecipe or a HehlRecipe; given {recipe!r}")


def evaluate(model: MLP, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Binary cross-entropy and accuracy (threshold 0.5) of ``model`` on ``x`` of shape
    ``(n, in_dim)`` and labels ``y`` of shape ``(n,)``."""
    _check_xy(model, x, y)
    model.eval()
    device = _device_of(model)
    return _bce_and_accuracy(model, _as_tensor(x, device), _as_tensor(y, device))


def hidden_activations(model: MLP, x: np.ndarray) -> list[np.ndarray]:
    """Post-ReLU output of each hidden layer for inputs ``x`` of shape ``(n, in_dim)``.

    Returns one float32 array of shape ``(n, width_l)`` per hidden layer, input to output; the
    input itself and the output unit are not included.
    """
    _check_xy(model, x)
    model.eval()
    activations = []
    h = _as_tensor(x, _device_of(model))
    with torch.no_grad():
        for layer in model.hidden:
            h = torch.relu(layer(h))
            activations.append(h.cpu().numpy().astype(np.float32, copy=True))
    return activations
