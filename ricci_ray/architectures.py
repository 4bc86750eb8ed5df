"""The paper's architectures, by name: hidden-layer widths without building a network.

Kept free of torch so that the sweep driver can reason about trials (for instance, their
expected cost) without importing it.
"""

from ricci_ray.errors import ConfigError

WIDTHS = ("narrow", "wide", "bottleneck")

NARROW = 25
WIDE = 50


def hidden_widths(width: str, depth: int) -> list[int]:
    """Widths of the hidden layers of the paper's networks, input to output.

    ``narrow``: ``depth`` layers of 25; ``wide``: ``depth`` layers of 50; ``bottleneck``:
    ``m`` layers of 50, one of 25, ``m`` of 50, with ``depth = 2 m + 1`` (odd, at least 3).
    """
    if width not in WIDTHS:
        raise ConfigError(f"width: must be one of {', '.join(WIDTHS)}; given {width!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ConfigError(f"depth: must be an integer >= 1; given {depth!r}")
    if width == "narrow":
        return [NARROW] * depth
    if width == "wide":
        return [WIDE] * depth
    if depth < 3 or depth % 2 == 0:
        raise ConfigError(
            f"depth: a bottleneck network needs an odd depth >= 3 (50 ... 25 ... 50); "
            f"given {depth!r}"
        )
    half = [WIDE] * (depth // 2)
    return [*half, NARROW, *half]
