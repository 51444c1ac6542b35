"""Technology library: scaling check values, hand-computed costs, overrides, errors, citations."""

import math
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from sim.errors import ConfigError
from sim.tech import TechLibrary, TechValue, area_factor, energy_factor
from sim.tech.library import AREA_UNITS, DATA, ENERGY_UNITS, ENTRY_FILES

SCALING = yaml.safe_load((DATA / "scaling.yaml").read_text())
CITATIONS = yaml.safe_load((DATA / "citations.yaml").read_text())
ERT_RATIO = 14.137929 / 18.183829  # Eyeriss-like ERT: 128 KiB buffer write / read


def rel_energy(node):
    """Stillmaker & Baas relative energy at Vdd 0.8 V, linear between tabulated nodes (by hand)."""
    nodes, fits = SCALING["nodes_nm"], SCALING["energy"]
    poly = [a * 0.64 + b * 0.8 + c for a, b, c in fits]
    for i in range(len(nodes) - 1):
        if nodes[i + 1] <= node <= nodes[i]:
            t = (nodes[i] - node) / (nodes[i] - nodes[i + 1])
            return poly[i] * (1 - t) + poly[i + 1] * t
    raise AssertionError(node)


def within_rounding(x):
    """Equal to ``x`` after rounding to its two significant digits (how the spec quotes values)."""
    decimals = -math.floor(math.log10(x)) + 1
    return pytest.approx(x, abs=0.5 * 10**-decimals)


# -- node scaling ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("node", "area", "energy"), [(28, 0.38, 0.51), (22, 0.25, 0.29), (16, 0.19, 0.17),
                                                      (7, 0.059, 0.094)])
def test_scaling_from_45nm_matches_spec_check_values(node, area, energy):
    assert area_factor(45, node) == within_rounding(area)
    assert energy_factor(45, node) == within_rounding(energy)


@pytest.mark.parametrize(("node", "int8", "fp16"), [(28, 0.10, 0.56), (16, 0.035, 0.19), (7, 0.019, 0.10)])
def test_spec_scaled_multipliers(node, int8, fp16):
    lib = TechLibrary.load(node)
    assert lib.int_mult_pj(8, 8).value == within_rounding(int8)
    assert lib.fp_mult_pj(16).value == within_rounding(fp16)


def test_scaling_covers_aladdin_and_eyeriss_nodes():
    assert energy_factor(45, 45) == area_factor(45, 45) == 1
    assert energy_factor(40, 45) == pytest.approx(rel_energy(45) / rel_energy(40))
    assert area_factor(45, 32) == SCALING["area"][3][4] == 0.46
    assert 0.46 < area_factor(45, 40) < 1 and 0.66 < energy_factor(45, 40) < 1  # between 45 and 32 nm
    assert energy_factor(32, 45) * energy_factor(45, 32) == pytest.approx(1)
    assert area_factor(130, 7) == SCALING["area"][0][-1]


# -- arithmetic --------------------------------------------------------------------------------------

def test_int8_mult_at_45_and_28nm():
    assert TechLibrary.load(45).int_mult_pj(8, 8).value == 0.2
    assert TechLibrary.load(28).int_mult_pj(8, 8).value == pytest.approx(0.2 * rel_energy(28) / rel_energy(45))


def test_width_rules_from_nearest_tabulated_width():
    lib = TechLibrary.load(45)
    assert lib.int_add_pj(16).value == 0.05
    assert lib.int_add_pj(24).value == pytest.approx(0.1 * 24 / 32)  # nearest is 32 (log distance)
    assert lib.int_add_pj(4).value == pytest.approx(0.03 / 2)
    assert lib.int_mult_pj(4, 8).value == pytest.approx(0.2 * 4 * 8 / 64)
    assert lib.int_mult_pj(16, 16).value == pytest.approx(0.2 * 4)  # tie between 8 and 32 -> 8
    assert lib.int_mult_area_um2(4, 4).value == pytest.approx(282 / 4)
    assert lib.int_add_area_um2(32).value == 137
    assert "aladdin2014 product of widths 4x8/(8x8)" in lib.int_mult_pj(4, 8).source


def test_fp_ops_only_at_tabulated_widths():
    lib = TechLibrary.load(45)
    assert (lib.fp_add_pj(16).value, lib.fp_add_pj(32).value) == (0.4, 0.9)
    assert (lib.fp_mult_area_um2(16).value, lib.fp_add_area_um2(32).value) == (1640, 4184)
    with pytest.raises(ConfigError, match="fp_mult bits: got 8; allowed: 16, 32"):
        lib.fp_mult_pj(8)
    with pytest.raises(ConfigError, match="int_add bits: got 0"):
        lib.int_add_pj(0)


def test_register_and_leakage_from_aladdin():
    at40 = TechLibrary.load(40)
    assert at40.register_pj_per_bit().value == 0.009
    assert at40.register_area_um2_per_bit().value == 5.98
    assert at40.leakage_uw("multiplier", 8).value == pytest.approx(80 / 16)
    assert at40.leakage_uw("adder", 16).value == pytest.approx(1.2)
    at45 = TechLibrary.load(45)
    assert at45.register_pj_per_bit().value == pytest.approx(0.009 * rel_energy(45) / rel_energy(40))
    assert at45.leakage_uw("adder", 32).value == pytest.approx(2.4 * energy_factor(40, 45))
    with pytest.raises(ConfigError, match="leakage component: got 'shifter'"):
        at45.leakage_uw("shifter", 8)


# -- SRAM --------------------------------------------------------------------------------------------

def test_sram_read_energy_log_log_interpolation():
    lib = TechLibrary.load(45)
    assert lib.sram_access_pj(32 * 1024).value == 20
    assert lib.sram_access_pj(8 * 1024).value == pytest.approx(10)
    # 16 KiB is halfway between 8 and 32 KiB in log size: 10 * (20/10)^(1/2)
    assert lib.sram_access_pj(16 * 1024).value == pytest.approx(10 * 2**0.5)
    # 128 KiB: t = log(4)/log(32) = 0.4 between 32 KiB (20 pJ) and 1 MiB (100 pJ)
    assert lib.sram_access_pj(128 * 1024).value == pytest.approx(20 * 5**0.4)
    assert lib.sram_access_pj(1024).value == pytest.approx(10)  # clamped below 8 KiB
    assert lib.sram_access_pj(4 << 20).value == pytest.approx(100)  # clamped above 1 MiB
    assert "clamped" in lib.sram_access_pj(1024).source


def test_sram_width_write_and_node():
    lib = TechLibrary.load(45)
    assert lib.sram_access_pj(32 * 1024, bits=32).value == pytest.approx(10)
    assert lib.sram_access_pj(32 * 1024, write=True).value == pytest.approx(20 * ERT_RATIO, rel=1e-4)
    assert TechLibrary.load(28).sram_access_pj(32 * 1024).value == pytest.approx(20 * energy_factor(45, 28))
    with pytest.raises(ConfigError, match="sram macro_bytes: got 0"):
        lib.sram_access_pj(0)


def test_sram_area_density_and_efficiency_curve():
    assert TechLibrary.load(7).sram_area_mm2(1 << 20).value == pytest.approx(0.4)
    assert TechLibrary.load(16).sram_area_mm2(2 << 20).value == pytest.approx(2.0)
    assert TechLibrary.load(7).sram_area_mm2(128 * 1024).value == pytest.approx(0.4 / 8 * 0.561 / 0.704)
    # 4 KiB macros are ~7x less dense than 1 MiB ones (efficiency 0.076 vs 0.561)
    assert TechLibrary.load(28).sram_area_mm2(4096).value == pytest.approx(1.8 * 4096 / 2**20 * 0.561 / 0.076)
    # no tabulated density at 45 nm: nearest (28 nm) scaled by the area factor
    at45 = TechLibrary.load(45).sram_area_mm2(1 << 20)
    assert at45.value == pytest.approx(1.8 * area_factor(28, 45))
    assert "stillmaker2017 area 28->45nm" in at45.source


# -- DRAM --------------------------------------------------------------------------------------------

def test_dram_energy_per_bit_does_not_scale():
    for node in (45, 7):
        lib = TechLibrary.load(node)
        assert lib.dram_pj_per_bit("hbm2").value == 3.97
        assert lib.dram_pj_per_bit("ddr3").value == 640 / 32
    lib = TechLibrary.load(45)
    expected = {"ddr3", "ddr4", "ddr5", "lpddr4", "lpddr5", "lpddr5x", "gddr5", "gddr6", "gddr6x", "hbm2", "hbm2e",
                "hbm3"}
    assert set(lib.dram_kinds()) == expected
    assert lib.scaled("pim_hbm3_inbank_pj_per_bit").value == 0.55
    assert lib.dram_pj_per_bit("lpddr4").value == 512 / 64
    assert lib.link_pj_per_bit().value == pytest.approx(10.4 / 8)
    with pytest.raises(ConfigError, match="dram.kind: got 'ddr9'; allowed: ddr3, ddr4"):
        lib.dram_pj_per_bit("ddr9")


# -- overrides and errors ------------------------------------------------------------------------------

def test_overrides_from_dict():
    lib = TechLibrary.load(28, {"dram_hbm2_pj_per_bit": {"value": 4.2, "source": "vendor datasheet"},
                                "int_mult_8_pj": 0.3})
    hbm2 = lib.dram_pj_per_bit("hbm2")
    assert hbm2.value == 4.2
    assert "user:dram_hbm2_pj_per_bit" in hbm2.source and "vendor datasheet" in hbm2.source
    assert lib.int_mult_pj(8, 8).value == pytest.approx(0.3 * energy_factor(45, 28))
    table = lib.table().set_index("name")
    assert table.loc["int_mult_8_pj", "kind"] == "user"
    assert TechLibrary.load(28).dram_pj_per_bit("hbm2").value == 3.97  # cached default is untouched


def test_overrides_from_yaml_file(tmp_path):
    path = tmp_path / "tech.yaml"
    path.write_text("sram_write_to_read_ratio: {value: 1.0, source: 'our CACTI run'}\n")
    lib = TechLibrary.load(45, path)
    assert lib.sram_access_pj(32 * 1024, write=True).value == pytest.approx(20)
    assert TechLibrary.load(45, str(path)) is lib
    path.write_text("sram_write_to_read_ratio: 0.5\n")
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # an edited file is re-read
    assert TechLibrary.load(45, path).sram_access_pj(32 * 1024, write=True).value == pytest.approx(10)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"dram_hbm9_pj_per_bit": 1.0}, "tech.overrides: got 'dram_hbm9_pj_per_bit'; allowed: .*dram_hbm2_pj_per_bit"),
    ({"dram_hbm2_pj_per_bit": -1}, r"tech.overrides.dram_hbm2_pj_per_bit: got -1; allowed: a finite number > 0"),
    ({"dram_hbm2_pj_per_bit": 0}, r"tech.overrides.dram_hbm2_pj_per_bit: got 0;"),
    ({"dram_hbm2_pj_per_bit": {"value": "fast"}}, r"tech.overrides.dram_hbm2_pj_per_bit: got 'fast';"),
    ({"dram_hbm2_pj_per_bit": float("nan")}, r"tech.overrides.dram_hbm2_pj_per_bit: got nan;"),
    ({"dram_hbm2_pj_per_bit": {"value": 1, "unit": "J"}}, r"tech.overrides.dram_hbm2_pj_per_bit: got \{'unit': 'J'"),
    ("/no/such/overrides.yaml", "tech.overrides: got '/no/such/overrides.yaml'"),
])
def test_bad_overrides_raise_config_error(overrides, message):
    with pytest.raises(ConfigError, match=message):
        TechLibrary.load(45, overrides)


def test_override_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"tech.overrides: got \[1, 2\]"):
        TechLibrary.load(45, path)


@pytest.mark.parametrize("node", [5, 200, "abc", float("nan")])
def test_unsupported_node_raises_config_error(node):
    with pytest.raises(ConfigError, match=f"tech.node_nm: got {node!r}"):
        TechLibrary.load(node)


def test_unsupported_node_names_the_range():
    with pytest.raises(ConfigError, match="tech.node_nm: got 3.0; allowed: 7 to 130 nm"):
        TechLibrary.load(3)


# -- data integrity and provenance --------------------------------------------------------------------

def all_entries():
    for name in ENTRY_FILES:
        for key, entry in yaml.safe_load((DATA / name).read_text()).items():
            yield name, key, entry


def test_every_yaml_file_is_package_data_and_loaded():
    assert {p.name for p in Path(DATA).glob("*.yaml")} == {*ENTRY_FILES, "scaling.yaml", "citations.yaml"}


def test_every_entry_is_complete_and_cited():
    names = [key for _, key, _ in all_entries()]
    assert len(names) == len(set(names)), "entry names must be unique across files"
    for file, key, entry in all_entries():
        assert {"value", "unit", "node_nm", "cite"} <= set(entry), (file, key)
        assert entry["value"] > 0, (file, key)
        assert entry["cite"] in CITATIONS and entry["cite"] != "user", (file, key)
        if entry["node_nm"] is not None:
            assert entry["unit"] in ENERGY_UNITS + AREA_UNITS, (file, key)
    assert SCALING["cite"] in CITATIONS and SCALING["leakage_cite"] in CITATIONS


# A locator names a table, figure, section or file of the cited work (or, for an assumption, its basis).
LOCATOR = re.compile(r"\b(Table|Fig|Figure|Sec|Section|file|page|announcement|speed-bin|speed-grade|data-rate|pin data rate|"
                     r"basis)\b|\.(py|yaml|lib|h|html)\b", re.IGNORECASE)
# Documents outside this repository: the team's notes and specs, or a relative path leaving the tree.
OUTSIDE = re.compile(r"ecosystem\.md|pim_pnm\.md|specs/|shared/|\.\./|/work/|~/")
ROOT = Path(__file__).resolve().parents[2]


def test_citations_are_full_references():
    for key, c in CITATIONS.items():
        assert c["kind"] in {"primary", "secondary", "derived", "assumption", "user"}, key
        assert c["authors"] and c["title"] and c["venue"] and c.get("locator"), key
        if c["kind"] in ("primary", "secondary"):
            assert c.get("doi") or c.get("url"), key
        if c["kind"] == "primary":
            assert LOCATOR.search(c["locator"]) and "via" not in c, key  # read in the source itself
        if c["kind"] == "secondary":
            assert LOCATOR.search(c.get("via", "")), key  # names the reproduction read, with its locator
        if c["kind"] == "derived":
            assert all((ROOT / path).is_file() for path in re.findall(r"[\w/]+\.py", c["locator"])), key
        if c["kind"] == "assumption":
            assert c["locator"].startswith("basis:"), key
        assert c["title"] in TechLibrary.citation(key) and c["locator"] in TechLibrary.citation(key)
    assert "10.1016/j.vlsi.2017.02.002" in TechLibrary.citation("stillmaker2017")
    assert "Read in: S. Kim et al." in TechLibrary.citation("horowitz2014")
    with pytest.raises(ConfigError, match="citation: got 'nope'"):
        TechLibrary.citation("nope")


def test_no_citation_points_outside_the_repository():
    """Every file a reader could follow is in the tree: tech data, docs, tests and benchmarks."""
    files = [*DATA.glob("*.yaml"), *(ROOT / "docs").glob("*.md"), *(ROOT / "benchmarks").glob("*.py"),
             *(ROOT / "tests").rglob("*.py"), ROOT / "README.md"]
    files = [f for f in files if f.resolve() != Path(__file__).resolve()]  # this file names the patterns
    offenders = [f"{f.relative_to(ROOT)}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
                 if OUTSIDE.search(line)]
    assert not offenders


def test_spec_assumptions_are_tunable_assumption_entries():
    table = TechLibrary.load().table().set_index("name")
    assumed = ["sram_write_to_read_ratio", "sram_density_7nm_mm2_per_mib", "sram_density_16nm_mm2_per_mib",
               "sram_density_28nm_mm2_per_mib", "dram_ddr4_pj_per_bit", "dram_ddr5_pj_per_bit",
               "dram_lpddr5_pj_per_bit", "dram_lpddr5x_pj_per_bit", "dram_hbm3_pj_per_bit"]
    assert (table.loc[assumed, "kind"] == "assumption").all()
    assert set(table.columns) >= {"value", "unit", "node_nm", "cite", "kind"}
    assert len(table) == len(list(all_entries()))
    assert table.loc["sram_write_to_read_ratio", "value"] == pytest.approx(ERT_RATIO, abs=1e-4)


def test_sources_name_the_citations():
    lib = TechLibrary.load(28)
    assert lib.int_mult_pj(8, 8).source == ("horowitz2014:int_mult_8_pj 0.2 pJ @45nm x stillmaker2017 energy "
                                            "45->28nm 0.513")
    assert "aladdin2014:aladdin_register_pj_per_bit" in lib.register_pj_per_bit().source
    assert "assume_leakage_scaling" in lib.leakage_uw("adder", 32).source
    sram = lib.sram_access_pj(16 * 1024, write=True).source
    assert "horowitz2014:sram_read_64b_8192_pj" in sram and "assume_sram_write_ratio" in sram
    area = lib.sram_area_mm2(64 * 1024).source
    assert "assume_sram_density:sram_density_28nm_mm2_per_mib" in area and "llmcompass2024" in area
    assert lib.dram_pj_per_bit("gddr6").source.startswith("micron_ubs:")


def test_eyeriss_cross_check_at_32nm():
    """Horowitz-based costs rescaled to 32 nm land within 1.5x of the Eyeriss-like ERT."""
    lib = TechLibrary.load(32)
    mac = lib.int_mult_pj(8, 8) + lib.int_add_pj(16)
    ert_mac = lib.scaled("eyeriss_int8_mac_pj")
    assert ert_mac.value == 0.207692 and ert_mac.source.startswith("eyeriss_ert:")
    assert 1 / 1.5 < mac.value / ert_mac.value < 1.5
    glb = lib.sram_access_pj(128 * 1024).value
    assert 1 / 1.5 < glb / lib.scaled("eyeriss_glb_128kb_read_pj").value < 1.5


# -- TechValue and caching ----------------------------------------------------------------------------

def test_tech_value_arithmetic_keeps_provenance():
    a, b = TechValue(1.0, "pJ", "x:a"), TechValue(2.0, "pJ", "y:b")
    assert (a + b) == TechValue(3.0, "pJ", "x:a + y:b")
    assert (a * 3).value == 3 and (3 * a).source == "x:a x 3"
    assert ((a + b) * 2).source == "(x:a + y:b) x 2"
    with pytest.raises(ValueError, match="cannot add"):
        a + TechValue(1.0, "um2", "z:c")
    with pytest.raises(AttributeError):
        a.value = 2


def test_load_is_cached_per_node_and_overrides():
    assert TechLibrary.load(16) is TechLibrary.load(16.0)
    overrides = {"int_add_8_pj": 0.04}
    assert TechLibrary.load(16, overrides) is TechLibrary.load(16, dict(overrides))
    assert TechLibrary.load(16, overrides) is not TechLibrary.load(16)
