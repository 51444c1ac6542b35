"""SPADE / SPADE+ fidelity: our figures on the default scenes beside the papers' bands.

Published figures (the only ones the papers' abstracts and appendix give):

- SPADE (HPCA 2024, arXiv 2305.07522v3, abstract): computation saved 36.3-89.2 %, speed-up
  1.3-10.9x and energy saving 1.5-12.6x against an ideal dense accelerator, over "representative 3D
  detection networks and benchmarks" (which network gives which end is not stated);
- SD-Conv (arXiv 2408.13798, Appendix Table 1): PointPillars on KITTI val, 46.43 -> 6.43 GFLOPs at
  t = 2 %, a 7.2x cut.

Ours: every pillar network of the zoo in every sparse variant, built from the default synthetic
scene (``workloads.lidar``, seed 0 unless ``--seeds``), run on a SPADE preset (``spade-16`` unless
``--config``). Computation saved is 1 - sparse MACs / dense MACs over the layers the variant makes
sparse (the PFN and the layers that stay dense, a dense head or PillarNet's dense neck, cost the
same in both). Speed-up and
energy saving are the model's ideal-dense columns over its sparse totals for the whole frame (the
ideal dense array runs the variant's own layers densely: for SD-Conv its 2x2 stride-2 convs). The
SD-Conv cut is dense network MACs over SD-Conv (t = 2) network MACs, head kept dense as the paper's
backbone replacement does. Each line prints the band and the ratio of ours to the nearest end of
it (1.00 inside the band).

Run: ``python benchmarks/bench_spade_fidelity.py [--config spade-16] [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from sim.config import load_config
from sim.engine import run
from sim.models import build_model
from workloads import build
from workloads.pillars import growth

NETWORKS = ("pointpillars-kitti", "pointpillars-nuscenes", "centerpoint-pillar", "pillarnet")
VARIANTS = ("spconv", "subm", "spconv-p", "sd-conv")
BANDS = {"computation saved %": (36.3, 89.2), "speed-up vs ideal dense": (1.3, 10.9),
         "energy saving vs ideal dense": (1.5, 12.6)}
SD_CONV_CUT = 46.43 / 6.43  # SD-Conv Appx Table 1, t = 2


def band_ratio(value: float, low: float, high: float) -> float:
    """Ours over the nearest end of the band (1 inside it)."""
    return value / low if value < low else value / high if value > high else 1.0


def conv_macs(trace) -> tuple[int, int]:
    """(sparse, dense) MACs of a trace's sparse convs and deconvs."""
    rows = [r for r in growth(trace) if r["kind"].startswith("sparse_")]
    return sum(r["macs"] for r in rows), sum(r["dense_macs"] for r in rows)


def figures(network: str, variant: str, seed: int, model) -> dict:
    trace = build({"model": network, "variant": variant, "seed": seed})
    totals = run(trace, model).totals
    macs, dense = conv_macs(trace)
    return {"computation saved %": 100 * (1 - macs / dense),
            "speed-up vs ideal dense": totals["ideal_dense_cycles"] / totals["cycles"],
            "energy saving vs ideal dense": totals["ideal_dense_energy_pj"] / totals["energy_pj"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="spade-16")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    model = build_model(load_config(args.config))
    print(f"config {args.config}, scenes (seeds) {args.seeds}; figures are means over the seeds")
    print(f"{'network':24s} {'variant':9s} " + " ".join(f"{m:>30s}" for m in BANDS))
    seen = {m: [] for m in BANDS}
    for network in NETWORKS:
        for variant in VARIANTS:
            rows = [figures(network, variant, s, model) for s in args.seeds]
            cells = []
            for metric, (low, high) in BANDS.items():
                value = float(np.mean([r[metric] for r in rows]))
                seen[metric].append(value)
                cells.append(f"{value:8.2f} [{low}-{high}] x{band_ratio(value, low, high):.2f}")
            print(f"{network:24s} {variant:9s} " + " ".join(f"{c:>30s}" for c in cells))
    print("\nspan over networks and variants (paper band):")
    for metric, (low, high) in BANDS.items():
        print(f"  {metric:30s} ours {min(seen[metric]):6.2f} - {max(seen[metric]):6.2f}   paper {low} - {high}")
    dense = np.mean([network_macs("dense", s, model) for s in args.seeds])
    sd_conv = np.mean([network_macs("sd-conv", s, model) for s in args.seeds])
    cut = dense / sd_conv
    print(f"\nSD-Conv t=2, PointPillars KITTI, network MACs dense / SD-Conv: {dense / 1e9:.2f} G / {sd_conv / 1e9:.2f} G "
          f"= {cut:.2f}x; paper {SD_CONV_CUT:.2f}x (46.43 / 6.43 GFLOPs); ours / paper = {cut / SD_CONV_CUT:.2f}")


def network_macs(variant: str, seed: int, model) -> float:
    """MACs of the whole PointPillars KITTI network (PFN, backbone, deconvs, dense head), t = 2 for SD-Conv."""
    spec = {"model": "pointpillars-kitti", "variant": variant, "seed": seed}
    if variant == "sd-conv":
        spec["t"] = 2
    return float(run(build(spec), model).totals["macs"])


if __name__ == "__main__":
    main()
