"""Mutation score of the RTL generators and functional coverage of their stimuli.

Per registry unit: the share of the catalogue's mutants (``hw.mutation``) killed by the plans of
``hw.corners`` (corner stimuli, exhaustive vectors, scale pairs), beside the share the old stimulus
kills on the same unit configuration: the exhaustive vectors of ``hw.stimuli`` alone, and with
three seeds of its random vectors (256 cycles each) added. Every mutant is listed with where it
dies; a documented equivalent mutant is counted apart and must survive (else the run stops). Then
the coverage report of the plans' stimuli (``hw.coverage``; ``--bins``: every bin's hit count).

Run: ``python benchmarks/rtl_mutation_score.py [--units mxfp4 ...] [--bins]`` (a few minutes: the
equivalent mutants run every plan, including 65,536 scale pairs).
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

from hw import corners, coverage, mutation, stimuli
from sim.models.pes import PES


def _random(seed, unit):
    return stimuli.random(unit, np.random.default_rng(seed), 256)


def old_plans(mutant: mutation.Mutant, with_random: bool) -> list:
    """The stimulus the suite drove before the corners, at the mutant's build parameters."""
    randoms = [partial(_random, seed) for seed in range(3)] if with_random else []
    for make in randoms:
        make.__name__ = "random"
    return [(dict(mutant.when), make) for make in (stimuli.exhaustive, *randoms)]


def _share(killed: int, total: int) -> str:
    return f"{killed}/{total} ({100 * killed / total:.0f} %)"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--units", nargs="*", default=list(PES))
    args.add_argument("--bins", action="store_true", help="print every coverage bin's hit count")
    opts = args.parse_args()
    start = time.perf_counter()
    for unit in opts.units:
        rows = [(m, mutation.verdict(m, unit, old_plans(m, False)), mutation.verdict(m, unit, old_plans(m, True)),
                 mutation.verdict(m, unit)) for m in mutation.mutants(unit)]
        killable = [r for r in rows if not r[0].equivalent]
        n = len(killable)
        print(f"{unit}: killed {_share(sum(bool(r[3]) for r in killable), n)} by the corner plans; old stimulus: "
              f"exhaustive {_share(sum(bool(r[1]) for r in killable), n)}, with random "
              f"{_share(sum(bool(r[2]) for r in killable), n)}; {len(rows) - n} equivalent")
        for m, exhaustive, with_random, new in rows:
            state = "equivalent" if m.equivalent else ("killed" if new else "SURVIVES")
            old = "killed" if exhaustive else ("killed by random" if with_random else "survives")
            print(f"  {m.kind:<11} {m.name:<34} {state:<10} old: {old:<16}  new: {new or 'survives'}"
                  + (f"  ({m.equivalent})" if m.equivalent else ""))
            if m.equivalent and (with_random or new):
                raise SystemExit(f"{unit} {m.name}: documented as equivalent but killed")
    results = {label: counts for unit in opts.units for label, counts in corners.plan_coverage(unit).items()}
    print(coverage.report(results, details=opts.bins))
    print(f"time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
