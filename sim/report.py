"""PPA reports of sweeps: an HTML page per sweep with plots and CSVs, and a landing page for several.

``write_report(sweep_dir, out_dir)`` reads a sweep folder (``sim.sweep``) and writes into
``out_dir``:

- ``index.html``: what was swept, the plots, family sections, the design points ranked by
  energy-delay product per work unit with their Pareto flags, where the time goes in the best
  point, memory traffic per level, and where every number comes from (the model's formulas and
  the cited per-unit costs of the best point);
- plots (``sim.report_plots``): ``pareto.png`` (energy vs latency per work unit, colour = area),
  ``bound.png`` (time per op kind, compute- or memory-bound), ``roofline.png``,
  ``utilization.png`` (per layer), ``energy_breakdown.png`` (per component) and, when one numeric
  parameter explains most of the latency, ``latency_vs_param.png``;
- ``points.csv``, ``pareto.csv``, ``ops.csv`` (per-op series of the Pareto points), ``bound.csv``
  (the best point's time by op kind) and ``basis.csv`` (its cited per-unit costs);
- ``summary.json``: the headline numbers a landing page shows.

The Pareto front is taken over the sweep's ``objectives`` (``sim.pareto``), within its
``tolerance``. Energy components, memory levels, formulas and op kinds come from the results, and
each family may add sections (``sim.models.Family.sections``), so a new family needs no change
here. ``write_index`` writes the landing page of several reports: a thumbnail and the headline
numbers of each.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import report_plots as plots
from sim.errors import DSEError
from sim.pareto import DEFAULT_TOLERANCE, default_objectives, metrics, objective_front

DOMINANT_SHARE = 0.5  # a parameter explaining this share of the log-latency variance gets its own plot
MAX_LEVELS = 20  # ... if it has at most this many distinct values
TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
ENERGY_UNITS = ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"))
NEEDED = ("time_per_unit_s", "energy_per_unit_pj", "work_unit", "area_mm2", "op_kind", "op_bound", "model")


class ReportError(DSEError):
    """The sweep folder is missing, unreadable or holds no finished points."""


def write_report(sweep_dir: str | Path, out_dir: str | Path, title: str | None = None) -> Path:
    """Write the report of the sweep in ``sweep_dir`` into ``out_dir``; return its index.html."""
    sweep_dir, out = Path(sweep_dir), Path(out_dir)
    meta, df = _load(sweep_dir)
    spec = meta["spec"]
    objectives = spec.get("objectives") or default_objectives(df)
    tolerance = spec.get("tolerance", DEFAULT_TOLERANCE)
    _check_comparable(df, objectives, sweep_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = [c for c in df.columns if c.startswith("p.")]
    df["pareto"] = objective_front(df, objectives, tolerance)
    df["label"] = _labels(df, params, spec)
    ranked = df.sort_values(["edp_per_unit_js", "point"], ignore_index=True)
    best = ranked.iloc[0]
    units = _units(df, objectives)

    scalar = [c for c in df.columns if c != "label" and not c.startswith("op_") and not c.endswith("_json")]
    df[scalar].to_csv(out / "points.csv", index=False)
    df.loc[df["pareto"], scalar].to_csv(out / "pareto.csv", index=False)
    _ops_long(df[df["pareto"]]).to_csv(out / "ops.csv", index=False)
    basis = pd.DataFrame(json.loads(best["basis_json"]), columns=["quantity", "value", "unit", "source"])
    basis.to_csv(out / "basis.csv", index=False)
    where_time = _bound_table(best)
    where_time.to_csv(out / "bound.csv", index=False)

    front = plots.spread(df[df["pareto"]].sort_values("time_per_unit_s"), plots.MAX_SERIES)
    figures: dict[str, str] = {}
    sections: list[str] = []  # HTML of the family sections, their figures included
    with plt.rc_context(plots.STYLE):
        figures["pareto.png"] = plots.pareto(df, units, out / "pareto.png")
        figures["bound.png"] = plots.bound(front, out / "bound.png")
        level = _roof_level(best)
        if level:
            figures["roofline.png"] = plots.roofline(best, level, out / "roofline.png")
        if df["peak_macs_per_cycle"].notna().all():
            figures["utilization.png"] = plots.utilization(front, out / "utilization.png")
        figures["energy_breakdown.png"] = plots.energy(ranked, units, out / "energy_breakdown.png")
        dominant = _dominant_param(df, params)
        if dominant:
            figures["latency_vs_param.png"] = plots.versus_param(df, *dominant, units, out / "latency_vs_param.png")
        for section in _family_sections(df):
            found = section(df, out, _table)
            if found:
                body, section_plots = found
                sections.append(body + _figures(section_plots, section_plots))
    for stale in {"roofline.png", "utilization.png", "latency_vs_param.png"} - set(figures):
        (out / stale).unlink(missing_ok=True)
    title = title or f"PPA report: {spec['name']}"
    page = out / "index.html"
    page.write_text(_html(ranked, units, meta, basis, where_time, figures, title, sections))
    (out / "summary.json").write_text(json.dumps(_summary(ranked, units, title, meta), default=str))
    return page


def _check_comparable(df: pd.DataFrame, objectives: list[str], sweep_dir: Path) -> None:
    """One work unit over all points, and every objective known for every point."""
    work = sorted(df["work_unit"].unique())
    if len(work) > 1:
        raise ReportError(f"report: work_unit: got {work} in {sweep_dir}; allowed: one work unit per sweep (per-unit "
                          "metrics of different units do not compare; split the sweep)")
    known = metrics()
    for name in objectives:
        column = known[name].column if name in known else None
        lacking = int(df[column].isna().sum()) if column in df.columns else len(df)
        if lacking:
            raise ReportError(f"report: objectives: got {name!r}, unknown for {lacking} of {len(df)} points of "
                              f"{sweep_dir}; allowed: metrics every point has (see sim.pareto.metrics())")


def _load(sweep_dir: Path) -> tuple[dict, pd.DataFrame]:
    """The sweep's ``sweep.json`` and its finished points (``sim.sweep.load_results``), or a one-line ReportError."""
    from sim.sweep import load_results

    expected = "expected a sweep folder with sweep.json and points/*.parquet (written by `dse sweep`)"
    if not sweep_dir.is_dir():
        raise ReportError(f"report: sweep folder {sweep_dir} does not exist; {expected}")
    if not (sweep_dir / "sweep.json").is_file():
        raise ReportError(f"report: {sweep_dir} has no sweep.json; {expected}")
    try:
        meta, df = json.loads((sweep_dir / "sweep.json").read_text()), load_results(sweep_dir)
    except DSEError:
        df = pd.DataFrame()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid and JSONDecodeError are ValueErrors
        raise ReportError(f"report: cannot read the sweep in {sweep_dir}: {exc}") from None
    if df.empty:
        raise ReportError(f"report: {sweep_dir} has no finished points (expected results.parquet or "
                          "points/*.parquet holding points of sweep.json); run or resume the sweep first")
    missing = [c for c in NEEDED if c not in df.columns]
    if missing:
        raise ReportError(f"report: points of {sweep_dir}: got no {', '.join(missing)}; allowed: points written by "
                          "this version (run `dse sweep` again to recompute them)")
    return meta, df


def _labels(df: pd.DataFrame, params: list[str], spec: dict) -> list[str]:
    """Short point names: the case label, then the other swept parameters (last dotted part of each
    name when that is unique), e.g. ``dint4xint8, rows=8``; parameters a case sets are left out."""
    from_cases = {f"p.{name}" for case in (spec.get("cases") or {}).values() for name in case}
    shown = [p for p in params if p not in from_cases]
    if not shown:
        return [f"point {p}" for p in df["point"]]
    short = [p.rsplit(".", 1)[-1] for p in shown]
    names = short if len(set(short)) == len(short) else [p[2:] for p in shown]
    return [", ".join(_value(v) if n == "case" else f"{n}={_value(v)}" for n, v in zip(names, values))
            for values in df[shown].itertuples(index=False)]


def _value(v) -> str:
    """A parameter value for a label: numbers in short form, JSON mappings as k=v pairs."""
    if isinstance(v, str) and v.startswith("{"):
        try:
            return "{" + ",".join(f"{k}={x}" for k, x in json.loads(v).items()) + "}"
        except (ValueError, AttributeError):
            return v
    return fmt(v)


def _ops_long(front: pd.DataFrame) -> pd.DataFrame:
    """The per-op series of some points, one row per op, with each op's utilization."""
    series = [c for c in front.columns if c.startswith("op_")]
    frames = []
    for _, r in front.iterrows():
        ops = pd.DataFrame({"point": r["point"], "op": np.arange(len(r["op_name"])),
                            **{c.removeprefix("op_"): r[c] for c in series}})
        ops["utilization"] = ops["macs"] / (ops["cycles"] * r["peak_macs_per_cycle"]).where(ops["cycles"] > 0)
        frames.append(ops)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["point", "op"])


def _bound_table(row: pd.Series) -> pd.DataFrame:
    """Time, MACs and the memory-bound share of time per op kind of one point."""
    ops = pd.DataFrame({"kind": row["op_kind"], "cycles": row["op_cycles"], "macs": row["op_macs"],
                        "memory_bound": np.asarray(row["op_bound"]) == "memory"})
    ops["memory_cycles"] = ops["cycles"] * ops["memory_bound"]
    table = ops.groupby("kind", sort=False).agg(ops=("cycles", "size"), cycles=("cycles", "sum"), macs=("macs", "sum"),
                                                memory_bound_cycles=("memory_cycles", "sum")).reset_index()
    table["time_share"] = table["cycles"] / table["cycles"].sum()
    table["memory_bound_share"] = table["memory_bound_cycles"] / table["cycles"].where(table["cycles"] > 0)
    table["utilization"] = table["macs"] / (table["cycles"] * row["peak_macs_per_cycle"])
    return table.drop(columns="memory_bound_cycles").sort_values("cycles", ascending=False, ignore_index=True)


def _roof_level(row: pd.Series) -> str | None:
    """The memory level with the lowest bandwidth roof that has per-op bytes, if any and if the point has a peak."""
    levels = {m.group(1): row[c] for c in row.index if (m := re.fullmatch(r"roof_(\w+)_bytes_per_s", c))
              and pd.notna(row[c]) and f"op_bytes_{m.group(1)}" in row.index}
    if not levels or not np.isfinite(row.get("peak_macs_per_cycle", np.nan)):
        return None
    level = min(levels, key=levels.get)
    return level if np.isfinite(levels[level]) else None


def _family_sections(df: pd.DataFrame):
    from sim.models import families

    known = families()
    for model in dict.fromkeys(df["model"]):
        if model in known:
            yield from known[model].sections


def _unit(values: pd.Series, units) -> tuple[float, str]:
    """The largest unit in which the largest value is >= 1, as (scale, name)."""
    return next(((s, n) for s, n in units if values.abs().max() >= s), units[-1])


def _units(df: pd.DataFrame, objectives: list[str]) -> dict:
    """One latency and one energy unit (per work unit), the work unit's name and the objectives."""
    work = df["work_unit"].unique()
    return {"time": _unit(df["time_per_unit_s"], TIME_UNITS),
            "energy": _unit(df["energy_per_unit_pj"] * 1e-12, ENERGY_UNITS),
            "work": work[0] if len(work) == 1 else "work unit",
            "objectives": ", ".join(o.replace("_per_unit", f" per {work[0] if len(work) == 1 else 'unit'}")
                                    .replace("_", " ") for o in objectives)}


def _dominant_param(df: pd.DataFrame, params: list[str]) -> tuple[str, float] | None:
    """The numeric parameter explaining the largest share (>= DOMINANT_SHARE) of the variance of log latency
    per work unit. Only parameters with few levels (each value shared by several points) count: a
    continuous random parameter would put every point in its own group and "explain" everything."""
    log_t = np.log(df["time_per_unit_s"].clip(lower=1e-30))
    total = ((log_t - log_t.mean()) ** 2).sum()
    best = None
    for p in params:
        levels = df[p].nunique()
        if not pd.api.types.is_numeric_dtype(df[p]) or not 3 <= levels <= min(MAX_LEVELS, len(df) / 3) or total <= 0:
            continue
        share = 1 - ((log_t - log_t.groupby(df[p]).transform("mean")) ** 2).sum() / total
        if share >= DOMINANT_SHARE and (best is None or share > best[1]):
            best = (p, share)
    return best


def fmt(v, digits: int = 4) -> str:
    """A number to ``digits`` significant digits; thousands separators once the integer part needs
    all of them; scientific only for tiny values."""
    if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, (bool, np.bool_)):
        return str(v)
    if not np.isfinite(v):
        return ""
    if abs(v) >= 10 ** digits:
        return f"{v:,.0f}"
    return f"{v:.{digits - 1}e}" if 0 < abs(v) < 1e-3 else f"{v:.{digits}g}"


def digits_needed(values, low: int = 4, high: int = 9) -> int:
    """The fewest significant digits (``low`` to ``high``) that keep distinct values distinct."""
    finite = [float(v) for v in values if isinstance(v, (int, float, np.number)) and np.isfinite(v)]
    target = len({float(f"{v:.12g}") for v in finite})
    return next((d for d in range(low, high) if len({fmt(v, d) for v in finite}) >= target), high)


def _table(df: pd.DataFrame, row_class: pd.Series | None = None) -> str:
    """An HTML table; each numeric column gets the digits that keep its distinct values apart."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    digits = [digits_needed(df[c]) if pd.api.types.is_numeric_dtype(df[c]) else 4 for c in df.columns]
    classes = row_class if row_class is not None else [""] * len(df)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{html.escape(fmt(v, d))}</td>" for v, d in zip(row, digits))
                   + "</tr>" for cls, row in zip(classes, df.itertuples(index=False)))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _points_table(ranked: pd.DataFrame, units: dict) -> pd.DataFrame:
    (ts, tu), (es, eu) = units["time"], units["energy"]
    work = units["work"]
    table = pd.DataFrame({"#": range(1, len(ranked) + 1), "point": ranked["label"]})
    table[f"latency per {work} ({tu})"] = ranked["time_per_unit_s"] / ts
    table[f"energy per {work} ({eu})"] = ranked["energy_per_unit_pj"] * 1e-12 / es
    table[f"{work}s/s"] = ranked["units_per_s"]
    table["latency per run (ms)"] = ranked["time_s"] * 1e3
    table["area (mm²)"] = ranked["area_mm2"]
    table["TOPS/W"] = ranked["tops_per_w"]
    if ranked["utilization"].notna().any():
        table["utilization (%)"] = 100 * ranked["utilization"]
    table["memory-bound time (%)"] = 100 * ranked["memory_bound_share"]
    if "accuracy_sqnr_db" in ranked.columns and ranked["accuracy_sqnr_db"].notna().any():
        table["accuracy proxy (dB)"] = ranked["accuracy_sqnr_db"]
    table["Pareto"] = ranked["pareto"].map({True: "★", False: ""})
    return table


def _traffic_table(ranked: pd.DataFrame, units: dict) -> pd.DataFrame:
    """Bytes moved per work unit at every memory level, for the Pareto points."""
    front = ranked[ranked["pareto"]]
    levels = [m.group(1) for c in ranked.columns if (m := re.fullmatch(r"bytes_(\w+)_read", c))]
    table = pd.DataFrame({"point": front["label"]})
    for level in levels:
        for rw in ("read", "write"):
            table[f"{level} {rw} (MB/{units['work']})"] = front[f"bytes_{level}_{rw}"] / front["work_units"] / 1e6
    return table


def _swept(spec: dict) -> str:
    items = [f"{k} ∈ {{{', '.join(map(str, v))}}}" for k, v in spec.get("grid", {}).items()]
    random = spec.get("random") or {}
    for k, r in random.get("params", {}).items():
        rng = f"{{{', '.join(map(str, r['choices']))}}}" if r.get("choices") else f"[{r['low']}, {r['high']}]"
        items.append(f"{k} ∈ {rng} ({'log-' if r.get('log') else ''}random)")
    if random:
        items.append(f"{random['n']} random samples, seed {random.get('seed', 0)}")
    if spec.get("cases"):
        items.append(f"cases ∈ {{{', '.join(spec['cases'])}}}")
    return "; ".join(items) or "nothing"


def _summary(ranked: pd.DataFrame, units: dict, title: str, meta: dict) -> dict:
    """Headline numbers of a report, for the landing page."""
    best = ranked.iloc[0]
    (ts, tu), (es, eu) = units["time"], units["energy"]
    work = units["work"]
    return {"title": title, "name": meta["spec"]["name"], "points": len(ranked), "front": int(ranked["pareto"].sum()),
            "objectives": units["objectives"], "best": best["label"],
            "headline": {f"latency per {work}": f"{fmt(best['time_per_unit_s'] / ts)} {tu}",
                         f"energy per {work}": f"{fmt(best['energy_per_unit_pj'] * 1e-12 / es)} {eu}",
                         f"{work}s/s": fmt(best["units_per_s"]), "area": f"{fmt(best['area_mm2'])} mm²",
                         "memory-bound time": f"{fmt(100 * best['memory_bound_share'], 3)} %"}}


CSS = """
body { font-family: system-ui, sans-serif; max-width: 80em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; position: sticky; top: 0; }
tr.pareto { background: #fff3f3; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.3em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
code { background: #f5f5f5; padding: 0 0.2em; }
.basis td { text-align: left; } .basis td:nth-child(2) { text-align: right; }
.basis td:last-child { font-size: 0.85em; color: #444; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(22em, 1fr)); gap: 1.2em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.8em; }
.card h2 { font-size: 1.05em; margin: 0 0 0.5em; } .card img { width: 100%; }
.card dl { font-size: 0.85em; }
"""


def _figures(figures: dict[str, str], names) -> str:
    return "".join(f'<figure><img src="{n}" alt="{html.escape(figures[n])}"><figcaption>{html.escape(figures[n])}'
                   f"</figcaption></figure>" for n in names if n in figures)


def _html(ranked, units, meta, basis, where_time, figures, title, sections) -> str:
    spec = meta["spec"]
    config = spec["config"] if isinstance(spec["config"], str) else json.dumps(spec["config"])
    total = len(meta.get("points", ranked))
    partial = f" (incomplete: {len(ranked)} of {total} finished)" if len(ranked) < total else ""
    best = ranked.iloc[0]
    work = units["work"]
    formulas = json.loads(best.get("formulas_json") or "{}")
    formula_items = "".join(f"<li><b>{html.escape(k)}</b> = {html.escape(v)}</li>" for k, v in formulas.items())
    models = ", ".join(dict.fromkeys(ranked["model"]))
    describe = {"Workload": f"<code>{html.escape(json.dumps(spec['workload']))}</code>",
                "Base config": f"<code>{html.escape(config)}</code> (model {html.escape(models)}"
                + (f", {html.escape(best['config_name'])})" if best["config_name"] != config else ")"),
                "Parameters swept": html.escape(_swept(spec)),
                "Work unit": f"{html.escape(work)} ({fmt(best['work_units'])} per run of the trace)",
                "Objectives": f"{html.escape(units['objectives'])} (ties within a relative "
                              f"{spec.get('tolerance', DEFAULT_TOLERANCE):g})",
                "Points": f"{len(ranked)}{partial}, {int(ranked['pareto'].sum())} on the Pareto front",
                "Code version": f"<code>{html.escape(meta.get('code_version', 'unknown'))}</code>",
                "Data": " ".join(f'<a href="{f}">{f}</a>' for f in ("points.csv", "pareto.csv", "ops.csv",
                                                                     "bound.csv", "basis.csv"))}
    core = ("pareto.png", "energy_breakdown.png", "latency_vs_param.png")
    time_figures = ("bound.png", "roofline.png", "utilization.png")
    rows = ranked["pareto"].map({True: "pareto", False: ""})
    where = where_time.assign(time_share=100 * where_time["time_share"],
                              memory_bound_share=100 * where_time["memory_bound_share"],
                              utilization=100 * where_time["utilization"])
    where.columns = ["op kind", "ops", "cycles", "MACs", "time (%)", "memory-bound (%)", "utilization (%)"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<dl>{''.join(f'<dt>{k}</dt><dd>{v}</dd>' for k, v in describe.items())}</dl>
<h2>Trade-offs</h2>{_figures(figures, core)}
<h2>Design points, ranked by energy-delay product per {html.escape(work)}</h2>
<p>★ = on the Pareto front of {html.escape(units['objectives'])}: no other point is at least as good in
all of them and better in one (by more than the tolerance). Numbers carry the digits needed to tell
different values apart.</p>
{_table(_points_table(ranked, units), rows)}
<h2>Where the time goes</h2>
<p>Best point by energy-delay per {html.escape(work)}: {html.escape(best['label'])}. An op is memory-bound when
moving its data takes longer than its compute.</p>
{_table(where)}
{_figures(figures, time_figures)}
<h2>Memory traffic per {html.escape(work)} (Pareto points)</h2>
{_table(_traffic_table(ranked, units))}
{''.join(sections)}
<h2>Where the numbers come from</h2>
<p>Every number is a count from the simulator times a per-unit cost from the technology library
(<code>sim/tech</code>), summed over the ops of the trace, as the model states:</p>
<ul>{formula_items}</ul>
<p>Per-unit costs of the best point ({html.escape(best['label'])}), each with its citation and the
scaling applied to it (also in <a href="basis.csv">basis.csv</a>; other points differ where their parameters change
a per-unit cost, e.g. buffer size, operand width or technology node):</p>
<div class="basis">{_table(basis)}</div>
</body></html>
"""


def write_index(out_dir: str | Path, pages: list[Path], title: str, intro: str = "") -> Path:
    """A landing page in ``out_dir`` linking reports (each a ``write_report`` index.html): a Pareto
    thumbnail and the headline numbers of each. ``intro`` is HTML put under the title."""
    out = Path(out_dir)
    cards = []
    for page in pages:
        summary = json.loads((page.parent / "summary.json").read_text())
        link = page.relative_to(out).as_posix()
        thumb = (page.parent / "pareto.png").relative_to(out).as_posix()
        numbers = {"points": f"{summary['points']}, {summary['front']} on the Pareto front",
                   "objectives": summary["objectives"], "best": summary["best"], **summary["headline"]}
        cards.append(f'<div class="card"><h2><a href="{html.escape(link)}">{html.escape(summary["title"])}</a></h2>'
                     f'<a href="{html.escape(link)}"><img src="{html.escape(thumb)}" alt="Pareto plot of '
                     f'{html.escape(summary["name"])}"></a><dl>'
                     + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in numbers.items())
                     + "</dl></div>")
    index = out / "index.html"
    index.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
{intro}
<div class="cards">{''.join(cards)}</div>
</body></html>
""")
    return index
