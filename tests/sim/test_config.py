"""Hardware config schema: presets, overrides and one-line validation errors."""

import pytest

from sim.config import load_config, presets
from sim.errors import ConfigError


def test_presets_load():
    assert {"tpu-v1", "edge-128", "edge-32"} <= set(presets())
    tpu = load_config("tpu-v1")
    assert (tpu.array.rows, tpu.array.cols, tpu.array.dataflow) == (256, 256, "ws")
    assert tpu.clock_ghz == 0.7 and tpu.tech.node_nm == 28
    assert load_config("edge-32").array.rows == 32


def test_overrides_and_defaults():
    cfg = load_config("edge-128", {"array.rows": 64, "dram.bandwidth_gbs": 51.2, "vector.lanes": 0})
    assert cfg.array.rows == 64 and cfg.array.cols == 128 and cfg.dram.bandwidth_gbs == 51.2
    assert cfg.vector.lanes == 0 and cfg.mode == "default" and cfg.fold_overlap is True
    assert load_config("edge-128").array.rows == 128  # presets are not mutated by overrides


def test_yaml_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("model: systolic\nname: mine\narray: {rows: 4, cols: 8}\n"
                    "sram: {ifmap_kb: 8, filter_kb: 8, ofmap_kb: 8}\ndram: {bandwidth_gbs: .inf}\n")
    cfg = load_config(path)
    assert cfg.name == "mine" and cfg.array.dataflow == "ws" and cfg.dram.bandwidth_gbs == float("inf")


@pytest.mark.parametrize("overrides, message", [
    ({"array.rows": 0}, "array.rows: got 0; allowed: >= 1"),
    ({"array.rows": 5000}, "array.rows: got 5000; allowed: <= 4096"),
    ({"array.dataflow": "rs"}, "array.dataflow: got 'rs'"),
    ({"array.depth": 3}, "array.depth: unknown key; allowed: rows, cols, dataflow"),
    ({"clock_ghz": "fast"}, "clock_ghz: got 'fast'"),
    ({"dram.kind": "ddr9"}, "dram.kind: got 'ddr9'; allowed: unknown DRAM kind 'ddr9'"),
    ({"sram.ifmap_kb": -1}, "sram.ifmap_kb: got -1; allowed: > 0"),
    ({"array.rows": 0, "array.cols": 0}, "(and 1 more problem)"),
    ({"array.rows.x": 1}, "override array.rows.x: array.rows is not a mapping"),
])
def test_errors_are_one_line_and_name_the_field(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config("edge-32", overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
