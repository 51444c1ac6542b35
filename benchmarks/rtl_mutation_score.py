"""Mutation score of the RTL generators: per registry unit, the share of the catalogue's mutants
(``hw.mutation``) killed by the corner stimuli and plans of ``hw.corners``, beside the share the
old stimulus kills (the exhaustive vectors of ``hw.stimuli`` plus three seeds of its random
vectors, 256 cycles each, on the same unit configuration). Every surviving mutant is listed; a
documented equivalent mutant is counted apart (it cannot be killed) and must survive both.

Run: ``python benchmarks/rtl_mutation_score.py [--units mxfp4 ...]`` (about two minutes: the
equivalent mutants run every plan, including 65,536 scale pairs).
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

from hw import mutation, stimuli
from sim.models.pes import PES


def _random(seed, unit):
    return stimuli.random(unit, np.random.default_rng(seed), 256)


def old_plans(mutant: mutation.Mutant) -> list:
    """The stimulus the suite drove before the corners: exhaustive and random vectors at the mutant's build."""
    randoms = [partial(_random, seed) for seed in range(3)]
    for make in randoms:
        make.__name__ = "random"
    return [(dict(mutant.when), make) for make in (stimuli.exhaustive, *randoms)]


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--units", nargs="*", default=list(PES))
    opts = args.parse_args()
    start = time.perf_counter()
    for unit in opts.units:
        rows = [(m, mutation.verdict(m, unit, old_plans(m)), mutation.verdict(m, unit)) for m in mutation.mutants(unit)]
        killable = [r for r in rows if not r[0].equivalent]
        old, new = (sum(bool(r[k]) for r in killable) for k in (1, 2))
        print(f"{unit}: killed {new}/{len(killable)} ({100 * new / len(killable):.0f} %) with the corners, "
              f"{old}/{len(killable)} ({100 * old / len(killable):.0f} %) with the old stimulus; "
              f"{len(rows) - len(killable)} equivalent")
        for m, by_old, by_new in rows:
            state = "equivalent" if m.equivalent else ("killed" if by_new else "SURVIVES")
            print(f"  {m.kind:<11} {m.name:<34} {state:<10} old: {'killed' if by_old else 'survives':<8}  "
                  f"new: {by_new or 'survives'}" + (f"  ({m.equivalent})" if m.equivalent else ""))
            if m.equivalent and (by_old or by_new):
                raise SystemExit(f"{unit} {m.name}: documented as equivalent but killed")
    print(f"time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
