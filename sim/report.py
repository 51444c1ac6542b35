"""PPA reports of a sweep: an HTML page with a summary table, PNG plots beside it, and CSVs.

Plots: the Pareto front of energy vs latency with area as colour, per-op utilization of the
Pareto points, and stacked energy by component. "Where the numbers come from" lists the cited
per-unit costs (``basis_json``) of the best point, so every figure traces back to ``sim.tech``.
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

from sim.errors import DSEError  # noqa: E402

MAX_UTIL_LINES = 6
MAX_BARS = 40
COMPONENT_COLOURS = {"energy_mac_pj": "#4c72b0", "energy_vector_pj": "#8172b3", "energy_sram_pj": "#55a868",
                     "energy_dram_pj": "#c44e52", "energy_leakage_pj": "#937860"}
FORMULAS = ("energy = MACs x mac_pj + vector ops x vector_op_pj + SRAM bits x pJ/bit (per buffer) "
            "+ DRAM bits x dram_pj_per_bit + PE leakage power x time; "
            "area = PEs x pe_area + SRAM macros + vector lanes x lane area")


def pareto_front(df: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """Mask of points not dominated in (x, y), both minimized; O(n log n) by a sort and a running min."""
    xs, ys = df[x].to_numpy(float), df[y].to_numpy(float)
    order = np.lexsort((ys, xs))
    best = np.minimum.accumulate(ys[order])
    prev_best = np.concatenate(([np.inf], best[:-1]))
    keep = ys[order] < prev_best
    # equal (x, y) duplicates of a front point are on the front too
    first = np.concatenate(([True], (xs[order][1:] != xs[order][:-1]) | (ys[order][1:] != ys[order][:-1])))
    dup_of_front = np.zeros(len(order), bool)
    for i in np.flatnonzero(~first):
        dup_of_front[i] = keep[i - 1] or dup_of_front[i - 1]
    mask = np.zeros(len(xs), bool)
    mask[order] = keep | dup_of_front
    return mask


def _params(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("p.")]


def _label(row: pd.Series, params: list[str]) -> str:
    return ", ".join(f"{p[2:]}={row[p]}" for p in params) or f"point {row['point']}"


def write_report(sweep_dir: str | Path, out_dir: str | Path, title: str | None = None) -> Path:
    """Write index.html, PNG plots and CSVs for the sweep in ``sweep_dir``; return the HTML path."""
    from sim.sweep import load_results

    sweep_dir, out = Path(sweep_dir), Path(out_dir)
    if not sweep_dir.is_dir():
        raise DSEError(f"report: sweep folder {sweep_dir} does not exist; allowed: a folder written by `dse sweep`")
    df = load_results(sweep_dir)
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    params = _params(df)
    df = df.assign(latency_ms=df["time_s"] * 1e3, energy_mj=df["energy_pj"] * 1e-9, edp_mj_ms=0.0)
    df["edp_mj_ms"] = df["latency_ms"] * df["energy_mj"]
    df["pareto"] = pareto_front(df, "latency_ms", "energy_mj")
    df = df.sort_values("edp_mj_ms", kind="stable", ignore_index=True)
    df["label"] = [_label(r, params) for _, r in df.iterrows()]

    scalar = [c for c in df.columns if not c.startswith("op_") and c not in ("point_json", "basis_json")]
    df[scalar].to_csv(out / "points.csv", index=False)
    df[df["pareto"]][scalar].to_csv(out / "pareto.csv", index=False)
    _ops_long(df[df["pareto"]]).to_csv(out / "ops.csv", index=False)
    basis = pd.DataFrame(json.loads(df["basis_json"].iloc[0]))
    basis.to_csv(out / "basis.csv", index=False)

    plots = {"pareto.png": _plot_pareto(df, out / "pareto.png"),
             "utilization.png": _plot_utilization(df, out / "utilization.png"),
             "energy_breakdown.png": _plot_energy(df, out / "energy_breakdown.png")}
    page = out / "index.html"
    page.write_text(_html(df, meta, params, basis, plots, title or f"PPA report: {meta['spec']['name']}"))
    return page


def _ops_long(front: pd.DataFrame) -> pd.DataFrame:
    frames = [pd.DataFrame({"point": r["point"], "op": np.arange(len(r["op_name"])), "name": r["op_name"],
                            "kind": r["op_kind"], "cycles": r["op_cycles"], "utilization": r["op_utilization"],
                            "energy_pj": r["op_energy_pj"]}) for _, r in front.iterrows()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _wide(values: pd.Series) -> bool:
    v = values[values > 0]
    return len(v) > 1 and v.max() / v.min() > 20


def _plot_pareto(df: pd.DataFrame, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sc = ax.scatter(df["latency_ms"], df["energy_mj"], c=df["area_mm2"], cmap="viridis", s=28, edgecolor="k",
                    linewidth=0.3, zorder=2)
    front = df[df["pareto"]].sort_values("latency_ms")
    ax.step(front["latency_ms"], front["energy_mj"], where="post", color="crimson", lw=1.5, zorder=1,
            label=f"Pareto front ({len(front)} points)")
    ax.scatter(front["latency_ms"], front["energy_mj"], s=80, facecolor="none", edgecolor="crimson", lw=1.5, zorder=3)
    ax.set(xlabel="latency (ms)", ylabel="energy (mJ)", title="Energy vs latency (colour: area)")
    if _wide(df["latency_ms"]):
        ax.set_xscale("log")
    if _wide(df["energy_mj"]):
        ax.set_yscale("log")
    fig.colorbar(sc, ax=ax, label="area (mm$^2$)")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return "Pareto front: energy vs latency, colour = area"


def _plot_utilization(df: pd.DataFrame, path: Path) -> str:
    front = df[df["pareto"]].head(MAX_UTIL_LINES)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    kinds = list(dict.fromkeys(front["op_kind"].iloc[0])) if len(front) else []
    markers = dict(zip(kinds, "o^sDvP*Xh<>"))
    for _, row in front.iterrows():
        util = 100 * np.nan_to_num(np.asarray(row["op_utilization"], float))
        line, = ax.plot(util, lw=0.8, alpha=0.8, label=row["label"])
        op_kinds = np.asarray(row["op_kind"])
        for kind in kinds:
            idx = np.flatnonzero(op_kinds == kind)
            ax.scatter(idx, util[idx], s=10, marker=markers[kind], color=line.get_color())
    for kind in kinds:
        ax.scatter([], [], marker=markers[kind], color="grey", label=f"op kind: {kind}")
    ax.set(xlabel="op index in the trace", ylabel="utilization (%)",
           title=f"Per-op utilization of the Pareto points (up to {MAX_UTIL_LINES})")
    if len(front) and (100 * np.nan_to_num(np.concatenate([np.asarray(u, float) for u in front["op_utilization"]]))).max() > 0:
        ax.set_yscale("symlog", linthresh=0.1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return "Per-op utilization (Pareto points)"


def _plot_energy(df: pd.DataFrame, path: Path) -> str:
    shown = df
    note = ""
    if len(df) > MAX_BARS:
        shown = pd.concat([df[df["pareto"]], df.head(5), df.tail(5)]).drop_duplicates("point").head(MAX_BARS)
        note = f" (Pareto points, 5 best and 5 worst EDP of {len(df)})"
    comps = [c for c in COMPONENT_COLOURS if c in shown.columns]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.28 * len(shown) + 3), 5))
    bottom = np.zeros(len(shown))
    for comp in comps:
        values = shown[comp].to_numpy() * 1e-9
        ax.bar(range(len(shown)), values, bottom=bottom, color=COMPONENT_COLOURS[comp],
               label=comp.removeprefix("energy_").removesuffix("_pj"))
        bottom += values
    ax.set_xticks(range(len(shown)), shown["label"], rotation=70, ha="right", fontsize=7)
    ax.set(ylabel="energy (mJ)", title=f"Energy by component{note}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return "Energy breakdown by component"


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return html.escape(str(v))


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(df, meta, params, basis, plots, title) -> str:
    spec = meta["spec"]
    summary = df[params + ["latency_ms", "energy_mj", "edp_mj_ms", "area_mm2", "utilization", "pareto"]].copy()
    summary["utilization"] *= 100
    summary.columns = [c[2:] for c in params] + ["latency (ms)", "energy (mJ)", "EDP (mJ*ms)", "area (mm2)",
                                                 "utilization (%)", "Pareto"]
    swept = {**spec.get("grid", {}), **((spec.get("random") or {}).get("params", {}))}
    imgs = "".join(f'<figure><img src="{name}" alt="{html.escape(cap)}"><figcaption>{html.escape(cap)}</figcaption></figure>'
                   for name, cap in plots.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 72em; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th {{ background: #f0f0f0; }} td:first-child, th:first-child {{ text-align: left; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
code {{ background: #f5f5f5; padding: 0 0.2em; }} .basis td {{ text-align: left; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p><b>Workload:</b> <code>{html.escape(json.dumps(spec['workload']))}</code><br>
<b>Base config:</b> <code>{html.escape(json.dumps(spec['config']) if isinstance(spec['config'], dict) else spec['config'])}</code><br>
<b>Swept:</b> {html.escape(', '.join(f'{k} ({len(v) if isinstance(v, list) else "random"})' for k, v in swept.items()) or 'nothing')}<br>
<b>Points:</b> {len(df)} of {meta.get('points', len(df))} &middot; <b>code version:</b> <code>{html.escape(meta['code_version'])}</code>
&middot; data: <a href="points.csv">points.csv</a>, <a href="pareto.csv">pareto.csv</a>, <a href="ops.csv">ops.csv</a>,
<a href="basis.csv">basis.csv</a></p>
<h2>Plots</h2>{imgs}
<h2>Design points (sorted by energy-delay product)</h2>{_table(summary)}
<h2>Where the numbers come from</h2>
<p>{html.escape(FORMULAS)}. Per-unit costs of the best point ({html.escape(df['label'].iloc[0])}), each from a
cited entry of the technology library (<code>sim/tech</code>):</p>
<div class="basis">{_table(basis)}</div>
</body></html>
"""
