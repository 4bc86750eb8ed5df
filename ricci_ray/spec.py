"""Sweep files: YAML on disk -> a validated :class:`SweepSpec` -> one :class:`TrialConfig` each.

A sweep file names a grid (data sets x widths x depths x seeds) and the settings every
trial shares (the k grid, the graph convention, the training recipe, resources). It is
validated completely before anything starts; every problem is reported in one shape::

    field 'depths[1]': allowed: an integer >= 2; given: 'five'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ricci_ray.errors import ConfigError

SCHEMA_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PaperRecipeSpec(_Strict):
    """Baptista et al. 2024's recipe: RMSprop, batch 32, 50 epochs, 20 % validation."""

    name: Literal["paper"] = "paper"
    epochs: int = Field(50, ge=1, le=10_000)
    batch_size: int = Field(32, ge=1)
    # Floats are parsed leniently: YAML 1.1 reads "1e-3" (no dot) as a string.
    learning_rate: float = Field(1e-3, gt=0, strict=False)
    rho: float = Field(0.9, gt=0, lt=1, strict=False)
    eps: float = Field(1e-7, gt=0, strict=False)
    validation_split: float = Field(0.2, ge=0, lt=1, strict=False)
    shuffle_split: bool = False


class HehlRecipeSpec(_Strict):
    """Hehl et al.'s recipe: full-batch Adam until a training accuracy, or an epoch cap."""

    name: Literal["hehl"]
    learning_rate: float = Field(1e-3, gt=0, strict=False)
    target_accuracy: float = Field(0.99, gt=0, le=1, strict=False)
    max_epochs: int = Field(10_000, ge=1)


RECIPES: dict[str, type[_Strict]] = {"paper": PaperRecipeSpec, "hehl": HehlRecipeSpec}


class ResourcesSpec(_Strict):
    """What one trial reserves on the Ray cluster."""

    cpus_per_trial: float = Field(1.0, gt=0, strict=False)
    gpus_per_trial: float = Field(0.0, ge=0, strict=False)


class SweepSpec(_Strict):
    """A validated sweep: the grid and the settings its trials share."""

    name: str = Field(pattern=SCHEMA_NAME_PATTERN)
    description: str = ""
    datasets: list[str] = Field(min_length=1)
    widths: list[Literal["narrow", "wide", "bottleneck"]] = Field(min_length=1)
    depths: list[int] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    # Absolute sizes (integers) or fractions of the test points (0 < f < 1); one list for
    # every data set, or a mapping from data set to its own list. Items are checked in
    # _check_grid, where one message per item can say what is allowed.
    k: list[Any] | dict[str, list[Any]] = Field(min_length=1)
    convention: Literal["paper", "undirected"] = "paper"
    curvature: Literal["forman", "augmented_forman", "approx_ollivier", "ollivier"] = "forman"
    local_coefficients: bool = False
    data_seed: int = Field(0, ge=0)
    recipe: PaperRecipeSpec | HehlRecipeSpec = Field(
        default_factory=PaperRecipeSpec, discriminator="name"
    )
    resources: ResourcesSpec = ResourcesSpec()
    control: bool = False
    geometry_every: int | None = Field(None, ge=1)
    max_concurrent_trials: int | None = Field(None, ge=1)
    max_retries: int = Field(1, ge=0, le=100)
    out: str | None = None
    tracking_uri: str | None = None
    ray_address: str | None = None

    @field_validator("recipe", mode="before")
    @classmethod
    def _default_recipe_name(cls, value: Any) -> Any:
        if isinstance(value, dict) and "name" not in value:
            return {"name": "paper", **value}
        return value

    @model_validator(mode="after")
    def _check_grid(self) -> SweepSpec:
        fields = {key: getattr(self, key) for key in _GRID_FIELDS}
        problems = _grid_problems(fields)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _k_grid(self, dataset: str) -> tuple[str, list[Any]]:
        """(field name, k list) that applies to ``dataset``."""
        if isinstance(self.k, dict):
            return f"k.{dataset}", self.k.get(dataset, [])
        return "k", self.k

    def trial_configs(self, *, data_dir: str | None = None) -> list[TrialConfig]:
        """Every point of the grid, in a stable order (data set, width, depth, seed)."""
        from ricci_ray.data import resolve_dataset

        recipe = self.recipe.model_dump()
        ks = {
            name: tuple(
                sorted({resolve_k(k, resolve_dataset(name).n_test) for k in self._k_grid(name)[1]})
            )
            for name in self.datasets
        }
        return [
            TrialConfig(
                sweep=self.name,
                dataset=dataset,
                width=width,
                depth=depth,
                seed=seed,
                ks=ks[dataset],
                control=self.control,
                geometry_every=self.geometry_every,
                curvature=self.curvature,
                local_coefficients=self.local_coefficients,
                convention=self.convention,
                data_seed=self.data_seed,
                recipe=recipe,
                data_dir=data_dir,
                cpus=self.resources.cpus_per_trial,
            )
            for dataset in self.datasets
            for width in self.widths
            for depth in self.depths
            for seed in self.seeds
        ]


@dataclass(frozen=True)
class TrialConfig:
    """Everything one trial needs; a plain value that travels to Ray workers as a dict."""

    sweep: str
    dataset: str
    width: str
    depth: int
    seed: int
    ks: tuple[int, ...]
    convention: str = "paper"
    data_seed: int = 0
    recipe: Mapping[str, Any] = field(default_factory=lambda: PaperRecipeSpec().model_dump())
    data_dir: str | None = None
    cpus: float = 1.0
    control: bool = False
    geometry_every: int | None = None
    curvature: str = "forman"
    local_coefficients: bool = False

    @property
    def trial_id(self) -> str:
        """A stable key: the same grid point gets the same id on every run and resume.

        It hashes what determines the result (not where the data lives or the CPUs), so
        a resumed or re-run sweep recognises the trials it has already finished.
        """
        identity = {
            key: value
            for key, value in asdict(self).items()
            if key not in ("data_dir", "cpus", "sweep")
        }
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"{self.dataset}_{self.width}_d{self.depth}_s{self.seed}_{digest[:8]}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ks"] = list(self.ks)
        out["recipe"] = dict(self.recipe)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialConfig:
        values = dict(data)
        values["ks"] = tuple(values["ks"])
        return cls(**values)


_GRID_FIELDS = ("datasets", "widths", "depths", "seeds", "k")


def _grid_problems(fields: dict[str, Any]) -> list[str]:
    """The problems of the grid's values, one line each and each once.

    ``fields`` holds those of :data:`_GRID_FIELDS` that passed their own checks (types,
    lengths); a field that did not is absent, and the checks that need it are skipped, so
    that :func:`parse_sweep` can report these problems beside the others in one pass.
    """
    from ricci_ray.data import DATASETS, resolve_dataset

    problems: list[str] = []
    datasets, widths = fields.get("datasets"), fields.get("widths") or []
    depths, k = fields.get("depths") or [], fields.get("k")
    known = []
    for i, name in enumerate(datasets or []):
        try:
            known.append(resolve_dataset(name))
        except ConfigError:
            allowed = "one of " + ", ".join(sorted(DATASETS)) + ", or mnist-idx-AvB / "
            problems.append(
                _problem(
                    f"datasets[{i}]", allowed + "fmnist-idx-AvB (A, B two different digits)", name
                )
            )
    for i, depth in enumerate(depths):
        if depth < 4:
            # rho_k correlates L - 1 layer pairs and needs at least 3 of them.
            allowed = "an integer >= 4 (the Ricci coefficient needs 3 layer pairs)"
            problems.append(_problem(f"depths[{i}]", allowed, depth))
        elif depth % 2 == 0 and "bottleneck" in widths:
            problems.append(
                _problem(f"depths[{i}]", "an odd depth when widths has 'bottleneck'", depth)
            )
    if isinstance(k, dict) and datasets is not None:
        for name in k:
            if name not in datasets:
                problems.append(_problem(f"k.{name}", "a data set of 'datasets'", name))
        for name in datasets:
            if name not in k:
                problems.append(f"field 'k.{name}': required but missing (k is per data set)")
    for info in known if k is not None else []:
        if isinstance(k, dict):
            field_name, grid = f"k.{info.name}", k.get(info.name, [])
        else:
            field_name, grid = "k", k
        for i, value in enumerate(grid):
            if not _is_k(value):
                allowed = "an integer >= 1, or a fraction of the test points 0 < k < 1"
                problems.append(_problem(f"{field_name}[{i}]", allowed, value))
            elif resolve_k(value, info.n_test) >= info.n_test:
                allowed = f"k below the {info.n_test} test points of '{info.name}'"
                problems.append(_problem(f"{field_name}[{i}]", allowed, value))
        if len(set(grid)) != len(grid):
            problems.append(_problem(field_name, "distinct values", grid))
        elif all(_is_k(value) for value in grid):
            resolved = [resolve_k(value, info.n_test) for value in grid]
            if len(set(resolved)) != len(resolved):
                allowed = (
                    f"values that stay distinct as k on the {info.n_test} test points of "
                    f"'{info.name}' (they give {resolved})"
                )
                problems.append(_problem(field_name, allowed, grid))
    for key in ("datasets", "widths", "depths", "seeds"):
        values = fields.get(key)
        if values is not None and len(set(values)) != len(values):
            problems.append(_problem(key, "distinct values", values))
    return list(dict.fromkeys(problems))


def _is_k(k: Any) -> bool:
    if isinstance(k, bool):
        return False
    return (isinstance(k, int) and k >= 1) or (isinstance(k, float) and 0 < k < 1)


def resolve_k(k: int | float, n_test: int) -> int:
    """An absolute k, or a fraction of the ``n_test`` test points rounded (at least 1)."""
    if isinstance(k, int):
        return k
    return max(1, round(k * n_test))


def _problem(field_name: str, allowed: str, given: Any) -> str:
    return f"field '{field_name}': allowed: {allowed}; given: {given!r}"


def _allowed_keys(loc: tuple[Any, ...]) -> str | None:
    """The keys allowed where an unknown key ``loc`` was found, for the error message."""
    model: type[BaseModel] = SweepSpec
    for index, part in enumerate(loc[:-1]):
        if isinstance(part, int):
            continue
        if index > 0 and loc[index - 1] == "recipe" and part in RECIPES:
            model = RECIPES[part]  # pydantic puts the recipe's tag in the path
            continue
        annotation = model.model_fields[part].annotation
        if part == "recipe":
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return None
    return ", ".join(model.model_fields)


def _format_errors(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for item in error.errors():
        loc = tuple(item["loc"])
        name = _dotted(loc)
        if item["type"] == "value_error" and not loc:
            # Cross-field checks already produce finished messages, one per line.
            problems.extend(str(item["ctx"]["error"]).splitlines())
        elif item["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc) or "see the sweep file reference"
            problems.append(
                f"field '{name}': allowed: the keys {allowed}; given: unknown key {loc[-1]!r}"
            )
        elif item["type"] == "union_tag_invalid":
            tags = " or ".join(repr(tag) for tag in RECIPES)
            problems.append(_problem(f"{name}.name", tags, item["input"].get("name")))
        elif item["type"] == "too_short":
            problems.append(_problem(name, "at least one item", item.get("input")))
        elif item["type"] == "missing":
            problems.append(f"field '{name}': required but missing")
        else:
            allowed = item["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
            problems.append(_problem(name, allowed, item.get("input")))
    return problems


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for index, part in enumerate(loc):
        if index > 0 and loc[index - 1] == "recipe" and part in RECIPES:
            continue  # pydantic puts the union's tag in the path: recipe.paper.epochs
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_sweep(data: Any, *, source: str = "sweep") -> SweepSpec:
    """Validate a parsed sweep document; raise :class:`ConfigError` listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: allowed: a mapping of sweep fields; given: {data!r}")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as error:
        problems = _format_errors(error)
        # The grid's value checks run only once every field is well formed; run them here
        # on the grid fields that are, so that one pass reports every problem.
        failed = {item["loc"][0] for item in error.errors() if item["loc"]}
        if failed:
            passed = {key: data[key] for key in _GRID_FIELDS if key in data and key not in failed}
            problems += [p for p in _grid_problems(passed) if p not in problems]
        raise ConfigError(f"{source}: " + f"\n{source}: ".join(problems)) from None


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"sweep file {path}: cannot be read ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"sweep file {path}: not valid YAML ({error})") from None
    return parse_sweep(data, source=str(path))
