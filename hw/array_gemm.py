"""A GEMM run fold by fold on the output-stationary ``PEArray`` in Amaranth's simulator, timed by
watching the array's ``done`` signals (an outside reference for the cycle model).

Mapping: ``A @ W`` with A (M x K) and W (K x N). Fold (i, j) computes the rows x cols output tile
at rows i * rows.., columns j * cols.. (zero-padded at the edges): row r streams A[i * rows + r, :],
column c streams W[:, j * cols + c], one step k per cycle, with ``first`` on step 0 and ``last``
on step K - 1. Folds run row fold by row fold, column folds inside.

Schedules: ``back_to_back`` presents a fold's first step in the cycle after the previous fold's
last step; otherwise a fold starts in the cycle after every PE signalled ``done`` for the previous
one (a controller that waits for the whole array).

Counting: cycle t is the one whose clock edge takes the inputs presented in it. A fold takes the
cycles from the one that takes its first step to the one whose edge writes its last result, both
counted (the last result is readable that many cycles after the first step was presented); the
layer, from the first fold's first step to the last fold's last result. Every accumulator is read
in the cycle its ``done`` is high; those readings make up the returned product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Value
from amaranth.sim import Simulator

from hw import generators
from hw.pysim import CLOCK_PERIOD_S
from hw.vectors import pack, ports, unpack


@dataclass(frozen=True)
class GemmRun:
    product: np.ndarray  # M x N, the accumulators read when their PE signalled done
    fold_starts: list[int]  # cycle taking each fold's first step
    fold_ends: list[int]  # cycle whose edge writes each fold's last result
    first_result: int  # cycles from the first step to the first done, both counted

    @property
    def fold_cycles(self) -> list[int]:
        return [end - start + 1 for start, end in zip(self.fold_starts, self.fold_ends)]

    @property
    def layer_cycles(self) -> int:
        return self.fold_ends[-1] - self.fold_starts[0] + 1


def run_gemm(a: np.ndarray, w: np.ndarray, rows: int, cols: int, back_to_back: bool = True) -> GemmRun:
    """Run ``a @ w`` (int8 operands) on a rows x cols int8xint8 PE array; see the module doc."""
    (M, K), N = a.shape, w.shape[1]
    array = generators.build("pe_array", pe="int8xint8", rows=rows, cols=cols)
    port = {p.name: p for p in ports(array)}
    sig = {name: Value.cast(getattr(array, name)) for name in port}
    row_folds, col_folds = -(-M // rows), -(-N // cols)
    a_pad = np.zeros((row_folds * rows, K), np.int64)
    a_pad[:M] = a
    w_pad = np.zeros((K, col_folds * cols), np.int64)
    w_pad[:, :N] = w
    tiles = [(i, j) for i in range(row_folds) for j in range(col_folds)]
    step = np.arange(K)
    ones, zeros = np.ones((K, rows), np.int64), np.zeros((K, rows), np.int64)

    def fold_inputs(i, j):
        """Words to drive in each of the fold's K cycles, per input port."""
        values = {"a": a_pad[i * rows:(i + 1) * rows].T, "w": w_pad[:, j * cols:(j + 1) * cols],
                  "valid": ones, "first": np.where(step[:, None] == 0, ones, zeros),
                  "last": np.where(step[:, None] == K - 1, ones, zeros)}
        return {name: pack(port[name], v) for name, v in values.items()}

    idle = {name: 0 for name in ("a", "w", "valid", "first", "last")}
    result = np.zeros((row_folds * rows, col_folds * cols), np.int64)
    dones = np.zeros(rows * cols, np.int64)  # done events seen per PE = folds it finished
    starts, ends, first_done = [], [0] * len(tiles), []
    patience = 4 * (rows + cols + K)  # idle cycles to wait for a done before calling the array stuck

    async def testbench(ctx):
        cycle = 0

        async def clock(words):
            nonlocal cycle
            for name, word in words.items():
                ctx.set(sig[name], word)
            await ctx.tick()
            done = unpack(port["done"], [ctx.get(sig["done"])])[0].astype(bool)
            acc = unpack(port["acc"], [ctx.get(sig["acc"])])[0]
            for pe in np.flatnonzero(done):
                fold = dones[pe]
                if fold >= len(tiles):
                    raise AssertionError(f"PE {pe} signalled done more often than there are folds")
                (i, j), (r, c) = tiles[fold], divmod(int(pe), cols)
                result[i * rows + r, j * cols + c] = acc[pe]
                dones[pe] += 1
                if dones.min() == fold + 1:
                    ends[fold] = cycle
            if done.any() and not first_done:
                first_done.append(cycle)
            cycle += 1

        async def wait_for(folds_done):
            for _ in range(patience):
                if dones.min() >= folds_done:
                    return
                await clock(idle)
            raise AssertionError(f"no done for fold {folds_done - 1} within {patience} idle cycles")

        for f, (i, j) in enumerate(tiles):
            if not back_to_back and f:
                await wait_for(f)
            starts.append(cycle)
            words = fold_inputs(i, j)
            for k in range(K):
                await clock({name: values[k] for name, values in words.items()})
        await wait_for(len(tiles))

    sim = Simulator(array)
    sim.add_clock(CLOCK_PERIOD_S)
    sim.add_testbench(testbench)
    sim.run()
    return GemmRun(result[:M, :N], starts, ends, first_done[0] - starts[0] + 1)
