"""Functional coverage of the MAC units' stimuli: declared bins, hit counts from the input vectors and
their golden outputs, and a text report.

Bins are stated from the formats and the golden arithmetic (``sim.numerics``), never from the RTL's
widths, so they say which corners of the *function* a stimulus reaches:

- integer MAC (per overflow rule and accumulator width): both extreme products; sums above the top
  and below the bottom of the accumulator (a wrap or a saturation event, by rule); the accumulator
  exactly at its limits (saturate) and in the top and bottom sixteenth of its range; a ``valid``
  gap and a ``first`` while a non-zero sum is held; a reset of a non-zero sum and a step after it
  without ``first``;
- block unit: every lane x (a sign, w sign) with a non-zero product; every element code on each
  side across a whole block with a non-zero sum (a decode fault cannot cancel); per term, the
  partial sum and the mantissa at their largest magnitude of each reachable sign, the exponent at
  its minimum and maximum and below / at / above zero; every scale input in every class of its
  format (E8M0: 2^-127, 1, other, largest, NaN; E5M2/E4M3: zero, subnormal, normal, largest
  finite, infinity and NaN where defined, sign bit set); a ``valid`` gap; a reset.

Resets (``rst`` column) follow ``hw.corners.expected``. A unit with a latency other than 1 is not
modelled.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from hw.adapters import GOLDEN_SCALE
from hw.block_dot import BlockDot
from hw.int_mac import IntMAC
from sim.numerics import mac
from sim.numerics.minifloat import FloatFormat


def scale_classes(fmt: FloatFormat | None) -> dict[str, np.ndarray]:
    """Scale codes 0..255 by class (E8M0 for ``fmt`` None, from the OCP MX spec: 2^(code - 127), 255 = NaN)."""
    codes = np.arange(256)
    if fmt is None:
        return {"2^-127": codes[:1], "one": codes[127:128], "other": np.r_[codes[1:127], codes[128:254]],
                "largest": codes[254:255], "NaN": codes[255:]}
    value = fmt.decode(codes & ((1 << (fmt.bits - 1)) - 1))  # the sign bit is its own class
    finite = np.isfinite(value)
    largest = value == np.max(value[finite])
    e = (codes >> fmt.mbits) & ((1 << fmt.ebits) - 1)
    classes = {"zero": value == 0, "subnormal": (e == 0) & (value != 0), "normal": finite & (e != 0) & ~largest,
               "largest": largest, "infinity": np.isinf(value), "NaN": np.isnan(value),
               "sign bit set": codes >> (fmt.bits - 1) == 1}
    return {name: codes[mask] for name, mask in classes.items() if mask.any()}


def int_mac_bins(unit: IntMAC, inputs: dict[str, np.ndarray], acc: np.ndarray) -> Counter:
    """Hits of the integer MAC's bins for ``inputs`` and its golden accumulator ``acc`` (row t after edge t)."""
    hi, lo = (1 << (unit.acc_bits - 1)) - 1, -(1 << (unit.acc_bits - 1))
    n = len(acc)
    rst = inputs.get("rst", np.zeros(n, np.int64)).astype(bool)
    valid, first = inputs["valid"].astype(bool) & ~rst, inputs["first"].astype(bool)
    p = mac.product(inputs["w"], inputs["a"], unit.weight_format, unit.shift)
    every = mac.product(*np.meshgrid(np.arange(-(1 << (unit.w_bits - 1)), 1 << (unit.w_bits - 1)),
                                     np.arange(-(1 << (unit.a_bits - 1)), 1 << (unit.a_bits - 1))),
                        unit.weight_format, unit.shift)
    held = np.r_[0, acc[:-1]]  # the accumulator each row starts from
    exact = np.where(first, 0, held) + p
    event = "saturation" if unit.overflow == "saturate" else "wrap"
    span = (hi - lo + 1) // 16
    bins = {
        "largest product": valid & (p == every.max()),
        "smallest product": valid & (p == every.min()),
        f"{event} above the top": valid & (exact > hi),
        f"{event} below the bottom": valid & (exact < lo),
        "acc in the top sixteenth": acc > hi - span,
        "acc in the bottom sixteenth": acc < lo + span,
        "valid gap holding a non-zero acc": ~valid & ~rst & (held != 0) & (p != 0),
        "first on a non-valid step": ~valid & ~rst & first & (held != 0),
        "reset of a non-zero acc": rst & (held != 0),
        "step after a reset without first": valid & ~first & np.r_[False, rst[:-1]] & (p != 0),
    }
    if unit.overflow == "saturate":
        bins |= {"acc at the top": acc == hi, "acc at the bottom": acc == lo}
    return Counter({name: int(mask.sum()) for name, mask in bins.items()})


def block_dot_bins(unit: BlockDot, inputs: dict[str, np.ndarray], terms: dict[str, np.ndarray]) -> Counter:
    """Hits of the block unit's bins for ``inputs`` and its golden terms (``mant``, ``exp``)."""
    a, w = inputs["a"], inputs["w"]
    n = len(a)
    rst = inputs.get("rst", np.zeros(n, np.int64)).astype(bool)
    hits: Counter = Counter()
    p = mac.e2m1_half_units(a) * mac.e2m1_half_units(w)
    for lane in range(unit.block):
        for sa in (0, 1):
            for sw in (0, 1):
                on = (p[:, lane] != 0) & (a[:, lane] >> 3 == sa) & (w[:, lane] >> 3 == sw)
                hits[f"lane {lane} a{'+-'[sa]} w{'+-'[sw]}"] = int(on.sum())
    psum = p.sum(axis=1)
    for side, codes in (("a", a), ("w", w)):
        for code in range(16):
            uniform = np.all(codes == code, axis=1) & ((psum != 0) | (code & 7 == 0))
            hits[f"{side} code {code} across the block, sum not cancelled"] = int(uniform.sum())
    largest_elem = int(mac.E2M1_HALF_UNITS[-1]) ** 2 * unit.block
    fmt = GOLDEN_SCALE[unit.scale_format]
    largest_mant = 1 if fmt is None else ((1 << (fmt.mbits + 1)) - 1) ** 2
    scale_exp = mac.scale_parts(np.arange(256), fmt)[1]
    exp_min, exp_max = 2 * int(scale_exp.min()) - 2, 2 * int(scale_exp.max()) - 2
    # the golden psum of each term (mant / Ma / Mw needs no division: recompute it from the lanes)
    a_side = a >> 3 if unit.n_a == 2 else np.zeros_like(a)
    w_side = w >> 3 if unit.n_w == 2 else np.zeros_like(w)
    for k in range(unit.n_a * unit.n_w):
        i, j = divmod(k, unit.n_w)
        term_psum = np.where((a_side == i) & (w_side == j), p, 0).sum(axis=1)
        mant, exp = terms["mant"][:, k], terms["exp"][:, k]
        signs = (+1, -1) if unit.n_a * unit.n_w < 4 else ((+1,) if i == j else (-1,))
        for s in signs:
            hits[f"term {k} psum at {'+-'[s < 0]}largest"] = int((term_psum == s * largest_elem).sum())
            hits[f"term {k} mant at {'+-'[s < 0]}largest"] = int((mant == s * largest_elem * largest_mant).sum())
        for name, mask in (("minimum", exp == exp_min), ("maximum", exp == exp_max), ("below 0", exp < 0),
                           ("0", exp == 0), ("above 0", exp > 0)):
            hits[f"term {k} exp {name}"] = int((mask & ~rst).sum())
    classes = scale_classes(fmt)
    for port, count in (("a_scale", unit.n_a), ("w_scale", unit.n_w)):
        for i in range(count):
            for name, codes in classes.items():
                hits[f"{port}[{i}] {name}"] = int(np.isin(inputs[port][:, i], codes).sum())
    hits["valid gap"] = int((inputs["valid"] == 0).sum())
    hits["reset"] = int(rst.sum())
    return hits


def bins(unit, inputs: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> Counter:
    """Hits of ``unit``'s declared bins (each bin present, 0 if missed)."""
    if isinstance(unit, IntMAC):
        return int_mac_bins(unit, inputs, expected["acc"])
    return block_dot_bins(unit, inputs, expected)


def report(results: dict[str, Counter], details: bool = True) -> str:
    """Text report: per label, the share of bins hit and the missed ones by name (``details``: every bin's
    hit count), then the total."""
    lines, total, hit = [], 0, 0
    for label, counts in results.items():
        missed = [name for name, c in counts.items() if not c]
        total, hit = total + len(counts), hit + len(counts) - len(missed)
        lines.append(f"{label}: {len(counts) - len(missed)}/{len(counts)} bins hit"
                     + (f"; missed: {', '.join(missed)}" if missed else ""))
        lines += [f"  {name:<48} {c:>8}" for name, c in counts.items()] if details else []
    lines.append(f"total: {hit}/{total} bins hit ({100 * hit / max(total, 1):.1f} %)")
    return "\n".join(lines)
