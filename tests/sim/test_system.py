"""Multi-unit systems: pipeline schedules, link contention, buffer back-pressure, memory fetches,
assignment errors, the single-unit case and the Gantt chart, each checked against hand arithmetic."""

import matplotlib.image
import pytest

from sim.config import load_config
from sim.engine import evaluate_ops, run
from sim.errors import ConfigError, UnsupportedOpError
from sim.models import build_model
from sim.system import Link, System, plot_timeline
from sim.trace import TraceBuilder

FORMATS = {"W": "int8", "A": "int8", "O": "int8"}
STAGE1 = {"M": 64, "N": 64, "K": 64}  # output 64 x 64 int8 = 4096 bytes
STAGE2 = {"M": 64, "N": 64, "K": 256}
BW, LAT = 4e9, 1e-7  # link: 4 GB/s, 100 ns


def array(name, **overrides):
    return build_model(load_config("edge-32", {"name": name, **overrides}))


def seconds(dims, model):
    """Duration and output bytes of one gemm, as evaluate_ops reports them."""
    b = TraceBuilder(formats=FORMATS)
    b.add("gemm", "g", dims)
    cost = evaluate_ops(b.build(), model).iloc[0]
    return cost["cycles"] / model.clock_hz, cost["bytes_dram_write"]


def pipeline_trace(requests=3):
    """Independent requests, each a stage-1 gemm followed by a dependent stage-2 gemm."""
    b = TraceBuilder(formats=FORMATS)
    for k in range(requests):
        s1 = b.add("gemm", f"s1_{k}", STAGE1, deps=())
        b.add("gemm", f"s2_{k}", STAGE2, deps=(s1,))
    return b.build()


def by_stage(row):
    return "A" if row["name"].startswith("s1") else "B"


def two_arrays(buffers=None):
    return System({"A": array("A"), "B": array("B")}, [Link("A-B", "A", "B", BW, LAT)], buffers)


def times(result, kind="op"):
    """{op id: (start, end)} of the ops (or of the transfers feeding each op)."""
    rows = result.timeline[result.timeline["kind"] == kind]
    return {r.op: (r.start_s, r.end_s) for r in rows.itertuples()}


@pytest.fixture(scope="module")
def durations():
    dA, out = seconds(STAGE1, array("A"))
    dB, _ = seconds(STAGE2, array("B"))
    t = LAT + out / BW
    assert out == 64 * 64
    assert t < dA < dB  # the regime the hand schedules below assume
    return dA, dB, t


def test_two_array_pipeline_matches_hand_schedule(durations):
    dA, dB, t = durations
    result = two_arrays().run(pipeline_trace(), by_stage)
    # A runs s1_0..2 back to back; s1_k's output leaves at (k+1)dA and takes t < dA, so it arrives
    # before B is free except for the first: B starts at dA + t and then runs 3 stage-2 ops back to back.
    ops = times(result)
    for k in range(3):
        assert ops[2 * k] == pytest.approx((k * dA, (k + 1) * dA))
        assert ops[2 * k + 1] == pytest.approx((dA + t + k * dB, dA + t + (k + 1) * dB))
    assert result.makespan_s == pytest.approx(dA + t + 3 * dB)
    assert result.makespan_s < 3 * (dA + t + dB)  # the pipeline overlaps
    assert result.busy.loc["A", "busy_s"] == pytest.approx(3 * dA)
    assert result.busy.loc["B", "utilization"] == pytest.approx(3 * dB / (dA + t + 3 * dB))
    assert result.energy_pj == pytest.approx(result.ops["energy_pj"].sum())
    assert list(result.ops["unit"]) == ["A", "B"] * 3


def test_every_op_starts_after_its_deps_and_their_transfers():
    b = TraceBuilder(formats=FORMATS)
    prev = ()
    for k in range(4):  # stage-1 ops also chain on A, so both same-unit and cross-unit deps occur
        s1 = b.add("gemm", f"s1_{k}", STAGE1, deps=prev)
        b.add("gemm", f"s2_{k}", STAGE2, deps=(s1,))
        prev = (s1,)
    trace = b.build()
    result = two_arrays(buffers={"B": 6000}).run(trace, by_stage)
    ops, transfers = times(result), times(result, "transfer")
    unit = dict(zip(result.ops["id"], result.ops["unit"]))
    for op_id, deps in zip(trace.ops["id"], trace.ops["deps"]):
        for d in deps:
            if unit[d] == unit[op_id]:
                assert ops[op_id][0] >= ops[d][1]
            else:
                assert transfers[op_id][0] >= ops[d][1]
                assert ops[op_id][0] >= transfers[op_id][1]


def test_transfers_on_one_link_serialize(durations):
    dA, dB, t = durations
    b = TraceBuilder(formats=FORMATS)
    p = b.add("gemm", "p", STAGE1)
    b.add("gemm", "c1", STAGE2, deps=(p,))
    b.add("gemm", "c2", STAGE2, deps=(p,))
    result = two_arrays().run(b.build(), {0: "A", 1: "B", 2: "B"})
    transfers, ops = times(result, "transfer"), times(result)
    assert transfers[1] == pytest.approx((dA, dA + t))
    assert transfers[2] == pytest.approx((dA + t, dA + 2 * t))  # waits for the first to leave the link
    assert ops[1] == pytest.approx((dA + t, dA + t + dB))
    assert ops[2][0] == pytest.approx(dA + t + dB)  # B busy with c1 (its input came at dA + 2t)
    assert result.busy.loc["A-B", "busy_s"] == pytest.approx(2 * t)


def test_bounded_buffer_back_pressures_the_producer(durations):
    dA, dB, t = durations
    act = 64 * 64
    result = two_arrays(buffers={"B": 1.5 * act}).run(pipeline_trace(), by_stage)
    ops, transfers = times(result), times(result, "transfer")
    # s1_1 ends at 2dA but its output only gets room when s2_0 frees its input at e0 = dA + t + dB;
    # A is held until then, so s1_2 starts at e0 (not 2dA). Likewise s1_2's output waits for e1.
    e0 = dA + t + dB
    e1 = e0 + t + dB
    assert ops[0] == pytest.approx((0, dA))
    assert ops[2] == pytest.approx((dA, 2 * dA))
    assert ops[4] == pytest.approx((e0, e0 + dA))
    assert transfers[3] == pytest.approx((e0, e0 + t))
    assert transfers[5] == pytest.approx((e1, e1 + t))
    assert ops[1] == pytest.approx((dA + t, e0))
    assert ops[3] == pytest.approx((e0 + t, e1))
    assert ops[5] == pytest.approx((e1 + t, e1 + t + dB))
    assert result.makespan_s == pytest.approx(dA + 3 * (t + dB))
    unbounded = two_arrays().run(pipeline_trace(), by_stage)
    assert times(unbounded)[4][0] == pytest.approx(2 * dA)


def test_buffer_smaller_than_one_input_is_a_deadlock_error():
    with pytest.raises(ConfigError, match=r"deadlocked: ops \[1\] never ran"):
        two_arrays(buffers={"B": 100}).run(pipeline_trace(1), by_stage)


def test_weight_fetch_over_dram_link_delays_the_op():
    a = array("A")
    dram_bw, dram_lat = 2e9, 5e-7
    b = TraceBuilder(formats=FORMATS)
    b.add("gemm", "g0", STAGE1, deps=())
    b.add("gemm", "g1", STAGE2, deps=())
    trace = b.build()
    d0, _ = seconds(STAGE1, a)
    d1, _ = seconds(STAGE2, a)
    f0 = dram_lat + 64 * 64 / dram_bw  # K x N int8 weights
    f1 = dram_lat + 256 * 64 / dram_bw
    system = System({"A": a}, [Link("dram", "dram", "A", dram_bw, dram_lat)])
    result = system.run(trace, {0: "A", 1: "A"}, fetch=lambda row: {"dram": row["K"] * row["N"]})
    ops, fetches = times(result), times(result, "transfer")
    assert fetches[0] == pytest.approx((0, f0))
    assert fetches[1] == pytest.approx((f0, f0 + f1))  # the link serializes the two fetches
    assert ops[0] == pytest.approx((f0, f0 + d0))
    assert ops[1][0] == pytest.approx(max(f0 + f1, f0 + d0))
    assert result.makespan_s == pytest.approx(max(f0 + f1, f0 + d0) + d1)


def test_unsupported_kind_and_unknown_unit_errors():
    no_vector = array("novec", **{"vector.lanes": 0})
    b = TraceBuilder(formats=FORMATS)
    b.add("gemm", "g", STAGE1)
    b.add("softmax", "sm", {"B": 1, "H": 1, "Q": 1, "T": 64})
    trace = b.build()
    system = System({"A": array("A"), "V": no_vector}, [Link("A-V", "A", "V", BW)])
    with pytest.raises(UnsupportedOpError, match=r"model 'novec' cannot run op 1 \('sm'\)"):
        system.run(trace, {0: "A", 1: "V"})
    with pytest.raises(ConfigError, match=r"op 1 \('sm'\) unit: got 'C'; allowed: A, V"):
        system.run(trace, {0: "A", 1: "C"})
    with pytest.raises(ConfigError, match=r"op 1 \('sm'\) unit: got None; allowed: A, V"):
        system.run(trace, {0: "A"})


def test_missing_link_is_an_error():
    system = System({"A": array("A"), "B": array("B")})
    with pytest.raises(ConfigError, match=r"op 1 \('s2_0'\) dep 0: no link between 'A' and 'B'"):
        system.run(pipeline_trace(1), by_stage)


def test_single_unit_equals_engine_run():
    a = array("A")
    b = TraceBuilder(formats=FORMATS)
    b.add("gemm", "g0", STAGE1)
    b.add("gemm", "g1", STAGE2)
    b.add("conv2d", "c", {"C": 8, "H": 16, "W": 16, "K": 16, "R": 3, "S": 3})
    b.add("softmax", "sm", {"B": 1, "H": 4, "Q": 1, "T": 128})
    trace = b.build()
    serial = run(trace, a)
    result = System({"A": a}).run(trace, lambda row: "A")
    assert result.makespan_s == pytest.approx(serial.ops["cycles"].sum() / a.clock_hz, rel=1e-12)
    assert list(result.ops["start_s"] * a.clock_hz) == pytest.approx(list(serial.ops["start_cycle"]))
    assert result.energy_pj == pytest.approx(serial.totals["energy_pj"])
    assert result.busy.loc["A", "utilization"] == pytest.approx(1.0)


def test_plot_timeline_writes_png(tmp_path):
    result = two_arrays(buffers={"B": 6000}).run(pipeline_trace(), by_stage)
    path = plot_timeline(result.timeline, tmp_path / "gantt.png")
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 500


def test_same_instant_ready_ties_go_by_op_id():
    a = array("A")
    b = TraceBuilder(formats=FORMATS)
    b.add("gemm", "g0", STAGE1, deps=())
    b.add("gemm", "g1", STAGE2, deps=())
    system = System({"A": a}, [Link("dram", "dram", "A", BW, 0.0)])
    # g0's empty fetch takes zero time but more events, so g1 is queued first within instant 0;
    # both are ready at 0 and g0 has the lower id, so it runs first.
    result = system.run(b.build(), {0: "A", 1: "A"}, fetch={0: {"dram": 0}})
    d0, _ = seconds(STAGE1, a)
    d1, _ = seconds(STAGE2, a)
    ops = times(result)
    assert ops[0] == pytest.approx((0, d0))
    assert ops[1] == pytest.approx((d0, d0 + d1))
