"""Format-aware PEs: costs are the synthesized unit's (sim/tech/rtl_macs.yaml) plus the stated
additions, block PEs take 32 elements of K per cycle, and traffic counts every scale bit."""

import numpy as np
import pytest

from sim.config import load_config
from sim.engine import run
from sim.errors import UnsupportedOpError
from sim.models import build_model
from sim.models.mac_pe import FormatPE
from sim.models.pes import PES
from sim.tech import TechLibrary
from sim.trace import TraceBuilder
from workloads import llm

INF = float("inf")


def config(weight, act, acc, rows=64, cols=64, node=45):
    raw = {"model": "systolic", "name": "t", "array": {"rows": rows, "cols": cols, "dataflow": "ws"},
           "mac": {"weight_format": weight, "act_format": act, "acc_bits": acc},
           "sram": {"ifmap_kb": 1024, "filter_kb": 1024, "ofmap_kb": 1024},
           "dram": {"kind": "ddr4", "bandwidth_gbs": INF}, "tech": {"node_nm": node}}
    return load_config(raw)


def gemm(M, N, K, fmt):
    b = TraceBuilder(formats={"W": fmt[0], "A": fmt[1], "O": fmt[1], "KV": fmt[0]})
    b.add("gemm", "op", {"M": M, "N": N, "K": K})
    return b.build()


def test_integer_pe_is_the_synthesized_unit_plus_operand_registers():
    t = TechLibrary.load(45)
    pe = FormatPE("dint4", "int8", 21, t)
    expected = t.entries["rtl_mac_dint4xint8_pj"]["value"] + 12 * t.register_pj_per_bit().value
    assert pe.mac_pj().value == pytest.approx(expected)
    assert "rtl_mac_dint4xint8_pj" in pe.mac_pj().source


def test_accumulator_width_moves_cost_by_the_synthesized_per_bit_cost():
    t = TechLibrary.load(45)
    narrow, wide = FormatPE("int8", "int8", 24, t), FormatPE("int8", "int8", 32, t)
    per_bit = t.entries["rtl_mac_int8xint8_acc_um2_per_bit"]["value"]
    assert wide.area_um2().value - narrow.area_um2().value == pytest.approx(8 * per_bit)
    assert wide.mac_pj().value > narrow.mac_pj().value


def test_block_pe_adds_one_fp_add_per_term_per_block():
    t = TechLibrary.load(45)
    fp_add = t.fp_add_pj(32).value
    mx, amx = FormatPE("mxfp4", "mxfp4", 32, t), FormatPE("amxfp4", "amxfp4", 32, t)
    assert mx.macs_per_pe == amx.macs_per_pe == 32
    regs = t.register_pj_per_bit().value
    assert mx.mac_pj().value == pytest.approx(t.entries["rtl_mac_mxfp4_pj"]["value"] + fp_add / 32 + 8.5 * regs)
    assert amx.mac_pj().value == pytest.approx(t.entries["rtl_mac_amxfp4_pj"]["value"] + 4 * fp_add / 32 + 9 * regs)


def test_block_array_of_equal_mac_count_takes_as_many_cycles():
    """128 x 128 INT8 PEs vs 4 x 128 block PEs of 32 lanes: the same folds, each streaming M = 256
    rows; only the once-per-op preload and fill (2R + C - 2) is shorter with 4 rows."""
    op = (256, 4096, 4096)
    ints = run(gemm(*op, ("int8", "int8")), build_model(config("int8", "int8", 24, rows=128, cols=128)))
    blocks = run(gemm(*op, ("mxfp4", "mxfp4")), build_model(config("mxfp4", "mxfp4", 32, rows=4, cols=128)))
    assert ints.totals["compute_cycles"] == 2 * 128 + 128 - 2 + 32 * 32 * 256
    assert blocks.totals["compute_cycles"] == ints.totals["compute_cycles"] - 2 * (128 - 4)
    assert blocks.totals["peak_macs_per_cycle"] == ints.totals["peak_macs_per_cycle"] == 128 * 128
    assert blocks.totals["utilization"] == pytest.approx(blocks.totals["macs"] / (blocks.totals["cycles"] * 128 * 128))


def test_partial_last_block_idles_lanes():
    full = run(gemm(64, 64, 64, ("mxfp4", "mxfp4")), build_model(config("mxfp4", "mxfp4", 32, rows=2, cols=64)))
    ragged = run(gemm(64, 64, 40, ("mxfp4", "mxfp4")), build_model(config("mxfp4", "mxfp4", 32, rows=2, cols=64)))
    assert ragged.totals["compute_cycles"] == full.totals["compute_cycles"]
    assert ragged.ops["mapping_efficiency"][0] == pytest.approx(40 / 64)


@pytest.mark.parametrize("fmt, bits", [("mxfp4", 4.25), ("amxfp4", 4.5), ("int4", 4), ("int8", 8)])
def test_weight_traffic_counts_scale_bits(fmt, bits):
    act = fmt if fmt.endswith("fp4") else "int8"
    r = run(gemm(1, 256, 512, (fmt, act)), build_model(config(fmt, act, 32)))
    act_bytes = 512 * (4.25 if act == "mxfp4" else 4.5 if act == "amxfp4" else 8) / 8
    assert r.totals["bytes_dram_read"] == pytest.approx(256 * 512 * bits / 8 + act_bytes)


def test_operands_must_fit_the_ports():
    model = build_model(config("int8", "int8", 24))
    run(gemm(4, 64, 64, ("int4", "int8")), model)  # a narrower integer is sign-extended
    with pytest.raises(UnsupportedOpError, match="'dint4' does not fit the int8xint8 PE's weight port"):
        run(gemm(4, 64, 64, ("dint4", "int8")), model)


def trace_macs(trace) -> int:
    """MACs of a trace as the product of each op's own dims (no lowering): gemm M*N*K, attention
    B*H*Q*T*D (every query head of every request against T keys of D elements)."""
    product = {"gemm": ("M", "N", "K"), "attention_score": ("B", "H", "Q", "T", "D"),
               "attention_context": ("B", "H", "Q", "T", "D")}
    total = 0
    for kind in trace.kinds():
        dims = trace.dims(kind)[1]
        if kind in product:
            total += int(np.prod([dims[d] for d in product[kind]], axis=0).sum())
    return total


# LLaMA-2-7B (Touvron et al. 2023, arXiv:2307.09288; the released checkpoint): 6,738,415,616
# parameters, of which the token embedding (32000 x 4096) and the 65 RMSNorm weight vectors
# (4096 each) take part in no matrix product; every other weight is one MAC per token. Attention
# adds 2 x 32 layers x 32 heads x 128 (head dim) MACs per query token per attended key.
LLAMA2_7B_LINEAR_MACS_PER_TOKEN = 6_738_415_616 - 32_000 * 4096 - 65 * 4096
LLAMA2_7B_ATTENTION_MACS_PER_QUERY_KEY = 2 * 32 * 32 * 128
LLAMA2_7B_LM_HEAD_MACS = 32_000 * 4096


def test_trace_macs_match_the_published_llama_size():
    decode = llm.decode("llama-2-7b", context=2048)
    assert trace_macs(decode) == LLAMA2_7B_LINEAR_MACS_PER_TOKEN + LLAMA2_7B_ATTENTION_MACS_PER_QUERY_KEY * 2048
    # prefill: the LM head runs on the last token only (the next token's logits); causal masking
    # is not exploited, so every query sees all 256 keys
    prefill = llm.prefill("llama-2-7b", prompt=256)
    assert trace_macs(prefill) == (256 * (LLAMA2_7B_LINEAR_MACS_PER_TOKEN - LLAMA2_7B_LM_HEAD_MACS)
                                   + LLAMA2_7B_LM_HEAD_MACS + LLAMA2_7B_ATTENTION_MACS_PER_QUERY_KEY * 256**2)


@pytest.mark.parametrize("pe", list(PES))
def test_llama_decode_and_prefill_run_on_every_pe(pe):
    w, a = PES[pe].weight_format, PES[pe].act_format
    acc = 32 if w.endswith("fp4") else 24
    rows = 4 if w.endswith("fp4") else 128
    model = build_model(config(w, a, acc, rows=rows, cols=128, node=16))
    formats = {"W": w, "A": a, "O": a, "KV": w}
    for trace in (llm.decode("llama-2-7b", context=2048, formats=formats),
                  llm.prefill("llama-2-7b", prompt=256, formats=formats)):
        totals = run(trace, model).totals
        assert 0 < totals["utilization"] <= 1
        assert totals["macs"] == trace_macs(trace)
        assert np.isfinite(totals["energy_pj"]) and totals["energy_mac_pj"] > 0


def test_narrower_pe_spends_less_per_mac():
    t = TechLibrary.load(45)
    pj = {name: FormatPE(pe.weight_format, pe.act_format, 32, t).mac_pj().value for name, pe in PES.items()}
    assert pj["int4xint4"] < pj["int4xint8"] < pj["int8xint8"]
    assert pj["mxfp4"] < pj["amxfp4"]
