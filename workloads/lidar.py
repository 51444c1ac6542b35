"""Synthetic LiDAR scenes and their pillars: the input of the pillar-based detectors (PointPillars,
CenterPoint-pillar, PillarNet) whose sparse backbones ``workloads.pillars`` turns into traces.

Scene (``scene(seed)``), in the sensor frame (x forward, y left, z up; the sensor at the origin):

- a flat ground plane at z = -``height`` (1.73 m: the KITTI Velodyne mounting height);
- a straight street along x: cars in the lanes (|y| < 7 m), pedestrians and cyclists on the
  sidewalks, buildings as long boxes behind them; every object is an upright box with a random
  yaw (cars, cyclists roughly along the street). Mean sizes (length x width x height) are the
  KITTI class statistics used as OpenPCDet's anchors (``kitti_models/pointpillar.yaml``): car
  3.9 x 1.6 x 1.56 m, pedestrian 0.8 x 0.6 x 1.73 m, cyclist 1.76 x 0.6 x 1.73 m; each size is
  jittered by up to +-10 %. Buildings are 8-30 m long, 6-12 m deep, 4-15 m high;
- a 64-beam spinning sensor like the Velodyne HDL-64E (KITTI): beams evenly spaced over the
  vertical field of view +2 .. -24.8 deg, ``azimuth_step`` degrees between firings (0.18 deg
  default: about 128k rays; the HDL-64E fires every 0.08-0.35 deg depending on spin rate).
  Each ray returns its first hit on the plane or a box, if closer than ``max_range`` (120 m, the
  HDL-64E's range); a return is lost with probability ``dropout`` and its range gets Gaussian
  noise of ``noise`` metres (the HDL-64E's spec: < 2 cm). Reflectance is drawn per surface type
  (uniform in a class-specific band; the sensor's real reflectance model is not simulated).

The sensor sees 360 deg; a grid keeps only the points inside its range (KITTI's grid covers
x >= 0 only, so about half of the scan falls outside it, as with real KITTI scans).

Pillars (``pillarize(points, grid)``) follow OpenPCDet's voxelization (``transform_points_to_voxels``
with a single z bin): points outside the grid's x, y, z range are dropped; a pillar keeps at most
``max_points`` points (the first ones, in point order) and at most ``max_pillars`` pillars are kept
(when there are more, a seeded random subset, as OpenPCDet keeps the pillars of the first points of a
shuffled cloud). Coordinates are (y, x) int32 in raster order. Grids (OpenPCDet configs):
``KITTI`` (``kitti_models/pointpillar.yaml``: x [0, 69.12], y [-39.68, 39.68], z [-3, 1], 0.16 m,
432 x 496), ``NUSCENES`` (``nuscenes_models/cbgs_pp_multihead.yaml``: +-51.2 m, z [-5, 3],
0.2 m, 512 x 512) and ``PILLARNET`` (``nuscenes_models/cbgs_pillar0075_res2d_centerpoint.yaml``:
+-54 m, z [-5, 3], 0.075 m, 1440 x 1440).

Real KITTI point clouds (``velodyne/*.bin``: float32 x, y, z, reflectance per point) load with
``load_kitti_bin(path)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sim.errors import WorkloadError, field_error

# Mean object sizes (length, width, height) in metres: KITTI class statistics (OpenPCDet anchors).
CAR, PEDESTRIAN, CYCLIST = (3.9, 1.6, 1.56), (0.8, 0.6, 1.73), (1.76, 0.6, 1.73)
SIZE_JITTER = 0.10
# Reflectance bands per surface: ground (asphalt), cars, pedestrians, cyclists, buildings.
REFLECTANCE = {"ground": (0.05, 0.3), "car": (0.0, 0.9), "pedestrian": (0.1, 0.5), "cyclist": (0.1, 0.6),
               "building": (0.1, 0.5)}


@dataclass(frozen=True)
class Sensor:
    """A spinning multi-beam LiDAR (defaults: Velodyne HDL-64E as mounted on the KITTI car)."""

    beams: int = 64
    fov_up: float = 2.0            # degrees
    fov_down: float = -24.8        # degrees
    height: float = 1.73           # metres above the ground
    azimuth_step: float = 0.18     # degrees between firings
    max_range: float = 120.0       # metres
    dropout: float = 0.05          # probability that a return is lost
    noise: float = 0.02            # range noise, standard deviation in metres


@dataclass(frozen=True)
class Street:
    """Object counts and layout of a scene (defaults give KITTI-like pillar occupancy, 3-6 %)."""

    cars: int = 28
    pedestrians: int = 10
    cyclists: int = 5
    buildings: int = 14
    length: float = 140.0          # street extent along x, centred on the sensor (metres)
    lane_half_width: float = 7.0   # cars stand within |y| < this
    sidewalk: float = 4.0          # pedestrians and cyclists: this wide a band beyond the lanes
    setback: float = 8.0           # buildings stand up to this far behind the sidewalk (metres)
    clearance: float = 8.0         # no car within this distance along x of the sensor (the ego gap)


class Scene(NamedTuple):
    """Points (N, 4) float32 x, y, z, reflectance, and the boxes they were cast against:
    (B, 7) float64 rows centre x, y, z, length, width, height, yaw, with ``labels`` (B,) names."""

    points: np.ndarray
    boxes: np.ndarray
    labels: tuple[str, ...]


def _boxes(rng: np.random.Generator, street: Street, sensor: Sensor) -> tuple[np.ndarray, list[str]]:
    """Upright boxes on the ground; none contains the sensor."""
    ground = -sensor.height
    rows, labels = [], []

    def place(label, size, x, y, yaw):
        l, w, h = np.asarray(size) * rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER, 3)
        rows.append((x, y, ground + h / 2, l, w, h, yaw))
        labels.append(label)

    half = street.length / 2
    for _ in range(street.cars):
        x = rng.choice([-1, 1]) * rng.uniform(street.clearance, half)
        y = rng.choice([-1, 1]) * rng.uniform(2.5, street.lane_half_width - 1.0)
        place("car", CAR, x, y, rng.normal(0, 0.15) + rng.choice([0, np.pi]))
    side = street.lane_half_width
    for label, size, count in (("pedestrian", PEDESTRIAN, street.pedestrians), ("cyclist", CYCLIST, street.cyclists)):
        for _ in range(count):
            y = rng.choice([-1, 1]) * rng.uniform(side, side + street.sidewalk)
            yaw = rng.uniform(0, 2 * np.pi) if label == "pedestrian" else rng.normal(0, 0.2)
            place(label, size, rng.uniform(-half, half), y, yaw)
    for _ in range(street.buildings):
        l, w, h = rng.uniform(8, 30), rng.uniform(6, 12), rng.uniform(4, 15)
        y = rng.choice([-1, 1]) * (side + street.sidewalk + 1.0 + w / 2 + rng.uniform(0, street.setback))
        rows.append((rng.uniform(-half, half), y, ground + h / 2, l, w, h, 0.0))
        labels.append("building")
    return np.array(rows, dtype=np.float64).reshape(-1, 7), labels


def _ray_box(dirs: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Distance along each unit ray from the origin to the first hit on ``box`` (inf: no hit);
    slab test in the box's frame."""
    cx, cy, cz, l, w, h, yaw = box
    c, s = np.cos(yaw), np.sin(yaw)
    # Origin and directions rotated into the box frame (rotation by -yaw about z).
    o = np.array([-(c * cx + s * cy), -(-s * cx + c * cy), -cz])
    d = np.stack([c * dirs[:, 0] + s * dirs[:, 1], -s * dirs[:, 0] + c * dirs[:, 1], dirs[:, 2]], axis=1)
    half = np.array([l, w, h]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    near = np.nanmax(np.minimum(t1, t2), axis=1)
    far = np.nanmin(np.maximum(t1, t2), axis=1)
    hit = (near <= far) & (near > 0)
    return np.where(hit, near, np.inf)


def _sector(box: np.ndarray, azimuth: np.ndarray, beams: int) -> np.ndarray:
    """Indices of the rays (beam-major, ``len(azimuth)`` per beam) whose azimuth lies within the
    angular extent of ``box`` seen from the origin (plus one firing each side); a box containing the
    origin gets every ray."""
    cx, cy, _, l, w, _, yaw = box
    c, s = np.cos(yaw), np.sin(yaw)
    corners = np.array([[cx + c * a - s * b, cy + s * a + c * b] for a in (-l / 2, l / 2) for b in (-w / 2, w / 2)])
    centre = np.arctan2(cy, cx)
    rel = np.angle(np.exp(1j * (np.arctan2(corners[:, 1], corners[:, 0]) - centre)))
    n, step = len(azimuth), azimuth[1] - azimuth[0]
    if np.ptp(rel) >= np.pi or np.hypot(cx, cy) <= np.hypot(l, w) / 2:
        return np.arange(beams * n)
    cols = np.arange(np.floor((centre + rel.min()) / step) - 1, np.ceil((centre + rel.max()) / step) + 2).astype(np.int64) % n
    return (np.arange(beams)[:, None] * n + np.unique(cols)[None, :]).ravel()


def scene(seed: int = 0, sensor: Sensor = Sensor(), street: Street = Street()) -> Scene:
    """A seeded synthetic scan (same seed, sensor and street: identical points)."""
    rng = np.random.default_rng(seed)
    boxes, labels = _boxes(rng, street, sensor)
    elevation = np.radians(np.linspace(sensor.fov_up, sensor.fov_down, sensor.beams))
    azimuth = np.radians(np.arange(0.0, 360.0, sensor.azimuth_step))
    el, az = np.meshgrid(elevation, azimuth, indexing="ij")
    dirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1).reshape(-1, 3)
    with np.errstate(divide="ignore"):
        t = np.where(dirs[:, 2] < 0, -sensor.height / dirs[:, 2], np.inf)
    surface = np.zeros(len(dirs), dtype=np.int64)  # 0 ground, i + 1 box i
    for i, box in enumerate(boxes):
        rays = _sector(box, azimuth, sensor.beams)
        tb = _ray_box(dirs[rays], box)
        closer = tb < t[rays]
        t[rays[closer]], surface[rays[closer]] = tb[closer], i + 1
    keep = (t <= sensor.max_range) & (rng.random(len(t)) >= sensor.dropout)
    t, dirs, surface = t[keep], dirs[keep], surface[keep]
    t = t + rng.normal(0.0, sensor.noise, len(t))
    kinds = ["ground", *labels]
    low, high = np.array([[*REFLECTANCE[kinds[k]]] for k in range(len(kinds))]).T
    reflectance = rng.uniform(low[surface], high[surface])
    points = np.column_stack([dirs * t[:, None], reflectance]).astype(np.float32)
    return Scene(points, boxes, tuple(labels))


# -- pillars ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """A pillar grid: x, y, z ranges (metres), pillar size, and the voxelization limits."""

    name: str
    x: tuple[float, float]
    y: tuple[float, float]
    z: tuple[float, float]
    pillar: float
    max_points: int
    max_pillars: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) = (y cells, x cells)."""
        return (round((self.y[1] - self.y[0]) / self.pillar), round((self.x[1] - self.x[0]) / self.pillar))

    @property
    def cells(self) -> int:
        return self.shape[0] * self.shape[1]


# MAX_NUMBER_OF_VOXELS: KITTI 12000 is the original PointPillars' P (OpenPCDet: 16000 train / 40000
# test); nuScenes 30000 (train and test); PillarNet 160000 (test).
KITTI = Grid("kitti", (0.0, 69.12), (-39.68, 39.68), (-3.0, 1.0), 0.16, max_points=32, max_pillars=12000)
NUSCENES = Grid("nuscenes", (-51.2, 51.2), (-51.2, 51.2), (-5.0, 3.0), 0.2, max_points=20, max_pillars=30000)
PILLARNET = Grid("pillarnet", (-54.0, 54.0), (-54.0, 54.0), (-5.0, 3.0), 0.075, max_points=10, max_pillars=160000)
GRIDS = {g.name: g for g in (KITTI, NUSCENES, PILLARNET)}


class Pillars(NamedTuple):
    """Non-empty pillars of one scan on one grid.

    ``coords`` (n, 2) int32 (y, x) in raster order; ``counts`` (n,) int32 points per pillar (after the
    ``max_points`` cap); ``points`` (m, 4) float32 the points kept, grouped by pillar in coordinate
    order (pillar i holds ``points[offsets[i]:offsets[i + 1]]``); ``occupancy`` = non-empty cells
    before the ``max_pillars`` cap / grid cells; ``grid`` the grid."""

    coords: np.ndarray
    counts: np.ndarray
    points: np.ndarray
    offsets: np.ndarray
    occupancy: float
    grid: Grid


def pillarize(points: np.ndarray, grid: Grid = KITTI, seed: int = 0) -> Pillars:
    """Points (N, >= 3) -> the grid's pillars (``seed`` picks the kept subset when there are more
    than ``max_pillars`` non-empty pillars)."""
    points = np.asarray(points)
    xyz = points[:, :3].astype(np.float64)
    inside = ((xyz[:, 0] >= grid.x[0]) & (xyz[:, 0] < grid.x[1]) & (xyz[:, 1] >= grid.y[0]) & (xyz[:, 1] < grid.y[1])
              & (xyz[:, 2] >= grid.z[0]) & (xyz[:, 2] < grid.z[1]))
    points, xyz = points[inside], xyz[inside]
    rows, cols = grid.shape
    iy = np.minimum(((xyz[:, 1] - grid.y[0]) / grid.pillar).astype(np.int64), rows - 1)
    ix = np.minimum(((xyz[:, 0] - grid.x[0]) / grid.pillar).astype(np.int64), cols - 1)
    cell = iy * cols + ix
    order = np.argsort(cell, kind="stable")  # points grouped by cell, in point order within a cell
    cell, points = cell[order], points[order]
    cells, first, counts = np.unique(cell, return_index=True, return_counts=True)
    occupancy = len(cells) / grid.cells
    if len(cells) > grid.max_pillars:
        chosen = np.sort(np.random.default_rng(seed).choice(len(cells), grid.max_pillars, replace=False))
        cells, first, counts = cells[chosen], first[chosen], counts[chosen]
    counts = np.minimum(counts, grid.max_points)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    take = np.repeat(first, counts) + (np.arange(offsets[-1]) - np.repeat(offsets[:-1], counts))
    coords = np.column_stack([cells // cols, cells % cols]).astype(np.int32)
    return Pillars(coords, counts.astype(np.int32), points[take].astype(np.float32), offsets, occupancy, grid)


def grid_of(name) -> Grid:
    """A named grid (``kitti``, ``nuscenes``, ``pillarnet``)."""
    if name not in GRIDS:
        raise field_error("workload.grid", name, ", ".join(GRIDS), WorkloadError)
    return GRIDS[name]


def with_limits(grid: Grid, max_points: int | None = None, max_pillars: int | None = None) -> Grid:
    """``grid`` with other voxelization limits (None keeps the grid's)."""
    return replace(grid, max_points=grid.max_points if max_points is None else max_points,
                   max_pillars=grid.max_pillars if max_pillars is None else max_pillars)


# -- real scans ---------------------------------------------------------------------------------------

def load_kitti_bin(path: str | Path) -> np.ndarray:
    """A KITTI Velodyne scan (``.bin``: little-endian float32 x, y, z, reflectance per point) as an
    (N, 4) float32 array. A missing file, a size not a multiple of 16 bytes or a row with NaN or
    infinity gives one WorkloadError line."""
    path = Path(path)
    if not path.is_file():
        raise WorkloadError(f"KITTI scan {path}: {'a folder' if path.is_dir() else 'no such file'}; "
                            "allowed: a .bin file of float32 x, y, z, reflectance rows")
    raw = path.read_bytes()
    if len(raw) % 16:
        raise WorkloadError(f"KITTI scan {path}: got {len(raw)} bytes; allowed: a multiple of 16 "
                            "(4 float32 per point: x, y, z, reflectance)")
    points = np.frombuffer(raw, dtype="<f4").reshape(-1, 4).astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(points).all(axis=1))
    if bad.size:
        raise WorkloadError(f"KITTI scan {path}: row {bad[0]} is {points[bad[0]].tolist()}; "
                            f"allowed: finite values ({bad.size} rows are not)")
    return points
