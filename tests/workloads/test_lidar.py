"""Synthetic LiDAR scenes, pillar grids and KITTI .bin import (workloads/lidar.py)."""

from functools import lru_cache

import numpy as np
import pytest

from sim.errors import WorkloadError
from workloads import lidar

EMPTY_STREET = lidar.Street(cars=0, pedestrians=0, cyclists=0, buildings=0)


@lru_cache(maxsize=None)
def scan(seed=0):
    return lidar.scene(seed)


def test_grids_follow_the_openpcdet_configs():
    assert lidar.KITTI.shape == (496, 432) and lidar.KITTI.cells == 214272
    assert lidar.NUSCENES.shape == (512, 512) and lidar.PILLARNET.shape == (1440, 1440)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_default_scenes_occupy_3_to_6_percent_of_the_kitti_grid(seed):
    p = lidar.pillarize(scan(seed).points, lidar.KITTI)
    print(f"seed {seed}: {len(scan(seed).points)} points, KITTI occupancy {100 * p.occupancy:.2f} %")
    assert 0.03 <= p.occupancy <= 0.06
    assert p.occupancy == len(np.unique(p.coords, axis=0)) / 214272  # under the 12000 cap: every pillar kept


def test_scenes_are_deterministic_by_seed():
    again = lidar.scene(0)
    assert np.array_equal(again.points, scan(0).points) and np.array_equal(again.boxes, scan(0).boxes)
    assert scan(0).points.dtype == np.float32 and scan(0).points.shape[1] == 4
    assert len(scan(1).points) != len(scan(0).points) or not np.array_equal(scan(1).points, scan(0).points)


def test_an_empty_street_is_the_ground_rings_of_the_beams_that_reach_it():
    """No objects, no dropout, no noise: every point lies on the plane, and there is one point per
    azimuth for each beam pointing down whose ground hit is within range."""
    sensor = lidar.Sensor(dropout=0.0, noise=0.0, max_range=40.0)
    points = lidar.scene(5, sensor, EMPTY_STREET).points
    assert np.allclose(points[:, 2], -1.73, atol=1e-4)
    elevation = np.radians(np.linspace(2.0, -24.8, 64))
    reaching = np.sum((elevation < 0) & (1.73 / np.sin(-np.minimum(elevation, -1e-9)) <= 40.0))
    assert len(points) == reaching * 2000  # 360 / 0.18 azimuths
    assert np.linalg.norm(points[:, :3], axis=1).max() <= 40.0 + 1e-3


def test_points_above_the_ground_lie_on_the_scene_boxes():
    s = lidar.scene(3, lidar.Sensor(noise=0.0))
    above = s.points[s.points[:, 2] > -1.73 + 1e-3, :3].astype(np.float64)
    on_a_box = np.zeros(len(above), dtype=bool)
    for cx, cy, cz, l, w, h, yaw in s.boxes:
        d = above - [cx, cy, cz]
        u, v = np.cos(yaw) * d[:, 0] + np.sin(yaw) * d[:, 1], -np.sin(yaw) * d[:, 0] + np.cos(yaw) * d[:, 1]
        on_a_box |= (np.abs(u) <= l / 2 + 1e-3) & (np.abs(v) <= w / 2 + 1e-3) & (np.abs(d[:, 2]) <= h / 2 + 1e-3)
    assert len(above) > 1000 and on_a_box.all()
    assert set(s.labels) == {"car", "pedestrian", "cyclist", "building"}


def test_dropout_and_range_limit_remove_returns():
    full = lidar.scene(2, lidar.Sensor(dropout=0.0))
    assert len(lidar.scene(2, lidar.Sensor(dropout=0.5)).points) < 0.6 * len(full.points)
    assert len(lidar.scene(2, lidar.Sensor(dropout=1.0)).points) == 0
    near = lidar.scene(2, lidar.Sensor(max_range=20.0, noise=0.0)).points
    assert np.linalg.norm(near[:, :3], axis=1).max() <= 20.0 + 1e-3


@pytest.mark.parametrize("grid", [lidar.KITTI, lidar.NUSCENES])
def test_pillars_hold_exactly_the_points_in_their_cells(grid):
    p = lidar.pillarize(scan(1).points, grid)
    rows, cols = grid.shape
    assert p.coords.dtype == np.int32 and p.coords.min() >= 0
    assert p.coords[:, 0].max() < rows and p.coords[:, 1].max() < cols
    keys = p.coords[:, 0].astype(np.int64) * cols + p.coords[:, 1]
    assert np.all(np.diff(keys) > 0)  # raster order, no duplicates
    assert p.counts.min() >= 1 and p.counts.max() <= grid.max_points and p.offsets[-1] == len(p.points)
    which = np.repeat(np.arange(len(p.counts)), p.counts)
    x, y, z = p.points[:, :3].astype(np.float64).T
    assert np.all((z >= grid.z[0]) & (z < grid.z[1]))
    assert np.array_equal(np.floor((y - grid.y[0]) / grid.pillar).astype(int), p.coords[which, 0])
    assert np.array_equal(np.floor((x - grid.x[0]) / grid.pillar).astype(int), p.coords[which, 1])
    if grid is lidar.KITTI:
        assert x.min() >= 0 and (scan(1).points[:, 0] < 0).mean() > 0.3  # the sensor sees behind; the grid does not


def test_caps_on_points_and_pillars():
    full = lidar.pillarize(scan(0).points, lidar.KITTI)
    capped = lidar.pillarize(scan(0).points, lidar.with_limits(lidar.KITTI, max_points=2, max_pillars=500), seed=4)
    assert len(capped.coords) == 500 and capped.counts.max() == 2 and capped.occupancy == full.occupancy
    kept = {tuple(c) for c in capped.coords}
    assert kept <= {tuple(c) for c in full.coords}
    again = lidar.pillarize(scan(0).points, lidar.with_limits(lidar.KITTI, max_pillars=500), seed=4)
    assert np.array_equal(again.coords, capped.coords)  # the subset depends on the seed only


def test_empty_cloud_gives_no_pillars():
    p = lidar.pillarize(np.zeros((0, 4), np.float32), lidar.KITTI)
    assert p.coords.shape == (0, 2) and len(p.counts) == 0 and p.occupancy == 0 and list(p.offsets) == [0]


def test_kitti_bin_round_trip(tmp_path):
    points = scan(0).points[:1000]
    path = tmp_path / "000000.bin"
    points.astype("<f4").tofile(path)
    loaded = lidar.load_kitti_bin(path)
    assert loaded.dtype == np.float32 and np.array_equal(loaded, points)
    assert np.array_equal(lidar.pillarize(loaded, lidar.KITTI).coords, lidar.pillarize(points, lidar.KITTI).coords)
    (tmp_path / "empty.bin").write_bytes(b"")
    assert lidar.load_kitti_bin(tmp_path / "empty.bin").shape == (0, 4)


def test_bad_kitti_files_give_one_line(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0" * 17)
    with pytest.raises(WorkloadError, match=r"^KITTI scan .*bad.bin: got 17 bytes; allowed: a multiple of 16 "):
        lidar.load_kitti_bin(bad)
    bad.write_bytes(b"\0" * 20)  # whole float32s, not whole points
    with pytest.raises(WorkloadError, match=r"got 20 bytes; allowed: a multiple of 16 "):
        lidar.load_kitti_bin(bad)
    with pytest.raises(WorkloadError, match=r"^KITTI scan .*missing.bin: no such file; allowed: "):
        lidar.load_kitti_bin(tmp_path / "missing.bin")
    with pytest.raises(WorkloadError, match=r"a folder"):
        lidar.load_kitti_bin(tmp_path)
    rows = np.ones((3, 4), dtype="<f4")
    rows[2, 1] = np.nan
    rows.tofile(bad)
    with pytest.raises(WorkloadError) as err:
        lidar.load_kitti_bin(bad)
    assert "row 2 is [1.0, nan, 1.0, 1.0]" in str(err.value) and "\n" not in str(err.value)


def test_unknown_grid_is_refused():
    with pytest.raises(WorkloadError, match=r"^workload.grid: got 'waymo'; allowed: kitti, nuscenes, pillarnet$"):
        lidar.grid_of("waymo")
