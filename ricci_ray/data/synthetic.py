"""Seeded generators for the papers' synthetic data sets."""

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


def _balanced_labels(n_points: int, rng: np.random.Generator) -> np.ndarray:
    """``n_points // 2`` zeros and the rest ones, in random order, float64."""
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer) or n_points < 2:
        raise ConfigError(f"n_points: must be an integer >= 2; given {n_points!r}")
    labels = np.repeat([0.0, 1.0], [n_points // 2, n_points - n_points // 2])
    rng.shuffle(labels)
    return labels


def _as_output(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.astype(np.float32), labels.astype(np.float32)


def _in_balls(x: np.ndarray) -> np.ndarray:
    """Whether each row of ``x`` (shape ``(n, 3)``) lies inside one of the two balls of B."""
    inside = np.zeros(len(x), dtype=bool)
    for centre in BALL_CENTRES:
        inside |= np.linalg.norm(x - centre, axis=1) < BALL_RADIUS
    return inside


def _rejection_draw(rng: np.random.Generator, n_points: int, keep) -> np.ndarray:
    """``n_points`` uniform points of the cube ``[-1, 1]^3`` for which ``keep`` is true."""
    chunks, n_found = [], 0
    while n_found < n_points:
        candidates = rng.uniform(-CUBE_HALF_SIDE, CUBE_HALF_SIDE, (2 * n_points + 16, 3))
        kept = candidates[keep(candidates)]
        chunks.append(kept)
        n_found += len(kept)
    return np.concatenate(chunks)[:n_points]


# Baptista B geometry, a reconstruction: the cube [-1, 1]^3 and two balls of radius 0.4
# touching at the origin, one above the other along z; cube points keep a margin from them.
CUBE_HALF_SIDE = 1.0
BALL_RADIUS = 0.4
BALL_CENTRES = np.array([[0.0, 0.0, BALL_RADIUS], [0.0, 0.0, -BALL_RADIUS]])
BALL_MARGIN = 0.15


def baptista_b(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """A solid cube of one class holding two stacked solid balls of the other class.

    Class 1 is uniform in the union of two balls of radius ``BALL_RADIUS`` = 0.4 centred at
    ``(0, 0, 0.4)`` and ``(0, 0, -0.4)`` (stacked along z, touching at the origin). Class 0
    is uniform in the cube ``[-1, 1]^3`` outside the balls grown by ``BALL_MARGIN`` = 0.15,
    so an empty shell 0.15 thick separates the classes: they are separable, by a boundary
    that encloses two touching spheres. Classes are balanced, although the balls fill only
    6.7% of the cube's volume; that density contrast is why the shell is needed: with one of
    0.05, networks trained on 1000 points draw the boundary loosely around the dense balls,
    misclassify the sparse cube points near them, and stay at about 0.99 test accuracy.

    Args:
        n_points: number of points; ``n_points // 2`` are of class 0 and the rest of class 1.
        seed: an integer or a ``numpy.random.SeedSequence``; the output is a pure function of
            ``(n_points, seed)``.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 3)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}, rows in random order.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n_points, rng)
    n_ones = int(labels.sum())

    def outside(x: np.ndarray) -> np.ndarray:
        distances = np.linalg.norm(x[:, None, :] - BALL_CENTRES[None], axis=2)
        return (distances >= BALL_RADIUS + BALL_MARGIN).all(axis=1)

    x = np.empty((n_points, 3))
    x[labels == 0] = _rejection_draw(rng, n_points - n_ones, outside)
    x[labels == 1] = _rejection_draw(rng, n_ones, _in_balls)
    return _as_output(x, labels)


# Baptista C geometry, a reconstruction: a sheet z = SHEET_AMPLITUDE sin(pi * SHEET_CYCLES * x)
# and the slab |z| < LAYER_HALF_THICKNESS, both over the square [-1, 1]^2 and both of the same
# thickness, so where they cross the two classes have equal density and cannot be told apart.
SHEET_AMPLITUDE = 0.5
SHEET_CYCLES = 1.0
LAYER_HALF_THICKNESS = 0.1


def baptista_c(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """A sinusoidal sheet (class 0) crossing a thin flat slab (class 1).

    Both classes are uniform over ``(x_0, x_1)`` in ``[-1, 1]^2``. Class 1 fills the slab
    ``|x_2| < LAYER_HALF_THICKNESS`` = 0.1; class 0 fills the sheet ``|x_2 - s(x_0)| < 0.1``
    with ``s(x_0) = SHEET_AMPLITUDE sin(pi SHEET_CYCLES x_0)`` = ``0.5 sin(pi x_0)`` (one full
    wave). Where the sheet passes through the slab both classes have the same density, so no
    classifier beats chance there: 13% of each class lies in that overlap (for any whole
    number of waves, since ``s(x_0)`` is then distributed alike), so the Bayes accuracy is
    1 - 0.13 / 2 = 0.935. Networks trained with the paper's recipe on 1000 points land at
    0.925 in the median, 85% of them above the Baptista et al. 2024 bar of 0.91; with two
    waves the boundary is harder to learn, the median drops to 0.915 and only 60% pass.

    Args:
        n_points: number of points; ``n_points // 2`` are of class 0 and the rest of class 1.
        seed: an integer or a ``numpy.random.SeedSequence``; the output is a pure function of
            ``(n_points, seed)``.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 3)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}, rows in random order.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n_points, rng)

    plane = rng.uniform(-1.0, 1.0, (n_points, 2))
    offset = rng.uniform(-LAYER_HALF_THICKNESS, LAYER_HALF_THICKNESS, n_points)
    sheet = SHEET_AMPLITUDE * np.sin(np.pi * SHEET_CYCLES * plane[:, 0])
    height = np.where(labels == 0, sheet, 0.0) + offset
    return _as_output(np.column_stack([plane, height]), labels)


# Hehl I: make-circles style rings, outer radius 1 (class 0) and inner radius HEHL_1_FACTOR
# (class 1), with Gaussian noise of standard deviation HEHL_1_NOISE on each coordinate.
HEHL_1_NOISE = 0.03
HEHL_1_FACTOR = 0.8


def hehl_1(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy concentric circles in the plane (Hehl synthetic I).

    Class 0 lies on the unit circle, class 1 on the circle of radius ``HEHL_1_FACTOR`` = 0.8,
    at uniform random angles; each coordinate then gets Gaussian noise of standard deviation
    ``HEHL_1_NOISE`` = 0.03. The rings are 0.2 apart, more than six noise deviations, so the
    classes are separable in practice.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 2)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}; ``n_points // 2`` of class 0, rows in random
        order, a pure function of ``(n_points, seed)``.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n_points, rng)

    angle = rng.uniform(0.0, 2.0 * np.pi, n_points)
    radius = np.where(labels == 0, 1.0, HEHL_1_FACTOR)
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    x += rng.normal(0.0, HEHL_1_NOISE, x.shape)
    return _as_output(x, labels)


# Hehl II: the unit disk; class 1 inside four small circles on the axes.
HEHL_2_RADIUS = 0.2
HEHL_2_CENTRES = np.array([[0.0, 0.5], [0.0, -0.5], [0.5, 0.0], [-0.5, 0.0]])


def hehl_2(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points of the unit disk, class 1 inside four small circles (Hehl synthetic II).

    Points are uniform in the unit disk; a point is of class 1 when it lies inside one of the
    four circles of radius ``HEHL_2_RADIUS`` = 0.2 centred at ``(0, +-0.5)`` and
    ``(+-0.5, 0)``, else of class 0. The label is a function of the position, so the classes
    are separable, but they touch along the circles and are unbalanced: class 1 covers
    4 x 0.04 = 16% of the disk, so about 160 of 1000 points.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 2)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}; a pure function of ``(n_points, seed)``.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer) or n_points < 2:
        raise ConfigError(f"n_points: must be an integer >= 2; given {n_points!r}")
    rng = np.random.default_rng(seed)

    radius = np.sqrt(rng.random(n_points))  # uniform over the disk's area
    angle = rng.uniform(0.0, 2.0 * np.pi, n_points)
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    distances = np.linalg.norm(x[:, None, :] - HEHL_2_CENTRES[None], axis=2)
    labels = (distances < HEHL_2_RADIUS).any(axis=1).astype(np.float64)
    return _as_output(x, labels)


# Hehl III: cylinders about the x_2 axis, radii 1 (class 0) and 0.8 (class 1).
HEHL_3_RADII = (1.0, 0.8)
HEHL_3_NOISE = 0.1
HEHL_3_AXIS = (0.0, 1.0)


def hehl_3(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric noisy cylinders in 3-D (Hehl synthetic III).

    Class 0 lies on the cylinder of radius 1 about the third axis, class 1 on the one of
    radius 0.8; each point's radius is shifted by a uniform offset in
    ``[-HEHL_3_NOISE, HEHL_3_NOISE]`` = ``[-0.1, 0.1]``, its angle is uniform and its third
    coordinate uniform in ``HEHL_3_AXIS`` = ``[0, 1]``. The shells ``[0.9, 1.1]`` and
    ``[0.7, 0.9]`` touch at radius 0.9: separable, with no margin.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 3)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}; ``n_points // 2`` of class 0, rows in random
        order, a pure function of ``(n_points, seed)``.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n_points, rng)

    radius = np.where(labels == 0, *HEHL_3_RADII)
    radius = radius + rng.uniform(-HEHL_3_NOISE, HEHL_3_NOISE, n_points)
    angle = rng.uniform(0.0, 2.0 * np.pi, n_points)
    axis = rng.uniform(*HEHL_3_AXIS, n_points)
    return _as_output(
        np.column_stack([radius * np.cos(angle), radius * np.sin(angle), axis]), labels
    )


# Hehl IV: solid tori of major radius 2 whose tube radius is drawn uniform in [0, 1].
HEHL_4_MAJOR = 2.0
HEHL_4_TUBE = 1.0
HEHL_4_SHIFT = np.array([2.0, 0.0, 0.0])


def hehl_4(n_points: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Two linked solid tori in 3-D (Hehl synthetic IV).

    A point of a torus has a uniform angle ``u`` along the core circle of radius
    ``HEHL_4_MAJOR`` = 2, a uniform angle ``v`` around the tube and a distance ``r`` from the
    core uniform in ``[0, HEHL_4_TUBE]`` = ``[0, 1]`` (so points crowd towards the core).
    Class 0's core circle lies in the ``(x_0, x_1)`` plane about the origin; class 1's is the
    same torus turned a quarter turn about the first axis (its core in the ``(x_0, x_2)``
    plane) and moved to centre ``(2, 0, 0)``. Each core passes through the other's centre,
    so the tori are linked; the two cores stay exactly 4 = 2 tube radii apart, so the solid
    tori touch without overlapping: separable, with no margin but few points near it.

    Returns:
        ``(x, y)``: points of shape ``(n_points, 3)``, float32, and labels of shape
        ``(n_points,)``, float32 in {0., 1.}; ``n_points // 2`` of class 0, rows in random
        order, a pure function of ``(n_points, seed)``.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n_points, rng)

    u = rng.uniform(0.0, 2.0 * np.pi, n_points)
    v = rng.uniform(0.0, 2.0 * np.pi, n_points)
    r = rng.uniform(0.0, HEHL_4_TUBE, n_points)
    ring = HEHL_4_MAJOR + r * np.cos(v)
    x = np.column_stack([ring * np.cos(u), ring * np.sin(u), r * np.sin(v)])

    # Quarter turn about the first axis, (x0, x1, x2) -> (x0, -x2, x1), then the shift.
    second = labels == 1
    x[second] = np.column_stack([x[second, 0], -x[second, 2], x[second, 1]]) + HEHL_4_SHIFT
    return _as_output(x, labels)
