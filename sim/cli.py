"""``dse``: the command line. demo | run | sweep | report | trace | scalesim | rtl | list.

User errors (``sim.errors.DSEError``, and OS, decode and parse errors of the user's files) print one
line and exit with status 2; ``--debug`` shows the traceback instead. An output path is checked
before the command runs. Ctrl-C exits with status 130; finished sweep points stay on disk.

Each command imports what it needs when it runs (numpy, pandas, pydantic, numba, amaranth, torch
cost 0.1 to 1 s each to import), so ``dse --help`` and short commands start fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sim.errors import DSEError, WorkloadError, field_message, suggest

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _key_texts(pairs: list[str], what: str) -> dict[str, str]:
    """Split ``key=value`` arguments; the values stay text."""
    out = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise DSEError(field_message(what, pair, "KEY=VALUE"))
        out[key] = text
    return out


def _key_values(pairs: list[str], what: str) -> dict:
    """Parse ``key=value`` arguments; values are YAML scalars/lists (``64``, ``ws``, ``[a, b]``)."""
    import yaml

    out = {}
    for key, text in _key_texts(pairs, what).items():
        try:
            out[key] = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):  # PyYAML raises ValueError for impossible dates (2024-13-45)
            raise DSEError(field_message(f"{what} {key}", text, "a YAML value")) from None
    return out


def _workload(args) -> dict:
    if not args.workload:
        instead = {"run": "--trace FILE", "inspect": "a trace FILE"}.get(getattr(args, "action", args.command))
        raise WorkloadError("workload: missing; give -w MODEL (see `dse list`)" + (f" or {instead}" if instead else ""))
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
    ratios = [name for name, _ in result.ratio_columns]
    if ratios:
        print(", ".join(f"{name.replace('_', ' ')} {t[name]:.4g}x" for name in ratios))
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
    if not (args.file or args.trace or args.workload):
        raise WorkloadError("trace inspect: trace: missing; allowed: a trace FILE (dse trace inspect FILE.parquet) "
                            "or -w MODEL (see `dse list`)")
    trace = Trace.load(args.file) if args.file else _load_trace(args)
    ops = trace.ops
    rows = []
    for kind in trace.kinds():
        idx, dims = trace.dims(kind)
        if kind in GEMM_KINDS:
            macs = int(lower(kind, dims).macs.sum())
        elif kind in ("sparse_conv2d", "sparse_deconv2d"):  # one Cin x Cout product per rule pair
            macs = sum(len(trace.payloads[int(i)].get("pairs", ())) * int(c * k)
                       for i, c, k in zip(idx, dims["C"], dims["K"]))
        else:
            macs = 0
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
    from hw import generators
    from hw.export import export

    params = generators.parse(args.generator, _key_texts(args.param, "-p"))
    summary = export(args.generator, params, Path(args.output), args.stimulus, args.cycles, args.seed,
                     vcd=not args.no_vcd)
    unit, bad = summary["unit"], sum(summary["golden_mismatching_cycles"].values())
    print(f"wrote {args.output}/{unit}.v" + ("" if args.no_vcd else f", {unit}.vcd")
          + f", {unit}.json; {summary['cycles']} cycles, golden model: "
          + ("bit-exact" if bad == 0 else f"MISMATCH {summary['golden_mismatching_cycles']}"))
    if bad:
        raise DSEError(f"{unit}: RTL differs from the golden model (see {args.output}/{unit}.json)")


def _rtl_help() -> str:
    from hw.generators import help_text

    return help_text()


def cmd_demo(args) -> None:
    from sim.demo import run_demo

    print(f"open {run_demo(args.output, n_jobs=args.jobs, progress=not args.no_progress)}")


def _pairs(values: dict) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())


def _preset_lines(config, tech) -> list[str]:
    """A preset's values, one line per config section (the keys `--set` takes), and the DRAM bandwidth
    its kind implies when the preset does not set one."""
    from sim.config import DramConfig

    values = config.model_dump(exclude_none=True)
    plain = {k: v for k, v in values.items() if not isinstance(v, dict) and k not in ("model", "name")}
    lines = [f"{config.model}: " + _pairs(plain)]
    for section, fields in values.items():
        if isinstance(fields, dict):
            lines.append(f"{section}: " + _pairs(fields))
            dram = getattr(config, section)
            if isinstance(dram, DramConfig) and dram.bandwidth_gbs is None:
                lines[-1] += f" ({dram.bandwidth_gbs_value(tech).value:g} GB/s from the kind)"
    return lines


def _parameters(table, function, keys) -> list[str]:
    """One line per workload parameter: name, type with bounds, default (from ``function``'s
    signature) and meaning, from the workload's parameter table (``workloads.parameters``)."""
    import inspect

    signature = inspect.signature(function).parameters
    lines = []
    for key in keys:
        param = table[key]
        bounds = "" if param.low is None else f" {param.low} to {param.high}" if param.high else f" >= {param.low}"
        default = signature[key].default if key in signature else None
        shown = "" if default in (None, inspect.Parameter.empty) else f" = {default}"
        lines.append(f"{key}{shown}: {param.type}{bounds}; {param.doc}")
    return lines


def cmd_list(args) -> None:
    from sim.config import load_config, presets
    from sim.models import families
    from sim.models.pes import PES
    from sim.numerics.storage import FORMATS
    from sim.tech import TechLibrary
    from workloads import CNN_KEYS, LLM_KEYS, cnn, llm, pillars
    from workloads.zoo import family

    tech = TechLibrary.load()
    print("hardware families (config key `model`):")
    for name, fam in families().items():
        print(f"  {name:<12} {fam.description}")
        print(f"  {'':<12} fields: {', '.join(fam.config.model_fields)}")
    print("presets (-c NAME; change any value with --set SECTION.KEY=VALUE):")
    for name in presets():
        lines = _preset_lines(load_config(name), tech)
        print(f"  {name:<12} {lines[0]}")
        for line in lines[1:]:
            print(f"  {'':<12} {line}")
    print("PEs (mac.weight_format x mac.act_format; `dse rtl NAME`):")
    print("  " + ", ".join(f"{p.name} ({p.weight_format} x {p.act_format})" for p in PES.values()))
    print("workloads (-w MODEL -p KEY=VALUE; in sweep specs workload.KEY):")
    for phase, function in (("prefill", llm.prefill), ("decode", llm.decode)):
        print(f"  LLM, -p phase={phase}:")
        for line in _parameters(llm.PARAMETERS, function, [k for k in LLM_KEYS[phase] if k not in ("model", "phase")]):
            print(f"    {line}")
    print("  LLM models:")
    for name, shape in family("llm").items():
        print(f"    {name:<18} num_layers 1 to {shape['layers']}; hidden {shape['hidden']}, heads {shape['heads']}, "
              f"kv_heads {shape.get('kv_heads', shape['heads'])}, ffn {shape['ffn']}, vocab {shape['vocab']}")
    print("  CNN:")
    for line in _parameters(cnn.PARAMETERS, cnn.trace, [k for k in CNN_KEYS if k != "model"]):
        print(f"    {line}")
    print("  CNN models:")
    for name in family("cnn"):
        layers = [layer for _, layer, _ in cnn.layers_of(name)]
        print(f"    {name:<18} layers: {len(layers)} ({layers[0]}, ..., {layers[-1]})")
    print(f"  pillar detectors ({', '.join(n for n, s in family('cnn').items() if s['arch'] in pillars.ARCHS)}); "
          "any of these keys builds one frame from a synthetic LiDAR scene:")
    for line in _parameters(pillars.PARAMETERS, pillars.trace, list(pillars.PARAMETERS)):
        print(f"    {line}")
    for label, defaults in (("LLM", llm.DEFAULT_FORMATS), ("CNN", cnn.DEFAULT_FORMATS)):
        print(f"  {label} formats (default): {', '.join(f'{o} {f}' for o, f in defaults.items())}")
    print(f"  format names: {', '.join(FORMATS)}")
    print("dram kinds (dram.kind):")
    print("  " + ", ".join(f"{k} ({tech.dram_bandwidth_gbs(k).value:g} GB/s, {tech.dram_pj_per_bit(k).value:g} "
                           "pJ/bit)" for k in tech.dram_kinds()))


def _workload_args(p: argparse.ArgumentParser, saved_trace: bool = True) -> None:
    p.add_argument("-w", "--workload", help="zoo model name, e.g. llama-2-7b, pointpillars-kitti (see `dse list`)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="workload parameter, e.g. -p phase=decode -p context=4096 -p batch=8 (see `dse list`)")
    if saved_trace:
        p.add_argument("--trace", metavar="FILE", help="a saved trace (.parquet) instead of -w")
    else:
        p.set_defaults(trace=None)


def _parallel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=-1, help="parallel jobs (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs and CI)")


class _Parser(argparse.ArgumentParser):
    """argparse that answers a misspelled subcommand or choice with "did you mean" (``sim.errors.suggest``),
    and appends ``more_help()`` to ``--help`` if set (text computed only when asked for)."""

    more_help = None

    def format_help(self):
        return super().format_help() + (self.more_help() if self.more_help else "")

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}{suggest(value, action.choices)} "
                                                 f"(choose from {choices})")


def _command(sub, name: str, summary: str, description: str, examples: str, func) -> argparse.ArgumentParser:
    """A subcommand with a one-line ``summary`` (in ``dse --help``), a ``description`` and ``examples``
    (in ``dse NAME --help``)."""
    p = sub.add_parser(name, help=summary, description=description, epilog="examples:\n" + examples,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    return p


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="dse", formatter_class=argparse.RawDescriptionHelpFormatter,
                  description="Design-space explorer for quantized, sparse and memory-bound neural-network "
                  "accelerators.",
                  epilog="examples:\n"
                  "  dse list                                   # hardware, presets, PEs, workloads\n"
                  "  dse run -c edge-32 -w llama-2-7b -p phase=decode -p context=4096\n"
                  "  dse demo                                   # a sweep and its report in reports/demo\n"
                  "  dse COMMAND --help                         # options and examples of one command")
    top.add_argument("--debug", action="store_true", help="show the traceback of an error instead of one line")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND",
                             help="one of these; `dse COMMAND --help` shows its options and examples")

    p = _command(sub, "demo", "run the built-in sweep and write its report",
                 "Run the built-in sweep (LLM decode and a CNN on several array sizes, dataflows and DRAM kinds)\n"
                 "and write its HTML report; prints the path of the page to open.",
                 "  dse demo\n  dse demo -o reports/my-demo -j 2 --no-progress", cmd_demo)
    p.add_argument("-o", "--output", default="reports/demo", help="report folder (default: reports/demo)")
    _parallel_args(p)

    p = _command(sub, "run", "run one workload on one hardware config",
                 "Run one workload (a zoo model with parameters, or a saved trace) on one hardware config\n"
                 "(a preset or a YAML file, with overrides) and print a per-op-kind summary and the totals:\n"
                 "time, energy, cycles, utilization, area, memory-bound share, per-work-unit metrics.",
                 "  dse run -c edge-32 -w llama-2-7b -p phase=decode -p context=4096 -p batch=8\n"
                 "  dse run -c tpu-v1 --set array.dataflow=os -w resnet-50 -o resnet.csv\n"
                 "  dse run -c my-design.yaml --trace decode.parquet --ops", cmd_run)
    p.add_argument("-c", "--config", required=True, help="preset name (see `dse list`) or YAML file")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="config override, e.g. --set array.rows=64")
    _workload_args(p)
    p.add_argument("--ops", action="store_true", help="print every op instead of a per-kind summary")
    p.add_argument("-o", "--output", help="write the per-op table (.parquet or .csv)")

    p = _command(sub, "sweep", "run a parameter sweep (resumable)",
                 "Run every point of a sweep spec (grid, random samples and named cases over config paths and\n"
                 "workload parameters; see the README) and write finished points in chunks into the sweep\n"
                 "folder. Running it again (also after Ctrl-C or a kill) computes only the missing points.",
                 "  dse sweep decode-shapes.yaml -o runs/decode-shapes\n"
                 "  dse sweep decode-shapes.yaml -o runs/decode-shapes -j 2 --no-progress\n"
                 "  dse sweep decode-shapes.yaml -o runs/decode-shapes --dask tcp://scheduler:8786", cmd_sweep)
    p.add_argument("spec", help="sweep spec YAML")
    p.add_argument("-o", "--output", required=True, help="sweep folder (cache + results)")
    _parallel_args(p)
    p.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster at ADDRESS")
    p.add_argument("--dask-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="give up if the Dask scheduler does not answer within SECONDS (default 5)")

    p = _command(sub, "report", "write an HTML/PNG/CSV report of a sweep (several: one each and a landing page)",
                 "Write the report of a sweep: Pareto fronts, ranked design points, plots (PNG) and tables\n"
                 "(CSV) in one HTML page. Given several sweep folders, one report each (in OUTPUT/<folder name>)\n"
                 "and a landing page linking them.",
                 "  dse report runs/decode-shapes -o reports/decode-shapes\n"
                 "  dse report runs/decode runs/prefill -o reports/llm", cmd_report)
    p.add_argument("sweep_dir", nargs="+", metavar="SWEEP_DIR",
                   help="sweep folder(s) written by `dse sweep` (each with its sweep.json)")
    p.add_argument("-o", "--output", required=True, help="report folder, e.g. reports/NAME")

    p = _command(sub, "trace", "generate, save or inspect traces",
                 "generate: build a workload's trace (ops, formats, payloads) and save it (.parquet, plus .npz\n"
                 "when it has payloads), to run it later with `dse run --trace`.\n"
                 "inspect: print a trace's op counts and MACs per op kind, its layers, phases and meta.",
                 "  dse trace generate -w llama-2-7b -p phase=prefill -p prompt=512 -o prefill.parquet\n"
                 "  dse trace inspect prefill.parquet\n"
                 "  dse trace inspect -w resnet-50", cmd_trace)
    p.add_argument("action", choices=("generate", "inspect"), help="generate (needs -o) or inspect")
    p.add_argument("file", nargs="?", help="trace file to inspect (instead of -w)")
    _workload_args(p, saved_trace=False)
    p.add_argument("-o", "--output", help="where to save a generated trace (.parquet)")

    p = _command(sub, "scalesim", "run SCALE-Sim .cfg + topology files, write COMPUTE_REPORT.csv",
                 "Run a SCALE-Sim v2/v3 .cfg and topology through the systolic model in SCALE-Sim mode and write\n"
                 "SCALE-Sim's COMPUTE_REPORT.csv (and DETAILED.csv, every per-op column) into the output folder.",
                 "  dse scalesim -c scale.cfg -t alexnet.csv -o out/alexnet\n"
                 "  dse scalesim -c scale.cfg -t gemms.csv -i gemm -o out/gemms", cmd_scalesim)
    p.add_argument("-c", "--config", required=True, help="SCALE-Sim .cfg")
    p.add_argument("-t", "--topology", required=True, help="SCALE-Sim topology .csv")
    p.add_argument("-i", "--input-type", choices=("conv", "gemm"), default="conv",
                   help="topology rows: conv (name, H, W, R, S, C, K, stride; default) or gemm (name, M, N, K)")
    p.add_argument("-o", "--output", required=True, help="output folder")

    p = _command(sub, "rtl", "export a MAC/PE-array generator's Verilog and a VCD, checked against the golden model",
                 "Elaborate one RTL generator (a PE of the registry, or pe_array), write its Verilog (the netlist\n"
                 "the Icarus tests run), simulate it on a stimulus into a VCD, and compare every cycle with the\n"
                 "golden model (UNIT.json holds the summary). Files are named after the unit: the generator and\n"
                 "its non-default parameters. Exits with status 2 if the RTL and the golden model differ.",
                 "  dse rtl int8xint8 -o rtl/\n"
                 "  dse rtl int8xint8 -p acc_bits=20 -p overflow=saturate -o rtl/   # int8xint8_acc20_saturate.v\n"
                 "  dse rtl dint4xint8 -p acc_bits=24 --stimulus exhaustive -o rtl/\n"
                 "  dse rtl pe_array -p pe=int4xint4 -p rows=2 -p cols=2 --cycles 32 --seed 3 --no-vcd -o rtl/", cmd_rtl)
    p.more_help = _rtl_help
    p.add_argument("generator", help="a PE of the registry (`dse list`: int8xint8, dint4xint8, mxfp4, ...) or pe_array")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="generator parameter (listed below), e.g. -p acc_bits=32 -p overflow=saturate, "
                        "-p pe=amxfp4 -p rows=8")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--stimulus", default="random", help="random (default) or exhaustive (single MAC units)")
    p.add_argument("--cycles", type=int, default=64, help="random stimulus length (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random stimulus seed (default 0); same seed, same VCD")
    p.add_argument("--no-vcd", action="store_true", help="skip the VCD (the golden-model check still runs)")

    _command(sub, "list", "list hardware families, presets, PEs, workloads and DRAM kinds",
             "List what configs and workloads may name: hardware families and their config fields, presets\n"
             "with their key values, PEs, zoo models with their parameters (defaults and bounds), DRAM kinds.",
             "  dse list\n  dse list | grep -A3 llama", cmd_list)
    return top


# what each command's -o names: a file with one of these suffixes; any other command's -o is a folder
OUTPUT_SUFFIXES = {"run": (".parquet", ".csv"), "trace": (".parquet",)}


def main(argv: list[str] | None = None) -> int:
    """Run one command. Its output path is checked before any work; an error the user caused
    (``sim.errors.user_message``) is one ``dse: error:`` line and exit status 2."""
    from sim.errors import user_message
    from sim.files import check_output

    args = parser().parse_args(argv)
    try:
        if getattr(args, "output", None):
            check_output(args.output, OUTPUT_SUFFIXES.get(args.command))
        args.func(args)
    except Exception as exc:
        message = user_message(exc)
        if args.debug or message is None:
            raise
        print(f"dse: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("dse: interrupted (finished sweep points are kept)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
