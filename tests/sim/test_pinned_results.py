"""Results pinned across the move of the systolic model onto the family registry.

The values below were produced by the code before the move (commit 771c3ad, the demo sweeps and
the formats study on the edge-128 preset) and must not change: a refactor of the spine is not a
change of the model. SCALE-Sim parity rows are pinned against SCALE-Sim's own output in
``test_scalesim_parity``. Where a later change alters a number on purpose, update it here and say
why in the commit.
"""

import pytest

from sim.formats_study import formats_table, study_specs
from sim.point import canonical_point, evaluate_point
from sim.sweep import run_sweep

DECODE = {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 2048}
BLOCK1 = {"model": "pointpillars-kitti", "layers": ["block1.conv0", "block1.conv1"]}
# (workload, rows, cols, dataflow) -> cycles, energy (pJ), DRAM bytes read, area (mm^2)
POINTS = [
    (DECODE, 16, 16, "os", 447391055, 887853954160.4341, 7147319296, 4.1135195136),
    (DECODE, 128, 128, "ws", 279493283, 894409751679.8191, 7147319296, 6.6687688704),
    (DECODE, 256, 32, "is", 280929220, 890515331785.9952, 7147319296, 5.3708644352),
    (BLOCK1, 32, 32, "ws", 38143302, 121399248402.29315, 500613120, 4.2351980544),
    (BLOCK1, 256, 64, "os", 941478, 3680767838.1762714, 17215488, 6.6687688704),
    (BLOCK1, 64, 128, "is", 940450, 4548849885.653278, 17215488, 5.3708644352),
]
# phase -> PE -> energy per token (mJ), DRAM traffic per token (MB), MAC area (um^2)
FORMATS = {
    "decode": {"int8xint8": (914.9299543115084, 7151.201536, 250.67279999999997),
               "dint4xint8": (453.03573540296577, 3579.09632, 154.54712),
               "amxfp4": (513.7844842944614, 4022.550864, 229.7284625)},
    "prefill": {"int4xint4": (2.439551291612673, 14.07901125, 110.57871999999999),
                "mxfp4": (5.430445527817616, 35.430757453125, 84.99160125)},
}


@pytest.mark.parametrize("workload, rows, cols, dataflow, cycles, energy, dram_read, area", POINTS)
def test_demo_points_unchanged(workload, rows, cols, dataflow, cycles, energy, dram_read, area):
    overrides = {"array.rows": rows, "array.cols": cols, "array.dataflow": dataflow}
    row = evaluate_point(canonical_point("edge-128", overrides, workload))
    assert row["cycles"] == cycles and row["bytes_dram_read"] == dram_read
    assert row["energy_pj"] == pytest.approx(energy, rel=1e-12)
    assert row["area_mm2"] == pytest.approx(area, rel=1e-12)


@pytest.mark.parametrize("phase", FORMATS)
def test_formats_study_unchanged(phase, tmp_path):
    table = formats_table(run_sweep(study_specs()[f"llama-2-7b-formats-{phase}"], tmp_path, n_jobs=1,
                                    progress=False)).set_index("pe")
    for pe, (energy, dram, area) in FORMATS[phase].items():
        got = table.loc[pe]
        assert (got["energy_per_token_mj"], got["dram_mb_per_token"], got["mac_area_um2"]) == pytest.approx(
            (energy, dram, area), rel=1e-12), pe
