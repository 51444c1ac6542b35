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
    ({"array.rows": 0}, "array.rows: got 0; allowed: an integer from 1 to 4096"),
    ({"array.rows": 5000}, "array.rows: got 5000; allowed: an integer from 1 to 4096"),
    ({"array.dataflow": "rs"}, "array.dataflow: got 'rs'"),
    ({"array.depth": 3}, "array.depth: unknown key; allowed: rows, cols, dataflow"),
    ({"clock_ghz": "fast"}, "clock_ghz: got 'fast'"),
    ({"dram.kind": "ddr9"}, "dram.kind: got 'ddr9'; allowed: one of ddr3, ddr4"),
    ({"sram.ifmap_kb": -1}, "sram.ifmap_kb: got -1; allowed: a number > 0 and <= 1048576"),
    ({"array.rows": 0, "array.cols": 0}, "(and 1 more problem)"),
    ({"array.rows.x": 1}, "override array.rows.x: array.rows is not a mapping"),
])
def test_errors_are_one_line_and_name_the_field(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config("edge-32", overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("overrides, message", [
    ({"array.rows": True}, "array.rows: got True; allowed: an integer"),
    ({"array.rows": 64.0}, "array.rows: got 64.0; allowed: an integer"),
    ({"mac.operand_bits": "8"}, "mac.operand_bits: got '8'; allowed: an integer"),
    ({"fold_overlap": 1}, "fold_overlap: got 1; allowed: true or false"),
    ({"clock_ghz": float("nan")}, "clock_ghz: got nan; allowed: a finite number"),
    ({"vector": [128]}, "vector: got [128]; allowed: a mapping"),
    ({"tech.overrides": 5}, "tech.overrides: got 5; allowed: a string or a mapping"),
])
def test_values_are_not_coerced(overrides, message):
    """Strict schemas: true is not 1, 64.0 is not 64, "8" is not 8."""
    with pytest.raises(ConfigError) as err:
        load_config("edge-32", overrides)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert "Input should be" not in str(err.value)


def test_model_key_selects_the_family():
    with pytest.raises(ConfigError, match=r"config x: model: missing \(required\); allowed: systolic"):
        load_config({"name": "x", "array": {"rows": 1, "cols": 1}})
    with pytest.raises(ConfigError, match=r"config x: model: got 'gpu'; allowed: systolic"):
        load_config({"name": "x", "model": "gpu"})


# -- DRAM presets --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, gbs, pj", [("ddr4", 25.6, 15), ("lpddr5", 4 * 12.8, 4.5), ("lpddr5x", 4 * 17.066, 4.5),
                                           ("gddr6", 2 * 32, 7.5), ("hbm2e", 8 * 51.2, 6.0), ("hbm3", 16 * 51.2, 3.59)])
def test_dram_kind_selects_bandwidth_and_energy(kind, gbs, pj):
    from sim.models import build_model

    model = build_model(load_config("edge-128", {"dram.kind": kind}))
    bandwidth, energy = model.basis["dram_bandwidth_gbs"], model.basis["dram_pj_per_bit"]
    assert bandwidth.value == pytest.approx(gbs) and energy.value == pj
    assert f"dram_{kind}_channel_gbs" in bandwidth.source and f"dram_{kind}_channels" in bandwidth.source
    assert model.memory_levels[-1].bytes_per_cycle == pytest.approx(gbs)  # 1 GHz: GB/s = bytes per cycle


def test_dram_channels_and_explicit_bandwidth():
    from sim.models import build_model

    two = build_model(load_config("edge-128", {"dram.kind": "ddr5", "dram.channels": 4}))
    assert two.basis["dram_bandwidth_gbs"].value == pytest.approx(4 * 25.6)
    assert "config dram.channels" in two.basis["dram_bandwidth_gbs"].source
    given = build_model(load_config("edge-128", {"dram.kind": "hbm3", "dram.bandwidth_gbs": 100.0}))
    assert given.basis["dram_bandwidth_gbs"].value == 100.0 and given.basis["dram_pj_per_bit"].value == 3.59
    with pytest.raises(ConfigError, match=r"config edge-128: dram: got \{.*'channels': 2, 'bandwidth_gbs': 100\.0\}; "
                                          r"allowed: channels or bandwidth_gbs, not both"):
        load_config("edge-128", {"dram.channels": 2, "dram.bandwidth_gbs": 100.0})


def test_every_dram_preset_is_cited():
    from sim.tech import TechLibrary

    tech = TechLibrary.load()
    for kind in tech.dram_kinds():
        for entry in (f"dram_{kind}_channel_gbs", f"dram_{kind}_channels", f"dram_{kind}_pj_per_bit"):
            cite = tech.entries[entry]["cite"]
            assert TechLibrary.citation(cite), entry
        assert tech.entries[f"dram_{kind}_channel_gbs"]["note"], kind  # names the speed grade and width
