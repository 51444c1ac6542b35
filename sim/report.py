"""PPA reports of a sweep: an HTML page with a summary table, PNG plots beside it, and CSVs.

``write_report(sweep_dir, out_dir)`` reads a sweep folder (``sweep.json`` + ``points/*.parquet`` or
``results.parquet``, see ``sim.sweep``) and writes ``index.html``; the plots ``pareto.png``
(energy vs latency, colour = area, Pareto front), ``utilization.png`` (per-op utilization of the
Pareto points), ``energy_breakdown.png`` (energy by component) and, when one numeric parameter
explains most of the latency, ``latency_vs_param.png``; and ``points.csv``, ``pareto.csv``,
``ops.csv`` (per-op series of the Pareto points, long format) and ``basis.csv`` (the cited per-unit
costs of the best-EDP point, so every number traces back to ``sim.tech``). Sweeps of format-aware
PEs add the number-format section (``sim.report_formats``: ``formats_sqnr.png``, ``formats.csv``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from sim.errors import DSEError  # noqa: E402
from sim.report_formats import formats_section, has_formats  # noqa: E402

MAX_UTIL_POINTS = 6
MAX_BARS = 40
MAX_NAMED = 8  # Pareto points numbered and named on the Pareto plot
EXTREMES = 5  # best and worst EDP points added to the energy plot of a large sweep
DOMINANT_SHARE = 0.5  # a parameter explaining this share of the log-latency variance gets its own plot
MAX_LEVELS = 20  # ... if it has at most this many distinct values
TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
ENERGY_UNITS = ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"))
COMPONENT_COLOURS = {"mac": "#4c72b0", "vector": "#8172b3", "sram": "#55a868", "dram": "#c44e52",
                     "leakage": "#937860"}
FORMULAS = (
    ("energy", "MACs × mac_pj + vector ops × vector_op_pj + SRAM bits × pJ/bit (per buffer, read/write) "
               "+ DRAM bits × dram_pj_per_bit + PEs × pe_leakage_uw × time"),
    ("area", "PEs × pe_area_um2 + SRAM buffers (sram_*_area_mm2) + vector lanes × vector_lane_area_um2"),
)
STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9}


class ReportError(DSEError):
    """The sweep folder is missing, unreadable or holds no finished points."""


def pareto_front(df: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """Mask of the rows not dominated in (x, y), both minimized; exact ties are all kept; NaN rows are not.

    Sort by (x, y); a row is dominated exactly when some row sorting strictly before its group of
    equal (x, y) rows has y <= its y, i.e. when the running minimum of y before the group is <= y.
    """
    xs, ys = df[x].to_numpy(float), df[y].to_numpy(float)
    valid = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    order = valid[np.lexsort((ys[valid], xs[valid]))]
    xo, yo = xs[order], ys[order]
    new_group = np.ones(len(order), bool)
    new_group[1:] = (xo[1:] != xo[:-1]) | (yo[1:] != yo[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    min_before = np.concatenate(([np.inf], np.minimum.accumulate(yo)))[group_start]
    mask = np.zeros(len(xs), bool)
    mask[order] = yo < min_before
    return mask


def write_report(sweep_dir: str | Path, out_dir: str | Path, title: str | None = None) -> Path:
    """Write the HTML report, plots and CSVs of the sweep in ``sweep_dir`` into ``out_dir``; return index.html."""
    sweep_dir, out = Path(sweep_dir), Path(out_dir)
    meta, df = _load(sweep_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = [c for c in df.columns if c.startswith("p.")]
    df["pareto"] = pareto_front(df, "time_s", "energy_pj")
    df["label"] = _labels(df, params)
    ranked = df.sort_values(["edp_js", "point"], ignore_index=True)
    units = _units(df)
    best = ranked.iloc[0]

    scalar = [c for c in df.columns if c != "label" and not c.startswith("op_") and not c.endswith("_json")]
    df[scalar].to_csv(out / "points.csv", index=False)
    df.loc[df["pareto"], scalar].to_csv(out / "pareto.csv", index=False)
    _ops_long(df[df["pareto"]]).to_csv(out / "ops.csv", index=False)
    basis = pd.DataFrame(json.loads(best["basis_json"]), columns=["quantity", "value", "unit", "source"])
    basis.to_csv(out / "basis.csv", index=False)

    with plt.rc_context(STYLE):
        plots = {"pareto.png": _plot_pareto(df, units, out / "pareto.png"),
                 "utilization.png": _plot_utilization(df, out / "utilization.png"),
                 "energy_breakdown.png": _plot_energy(ranked, units, out / "energy_breakdown.png")}
        formats_html = ""
        if has_formats(df):
            formats_html, formats_plots = formats_section(df, out, _table)
            plots.update(formats_plots)
        dominant = _dominant_param(df, params)
        if dominant:
            plots["latency_vs_param.png"] = _plot_vs_param(df, *dominant, units, out / "latency_vs_param.png")
        else:
            (out / "latency_vs_param.png").unlink(missing_ok=True)  # stale from an earlier report
    page = out / "index.html"
    page.write_text(_html(ranked, units, meta, params, basis, plots, title or f"PPA report: {meta['spec']['name']}",
                          formats_html))
    return page


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
                          "points/<key>.parquet of the points in sweep.json); run or resume the sweep first")
    return meta, df


def _labels(df: pd.DataFrame, params: list[str]) -> list[str]:
    """Short point names: ``rows=8, cols=32`` (last dotted part of each parameter when that is unique)."""
    if not params:
        return [f"point {p}" for p in df["point"]]
    short = [p.rsplit(".", 1)[-1] for p in params]
    names = short if len(set(short)) == len(short) else [p[2:] for p in params]
    return [", ".join(f"{n}={_fmt(v)}" for n, v in zip(names, values)) for values in df[params].itertuples(index=False)]


def _ops_long(front: pd.DataFrame) -> pd.DataFrame:
    cols = ["point", "op", "name", "kind", "cycles", "utilization", "energy_pj"]
    frames = [pd.DataFrame({"point": r.point, "op": np.arange(len(r.op_name)), "name": r.op_name, "kind": r.op_kind,
                            "cycles": r.op_cycles, "utilization": r.op_utilization, "energy_pj": r.op_energy_pj})
              for r in front.itertuples()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _unit(values: pd.Series, units) -> tuple[float, str]:
    """The largest unit in which the largest value is >= 1, as (scale, name)."""
    return next(((s, n) for s, n in units if values.abs().max() >= s), units[-1])


def _units(df: pd.DataFrame) -> dict[str, tuple[float, str]]:
    """One latency and one energy unit for the whole report."""
    return {"time": _unit(df["time_s"], TIME_UNITS), "energy": _unit(df["energy_pj"] * 1e-12, ENERGY_UNITS)}


def _wide(values: pd.Series) -> bool:
    v = values[values > 0]
    return len(v) > 1 and v.max() / v.min() > 20


def _log_axis(ax, which: str, base: int = 10) -> None:
    """Log scale on axis ``which`` with plain-number labels (1, 2, 5, 10, ... or powers of two)."""
    getattr(ax, f"set_{which}scale")("log", base=base)
    axis = getattr(ax, f"{which}axis")
    if base == 10:
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _spread(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """At most ``n`` rows, evenly spaced (first and last included)."""
    return rows if len(rows) <= n else rows.iloc[np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))]


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def _plot_pareto(df: pd.DataFrame, units: dict, path: Path) -> str:
    (ts, tu), (es, eu) = units["time"], units["energy"]
    lat, energy = df["time_s"] / ts, df["energy_pj"] * 1e-12 / es
    fig, ax = plt.subplots(figsize=(8, 5.5))
    sc = ax.scatter(lat, energy, c=df["area_mm2"], cmap="viridis", s=36, edgecolor="k", linewidth=0.3, zorder=2)
    front = df["pareto"].to_numpy()
    order = np.argsort(lat[front].to_numpy(), kind="stable")
    fx, fy = lat[front].iloc[order].to_numpy(), energy[front].iloc[order].to_numpy()
    # the staircase bounding the dominated region, continued to the edges of the data
    ax.step(np.r_[fx[0], fx, lat.max()], np.r_[energy.max(), fy, fy[-1]], where="post", color="crimson", lw=1.5,
            zorder=1, label=f"Pareto front ({front.sum()} of {len(df)} points)")
    ax.scatter(lat[front], energy[front], s=110, facecolor="none", edgecolor="crimson", lw=1.6, zorder=3)
    if front.sum() <= MAX_NAMED:  # number the front points and name them in the legend
        for i, (x, y, text) in enumerate(zip(fx, fy, df.loc[front, "label"].iloc[order]), 1):
            ax.annotate(str(i), (x, y), xytext=(7, 5 if i % 2 else -14), textcoords="offset points", color="crimson", weight="bold")
            ax.scatter([], [], marker=f"${i}$", color="crimson", s=60, label=text)
    ax.set(xlabel=f"latency ({tu})", ylabel=f"energy ({eu})", title="Energy vs latency (colour: area)")
    if _wide(lat):
        _log_axis(ax, "x")
    if _wide(energy):
        _log_axis(ax, "y")
    fig.colorbar(sc, ax=ax, label="area (mm²)")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.13), ncol=1 if df["label"].str.len().max() > 40 else 2,
              fontsize=9, frameon=False)
    ax.grid(alpha=0.3, which="both")
    _save(fig, path)
    return "Energy vs latency of every point, coloured by area; the Pareto front (minimum latency and energy) in red."


def _plot_utilization(df: pd.DataFrame, path: Path) -> str:
    front = df[df["pareto"]].sort_values("time_s")
    shown = _spread(front, MAX_UTIL_POINTS)
    kinds = list(dict.fromkeys(k for ks in shown["op_kind"] for k in ks))
    colours = dict(zip(kinds, plt.get_cmap("tab10" if len(kinds) <= 10 else "tab20").colors))
    fig, axes = plt.subplots(len(shown), 1, sharex=True, squeeze=False, figsize=(11, 1.2 + 1.6 * len(shown)))
    for ax, row in zip(axes[:, 0], shown.itertuples()):
        op_kinds = np.asarray(row.op_kind)
        starts = np.flatnonzero(np.r_[True, op_kinds[1:] != op_kinds[:-1]])
        for s, e in zip(starts, np.r_[starts[1:], len(op_kinds)]):
            ax.axvspan(s - 0.5, e - 0.5, color=colours[op_kinds[s]], alpha=0.25, lw=0)
        ax.step(np.arange(len(op_kinds)), 100 * np.asarray(row.op_utilization, float), where="mid", color="k", lw=1)
        ax.set_ylim(0, 105)
        ax.set_yticks([0, 50, 100])
        ax.set_title(row.label, fontsize=9, loc="left", pad=3)
        ax.grid(alpha=0.3, axis="y")
    axes[-1, 0].set_xlabel("op index in the trace")
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.supylabel("utilization (%)")
    subset = f", {len(shown)} of {len(front)} spread along the front" if len(shown) < len(front) else ""
    fig.suptitle(f"Per-op utilization of the Pareto points{subset}\n(fastest first; background colour = op kind)")
    fig.legend(handles=[Patch(color=colours[k], alpha=0.4, label=k) for k in kinds], loc="upper center",
               ncol=min(len(kinds), 6), bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.tight_layout()
    _save(fig, path)
    return ("Per-op utilization of the PE array at the Pareto points (vector and DMA ops leave the array idle); "
            "all Pareto points' per-op series are in ops.csv.")


def _plot_energy(ranked: pd.DataFrame, units: dict, path: Path) -> str:
    """Horizontal stacked bars, best EDP on top; a large sweep shows the Pareto points and the EDP extremes."""
    shown, note = ranked, ""
    if len(ranked) > MAX_BARS:
        front = _spread(ranked[ranked["pareto"]], MAX_BARS - 2 * EXTREMES)
        picked = set(front.index) | set(ranked.index[:EXTREMES]) | set(ranked.index[-EXTREMES:])
        shown = ranked.loc[sorted(picked)]
        note = (f"\n{len(shown)} of {len(ranked)} points: the Pareto points and the {EXTREMES} best and "
                f"{EXTREMES} worst by EDP")
    comps = [c for c in COMPONENT_COLOURS if f"energy_{c}_pj" in shown.columns]
    es, eu = units["energy"]
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.3 * len(shown)))
    y = np.arange(len(shown))
    left = np.zeros(len(shown))
    for comp in comps:
        values = shown[f"energy_{comp}_pj"].fillna(0).to_numpy() * 1e-12 / es
        ax.barh(y, values, left=left, color=COMPONENT_COLOURS[comp], label=comp, height=0.75)
        left += values
    labels = [f"{'★ ' if p else ''}{lab}" for p, lab in zip(shown["pareto"], shown["label"])]
    ax.set_yticks(y, labels, fontsize=8 if len(shown) > 15 else 9)
    ax.invert_yaxis()
    ax.set(xlabel=f"energy ({eu})", title=f"Energy by component, sorted by EDP (★ = Pareto){note}")
    ax.legend(title="component", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3, axis="x")
    _save(fig, path)
    return "Energy by component per point, best energy-delay product on top."


def _dominant_param(df: pd.DataFrame, params: list[str]) -> tuple[str, float] | None:
    """The numeric parameter explaining the largest share (>= DOMINANT_SHARE) of the variance of log latency.

    Only parameters with few levels (each value shared by several points) count: a continuous random
    parameter would put every point in its own group and "explain" everything.
    """
    log_t = np.log(df["time_s"].clip(lower=1e-30))
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


def _plot_vs_param(df: pd.DataFrame, param: str, share: float, units: dict, path: Path) -> str:
    (ts, tu), (es, eu) = units["time"], units["energy"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, values, ylabel in ((axes[0], df["time_s"] / ts, f"latency ({tu})"),
                               (axes[1], df["energy_pj"] * 1e-12 / es, f"energy ({eu})")):
        ax.scatter(df[param], values, s=16, color="grey", alpha=0.6, label="all points")
        best = values.groupby(df[param]).min()
        ax.plot(best.index, best.to_numpy(), "o-", color="crimson", label=f"best at each {param[2:]}")
        ax.set(xlabel=param[2:], ylabel=ylabel)
        if df[param].min() > 0 and df[param].max() >= 4 * df[param].min():
            _log_axis(ax, "x", base=2)
        if _wide(values):
            _log_axis(ax, "y")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend()
    fig.suptitle(f"Latency and energy vs {param[2:]} ({100 * share:.0f}% of the log-latency variance)")
    fig.tight_layout()
    _save(fig, path)
    return f"Latency and energy vs {param[2:]}, the parameter that explains most of the latency."


def _fmt(v) -> str:
    """Numbers to 4 significant digits, thousands separators for large ones, scientific only for tiny ones."""
    if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, (bool, np.bool_)):
        return str(v)
    if not np.isfinite(v):
        return ""
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:.3e}" if 0 < abs(v) < 1e-3 else f"{v:.4g}"


def _table(df: pd.DataFrame, row_class: pd.Series | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    classes = row_class if row_class is not None else [""] * len(df)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for cls, row in zip(classes, df.itertuples(index=False)))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(ranked: pd.DataFrame, units: dict, params: list[str]) -> pd.DataFrame:
    (ts, tu), (es, eu) = units["time"], units["energy"]
    table = ranked[params].rename(columns=lambda p: p[2:])
    table.insert(0, "#", range(1, len(ranked) + 1))
    table[f"latency ({tu})"] = ranked["time_s"] / ts
    table[f"energy ({eu})"] = ranked["energy_pj"] * 1e-12 / es
    table[f"EDP ({eu}·{tu})"] = ranked["edp_js"] / (es * ts)
    table["area (mm²)"] = ranked["area_mm2"]
    table["utilization (%)"] = 100 * ranked["utilization"]
    table["Pareto"] = ranked["pareto"].map({True: "★", False: ""})
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
"""


def _html(ranked, units, meta, params, basis, plots, title, formats_html="") -> str:
    spec = meta["spec"]
    config = spec["config"] if isinstance(spec["config"], str) else json.dumps(spec["config"])
    total = len(meta.get("points", ranked))
    partial = f" (incomplete: {len(ranked)} of {total} finished)" if len(ranked) < total else ""
    imgs = "".join(f'<figure><img src="{name}" alt="{html.escape(cap)}"><figcaption>{html.escape(cap)}</figcaption>'
                   f"</figure>" for name, cap in plots.items())
    best = ranked.iloc[0]
    formulas = "".join(f"<li><b>{name}</b> = {html.escape(text)}</li>" for name, text in FORMULAS)
    describe = {"Workload": f"<code>{html.escape(json.dumps(spec['workload']))}</code>",
                "Base config": f"<code>{html.escape(config)}</code>"
                + (f" ({html.escape(best['config_name'])})" if best["config_name"] != config else ""),
                "Parameters swept": html.escape(_swept(spec)),
                "Points": f"{len(ranked)}{partial}, {int(ranked['pareto'].sum())} on the Pareto front",
                "Code version": f"<code>{html.escape(meta.get('code_version', 'unknown'))}</code>",
                "Data": " ".join(f'<a href="{f}">{f}</a>' for f in ("points.csv", "pareto.csv", "ops.csv", "basis.csv"))}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<dl>{''.join(f'<dt>{k}</dt><dd>{v}</dd>' for k, v in describe.items())}</dl>
<h2>Plots</h2>{imgs}
{formats_html}
<h2>Design points, sorted by energy-delay product</h2>
<p>★ = on the Pareto front of latency and energy (no other point is at least as fast and as frugal).</p>
{_table(_summary(ranked, units, params), ranked["pareto"].map({True: "pareto", False: ""}))}
<h2>Where the numbers come from</h2>
<p>Every energy and area number is a count from the simulator times a per-unit cost from the
technology library (<code>sim/tech</code>), summed over the ops of the trace:</p>
<ul>{formulas}</ul>
<p>Per-unit costs of the best point by EDP ({html.escape(best['label'])}), each with its citation and the
scaling applied to it (also in <a href="basis.csv">basis.csv</a>; other points differ where their parameters change
a per-unit cost, e.g. buffer size, operand width or technology node):</p>
<div class="basis">{_table(basis)}</div>
</body></html>
"""
