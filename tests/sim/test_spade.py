"""SPADE model: closed forms on hand-worked rulebooks, bank conflicts, dense equivalence, the ideal
dense baseline, rule reuse, DVP / SPADE+ costs, protocol checks and config errors."""

import math

import numpy as np
import pytest

from sim.config import load_config
from sim.engine import run
from sim.errors import ConfigError, TraceFormatError, UnsupportedOpError
from sim.models import build_model
from sim.trace import TraceBuilder

INF = float("inf")
FORMATS = {"W": "int8", "A": "int8", "O": "int8"}


def spade(rows=4, cols=4, **extra):
    raw = {"model": "spade", "name": "t", "array": {"rows": rows, "cols": cols},
           "sram": {"input_kb": 64, "output_kb": 64, "weight_kb": 64},
           "dram": {"kind": "ddr4", "bandwidth_gbs": INF}, "tech": {"node_nm": 45}}
    for key, value in extra.items():
        raw[key] = {**raw.get(key, {}), **value}
    return build_model(load_config(raw))


def brute_rules(coords, shape, k, stride, pad, subm=False):
    """A rulebook by enumeration (spconv's relation in = out * s - p + k), for small test sets only."""
    active = {tuple(c): i for i, c in enumerate(np.asarray(coords).tolist())}
    out_shape = [(n + 2 * pad - k) // stride + 1 for n in shape]
    if subm:
        outs = list(active)
    else:
        outs = [(y, x) for y in range(out_shape[0]) for x in range(out_shape[1])
                if any((y * stride - pad + a, x * stride - pad + b) in active for a in range(k) for b in range(k))]
    pairs = sorted((a * k + b, active[(y * stride - pad + a, x * stride - pad + b)], o)
                   for o, (y, x) in enumerate(outs) for a in range(k) for b in range(k)
                   if (y * stride - pad + a, x * stride - pad + b) in active)
    pairs = np.array(pairs, np.int32).reshape(-1, 3)
    return {"coords": np.asarray(coords, np.int32), "out_coords": np.array(outs, np.int32).reshape(-1, 2),
            "pair_count": np.bincount(pairs[:, 0], minlength=k * k).astype(np.int64), "pairs": pairs}


def trace(*ops):
    b = TraceBuilder(formats=FORMATS, meta={"work": {"unit": "frame", "count": 1}})
    for kind, dims, payload in ops:
        b.add(kind, "op", dims, payload=payload)
    return b.build()


# Three pillars in a row, (0,0) (0,1) (0,2), SubM 3x3 pad 1 on a 4x4 grid. Hand-worked rulebook:
# offset 3 (ky=1, kx=0) reads the left neighbour: out (0,1) <- in (0,0), out (0,2) <- in (0,1);
# offset 4 (centre): each pillar to itself; offset 5 (kx=2): out (0,0) <- in (0,1), out (0,1) <- in (0,2).
ROW = np.array([[0, 0], [0, 1], [0, 2]], np.int32)
ROW_RULES = {"coords": ROW, "out_coords": ROW,
             "pair_count": np.array([0, 0, 0, 2, 3, 2, 0, 0, 0], np.int64),
             "pairs": np.array([[3, 0, 1], [3, 1, 2], [4, 0, 0], [4, 1, 1], [4, 2, 2], [5, 1, 0], [5, 2, 1]], np.int32)}
SUBM_DIMS = dict(C=4, H=4, W=4, K=4, R=3, S=3, stride=1, pad=1)


def test_hand_worked_subm_layer_cycles():
    # 4x4 array, WS, Cin = Cout = 4: one fold per offset GEMM; with fold overlap a GEMM of T = n rows costs
    # 2R + C - 2 + max(n, R) = 10 + 4 = 14 cycles, so the three non-empty offsets take 42 array cycles.
    # Gather: 4 int8 channels = 1 word of 64 bits, scatter: 4 x 32-bit partial sums = 2 words; at one vector per
    # cycle each offset's gather and scatter take n cycles < 14, so the GSU hides behind the array.
    # RGU (merge, 1 comparison/cycle, as hw.rgu): per offset 3 inputs + 3 outputs + 1 end beat - P_δ (a match
    # takes both streams' heads at once): 6 x 7 + (7 - 2) + (7 - 3) + (7 - 2) = 56 cycles; SubM builds no output set.
    assert rule_recheck(ROW_RULES)
    ops = run(trace(("sparse_conv2d", SUBM_DIMS, ROW_RULES)), spade()).ops.iloc[0]
    assert ops["array_cycles"] == 3 * 14 and ops["rgu_cycles"] == 56 and ops["gsu_cycles"] == 2 * 7
    assert ops["compute_cycles"] == ops["cycles"] == max(42, 56)  # RGU overlapped with the array
    assert ops["macs"] == 7 * 4 * 4 and ops["pairs"] == 7 and ops["active_in"] == ops["active_out"] == 3
    serial = run(trace(("sparse_conv2d", SUBM_DIMS, ROW_RULES)), spade(rgu={"overlap": False})).ops.iloc[0]
    assert serial["cycles"] == 42 + 56
    fast = run(trace(("sparse_conv2d", SUBM_DIMS, ROW_RULES)), spade(rgu={"rate": 2.0})).ops.iloc[0]
    assert fast["rgu_cycles"] == 6 * 4 + 3 + 2 + 3 and fast["cycles"] == 42  # ceil(7 / 2), ceil(5 / 2), ...
    hashed = run(trace(("sparse_conv2d", SUBM_DIMS, ROW_RULES)), spade(rgu={"algorithm": "hash"})).ops.iloc[0]
    assert hashed["rgu_cycles"] == 3 + 9 * 3  # one insert per input, one probe per output and offset


def rule_recheck(rules):
    """The hand-worked rulebook is the enumerated one."""
    ref = brute_rules(rules["coords"], (4, 4), 3, 1, 1, subm=True)
    return all(np.array_equal(ref[k], rules[k]) for k in rules)


def test_bank_conflicts_slow_the_gather():
    # 1x1 pointwise layer on 8 pillars (pairs i -> i). Gather: 24 int8 channels = 192 bits = 3 words over 4
    # banks: vector r takes banks 3r, 3r+1, 3r+2 (mod 4), so consecutive vectors always share a bank and
    # issue one per cycle: 8 cycles, where conflict-free gives ceil(8 x 3 / 4) = 6. Scatter: Cout = 2
    # partial sums = 1 word, bank r mod 4, two vectors per cycle: 4 cycles, conflict-free too.
    # Array (R = 32, C = 4, WS): one fold, 2R + C - 2 + max(8, 32) = 98 cycles.
    coords = np.stack([np.zeros(8), np.arange(8)], 1).astype(np.int32)
    rules = {"coords": coords, "out_coords": coords, "pair_count": np.array([8], np.int64),
             "pairs": np.stack([np.zeros(8), np.arange(8), np.arange(8)], 1).astype(np.int32)}
    dims = dict(C=24, H=1, W=8, K=2, R=1, S=1, stride=1, pad=0)
    gsu = {"banks": 4, "vectors_per_cycle": 2, "overlap": False}
    banked = run(trace(("sparse_conv2d", dims, rules)), spade(32, 4, gsu=gsu)).ops.iloc[0]
    free = run(trace(("sparse_conv2d", dims, rules)), spade(32, 4, gsu={**gsu, "conflict_free": True})).ops.iloc[0]
    assert banked["gsu_cycles"] == 8 + 4 and banked["gsu_conflict_cycles"] == 2
    assert free["gsu_cycles"] == 6 + 4 and free["gsu_conflict_cycles"] == 0
    assert banked["cycles"] == 98 + 12 and free["cycles"] == 98 + 10


@pytest.mark.parametrize("kind, dims, rules", [
    ("sparse_conv2d", dict(C=8, H=5, W=6, K=16, R=3, S=3, stride=1, pad=0), lambda c: brute_rules(c, (5, 6), 3, 1, 0)),
    ("sparse_conv2d", dict(C=8, H=5, W=6, K=16, R=2, S=2, stride=2, pad=0), lambda c: brute_rules(c, (5, 6), 2, 2, 0)),
])
def test_all_active_input_does_the_dense_macs(kind, dims, rules):
    everything = np.array([(y, x) for y in range(5) for x in range(6)], np.int32)
    ops = run(trace((kind, dims, rules(everything))), spade()).ops.iloc[0]
    E, F = (5 - dims["R"]) // dims["stride"] + 1, (6 - dims["S"]) // dims["stride"] + 1
    assert ops["macs"] == ops["dense_macs"] == E * F * dims["R"] * dims["S"] * 8 * 16
    assert ops["density_in"] == 1.0 and ops["density_out"] == 1.0


def test_all_active_transposed_conv_does_the_dense_macs():
    # 2x2 stride-2 transposed conv of a full 3x4 grid: each input feeds its 4 children, 12 x 4 pairs.
    coords = np.array([(y, x) for y in range(3) for x in range(4)], np.int32)
    forward = brute_rules(np.array([(y, x) for y in range(6) for x in range(8)], np.int32), (6, 8), 2, 2, 0)
    assert np.array_equal(forward["out_coords"], coords)
    inverse = {"coords": coords, "out_coords": forward["coords"], "pair_count": forward["pair_count"],
               "pairs": forward["pairs"][:, [0, 2, 1]][np.lexsort((forward["pairs"][:, 2], forward["pairs"][:, 0]))]}
    dims = dict(C=8, H=3, W=4, K=16, R=2, S=2, stride=2, pad=0)
    ops = run(trace(("sparse_deconv2d", dims, inverse)), spade()).ops.iloc[0]
    assert ops["macs"] == ops["dense_macs"] == 12 * 4 * 8 * 16 and ops["density_out"] == 1.0
    # each output takes one pair, so nothing stays resident: one tile even when 48 x 16 x 4 B of partial
    # sums would need 6 halves of a 1 KiB output SRAM
    small = run(trace(("sparse_deconv2d", dims, inverse)), spade(sram={"output_kb": 1})).ops.iloc[0]
    assert small["tiles"] == 1 and small["bytes_dram_read"] == ops["bytes_dram_read"]


def test_sparse_beats_ideal_dense_only_when_sparse():
    # 32x32 grid, 3x3 SubM, Cin = 8, Cout = 16 on a 16x16 array. Ideal dense (OS, the dense default, no stalls):
    # the im2col GEMM M = 1024, K = 72, N = 16: ceil(1024/16) = 64 folds of max(72, 16) cycles + 2R + C - 2 = 46
    # (WS would take 5 folds of 1024).
    dims = dict(C=8, H=32, W=32, K=16, R=3, S=3, stride=1, pad=1)
    rng = np.random.default_rng(1)
    flat = np.sort(rng.choice(1024, 31, replace=False))  # 3 % of the grid
    sparse = np.stack([flat // 32, flat % 32], 1)
    full = np.array([(y, x) for y in range(32) for x in range(32)])
    model = spade(16, 16)
    low = run(trace(("sparse_conv2d", dims, brute_rules(sparse, (32, 32), 3, 1, 1, subm=True))), model).ops.iloc[0]
    dense = run(trace(("sparse_conv2d", dims, brute_rules(full, (32, 32), 3, 1, 1, subm=True))), model).ops.iloc[0]
    assert low["ideal_dense_cycles"] == dense["ideal_dense_cycles"] == 46 + 64 * 72
    assert low["cycles"] < low["ideal_dense_cycles"] / 5
    assert dense["cycles"] >= dense["ideal_dense_cycles"]  # every offset a GEMM of its own, plus the RGU
    assert low["energy_pj"] < low["ideal_dense_energy_pj"]


def test_rules_are_reused_by_a_layer_with_the_same_sets():
    layers = [("sparse_conv2d", SUBM_DIMS, ROW_RULES)] * 2
    reused = run(trace(*layers), spade()).ops
    assert list(reused["rgu_cycles"]) == [56, 0] and list(reused["rules_reused"]) == [0, 1]
    fresh = run(trace(*layers), spade(rgu={"reuse": False})).ops
    assert list(fresh["rgu_cycles"]) == [56, 56]
    # 7 pairs x 2 x 18-bit indices = 31.5 B overflow a 1-byte rule SRAM: written to DRAM, read back once
    tiny = run(trace(*layers), spade(sram={"rule_kb": 1 / 1024})).ops
    assert list(tiny["bytes_dram_write"] - reused["bytes_dram_write"]) == [31.5, 0]
    assert list(tiny["bytes_dram_read"] - reused["bytes_dram_read"]) == [0, 31.5]


def test_dvp_and_sd_conv_costs():
    # DVP on the 3 outputs of 4 channels, 16 lanes: ceil(12 / 16) = 1 scoring cycle + passes x ceil(3 / 16);
    # ratio: 2 passes, threshold: 1. The layer's time grows by exactly that (after the RGU's 56).
    kept = {**ROW_RULES, "dvp_kept": np.array([0, 2], np.int32)}
    ratio = run(trace(("sparse_conv2d", SUBM_DIMS, kept)), spade()).ops.iloc[0]
    threshold = run(trace(("sparse_conv2d", SUBM_DIMS, kept)), spade(dvp={"keep": "threshold"})).ops.iloc[0]
    assert ratio["dvp_cycles"] == 3 and threshold["dvp_cycles"] == 2 and ratio["cycles"] == 56 + 3
    assert ratio["energy_dvp_pj"] > threshold["energy_dvp_pj"] > 0
    # SD-Conv: pillar 1 selected. Scoring 3 pillars x 4 channels on 16 lanes: 1 cycle, top-k 2 passes: 2;
    # merge of 3 own sites + the 3 pairs whose input is pillar 1 (offsets 3, 4, 5): 6 cycles. It replaces
    # nothing of the SubM-shaped rulebook here, so the RGU still takes 56.
    sd = {**ROW_RULES, "selected": np.array([1], np.int32)}
    ops = run(trace(("sparse_conv2d", SUBM_DIMS, sd)), spade()).ops.iloc[0]
    assert ops["plus_cycles"] == 1 + 2 + 6 and ops["cycles"] == 9 + 56 and ops["energy_plus_pj"] > 0
    with pytest.raises(UnsupportedOpError, match=r"model 't', op 0 \('op'\): an SD-Conv layer .*plus.enabled: true"):
        run(trace(("sparse_conv2d", SUBM_DIMS, sd)), spade(plus={"enabled": False}))


def test_adaptive_schedule_takes_the_faster_dataflow():
    # 2x2 array, Cin = 64, Cout = 8. WS: 32 x 4 folds of max(n, 2) + 2R + C - 2 = 4 per offset GEMM:
    # 260 + 388 + 260 = 908. OS: ceil(n/2) x 4 folds of max(64, 2): 260 + 516 + 260 = 1036.
    dims = dict(C=64, H=4, W=4, K=8, R=3, S=3, stride=1, pad=1)
    runs = {df: run(trace(("sparse_conv2d", dims, ROW_RULES)),
                    spade(2, 2, array={"rows": 2, "cols": 2, "dataflow": {"subm": df}})).ops.iloc[0]
            for df in ("ws", "os")}
    assert (runs["ws"]["array_cycles"], runs["os"]["array_cycles"]) == (908, 1036)
    adaptive = run(trace(("sparse_conv2d", dims, ROW_RULES)),
                   spade(2, 2, array={"rows": 2, "cols": 2, "schedule": "adaptive"})).ops.iloc[0]
    assert adaptive["cycles"] == min(r["cycles"] for r in runs.values())
    assert adaptive["dataflow"] == min(runs, key=lambda df: runs[df]["cycles"])


def test_processing_order_tiles_or_spills():
    # 3 outputs x 4096 channels x 4 B = 48 KiB of partial sums; half of a 16 KiB output SRAM holds 8 KiB.
    # Weights 9 x 4 x 4096 B = 144 KiB, more than half the 64 KiB weight SRAM (32 KiB).
    # tiled: ceil(48 / 8) = 6 tiles, the weights fetched per tile. channel_tiled: 32768 // 36 = 910 channels
    # fit, 908 on 4 columns: ceil(4096 / 908) = 5 chunks of ceil(3 x 908 x 4 / 8192) = 2 tiles, weights once.
    # offset_major: 48 KiB spilled after offsets 3 and 4 and read back by 4 and 5.
    dims = dict(C=4, H=4, W=4, K=4096, R=3, S=3, stride=1, pad=1)
    ops = {order: run(trace(("sparse_conv2d", dims, ROW_RULES)),
                      spade(sram={"output_kb": 16}, array={"order": order})).ops.iloc[0]
           for order in ("tiled", "channel_tiled", "offset_major", "adaptive")}
    weights, psums = 9 * 4 * 4096, 3 * 4096 * 4
    assert (ops["tiled"]["tiles"], ops["channel_tiled"]["tiles"], ops["offset_major"]["tiles"]) == (6, 10, 1)
    assert ops["tiled"]["bytes_dram_read"] - ops["channel_tiled"]["bytes_dram_read"] == 5 * weights
    assert ops["offset_major"]["bytes_dram_write"] - ops["channel_tiled"]["bytes_dram_write"] == 2 * psums
    assert ops["offset_major"]["bytes_dram_read"] - ops["channel_tiled"]["bytes_dram_read"] == 2 * psums
    assert ops["adaptive"]["order"] == "channel_tiled" and ops["adaptive"]["cycles"] == ops["channel_tiled"]["cycles"]


def test_dense_ops_run_as_on_the_systolic_array():
    t = trace(("gemm", {"M": 100, "K": 10, "N": 64}, None))
    ops = run(t, spade(16, 16)).ops.iloc[0]
    # OS: Sr = M = 100, Sc = N = 64, T = K = 10: 7 x 4 folds of max(10, 16) + 2R + C - 2 = 494 (no stalls)
    assert ops["compute_cycles"] == ops["cycles"] == 494 == ops["ideal_dense_cycles"]
    assert ops["dense_macs"] == ops["macs"] == 64_000


def test_protocol_presets_and_area():
    for preset in ("spade-16", "spade-32"):
        model = build_model(load_config(preset))
        assert set(model.kinds) == {"sparse_conv2d", "sparse_deconv2d", "conv2d", "deconv2d", "gemm"}
        area = model.area()
        assert all(v.value > 0 and v.source for v in area.values()) and "rgu" in area and "sram_input" in area
        assert all(v.source for v in model.basis.values())
        # the RGU and the gather-address generator from this project's synthesized RTL
        assert model.basis["rgu_step_pj"].source.startswith("rtl_spade:rtl_rgu_pj_per_cycle")
        assert model.basis["gsu_address_pj"].source.startswith("rtl_spade:rtl_gather_addr_pj_per_cycle")
        assert area["rgu"].source.startswith("(rtl_spade:rtl_rgu_area_um2")
    small, large = (sum(v.value for v in build_model(load_config(p)).area().values()) for p in ("spade-16", "spade-32"))
    assert large > small


def test_bad_payloads_and_ops_are_one_line_errors():
    with pytest.raises(TraceFormatError, match=r"model 't', op 0 \('op'\): payload 'out_coords': missing"):
        run(trace(("sparse_conv2d", SUBM_DIMS, {"coords": ROW})), spade())
    short = {**ROW_RULES, "pair_count": ROW_RULES["pair_count"][:4]}
    with pytest.raises(TraceFormatError, match=r"payload 'pair_count': got 4 counts .*allowed: R\*S = 9"):
        run(trace(("sparse_conv2d", SUBM_DIMS, short)), spade())
    wild = {**ROW_RULES, "pairs": ROW_RULES["pairs"] + np.array([0, 5, 0], np.int32)}
    with pytest.raises(TraceFormatError, match=r"payload 'pairs': row \d+ out of range; allowed: 0..2"):
        run(trace(("sparse_conv2d", SUBM_DIMS, wild)), spade())
    with pytest.raises(TraceFormatError, match=r"payload 'coords': \(y, x\) up to \(0, 2\), min 0; allowed: inside "
                                               r"the H x W = 4 x 2 input grid"):
        run(trace(("sparse_conv2d", {**SUBM_DIMS, "W": 2}, ROW_RULES)), spade())
    with pytest.raises(TraceFormatError, match=r"dims.N: got 2; allowed: 1"):
        run(trace(("sparse_conv2d", {**SUBM_DIMS, "N": 2}, ROW_RULES)), spade())
    b = TraceBuilder(formats=FORMATS)
    b.add("softmax", "sm", {"B": 1, "H": 1, "Q": 1, "T": 4})
    with pytest.raises(UnsupportedOpError, match=r"model 't' cannot run op 0 \('sm'\) of kind 'softmax'"):
        run(b.build(), spade())


@pytest.mark.parametrize("override, message", [
    ({"gsu.banks": 0}, r"config spade-16: gsu.banks: got 0; allowed: an integer from 1 to 4096"),
    ({"rgu.algorithm": "sort"}, r"rgu.algorithm: got 'sort'; allowed: 'merge' or 'hash'"),
    ({"mac.weight_format": "mxfp4", "mac.act_format": "mxfp4"}, r"mac: .*generic integer MAC"),
    ({"dvp.lanes": 1.5}, r"dvp.lanes: got 1.5; allowed: an integer"),
])
def test_config_errors_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("spade-16", override)


def test_ideal_dense_definition_is_the_stall_free_closed_form():
    # With a DRAM so slow that the real design stalls, the ideal baseline's cycles do not change.
    dims = dict(C=16, H=8, W=8, K=16, R=3, S=3, stride=1, pad=1)
    rules = brute_rules(np.array([[1, 1], [5, 6]]), (8, 8), 3, 1, 1, subm=True)
    fast = run(trace(("sparse_conv2d", dims, rules)), spade(16, 16)).ops.iloc[0]
    slow = run(trace(("sparse_conv2d", dims, rules)), spade(16, 16, dram={"bandwidth_gbs": 0.01})).ops.iloc[0]
    assert slow["stall_cycles"] > 0 and slow["ideal_dense_cycles"] == fast["ideal_dense_cycles"]
    # M = 64, K = 144, N = 16 on 16 x 16, OS: 4 folds of max(144, 16) + 46
    assert fast["ideal_dense_cycles"] == 46 + 4 * 144 and math.isfinite(slow["ideal_dense_energy_pj"])


def test_section_puts_points_beside_the_bands(tmp_path):
    from sim.models.spade.section import spade_section

    t = trace(("sparse_conv2d", SUBM_DIMS, ROW_RULES))
    rows = []
    for label, model in (("a", spade()), ("b", spade(8, 8))):
        result = run(t, model)
        row = {**result.totals, "label": label}
        row.update({f"op_{c}": result.columns[c] for c in ("name", "kind", "cycles", "macs", *model.op_series)})
        rows.append(row)
    import pandas as pd

    df = pd.DataFrame(rows)
    body, plots = spade_section(df, tmp_path, lambda table: table.to_html())
    table = pd.read_csv(tmp_path / "spade.csv")
    # hand-checked: speed-up is ideal dense over sparse cycles, computation saved 1 - 7 pairs / (16 x 9) taps
    assert list(table["speedup"]) == [r["ideal_dense_cycles"] / r["cycles"] for r in rows]
    assert list(table["energy_saving"]) == [r["ideal_dense_energy_pj"] / r["energy_pj"] for r in rows]
    assert table["computation_saved_pct"].iloc[0] == pytest.approx(100 * (1 - 7 / (16 * 9)))
    assert list(table["computation_saved_pct in band"]) == ["no", "no"]  # 95 % saved: above 89.2
    assert set(plots) == {"spade_bands.png", "spade_layers.png", "spade_energy.png"}
    assert all((tmp_path / p).stat().st_size > 0 for p in plots) and "36.3-89.2" in body


def payload(rules, **extra):
    return {"coords": rules.in_coords, "out_coords": rules.out_coords, "pair_count": rules.pair_count,
            "pairs": rules.pairs, **extra}


def test_rulebooks_of_sim_sparse_regular_and_sd_conv():
    from sim.sparse import conv_rules, sd_conv_rules

    rng = np.random.default_rng(7)
    flat = rng.choice(400, 24, replace=False)
    coords = np.stack([flat // 20, flat % 20], 1).astype(np.int32)
    dims = dict(C=16, H=20, W=20, K=16, R=3, S=3, stride=1, pad=1)
    # regular (dilating) conv, merge RGU at 1 comparison/cycle: 9 scans of n_in + n_out + 1 less the offset's
    # pairs (P in all), plus one step per candidate (input, offset) site to build the output set: P again.
    regular = conv_rules(coords, (20, 20), 3, 1, 1)
    ops = run(trace(("sparse_conv2d", dims, payload(regular))), spade()).ops.iloc[0]
    assert ops["rgu_cycles"] == 9 * (24 + regular.n_out + 1) - len(regular.pairs) + len(regular.pairs)
    assert ops["macs"] == len(regular.pairs) * 16 * 16 and ops["active_out"] == regular.n_out
    # SD-Conv, top 10 % (3 pillars) by score: SPADE+ scores 24 x 16 elements on 16 lanes (24 cycles), two
    # top-k passes of ceil(24 / 16) = 2, merges the 24 own sites and each selected pillar's in-grid 3x3
    # neighbourhood; the RGU matches 9 offsets but builds no output set.
    scores = rng.random(24)
    sd = sd_conv_rules(coords, (20, 20), scores, 10)
    chosen = coords[np.argsort(-scores, kind="stable")[:3]]
    neighbours = sum(int(0 <= y + a < 20 and 0 <= x + b < 20)
                     for y, x in chosen for a in (-1, 0, 1) for b in (-1, 0, 1))
    ops = run(trace(("sparse_conv2d", dims, payload(sd, selected=sd.selected))), spade()).ops.iloc[0]
    assert ops["plus_cycles"] == 24 + 2 * 2 + 24 + neighbours
    assert ops["rgu_cycles"] == 9 * (24 + sd.n_out + 1) - len(sd.pairs)


def test_an_empty_active_set_costs_no_compute():
    empty = {"coords": np.zeros((0, 2), np.int32), "out_coords": np.zeros((0, 2), np.int32),
             "pair_count": np.zeros(9, np.int64), "pairs": np.zeros((0, 3), np.int32)}
    ops = run(trace(("sparse_conv2d", SUBM_DIMS, empty)), spade()).ops.iloc[0]
    assert ops["macs"] == ops["pairs"] == ops["rgu_cycles"] == ops["gsu_cycles"] == ops["cycles"] == 0
    assert ops["bytes_dram_read"] == 9 * 4 * 4  # the weights are still fetched


def test_output_tiles_do_not_multiply_os_weight_reads():
    # A row of 40 pillars, SubM 3x3: offsets 3, 4, 5 hold 39, 40, 39 pairs. OS on 4 rows loads W_δ once
    # per 4 pairs: 10 loads per offset, whether the layer runs as 1 tile or as 10 tiles of 4 pairs
    # (a 16 KiB output SRAM: 40 x 512 x 4 B of partial sums over 8 KiB). Tiling moves no SRAM read.
    from sim.sparse import conv_rules

    coords = np.array([[0, x] for x in range(40)], np.int32)
    r = conv_rules(coords, (4, 40), 3, 1, 1, subm=True)
    payload = {"coords": coords, "out_coords": r.out_coords, "pair_count": r.pair_count, "pairs": r.pairs}
    dims = dict(C=4, H=4, W=40, K=512, R=3, S=3, stride=1, pad=1)
    ops = [run(trace(("sparse_conv2d", dims, payload)),
               spade(sram={"output_kb": kb}, array={"order": "tiled", "dataflow": {"subm": "os"}})).ops.iloc[0]
           for kb in (16, 4096)]
    assert [op["tiles"] for op in ops] == [10, 1]
    assert ops[0]["bytes_sram_read"] == ops[1]["bytes_sram_read"]


def test_a_sweep_ranks_by_speedup_vs_ideal_dense(tmp_path):
    from sim.pareto import metrics
    from sim.sweep import run_sweep

    spec = {"name": "s", "config": "spade-16", "workload": {"model": "pointpillars-kitti", "variant": "subm"},
            "grid": {"array.rows": [8, 16]}, "objectives": ["speedup_vs_ideal_dense", "energy_per_unit"]}
    table = run_sweep(spec, tmp_path, n_jobs=1, progress=False)
    assert metrics()["speedup_vs_ideal_dense"].goal == "max"
    assert list(table["speedup_vs_ideal_dense"]) == list(table["ideal_dense_cycles"] / table["cycles"])
    assert list(table["mac_cut_vs_dense"]) == list(table["dense_macs"] / table["macs"])


def test_dse_run_prints_the_ratios_against_ideal_dense(capsys):
    from sim.cli import main
    from workloads import build

    assert main(["run", "-c", "spade-16", "-w", "pointpillars-kitti", "-p", "variant=subm"]) == 0
    t = run(build({"model": "pointpillars-kitti", "variant": "subm"}), build_model(load_config("spade-16"))).totals
    line = capsys.readouterr().out.splitlines()[-1]
    assert line == (f"speedup vs ideal dense {t['ideal_dense_cycles'] / t['cycles']:.4g}x, energy saving vs ideal "
                    f"dense {t['ideal_dense_energy_pj'] / t['energy_pj']:.4g}x, mac cut vs dense "
                    f"{t['dense_macs'] / t['macs']:.4g}x")
