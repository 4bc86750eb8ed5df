"""Seeded generators for the synthetic data sets of SPEC §5."""

import numpy as np

from ricci_ray.errors import ConfigError

# Baptista A geometry, a reconstruction from the paper's figure (its generator was never
# published). Class k lies on the Archimedean spiral r = theta / THETA_MAX, rotated by k * pi;
# the two arms therefore alternate every SPIRAL_PITCH / 2 = 0.25 in radius along any ray.
THETA_MIN = 0.5 * np.pi
THETA_MAX = 3.0 * np.pi
SPIRAL_PITCH = 2.0 * np.pi / THETA_MAX
BAND_HALF_WIDTH = 0.07
Z_RANGE = (-1.0, 1.0)


def baptista_a(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Two thick interleaved spiral bands in the plane, extruded along the third axis.

    Class ``k`` (``k`` in {0, 1}) is the band of points at polar angle ``theta + k * pi`` and
    radius ``theta / THETA_MAX + delta``, with ``theta`` in ``[THETA_MIN, THETA_MAX]``
    = ``[pi / 2, 3 pi]`` (1.25 turns, outer radius 1), a radial offset ``delta`` uniform in
    ``[-BAND_HALF_WIDTH, BAND_HALF_WIDTH]`` = ``[-0.07, 0.07]`` and a third coordinate
    uniform in ``Z_RANGE`` = ``[-1, 1]``. ``theta`` is drawn with density proportional to
    ``theta``, so points are spread evenly over the area of each band.

    Along any ray from the axis the arms of the two classes alternate every 0.25 in radius, so
    the bands (0.14 thick) are separated by empty gaps of 0.11: the classes are separable, but
    only by a spiral-shaped boundary. The label does not depend on the third coordinate.

    Args:
        n_points: number of points; ``n_points // 2`` are of class 0 and the rest of class 1.
        seed: an integer or a ``numpy.random.SeedSequence``; the output is a pure function of
            ``(n_points, seed)``.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 3)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}, rows in random order.
    """
    if n_points < 2:
        raise ConfigError(f"n_points: must be an integer >= 2; given {n_points!r}")
    rng = np.random.default_rng(seed)

    labels = np.repeat([0.0, 1.0], [n_points // 2, n_points - n_points // 2])
    rng.shuffle(labels)

    # Inverse-CDF draw of theta with density proportional to theta (even spread over area).
    u = rng.random(n_points)
    theta = np.sqrt(THETA_MIN**2 + u * (THETA_MAX**2 - THETA_MIN**2))
    radius = theta / THETA_MAX + rng.uniform(-BAND_HALF_WIDTH, BAND_HALF_WIDTH, n_points)
    angle = theta + np.pi * labels
    z = rng.uniform(*Z_RANGE, n_points)

    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle), z])
    return x.astype(np.float32), labels.astype(np.float32)
