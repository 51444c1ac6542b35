"""Golden-model and stimulus adapters of the MAC units, named by the PE registry (``sim.models.pes``).

An adapter turns per-cycle port values into a unit's golden outputs (rows follow the sampling of
``hw.pysim.run``: row t = just after edge t) and generates its input vectors. A unit of latency L
(``unit.latency``, 1 + its pipeline registers) outputs in row t the golden value of input row
t - L + 1; before that, the golden value of all-zero rows (its pipeline registers reset to 0).
The golden side reads the golden formats (``sim.numerics``), never the RTL's own constant tables:

- ``IntMACAdapter`` (``hw.int_mac.IntMAC``): golden ``sim.numerics.mac.int_mac``; exhaustive =
  every (w, a) code pair once, in sequences of ``SEQUENCE`` steps (``first`` at each start), so
  products and accumulation are both exercised (2^(w_bits + a_bits) cycles);
- ``BlockDotAdapter`` (``hw.block_dot.BlockDot``): golden ``sim.numerics.mac.block_dot``;
  exhaustive = 256 cycles in which every lane sees all 16 x 16 element code pairs and each scale
  input runs through all 256 scale codes.

Random vectors: uniform codes, ``valid`` 90 % of cycles (and ``first`` 10 % for the integer unit).
``tensor_stream`` encodes real weight and activation rows in the unit's formats (``hw.operands``).
"""

from __future__ import annotations

import numpy as np

from sim.errors import ConfigError
from sim.numerics import mac
from sim.numerics.codes import amxfp4_codes, dint4_codes, int_codes, mx_codes
from sim.numerics.minifloat import E4M3, E5M2

SEQUENCE = 16
GOLDEN_SCALE = {"e8m0": None, "e5m2": E5M2, "e4m3": E4M3}  # BlockDot scale_format -> golden format (None: E8M0)
AMX_SCALE_MODE = {"e8m0": "pot", "e5m2": "e5m2", "e4m3": "e4m3"}  # BlockDot scale_format -> amxfp4_codes mode


def delay(values: np.ndarray, cycles: int) -> np.ndarray:
    """``values`` (cycles first) ``cycles`` rows late, zero rows first, same length."""
    return np.concatenate([np.zeros((cycles, *values.shape[1:]), values.dtype), values])[:len(values)]


def _pipelined(unit, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inputs as the unit's last stage sees them: ``latency - 1`` rows late."""
    return {name: delay(np.asarray(v), unit.latency - 1) for name, v in inputs.items()}


class IntMACAdapter:
    @staticmethod
    def golden(unit, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = _pipelined(unit, inputs)
        acc = mac.int_mac(inputs["w"], inputs["a"], inputs["first"].astype(bool), unit.acc_bits, unit.overflow,
                          unit.weight_format, unit.shift, valid=inputs["valid"].astype(bool))
        return {"acc": acc}

    @staticmethod
    def exhaustive(unit) -> dict[str, np.ndarray]:
        w = np.arange(-(1 << (unit.w_bits - 1)), 1 << (unit.w_bits - 1))
        a = np.arange(-(1 << (unit.a_bits - 1)), 1 << (unit.a_bits - 1))
        ww, aa = (g.reshape(-1) for g in np.meshgrid(w, a, indexing="ij"))
        n = len(ww)
        return {"w": ww, "a": aa, "valid": np.ones(n, np.int64), "first": (np.arange(n) % SEQUENCE == 0).astype(np.int64)}

    @staticmethod
    def random(unit, rng: np.random.Generator, cycles: int) -> dict[str, np.ndarray]:
        return {"w": rng.integers(-(1 << (unit.w_bits - 1)), 1 << (unit.w_bits - 1), cycles),
                "a": rng.integers(-(1 << (unit.a_bits - 1)), 1 << (unit.a_bits - 1), cycles),
                "valid": (rng.random(cycles) < 0.9).astype(np.int64),
                "first": (rng.random(cycles) < 0.1).astype(np.int64)}

    @staticmethod
    def tensor_stream(unit, weight: np.ndarray, act: np.ndarray, pairs: np.ndarray) -> dict[str, np.ndarray]:
        """Dot products of weight rows and activation rows (``pairs`` of indices), one element per cycle."""
        if unit.weight_format == "dint4":
            w, _ = dint4_codes(weight, granularity="channel", special_shift=unit.shift)
        else:
            w, _ = int_codes(weight, unit.w_bits, granularity="channel")
        a, _ = int_codes(act, unit.a_bits, granularity="tensor")
        w, a = w.reshape(weight.shape), a.reshape(act.shape)
        k = weight.shape[1]
        first = np.zeros(k, np.int64)
        first[0] = 1
        return {"w": w[pairs[:, 0]].reshape(-1), "a": a[pairs[:, 1]].reshape(-1),
                "valid": np.ones(len(pairs) * k, np.int64), "first": np.tile(first, len(pairs))}


class BlockDotAdapter:
    @staticmethod
    def golden(unit, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = _pipelined(unit, inputs)
        mants, exps = mac.block_dot(inputs["a"], inputs["w"], tuple(inputs["a_scale"].T), tuple(inputs["w_scale"].T),
                                    GOLDEN_SCALE[unit.scale_format])
        return {"mant": mants, "exp": exps, "out_valid": inputs["valid"]}

    @staticmethod
    def exhaustive(unit) -> dict[str, np.ndarray]:
        t = np.arange(256)
        pair = (t[:, None] + 8 * np.arange(unit.block)[None, :]) % 256
        return {"a": pair // 16, "w": pair % 16,
                "a_scale": (t[:, None] + 85 * np.arange(unit.n_a)) % 256,
                "w_scale": (7 * t[:, None] + 51 * np.arange(unit.n_w)) % 256,
                "valid": np.ones(256, np.int64)}

    @staticmethod
    def random(unit, rng: np.random.Generator, cycles: int) -> dict[str, np.ndarray]:
        return {"a": rng.integers(0, 16, (cycles, unit.block)), "w": rng.integers(0, 16, (cycles, unit.block)),
                "a_scale": rng.integers(0, 256, (cycles, unit.n_a)),
                "w_scale": rng.integers(0, 256, (cycles, unit.n_w)),
                "valid": (rng.random(cycles) < 0.9).astype(np.int64)}

    @staticmethod
    def tensor_stream(unit, weight: np.ndarray, act: np.ndarray, pairs: np.ndarray) -> dict[str, np.ndarray]:
        """Dot products of weight rows and activation rows (``pairs`` of indices), one block per cycle."""
        if weight.shape[1] % unit.block:
            raise ConfigError(f"block: got {unit.block}; allowed: a divisor of the reduction length {weight.shape[1]}")
        w, w_scales = _block_codes(unit, weight, unit.n_w == 2)
        a, a_scales = _block_codes(unit, act, unit.n_a == 2)
        rows = lambda codes: codes.reshape(-1, unit.block)  # noqa: E731  (pairs x blocks, block)
        return {"w": rows(w[pairs[:, 0]]), "a": rows(a[pairs[:, 1]]),
                "w_scale": np.stack([s[pairs[:, 0]].reshape(-1) for s in w_scales], axis=-1),
                "a_scale": np.stack([s[pairs[:, 1]].reshape(-1) for s in a_scales], axis=-1),
                "valid": np.ones(len(pairs) * (weight.shape[1] // unit.block), np.int64)}


def _block_codes(unit, x: np.ndarray, asymmetric: bool):
    """Element codes and scale codes of ``x`` in blocks of the unit's size (MX or AMXFP4)."""
    if not asymmetric:
        if unit.scale_format != "e8m0":
            raise ConfigError("scale_format: a symmetric operand needs e8m0 scales (MX); allowed: e8m0")
        codes, scale = mx_codes(x, unit.block)
        return codes, (scale[..., 0],)
    codes, s_pos, s_neg = amxfp4_codes(x, unit.block, AMX_SCALE_MODE[unit.scale_format])
    return codes, (s_pos[..., 0], s_neg[..., 0])


def adapter(unit):
    """The adapter of a MAC unit: the one its class has in the PE registry."""
    from sim.models.pes import PES

    for pe in PES.values():
        if type(unit) is pe.rtl_class():
            return pe.adapter_class()
    raise TypeError(f"no PE registry entry has the RTL class {type(unit).__name__}")
