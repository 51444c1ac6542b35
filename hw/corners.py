"""Stimuli that reach the MAC units' corners, the golden outputs under resets, and the verification plans.

- Integer MAC (``int_mac``): walks of the accumulator to exactly its top and its bottom (greedy
  over the unit's products, largest first), then one step past by the smallest and by the largest
  product of that sign: the wrap or saturation event at both limits, both signs. ``valid`` gaps
  every 16th row (operands that would change the sum), a ``first`` on a non-valid row, and resets
  (``rst``) of a non-zero sum, followed by steps without ``first``.
- Block unit (``block_dot``): blocks whose lanes all share one sign pair at the largest element
  (the partial sum at its largest magnitude, with the largest scale mantissas), mixed blocks with
  a different magnitude per sign pair (the 2 or 4 partial sums all non-zero and distinct), each
  element code across a whole block on either side (no cancellation, unlike the exhaustive
  vectors), every class of scale code on every scale input, the exponent at its minimum, zero and
  maximum, ``valid`` gaps and resets.
- ``scale_pairs``: all 65,536 (a scale, w scale) code pairs on every term, at a small block.

``expected`` is the golden model with resets, at the unit's ``latency`` L (1 + its pipeline
registers). A reset row t clears every register at edge t: the outputs in row t are 0 (an integer
sum restarts from 0); the input rows still in the pipeline (t - L + 2 .. t) are lost, and for the
next L - 1 rows the last stage reads cleared registers, i.e. all-zero input rows. For a block unit
those rows are the golden terms of all-zero codes, not 0: scale code 0 gives the exponent
2 x E(0) - 2 (-256 for E8M0) with ``out_valid`` 0. The model states this exactly (the pysim RTL
agrees) rather than comparing data only while ``out_valid``, so a pipeline register that ignores
the reset is caught too. ``plans`` lists, per registry unit, the build parameters and stimuli the
mutation and coverage checks run: for an integer unit both overflow rules at the default and at
the narrowest accumulator, the default saturating one pipelined, then the exhaustive vectors;
for a block unit the corners, the corners at a small block pipelined once, three times where its
scales have mantissas (E5M2, E4M3) and, with the magnitude datapath, twice (every scale format
allows 2), the exhaustive vectors, the corners and the scale pairs at a small block, and the
corners at the other scale formats. ``plan_coverage`` merges the plans' coverage bins per unit
configuration, over the unpipelined plans (a pipeline computes the same function later; the bins
read inputs and outputs row by row).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from hw import coverage, generators, golden, stimuli
from hw.adapters import GOLDEN_SCALE, delay
from hw.coverage import scale_classes
from hw.int_mac import IntMAC
from sim.models.pes import PES
from sim.numerics import mac

GAP_EVERY = 16


def expected(unit, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Golden outputs of ``unit`` for ``inputs``, with an optional ``rst`` column (see the module doc)."""
    plain = {k: np.asarray(v) for k, v in inputs.items() if k != "rst"}
    if "rst" not in inputs:
        return golden.outputs(unit, plain)
    rst, depth = inputs["rst"].astype(bool), unit.latency - 1
    rows = lambda mask, v: mask.reshape(-1, *[1] * (v.ndim - 1))  # noqa: E731  (a row mask for v's shape)
    cleared = np.zeros(len(rst), bool)  # rows after a reset that the last stage reads from cleared registers
    for k in range(1, depth + 1):
        cleared[k:] |= rst[:-k]
    last = {k: np.where(rows(cleared, v), 0, delay(v, depth)) for k, v in plain.items()}
    if isinstance(unit, IntMAC):  # a reset row acts as a valid restart with a zero product
        last |= {"w": np.where(rst, 0, last["w"]), "a": np.where(rst, 0, last["a"]),
                 "first": rst | last["first"].astype(bool), "valid": rst | last["valid"].astype(bool)}
    # ``golden.outputs`` delays by ``depth`` itself: feed it ``last`` that many rows early
    early = {k: np.concatenate([v, np.zeros((depth, *v.shape[1:]), np.int64)]).astype(np.int64) for k, v in last.items()}
    out = {name: v[depth:] for name, v in golden.outputs(unit, early).items()}
    if isinstance(unit, IntMAC):
        return out
    return {name: np.where(rows(rst, v), 0, v) for name, v in out.items()}


def _products(unit: IntMAC) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct product of the unit (sorted) with one (w, a) pair giving it."""
    w, a = (g.reshape(-1) for g in np.meshgrid(np.arange(-(1 << (unit.w_bits - 1)), 1 << (unit.w_bits - 1)),
                                               np.arange(-(1 << (unit.a_bits - 1)), 1 << (unit.a_bits - 1))))
    values, first = np.unique(mac.product(w, a, unit.weight_format, unit.shift), return_index=True)
    return values, w[first], a[first]


def int_mac(unit: IntMAC, resets: bool = True) -> dict[str, np.ndarray]:
    """Directed overflow and saturation sequences of an integer MAC (module doc)."""
    values, pw, pa = _products(unit)
    hi, lo = (1 << (unit.acc_bits - 1)) - 1, -(1 << (unit.acc_bits - 1))
    rows: list[tuple[int, int, int, int, int]] = []  # w, a, valid, first, rst

    def step(value, valid=1, first=0, rst=0):
        i = int(np.searchsorted(values, value))
        rows.append((int(pw[i]), int(pa[i]), valid, first, rst))

    def walk(target, acc=0):
        """Restart and step (with valid gaps) to exactly ``target`` by the largest products that fit."""
        first = 1
        while acc != target:
            if len(rows) % GAP_EVERY == GAP_EVERY - 1:
                step(values[-1], valid=0)
            fits = values[(values != 0) & (np.sign(values) == np.sign(target - acc)) & (np.abs(values) <= abs(target - acc))]
            p = int(fits[-1] if target > acc else fits[0])
            step(p, first=first)
            acc, first = acc + p, 0

    smallest_pos, smallest_neg = values[values > 0][0], values[values < 0][-1]
    step(values[-1], first=1)
    step(values[-1], valid=0, first=1)  # a first that is not valid must not restart the sum
    if resets:
        step(values[-1], rst=1)
        step(values[0])  # no first: the sum restarts from the reset's 0
    for target, past, largest in ((hi, smallest_pos, values[-1]), (lo, smallest_neg, values[0])):
        walk(target)
        step(past)
        walk(target)
        step(largest)
        step(largest)
        if resets:
            step(largest, rst=1)
            step(largest)
            step(largest, valid=0, rst=1)
    return {name: np.array(col, dtype=np.int64) for name, col in zip(("w", "a", "valid", "first", "rst"), zip(*rows))
            if resets or name != "rst"}


def _scale_codes(fmt) -> dict[str, int]:
    """Scale codes: a finite one with the largest mantissa, the minimum and maximum exponent, and exponent 1
    (a pair of which makes the term's exponent Ea + Ew - 2 zero)."""
    codes = np.arange(256)
    mant, exp = mac.scale_parts(codes, fmt)
    finite = ~np.isin(codes, np.concatenate([c for name, c in scale_classes(fmt).items()
                                             if name in ("NaN", "infinity", "sign bit set")]))
    big = codes[(mant == mant.max()) & finite]
    return {"largest mantissa": int(big[len(big) // 2]), "exp min": int(codes[np.argmin(exp)]),
            "exp max": int(codes[np.argmax(exp)]), "exp one": int(codes[np.flatnonzero(exp == 1)[0]])}


def block_dot(unit, resets: bool = True) -> dict[str, np.ndarray]:
    """Non-cancelling blocks, every scale class, exponent extremes, valid gaps and resets of a block unit."""
    block, n_a, n_w = unit.block, unit.n_a, unit.n_w
    fmt = GOLDEN_SCALE[unit.scale_format]
    special = _scale_codes(fmt)
    reps = [int(c[len(c) // 2]) for c in scale_classes(fmt).values()]
    lanes = np.arange(block)
    sa, sw = (lanes % 4) // 2, lanes % 2
    mixed = ((7 - lanes % 4) | sa << 3, 7 | sw << 3)  # one magnitude per sign pair: the partial sums differ
    rows = []  # a, w, a_scale, w_scale

    def row(a, w, a_scale, w_scale):
        rows.append((np.broadcast_to(a, block), np.broadcast_to(w, block), np.broadcast_to(a_scale, n_a),
                     np.broadcast_to(w_scale, n_w)))

    for signs in range(4):
        row(7 | (signs >> 1) << 3, 7 | (signs & 1) << 3, special["largest mantissa"], special["largest mantissa"])
    for k in range(len(reps)):
        row(*mixed, [reps[(k + i) % len(reps)] for i in range(n_a)], [reps[(k + 2 + j) % len(reps)] for j in range(n_w)])
    for name in ("exp min", "exp one", "exp max"):
        row(*mixed, special[name], special[name])
    for code in range(16):
        row(code, 7, special["exp one"], special["largest mantissa"])
        row(7, code, special["largest mantissa"], special["exp one"])
    n = len(rows)
    out = {name: np.stack(col) for name, col in zip(("a", "w", "a_scale", "w_scale"), zip(*rows))}
    out["valid"] = (np.arange(n) % 5 != 3).astype(np.int64)
    if resets:
        out["rst"] = np.isin(np.arange(n), (6, n - 2)).astype(np.int64)
    return {k: v.astype(np.int64) for k, v in out.items()}


def scale_pairs(unit) -> dict[str, np.ndarray]:
    """Every (a scale, w scale) code pair on every term (65,536 rows); lane l has sign pair l % 4, largest element."""
    t = np.arange(1 << 16)
    lanes = np.arange(unit.block)
    a = np.broadcast_to(7 | ((lanes % 4) // 2) << 3, (len(t), unit.block))
    w = np.broadcast_to(7 | (lanes % 2) << 3, (len(t), unit.block))
    return {"a": a, "w": w, "a_scale": ((t[:, None] >> 8) + 85 * np.arange(unit.n_a)) % 256,
            "w_scale": (t[:, None] + 51 * np.arange(unit.n_w)) % 256, "valid": np.ones(len(t), np.int64)}


def corners(unit, resets: bool = True) -> dict[str, np.ndarray]:
    return int_mac(unit, resets) if isinstance(unit, IntMAC) else block_dot(unit, resets)


Plan = tuple[dict, Callable]  # (build parameters over the registry's, stimulus of the built unit)


def plans(name: str) -> list[Plan]:
    """The configurations and stimuli of registry unit ``name`` that the mutation and coverage checks run."""
    pe = PES[name]
    if not pe.is_block:
        narrowest = generators.build(name).product_bits
        piped = ({"overflow": "saturate", "pipeline": 1}, corners)
        return [*[({"overflow": rule, "acc_bits": bits}, corners) for rule in ("saturate", "wrap")
                  for bits in (pe.rtl_params["acc_bits"], narrowest)], piped, ({}, stimuli.exhaustive)]
    small = 1 if not (pe.rtl_params["a_asymmetric"] or pe.rtl_params["w_asymmetric"]) else 4
    others = [{"scale_format": f} for f in ("e8m0", "e5m2", "e4m3") if pe.rtl_params["a_asymmetric"]
              and f != pe.rtl_params["scale_format"]]
    deepest = generators.build(name, block=small).max_pipeline
    split = [({"block": small, "pipeline": 3}, corners)] if deepest == 3 else []  # the mantissa multiply split
    return [({}, corners), ({"block": small, "pipeline": 1}, corners), *split,
            ({"block": small, "pipeline": 2, "datapath": "magnitude"}, corners), ({}, stimuli.exhaustive),
            ({"block": small}, corners), ({"block": small}, scale_pairs), *[(params, corners) for params in others]]


def plan_coverage(name: str) -> dict[str, Counter]:
    """Coverage bins of registry unit ``name`` hit by its plans, merged per unit configuration."""
    merged: dict[str, Counter] = {}
    for params, stimulus in plans(name):
        if params.get("pipeline"):  # the same function later: the bins read inputs and outputs row by row
            continue
        unit = generators.build(name, **params)
        inputs = stimulus(unit)
        config = {k: v for k, v in {**PES[name].rtl_params, **params}.items() if PES[name].rtl_params.get(k) != v}
        label = f"{name} " + (" ".join(f"{k}={v}" for k, v in config.items()) or "defaults")
        merged.setdefault(label, Counter()).update(coverage.bins(unit, inputs, expected(unit, inputs)))
    return merged
