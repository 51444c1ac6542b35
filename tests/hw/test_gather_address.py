# amaranth: UnusedElaboratable=no
"""The gather-address generator (``hw.gather_address``) inside ``hw.stream_bench`` against
``sim.gather.word_addresses``: in Amaranth's simulator on hypothesis-generated row streams (empty,
rows at the top of ``row_bits``, one bank, more words than banks, valid gaps and back-pressure), in
Icarus and Verilator; one word per cycle without bubbles between rows; every gather-address mutant
of ``hw.mutation.SPADE_CATALOGUE`` killed."""

from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import Out

from hw import icarus, mutation, pysim, verilator
from hw.gather_address import GatherAddressGenerator
from hw.stream_bench import StreamBench, beats, taken_cycles, vectors
from sim import gather
from sim.errors import ConfigError

ROW_BITS, CYCLE_BITS = 6, 4  # a 4-bit issue cycle wraps within the cases
CONFIGS = [(3, 4, 2), (5, 2, 1), (4, 8, 2), (1, 1, 1), (2, 16, 3), (1, 4, 4)]  # (words, banks, vectors_per_cycle)
DEPTH = 48


@cache
def bench(words: int, banks: int, per_cycle: int, cls=GatherAddressGenerator) -> StreamBench:
    return StreamBench(cls(row_bits=ROW_BITS, words=words, banks=banks, vectors_per_cycle=per_cycle,
                           cycle_bits=CYCLE_BITS), depth=DEPTH)


def run(rows, words, banks, per_cycle, rng, offer=1.0, ready=1.0, simulate=pysim.run, cls=GatherAddressGenerator):
    """Rows through the generator: (word beats as (bank, line, last, issue), outputs, stream rule broken)."""
    b = bench(words, banks, per_cycle, cls)
    cycles = int(3 * (len(rows) * words + 8) / min(offer, ready) ** 2)
    outputs = simulate(b, vectors(b, {"rows": [{"row": int(r)} for r in rows]}, rng, cycles, offer, ready))
    got = [(w["bank"], w["line"], w["last"], w["issue"]) for w in beats(b, outputs, "addresses")]
    return got, outputs, bool(outputs["addresses_broke"].any())


def expected(rows, words, banks, per_cycle):
    """Golden words: addresses from ``word_addresses``; vector k issues in the last cycle(s) of the in-order
    schedule of rows[:k + 1] (``issue_cycles``): the last one, or the last ceil(words / banks) of them."""
    bank, line = gather.word_addresses(np.array(rows, np.int64), words, banks)
    last = np.tile(np.arange(words) == words - 1, len(rows))
    own = -(-words // banks) if words > banks else 1
    issue = [(gather.issue_cycles(np.array(rows[:k + 1], np.int64), words, banks, per_cycle) - own) % (1 << CYCLE_BITS)
             for k in range(len(rows))]
    return list(zip(bank.tolist(), line.tolist(), last.astype(int).tolist(), np.repeat(issue, words).tolist()))


TOP = (1 << ROW_BITS) - 1
rows_st = st.lists(st.one_of(st.sampled_from([0, 1, TOP - 1, TOP]), st.integers(0, TOP)), max_size=DEPTH)
PATTERNS = st.sampled_from([(1.0, 1.0), (0.5, 1.0), (1.0, 0.4), (0.6, 0.6)])


@settings(max_examples=40)
@given(rows=rows_st, config=st.sampled_from(CONFIGS), pattern=PATTERNS, seed=st.integers(0, 2 ** 16))
def test_matches_golden_in_pysim(rows, config, pattern, seed):
    got, _, broke = run(rows, *config, np.random.default_rng(seed), *pattern)
    assert got == expected(rows, *config) and not broke


def test_one_word_per_cycle_and_empty_stream():
    rng = np.random.default_rng(0)
    for words, banks, per_cycle in CONFIGS:
        rows = [TOP, 0, 7, TOP]
        got, outputs, _ = run(rows, words, banks, per_cycle, rng)
        out = taken_cycles(outputs, "addresses")
        assert len(out) == 4 * words and out[-1] - out[0] == 4 * words - 1  # no bubble between rows
        assert out[0] == taken_cycles(outputs, "rows")[0] + 1  # first word one cycle after its row
    got, outputs, broke = run([], 3, 4, 2, rng, 0.5, 0.5)
    assert got == [] and not outputs["rows_taken"].any() and not broke


def test_bad_parameters():
    with pytest.raises(ConfigError, match="^banks: got 6"):
        GatherAddressGenerator(banks=6)
    with pytest.raises(ConfigError, match="^words: got 0"):
        GatherAddressGenerator(words=0)


COSIM = [(3, 4, 2), (5, 2, 1)]


@pytest.mark.cosim
@settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixtures only skip
@given(rows=rows_st, config=st.sampled_from(COSIM), pattern=PATTERNS, seed=st.integers(0, 2 ** 16))
def test_matches_golden_in_icarus(rows, config, pattern, seed, tmp_path_factory, require_icarus):
    simulate = lambda c, i: icarus.run(c, i, tmp_path_factory.mktemp("gather"))  # noqa: E731
    got, _, broke = run(rows, *config, np.random.default_rng(seed), *pattern, simulate=simulate)
    assert got == expected(rows, *config) and not broke


@pytest.mark.cosim
@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, config=st.sampled_from(COSIM), pattern=PATTERNS, seed=st.integers(0, 2 ** 16))
def test_matches_golden_in_verilator(rows, config, pattern, seed, require_verilator):
    got, _, broke = run(rows, *config, np.random.default_rng(seed), *pattern, simulate=verilator.run)
    assert got == expected(rows, *config) and not broke


# ---- mutants ------------------------------------------------------------------------------------

KILL_ROWS = [TOP, 0, 1, 37, TOP - 1, 22, 22, 5, TOP, 2, 3, 12, 13, 14, 40, 41, 9]
GATHER_MUTANTS = [m for m in mutation.SPADE_CATALOGUE if m.rtl == "hw.gather_address:GatherAddressGenerator"]


def killed(mutant, simulate=pysim.run) -> str:
    cls = mutation.mutated_class(mutant)
    for config in CONFIGS:
        for pattern in ((1.0, 1.0), (0.6, 0.5)):
            try:
                got, _, broke = run(KILL_ROWS, *config, np.random.default_rng(3), *pattern, simulate=simulate, cls=cls)
            except Exception as exc:  # noqa: BLE001  (a mutant that does not build or simulate is killed)
                return f"fails: {type(exc).__name__}"
            if broke or got != expected(KILL_ROWS, *config):
                return f"words, banks {config} offer/ready {pattern}"
    return ""


def test_kill_rows_pass_on_the_original():
    for config in CONFIGS:
        for pattern in ((1.0, 1.0), (0.6, 0.5)):
            got, _, broke = run(KILL_ROWS, *config, np.random.default_rng(3), *pattern)
            assert got == expected(KILL_ROWS, *config) and not broke


@pytest.mark.parametrize("mutant", GATHER_MUTANTS, ids=[m.name for m in GATHER_MUTANTS])
def test_mutant_is_killed_in_pysim(mutant):
    assert killed(mutant), f"{mutant.name} survives"


@pytest.mark.cosim
@pytest.mark.parametrize("name", ["bank_bit_slice_wrong", "back_pressure_dropped"])
def test_mutant_is_killed_in_icarus(name, tmp_path, require_icarus):
    mutant = next(m for m in GATHER_MUTANTS if m.name == name)
    assert killed(mutant, lambda c, i: icarus.run(c, i, tmp_path))


def test_spade_catalogue_is_well_formed():
    units = {"hw.rgu:RuleGenerationUnit", "hw.gather_address:GatherAddressGenerator"}
    assert {m.rtl for m in mutation.SPADE_CATALOGUE} == units
    assert {m.kind for m in mutation.SPADE_CATALOGUE} == set(mutation.SPADE_KINDS)
    for m in mutation.SPADE_CATALOGUE:
        assert not m.equivalent and mutation.mutated_source(m)[1].count(m.replace) >= 1, m.name
    names = [(m.rtl, m.name) for m in mutation.SPADE_CATALOGUE]
    assert len(names) == len(set(names))


def test_rtl_spade_yaml_has_every_unit_and_metric():
    """The synthesis numbers of both units are in the tech library, and their flip-flop counts are the
    registers of the RTL counted by hand: gather-address (16-bit rows, 8 words, 8 banks, 2 vectors per
    cycle, 16-bit issue cycle) = address 16 + 3, words left 3, busy 1, issue cycle 16, started 1, vectors
    in the cycle 2 and the used banks 1 (8 words on 8 banks: every vector takes every bank, so the 8 bits
    are equal and merged); RGU (16-bit coordinates and rows) = 2 row counters of 16, 2 previous
    coordinates of 2 x 16 + 1, the pair register 16 + 16 + 1 and its valid."""
    import re

    import yaml

    from sim.tech.library import DATA, ENTRY_FILES

    assert "rtl_spade.yaml" in ENTRY_FILES
    entries = yaml.safe_load((DATA / "rtl_spade.yaml").read_text())
    metrics = ("area_um2", "asic_fmax_mhz", "pj_per_cycle", "fpga_fmax_mhz", "fpga_luts", "fpga_ffs")
    assert set(entries) == {f"rtl_{u}_{k}" for u in ("rgu", "rgu_s2", "gather_addr") for k in metrics}
    assert all(e["cite"] == "rtl_spade" and e["value"] > 0 for e in entries.values())
    for unit, flops in (("gather_addr", 43), ("rgu", 132), ("rgu_s2", 132)):
        assert re.search(rf"\({flops} flops\)", entries[f"rtl_{unit}_area_um2"]["note"]), unit
        assert entries[f"rtl_{unit}_fpga_ffs"]["value"] == flops


class _RuleBreaker(wiring.Component):
    """A producer that ignores ``ready``: its payload counts every cycle (``hold_valid``) or its ``valid``
    blinks with a constant payload."""

    def __init__(self, hold_valid: bool):
        self.hold_valid = hold_valid
        super().__init__({"o": Out(stream.Signature(data.StructLayout({"n": 8})))})

    def elaborate(self, platform):
        m = Module()
        count = Signal(8)
        m.d.sync += count.eq(count + 1)
        if self.hold_valid:
            m.d.comb += [self.o.valid.eq(1), self.o.payload.n.eq(count)]
        else:
            m.d.comb += [self.o.valid.eq(count[0]), self.o.payload.n.eq(5)]
        return m


@pytest.mark.parametrize("hold_valid", [True, False], ids=["payload_changes", "valid_falls"])
def test_bench_flags_a_stream_rule_break(hold_valid):
    """The stream-rule monitor of ``hw.stream_bench`` sees each kind of break alone (and none when ready)."""
    for ready, broke in ((0.5, True), (1.0, False)):
        b = StreamBench(_RuleBreaker(hold_valid))
        outputs = pysim.run(b, vectors(b, {}, np.random.default_rng(0), 40, ready=ready))
        assert bool(outputs["o_broke"].any()) == broke
