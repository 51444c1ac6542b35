"""``dse``: the command line. demo | run | sweep | report | trace | scalesim | rtl | list.

User errors (``sim.errors.DSEError``) print one line and exit with status 2; ``--debug`` shows the
traceback instead. Ctrl-C exits with status 130; finished sweep points stay on disk.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import yaml

from sim.errors import DSEError, WorkloadError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _key_values(pairs: list[str], what: str) -> dict:
    """Parse ``key=value`` arguments; values are YAML scalars/lists (``64``, ``ws``, ``[a, b]``)."""
    out = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise DSEError(f"{what}: got {pair!r}; allowed: KEY=VALUE")
        try:
            out[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise DSEError(f"{what} {key}: got {text!r}; allowed: a YAML value") from None
    return out


def _workload(args) -> dict:
    if not args.workload:
        raise WorkloadError("workload: missing; give -w MODEL (see `dse list`) or --trace FILE")
    return {"model": args.workload, **_key_values(args.param, "-p")}


def _load_trace(args):
    from sim.trace import Trace

    if args.trace:
        return Trace.load(args.trace)
    from workloads import build

    return build(_workload(args))


def cmd_run(args) -> None:
    from sim.config import load_config
    from sim.engine import run
    from sim.models import build_model

    model = build_model(load_config(args.config, _key_values(args.set, "--set")))
    result = run(_load_trace(args), model)
    ops = result.ops
    if args.ops:
        print(ops.to_string(index=False))
    else:
        ops = ops.assign(memory_bound_cycles=ops["cycles"].where(ops["bound"] == "memory", 0))
        by_kind = ops.groupby("kind", sort=False).agg(ops=("id", "size"), cycles=("cycles", "sum"),
                                                      energy_pj=("energy_pj", "sum"), macs=("macs", "sum"),
                                                      memory_bound_cycles=("memory_bound_cycles", "sum"))
        by_kind["time_%"] = 100 * by_kind["cycles"] / by_kind["cycles"].sum()
        by_kind["memory_bound_%"] = 100 * by_kind.pop("memory_bound_cycles") / by_kind["cycles"].where(by_kind["cycles"] > 0)
        print(by_kind.to_string(float_format=lambda v: f"{v:.4g}"))
    t = result.totals
    utilization = "" if t["utilization"] != t["utilization"] else f", utilization {100 * t['utilization']:.3g} %"
    unit, count = t["work_unit"], t["work_units"]
    print(f"\n{model.name}: {t['time_s'] * 1e3:.4g} ms, {t['energy_pj'] * 1e-9:.4g} mJ, {t['cycles']:.0f} cycles"
          f"{utilization}, area {t['area_mm2']:.4g} mm2; {100 * t['memory_bound_share']:.3g} % of the time "
          f"memory-bound")
    print(f"per {unit} ({count:g} per run): {t['time_per_unit_s'] * 1e3:.4g} ms, {t['energy_per_unit_pj'] * 1e-9:.4g} mJ; "
          f"{t['units_per_s']:.4g} {unit}s/s, {t['tops']:.4g} TOPS, {t['tops_per_w']:.4g} TOPS/W")
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        ops.to_csv(out, index=False) if out.suffix == ".csv" else ops.to_parquet(out, index=False)
        print(f"wrote {out}")


def cmd_sweep(args) -> None:
    from sim.sweep import SweepInterrupted, load_spec, run_sweep

    try:
        table = run_sweep(load_spec(args.spec), args.output, n_jobs=args.jobs, dask_address=args.dask,
                          progress=not args.no_progress, dask_timeout=args.dask_timeout)
    except SweepInterrupted as exc:
        print(f"dse: interrupted: {exc}; resume with: {_sweep_command(args)}", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    print(f"{len(table)} points in {args.output}")


def _sweep_command(args) -> str:
    """The ``dse sweep`` command line that reruns ``args`` (computing only the missing points)."""
    words = ["dse", "sweep", args.spec, "-o", args.output]
    if args.jobs != -1:
        words += ["-j", str(args.jobs)]
    if args.dask:
        words += ["--dask", args.dask, "--dask-timeout", f"{args.dask_timeout:g}"]
    if args.no_progress:
        words.append("--no-progress")
    return shlex.join(words)


def cmd_report(args) -> None:
    from sim.report import write_index, write_report

    if len(args.sweep_dir) == 1:
        print(f"wrote {write_report(args.sweep_dir[0], args.output)}")
        return
    names = [Path(d).resolve().name for d in args.sweep_dir]
    if len(set(names)) != len(names):
        raise DSEError(f"report: sweep folders {names} share a name; allowed: folders with distinct names "
                       "(each report goes into OUTPUT/<folder name>)")
    pages = [write_report(d, Path(args.output) / name) for d, name in zip(args.sweep_dir, names)]
    print(f"wrote {write_index(args.output, pages, 'accel-dse reports')} ({len(pages)} reports)")


def cmd_trace(args) -> None:
    from sim.lowering import GEMM_KINDS, lower
    from sim.trace import Trace

    if args.action == "generate":
        if not args.output:
            raise DSEError("trace generate: -o/--output: missing; allowed: a .parquet path")
        print(f"wrote {_load_trace(args).save(args.output)}")
        return
    trace = Trace.load(args.file) if args.file else _load_trace(args)
    ops = trace.ops
    rows = []
    for kind in trace.kinds():
        idx, dims = trace.dims(kind)
        macs = int(lower(kind, dims).macs.sum()) if kind in GEMM_KINDS else 0
        rows.append({"kind": kind, "ops": len(idx), "macs": macs})
    print(f"{len(ops)} ops, {ops['layer'].nunique()} layers, phases {sorted(set(ops['phase']))}, meta {trace.meta}")
    for r in rows:
        print(f"  {r['kind']:<18} {r['ops']:>6} ops  {r['macs']:>16,} MACs")


def cmd_scalesim(args) -> None:
    from sim.scalesim import convert

    path = convert(args.config, args.topology, args.output, gemm=args.input_type == "gemm")
    print(Path(path).read_text(), end="")
    print(f"wrote {path}")


def cmd_rtl(args) -> None:
    from hw.export import export

    summary = export(args.generator, _key_values(args.param, "-p"), Path(args.output), args.stimulus, args.cycles,
                     args.seed, vcd=not args.no_vcd)
    bad = sum(summary["golden_mismatching_cycles"].values())
    print(f"wrote {args.output}/{args.generator}.v" + ("" if args.no_vcd else f", {args.generator}.vcd")
          + f", {args.generator}.json; {summary['cycles']} cycles, golden model: "
          + ("bit-exact" if bad == 0 else f"MISMATCH {summary['golden_mismatching_cycles']}"))
    if bad:
        raise DSEError(f"{args.generator}: RTL differs from the golden model (see {args.output}/{args.generator}.json)")


def cmd_demo(args) -> None:
    from sim.demo import run_demo

    print(f"open {run_demo(args.output, n_jobs=args.jobs, progress=not args.no_progress)}")


def cmd_list(args) -> None:
    from sim.config import presets
    from sim.models import families
    from sim.models.pes import PES
    from sim.tech import TechLibrary
    from workloads import models

    print("hardware families (config key `model`):")
    for name, family in families().items():
        print(f"  {name:<12} {family.description}")
        print(f"  {'':<12} fields: {', '.join(family.config.model_fields)}")
    print("presets:   ", ", ".join(presets()))
    print("PEs:       ", ", ".join(f"{p.name} ({p.weight_format} x {p.act_format})" for p in PES.values()))
    for family, names in models().items():
        print(f"{family + ':':<11}", ", ".join(names))
    tech = TechLibrary.load()
    print("dram kinds:", ", ".join(f"{k} ({tech.dram_bandwidth_gbs(k).value:g} GB/s, {tech.dram_pj_per_bit(k).value:g} "
                                   "pJ/bit)" for k in tech.dram_kinds()))


def _workload_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-w", "--workload", help="zoo model name, e.g. llama-2-7b, pointpillars-kitti (see `dse list`)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="workload parameter, e.g. -p phase=decode -p context=4096 -p batch=8")
    p.add_argument("--trace", help="a saved trace (.parquet) instead of -w")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="dse", description="Design-space explorer for quantized, sparse and "
                                  "memory-bound neural-network accelerators.")
    top.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the built-in sweep and write its report")
    p.add_argument("-o", "--output", default="reports/demo", help="report folder (default: reports/demo)")
    p.add_argument("-j", "--jobs", type=int, default=-1, help="parallel jobs (default: all cores)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run one workload on one hardware config")
    p.add_argument("-c", "--config", required=True, help="preset name or YAML file")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="config override, e.g. --set array.rows=64")
    _workload_args(p)
    p.add_argument("--ops", action="store_true", help="print every op instead of a per-kind summary")
    p.add_argument("-o", "--output", help="write the per-op table (.parquet or .csv)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="run a parameter sweep (resumable)")
    p.add_argument("spec", help="sweep spec YAML")
    p.add_argument("-o", "--output", required=True, help="sweep folder (cache + results)")
    p.add_argument("-j", "--jobs", type=int, default=-1, help="parallel jobs (default: all cores)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster at ADDRESS")
    p.add_argument("--dask-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="give up if the Dask scheduler does not answer within SECONDS (default 5)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="write an HTML/PNG/CSV report of a sweep (several: one each and a landing page)")
    p.add_argument("sweep_dir", nargs="+", help="sweep folder(s) written by `dse sweep`")
    p.add_argument("-o", "--output", required=True, help="report folder, e.g. reports/NAME")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("trace", help="generate, save or inspect traces")
    p.add_argument("action", choices=("generate", "inspect"))
    p.add_argument("file", nargs="?", help="trace file to inspect")
    _workload_args(p)
    p.add_argument("-o", "--output", help="where to save a generated trace (.parquet)")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("scalesim", help="run SCALE-Sim .cfg + topology files, write COMPUTE_REPORT.csv")
    p.add_argument("-c", "--config", required=True, help="SCALE-Sim .cfg")
    p.add_argument("-t", "--topology", required=True, help="SCALE-Sim topology .csv")
    p.add_argument("-i", "--input-type", choices=("conv", "gemm"), default="conv")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(func=cmd_scalesim)

    p = sub.add_parser("rtl", help="export a MAC/PE-array generator's Verilog and a VCD, checked against the golden model")
    p.add_argument("generator", help="a PE of the registry (`dse list`: int8xint8, dint4xint8, mxfp4, ...) or pe_array")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="generator parameter, e.g. -p acc_bits=32 -p overflow=saturate, -p pe=amxfp4 -p rows=8")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--stimulus", default="random", help="random (default) or exhaustive (single MAC units)")
    p.add_argument("--cycles", type=int, default=64, help="random stimulus length (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-vcd", action="store_true")
    p.set_defaults(func=cmd_rtl)

    p = sub.add_parser("list", help="list hardware families, presets, PEs, zoo models and DRAM kinds")
    p.set_defaults(func=cmd_list)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except DSEError as exc:
        if args.debug:
            raise
        print(f"dse: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("dse: interrupted (finished sweep points are kept)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
