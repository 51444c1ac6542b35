"""The engine against the model protocol: every violation is one ModelError naming the model, the op
or kind and the column; optional columns fill as documented; a trace's work is validated; a
multi-unit system sends what an op writes to its unit's outermost memory level."""

from typing import Literal

import numpy as np
import pytest

from sim.engine import run
from sim.errors import ModelError, TraceFormatError
from sim.models import MemoryLevel, build_model
from sim.system import Link, System
from sim.trace import TraceBuilder, validate
from sim.validation import Strict


class FakeConfig(Strict):
    model: Literal["fake"]


class Fake:
    """A model whose evaluate returns ``columns(batch)``: 10 cycles and 100 MACs per op by default."""

    name, clock_hz, kinds = "fake", 1e9, ("gemm", "elementwise")
    basis, formulas = {}, {}

    def __init__(self, columns=None, peak=20, levels=(MemoryLevel("sram"), MemoryLevel("hbm", 64.0))):
        self.columns, self.peak_macs_per_cycle, self.memory_levels = columns, peak, levels

    def area(self):
        return {}

    def evaluate(self, batch):
        n = len(batch)
        out = {"cycles": np.full(n, 10), "compute_cycles": np.full(n, 10), "stall_cycles": np.zeros(n),
               "macs": np.full(n, 100), **{f"bytes_{lv.name}_{rw}": np.full(n, 640.0)
                                            for lv in self.memory_levels for rw in ("read", "write")}}
        return {**out, **(self.columns(batch) if self.columns else {})}


def trace(work=None):
    b = TraceBuilder(meta={"work": work} if work else {})
    b.add("gemm", "g", {"M": 4, "N": 5, "K": 5})
    b.add("elementwise", "e", {"E": 8})
    return b.build()


@pytest.mark.parametrize("columns, message", [
    (lambda b: {"cycles": np.full(len(b), 10.5)}, r"op 0 \('g'\) of kind 'gemm': cycles = 10.5; allowed: a whole number"),
    (lambda b: {"macs": np.full(len(b), -1)}, r"macs = -1.0; allowed: a whole number >= 0"),
    (lambda b: {"energy_mac_pj": np.full(len(b), np.nan)}, r"energy_mac_pj = nan; allowed: a finite number >= 0"),
    (lambda b: {"memory_cycles": np.full(len(b), -3.0)}, r"memory_cycles = -3.0; allowed: a finite number >= 0"),
    (lambda b: {"energy_pj": np.ones(len(b))}, r"evaluate returned 'energy_pj', which the engine computes"),
    (lambda b: {"utilization": np.ones(len(b))}, r"evaluate returned 'utilization', which the engine computes"),
    (lambda b: {"macs": np.full(len(b) + 1, 100)}, r"column 'macs' has shape \(2,\); allowed: \(1,\)"),
    (lambda b: {"tag": np.full(len(b), "x" if b.kind == "gemm" else 1)}, r"column 'tag' is numeric for some op kinds"),
])
def test_protocol_violations_are_one_line_model_errors(columns, message):
    with pytest.raises(ModelError, match=message) as err:
        run(trace(), Fake(columns))
    assert "model 'fake'" in str(err.value) and "\n" not in str(err.value)
    t = trace()  # the same, on a trace a valid model ran first (the engine keeps what it checked per trace)
    run(t, Fake())
    with pytest.raises(ModelError, match=message):
        run(t, Fake(columns))


def test_a_kept_layout_does_not_excuse_another_models_missing_column():
    """A model whose columns look exactly like an earlier model's on the same trace still owes the
    byte columns of its own memory levels."""
    class Stale(Fake):  # reports the levels of Fake() while declaring others
        def evaluate(self, batch):
            return Fake().evaluate(batch)

    t = trace()
    run(t, Fake())
    with pytest.raises(ModelError, match=r"op kind 'gemm': evaluate returned no 'bytes_dram_read'"):
        run(t, Stale(levels=(MemoryLevel("sram"), MemoryLevel("dram", 8.0))))


class Fused(Fake):
    """Fake with its two kinds in one group: ``evaluate_fused`` records the kinds it was given."""

    fused_kinds = (("elementwise", "gemm"),)

    def __init__(self, columns=None, **kw):
        super().__init__(columns, **kw)
        self.calls = []

    def evaluate_fused(self, batches):
        self.calls.append(tuple(b.kind for b in batches))
        outs = [self.evaluate(b) for b in batches]
        return {col: np.concatenate([out[col] for out in outs]) for col in outs[0]}


def test_fused_kinds_get_one_call_and_land_on_their_ops():
    """A group's batches arrive together, in the group's order, and each op gets its own costs;
    a kind of the group alone in a trace is evaluated by itself."""
    def tagged(batch):
        dims = batch.dims["M"] if batch.kind == "gemm" else batch.dims["E"]
        return {"cycles": dims, "compute_cycles": dims}

    b = TraceBuilder()
    for i, (kind, size) in enumerate([("gemm", 3), ("elementwise", 7), ("gemm", 11), ("elementwise", 5)]):
        b.add(kind, f"op{i}", {"M": size, "N": 1, "K": 1} if kind == "gemm" else {"E": size})
    model = Fused(tagged)
    assert run(b.build(), model).columns["cycles"].tolist() == [3, 7, 11, 5]
    assert model.calls == [("elementwise", "gemm")]
    alone = TraceBuilder()
    alone.add("gemm", "g", {"M": 4, "N": 1, "K": 1})
    model = Fused(tagged)
    assert run(alone.build(), model).columns["cycles"].tolist() == [4] and model.calls == []


def test_fused_errors_name_every_kind_of_the_call():
    with pytest.raises(ModelError, match=r"model 'fake', op kinds 'elementwise', 'gemm': column 'macs' has shape"):
        run(trace(), Fused(lambda b: {"macs": np.ones(len(b) + 1)}))


def test_optional_columns_fill_per_kind():
    """A kind without memory_cycles is classified by its stall cycles; one without an energy component
    spends 0 on it; utilization is against the peak, NaN-free for zero-cycle ops."""
    def columns(batch):
        if batch.kind == "gemm":
            return {"memory_cycles": np.full(len(batch), 30.0), "energy_noc_pj": np.full(len(batch), 2.0)}
        return {"cycles": np.zeros(len(batch), int), "compute_cycles": np.zeros(len(batch), int),
                "energy_mac_pj": np.full(len(batch), 1.0)}

    ops = run(trace(), Fake(columns)).ops
    assert ops["bound"].tolist() == ["memory", "compute"]
    assert ops["energy_noc_pj"].tolist() == [2.0, 0.0] and ops["energy_mac_pj"].tolist() == [0.0, 1.0]
    assert ops["energy_pj"].tolist() == [2.0, 1.0]
    assert ops["utilization"].tolist() == [100 / (10 * 20), 0.0]


def test_a_family_column_no_op_of_the_trace_produces_sums_to_zero():
    """Summed and per-op family columns of kinds a trace does not hold are NaN per op, 0 in the totals."""
    model = Fake(lambda b: {"pairs": np.full(len(b), 7.0)} if b.kind == "elementwise" else {})
    model.summed_columns = model.op_series = ("pairs",)
    b = TraceBuilder()
    b.add("gemm", "g", {"M": 4, "N": 5, "K": 5})
    result = run(b.build(), model)
    assert np.isnan(result.columns["pairs"]).all() and result.totals["pairs"] == 0.0
    assert run(trace(), model).totals["pairs"] == 7.0


def test_ratio_columns_divide_totals():
    """A ratio of two totals is a column of the totals; NaN where its denominator sums to 0."""
    model = Fake(lambda b: {"base": np.full(len(b), 30.0 if b.kind == "gemm" else 0.0)})
    model.summed_columns, model.ratio_columns = ("base",), {"speedup": ("base", "cycles"), "per_base": ("macs", "base")}
    totals = run(trace(), model).totals  # two ops of 10 cycles and 100 MACs; base 30 + 0
    assert totals["speedup"] == 30 / 20 and totals["per_base"] == 200 / 30
    b = TraceBuilder()
    b.add("elementwise", "e", {"E": 8})
    assert np.isnan(run(b.build(), model).totals["per_base"])


def test_work_units_and_a_model_without_a_peak():
    result = run(trace({"unit": "frame", "count": 4}), Fake(peak=None))
    t = result.totals
    assert "utilization" not in result.ops and np.isnan(t["utilization"]) and np.isnan(t["peak_macs_per_cycle"])
    assert (t["work_unit"], t["work_units"]) == ("frame", 4.0)
    assert t["time_per_unit_s"] == pytest.approx(20e-9 / 4) and t["units_per_s"] == pytest.approx(4 / 20e-9)
    assert t["tops"] == pytest.approx(2 * 200 / 20e-9 / 1e12) and t["roof_hbm_bytes_per_s"] == 64e9


@pytest.mark.parametrize("work, message", [
    ({"unit": "token", "count": 0}, r"meta\.work\.count: got 0; allowed: a number > 0 and <= 2\*\*62"),
    ({"unit": "token", "count": "8"}, r"meta\.work\.count: got '8'"),
    ({"unit": "token", "count": 1e308}, r"meta\.work\.count: got 1e\+308; allowed: a number > 0 and <= 2\*\*62"),
    ({"unit": "", "count": 1}, r"meta\.work\.unit: got ''"),
    ({"count": 1}, r"meta\.work: got \{'count': 1\}"),
])
def test_work_of_a_trace_is_validated(work, message):
    t = trace()
    t.meta["work"] = work
    with pytest.raises(TraceFormatError, match=message):
        validate(t)


def test_build_model_checks_the_protocol():
    from sim.config import load_config
    from sim.models import Family, register_family, unregister_family

    unfused, stray, overlapping, unsummed, clash = Fake(), Fused(), Fused(), Fake(), Fake()
    unfused.fused_kinds = (("gemm", "elementwise"),)
    stray.fused_kinds = (("gemm", "softmax"),)
    overlapping.fused_kinds = (("gemm", "elementwise"), ("gemm",))
    unsummed.ratio_columns = {"speedup": ("baseline_cycles", "cycles")}  # baseline_cycles is not summed
    clash.ratio_columns = {"macs": ("cycles", "macs")}
    for model, message in ((object(), r"lacks name, clock_hz"), (Fake(peak=0), r"peak_macs_per_cycle: got 0"),
                           (Fake(levels=()), r"memory_levels: got \(\); allowed: one or more MemoryLevel"),
                           (unfused, r"declares fused_kinds but lacks evaluate_fused"),
                           (stray, r"fused_kinds: got .*'softmax'.*; allowed: disjoint groups of its kinds "
                                   r"\(gemm, elementwise\)"),
                           (overlapping, r"fused_kinds: got .*; allowed: disjoint groups"),
                           (unsummed, r"ratio_columns\['speedup'\]: got \('baseline_cycles', 'cycles'\); allowed: a "
                                      r"new column name mapped to \(numerator, denominator\) among cycles, "),
                           (clash, r"ratio_columns\['macs'\]")):
        register_family(Family("fake", FakeConfig, lambda config, model=model: model), replace=True)
        try:
            with pytest.raises(ModelError, match=message):
                build_model(load_config({"model": "fake"}))
        finally:
            unregister_family("fake")
    with pytest.raises(ModelError, match=r"memory level name: got 'l2-cache'; allowed: letters, digits and _"):
        MemoryLevel("l2-cache")


def test_system_sends_what_an_op_writes_to_its_outermost_level():
    """Two fake units with an 'hbm' level (no DRAM): op 1 on B waits for op 0's 640 bytes over the link."""
    b = TraceBuilder()
    first = b.add("gemm", "produce", {"M": 4, "N": 5, "K": 5})
    b.add("gemm", "consume", {"M": 4, "N": 5, "K": 5}, deps=(first,))
    system = System({"A": Fake(), "B": Fake()}, [Link("A-B", "A", "B", 6.4e9, 0.0)])
    result = system.run(b.build(), {0: "A", 1: "B"})
    transfer = result.timeline[result.timeline["kind"] == "transfer"].iloc[0]
    assert transfer["end_s"] - transfer["start_s"] == pytest.approx(640 / 6.4e9)
    assert result.makespan_s == pytest.approx(10e-9 + 640 / 6.4e9 + 10e-9)


def test_a_trace_without_ops_is_rejected():
    with pytest.raises(TraceFormatError, match=r"trace: no ops; allowed: at least one op"):
        TraceBuilder().build()


def test_interleaved_kinds_keep_trace_order():
    """Each op's costs and its kind-specific columns land on its own row when kinds interleave:
    every op of a mixed trace costs what it costs in a trace of its own."""
    def tagged(batch):  # a kind-specific column, and cycles that follow each op's own dims
        dims = batch.dims["M"] if batch.kind == "gemm" else batch.dims["E"]
        extra = {"gemm_tag": dims * 2.0} if batch.kind == "gemm" else {}
        return {"cycles": dims, "compute_cycles": dims, **extra}

    ops = [("gemm", {"M": 3, "N": 1, "K": 1}), ("elementwise", {"E": 7}), ("elementwise", {"E": 5}),
           ("gemm", {"M": 11, "N": 1, "K": 1}), ("elementwise", {"E": 2}), ("gemm", {"M": 4, "N": 1, "K": 1})]
    model = Fake(tagged)
    b = TraceBuilder()
    for i, (kind, dims) in enumerate(ops):
        b.add(kind, f"op{i}", dims)
    mixed = run(b.build(), model).columns
    for i, (kind, dims) in enumerate(ops):
        alone = TraceBuilder()
        alone.add(kind, f"op{i}", dims)
        single = run(alone.build(), model).columns
        assert mixed["name"][i] == f"op{i}" and mixed["cycles"][i] == single["cycles"][0]
        tag = mixed["gemm_tag"][i]
        assert tag == single["gemm_tag"][0] if kind == "gemm" else np.isnan(tag)


def test_a_model_cannot_alter_the_trace_it_runs():
    """The batches a trace's runs share are read-only: a model writing into its input fails loudly
    instead of changing what later runs of the same trace see."""
    def writes(batch):
        batch.dims["M" if batch.kind == "gemm" else "E"][0] = 1
        return {}

    t = trace()
    with pytest.raises(ValueError, match="read-only"):
        run(t, Fake(writes))
    def echo(batch):
        dims = batch.dims["M" if batch.kind == "gemm" else "E"]
        return {"cycles": dims, "compute_cycles": dims}

    assert run(t, Fake(echo)).columns["cycles"].tolist() == [4, 8]


def test_distinct_formats_of_a_batch_follow_its_formats():
    """A batch's distinct format combinations are recomputed while its format arrays can change
    and kept once they are read-only."""
    from sim.models import OpBatch

    formats = {"W": np.array(["int8", "int4"], object), "A": np.array(["int8", "int8"], object)}
    batch = OpBatch("gemm", np.arange(2), np.array(["a", "b"], object), {}, formats)
    assert batch.distinct("W", "A") == {("int8", "int8"), ("int4", "int8")}
    formats["W"][1] = "int8"
    assert batch.distinct("W", "A") == {("int8", "int8")} and batch.distinct("A") == {("int8",)}
    for column in formats.values():
        column.flags.writeable = False
    assert batch.distinct("W") is batch.distinct("W")
