"""Energy and area in a report trace back to cited tech-library entries: a hand-computed case.

The expected numbers are built here from the published table values (Horowitz ISSCC'14 45 nm,
Aladdin 40 nm, the ddr4 entry) and the Stillmaker & Baas coefficients, typed in by hand; the test
does not call the tech library to compute them.
"""

import pandas as pd
import pytest

from sim.report import write_report
from sim.sweep import run_sweep

# Stillmaker & Baas relative energy a*V^2 + b*V + c at V = 0.8 for 45 nm and 32 nm.
V = 0.8
REL_45 = 1.103 * V**2 - 0.362 * V + 0.2767
REL_32 = 0.9559 * V**2 - 0.7823 * V + 0.471
FRAC_40 = (45 - 40) / (45 - 32)  # 40 nm lies 5/13 of the way from 45 to 32 nm
ENERGY_40_TO_45 = REL_45 / (REL_45 * (1 - FRAC_40) + REL_32 * FRAC_40)
AREA_40_TO_45 = (1 - FRAC_40) * 1.0 + FRAC_40 * 2.2  # area table rows 45->45 = 1, 32->45 = 2.2

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trace")
    spec = {"name": "hand", "config": "edge-32", "workload": {"model": "resnet-50", "layers": ["fc"]},
            "grid": {"tech.node_nm": [45], "array.dataflow": ["os"]}}
    run_sweep(spec, tmp / "sweep", n_jobs=1, progress=False)
    out = write_report(tmp / "sweep", tmp / "report")
    return out.parent

def test_mac_dram_and_area_from_cited_entries(report):
    row = pd.read_csv(report / "points.csv").iloc[0]
    # ResNet-50 fc: 1 x 1000 x 2048 MACs on an 8-bit MAC with a 32-bit accumulator.
    assert row["macs"] == 2048 * 1000
    reg_bits = 8 + 8 + 32
    mac_pj = 0.2 + 0.1 + reg_bits * 0.009 * ENERGY_40_TO_45  # int8 mult + int32 add + registers
    assert row["energy_mac_pj"] == pytest.approx(row["macs"] * mac_pj, rel=1e-9)
    dram_bits = (row["bytes_dram_read"] + row["bytes_dram_write"]) * 8
    assert row["energy_dram_pj"] == pytest.approx(dram_bits * 15.0, rel=1e-9)  # ddr4 entry, 15 pJ/bit
    pe_um2 = 282 + 137 + reg_bits * 5.98 * AREA_40_TO_45
    assert row["area_array_mm2"] == pytest.approx(32 * 32 * pe_um2 * 1e-6, rel=1e-9)

def test_report_lists_the_citations(report):
    basis = pd.read_csv(report / "basis.csv").set_index("quantity")
    assert "horowitz2014:int_mult_8_pj 0.2 pJ @45nm" in basis.loc["mac_pj", "source"]
    assert "aladdin2014" in basis.loc["mac_pj", "source"]
    assert basis.loc["dram_pj_per_bit", "value"] == 15.0 and basis.loc["dram_pj_per_bit", "unit"] == "pJ/bit"
    html = (report / "index.html").read_text()
    assert "horowitz2014:int_mult_8_pj" in html and "Where the numbers come from" in html
