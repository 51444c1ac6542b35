"""The figures of a sweep report (``sim.report``), each drawn from result rows (``sim.point``).

Every function takes the rows it draws, writes one PNG and returns its caption. What a figure
shows comes from the data: energy components from the ``energy_<c>_pj`` columns, memory roofs
from ``roof_<level>_bytes_per_s``, op kinds and layers from the per-op series, so a new family's
components, levels and kinds appear without a change here.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from sim.result import ENERGY  # noqa: E402

STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9}
MAX_SERIES = 6  # points drawn in per-point panels (spread along the front)
MAX_BARS = 40
MAX_NAMED = 12  # Pareto points numbered on the Pareto plot
MAX_ROOFLINE_LABELS = 8
EXTREMES = 5  # best and worst points added to the energy plot of a large sweep
PREFERRED_COLOURS = {"mac": "#4c72b0", "vector": "#8172b3", "sram": "#55a868", "dram": "#c44e52",
                     "leakage": "#937860"}
LABEL_OFFSETS = [(dx, dy) for r in (9, 18, 30) for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1.3),
                                                               (0, -1.3), (1.4, 0), (-1.4, 0))
                 for dx, dy in [(dx * r, dy * r)]]


def wide(values) -> bool:
    """More than a factor of 20 between the smallest and largest positive value: use a log axis."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and v.max() / v.min() > 20


def log_axis(ax, which: str, base: int = 10) -> None:
    """Log scale on axis ``which`` with plain-number labels (1, 2, 5, 10, ... or powers of two)."""
    getattr(ax, f"set_{which}scale")("log", base=base)
    axis = getattr(ax, f"{which}axis")
    if base == 10:
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def spread(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """At most ``n`` rows, evenly spaced (first and last included)."""
    return rows if len(rows) <= n else rows.iloc[np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))]


def save(fig, path: Path) -> None:
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def place_labels(ax, xs, ys, texts, colour: str = "crimson", fontsize: int = 9) -> None:
    """Annotate points with short texts, each at the first offset whose box overlaps no earlier
    label nor a marker (greedy, in display coordinates); a crowded one gets a leader line."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    markers = ax.transData.transform(np.column_stack([xs, ys]))
    taken: list = []
    for x, y, text in zip(xs, ys, texts):
        for dx, dy in LABEL_OFFSETS:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", color=colour,
                              weight="bold", fontsize=fontsize, ha="center", va="center")
            box = ann.get_window_extent(renderer).expanded(1.1, 1.15)
            if not any(box.overlaps(b) for b in taken) and not any(box.contains(mx, my) for mx, my in markers):
                break
            ann.remove()
        else:
            dx, dy = LABEL_OFFSETS[-1]
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", color=colour, weight="bold",
                              fontsize=fontsize, ha="center", va="center",
                              arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6})
        taken.append(ann.get_window_extent(renderer))


def pareto(df: pd.DataFrame, units: dict, path: Path) -> str:
    """Energy vs latency per work unit, colour = area, the front's points circled and numbered."""
    (ts, tu), (es, eu) = units["time"], units["energy"]
    work = units["work"]
    lat, energy = df["time_per_unit_s"] / ts, df["energy_per_unit_pj"] * 1e-12 / es
    fig, ax = plt.subplots(figsize=(8.5, 5.8))
    sc = ax.scatter(lat, energy, c=df["area_mm2"], cmap="viridis", s=36, edgecolor="k", linewidth=0.3, zorder=2)
    front = df["pareto"].to_numpy()
    order = np.argsort(lat[front].to_numpy(), kind="stable")
    fx, fy = lat[front].iloc[order].to_numpy(), energy[front].iloc[order].to_numpy()
    ax.scatter(fx, fy, s=110, facecolor="none", edgecolor="crimson", lw=1.6, zorder=3,
               label=f"Pareto front on {units['objectives']} ({front.sum()} of {len(df)} points)")
    if wide(lat):
        log_axis(ax, "x")
    if wide(energy):
        log_axis(ax, "y")
    ax.set(xlabel=f"latency per {work} ({tu})", ylabel=f"energy per {work} ({eu})",
           title=f"Energy vs latency per {work} (colour: area)")
    fig.colorbar(sc, ax=ax, label="area (mm²)")
    ax.grid(alpha=0.3, which="both")
    if front.sum() <= MAX_NAMED:
        place_labels(ax, fx, fy, [str(i) for i in range(1, len(fx) + 1)])
        for i, text in enumerate(df.loc[front, "label"].iloc[order], 1):
            ax.scatter([], [], marker=f"${i}$", color="crimson", s=60, label=text)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.13), ncol=1 if df["label"].str.len().max() > 40 else 2,
              fontsize=9, frameon=False)
    save(fig, path)
    return (f"Energy against latency per {work} of every point, coloured by area; circled: the Pareto front on "
            f"{units['objectives']} (a front point may look dominated here when it wins on an objective not drawn).")


def utilization(shown: pd.DataFrame, path: Path) -> str:
    """MAC utilization per layer (MACs / (cycles x peak) over the layer's ops) of a few points."""
    fig, ax = plt.subplots(figsize=(10, 4.6))
    lows = []
    for row in shown.itertuples():
        by_layer = pd.DataFrame({"layer": row.op_layer, "macs": row.op_macs, "cycles": row.op_cycles}).groupby("layer").sum()
        util = 100 * by_layer["macs"] / (by_layer["cycles"] * row.peak_macs_per_cycle)
        lows.append(util[util > 0])
        ax.plot(util.index, util.to_numpy(), marker="o" if len(util) < 40 else None, ms=4, lw=1.3, label=row.label)
    values = pd.concat(lows) if lows else pd.Series(dtype=float)
    if wide(values) or (len(values) and values.min() < 1):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(xlabel="layer", ylabel="MAC utilization (%)",
           title="Utilization per layer (all ops of a layer: MACs / (cycles × peak MACs per cycle))")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.15), ncol=2, frameon=False, fontsize=8)
    save(fig, path)
    return ("MAC utilization per layer at Pareto points, against the model's peak MACs per cycle (log scale when "
            "it spans decades; ops without MACs count as idle time). Per-op series are in ops.csv.")


def bound(shown: pd.DataFrame, path: Path) -> str:
    """Share of time per op kind, split into compute-bound (solid) and memory-bound (hatched) ops."""
    kinds = list(dict.fromkeys(k for ks in shown["op_kind"] for k in ks))
    colours = dict(zip(kinds, plt.get_cmap("tab10" if len(kinds) <= 10 else "tab20").colors))
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.55 * len(shown)))
    for y, row in enumerate(shown.itertuples()):
        ops = pd.DataFrame({"kind": row.op_kind, "bound": row.op_bound, "cycles": row.op_cycles})
        share = 100 * ops.groupby(["kind", "bound"], sort=False)["cycles"].sum() / ops["cycles"].sum()
        left = 0.0
        for kind in kinds:
            for which, hatch in (("compute", None), ("memory", "///")):
                width = share.get((kind, which), 0.0)
                if width:
                    ax.barh(y, width, left=left, color=colours[kind], hatch=hatch, edgecolor="white", height=0.7)
                    left += width
    ax.set_yticks(range(len(shown)), shown["label"], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel="share of time (%)", title="Where the time goes: op kinds, compute- or memory-bound")
    handles = [Patch(color=colours[k], label=k) for k in kinds]
    handles += [Patch(facecolor="white", edgecolor="grey", label="compute-bound"),
                Patch(facecolor="white", edgecolor="grey", hatch="///", label="memory-bound")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    save(fig, path)
    return ("Share of time per op kind at Pareto points: solid where the op's compute exceeds its memory transfer "
            "time (compute-bound), hatched where the transfer does (memory-bound).")


def _stem(name: str) -> str:
    """An op name without its layer prefix (``L3.q_proj`` -> ``q_proj``)."""
    head, _, tail = name.partition(".")
    return tail if tail and head[:1] == "L" and head[1:].isdigit() else name


def roofline(row, level: str, path: Path) -> str:
    """Attained ops/s against operational intensity at ``level`` of one point's ops, with its roofs."""
    ops = pd.DataFrame({"op": [_stem(n) for n in row.op_name], "kind": row.op_kind, "macs": row.op_macs,
                        "bytes": getattr(row, f"op_bytes_{level}"), "cycles": row.op_cycles})
    ops = ops[(ops["macs"] > 0) & (ops["cycles"] > 0)]
    groups = ops.groupby(["op", "kind"], sort=False).sum().reset_index()
    clock = row.clock_hz
    groups["time_s"] = groups["cycles"] / clock
    groups["perf"] = 2 * groups["macs"] / groups["time_s"]
    no_traffic = groups["bytes"] <= 0
    groups["intensity"] = 2 * groups["macs"] / groups["bytes"].where(~no_traffic)
    shown = groups[~no_traffic]
    peak = 2 * row.peak_macs_per_cycle * clock
    bandwidth = getattr(row, f"roof_{level}_bytes_per_s")
    kinds = list(dict.fromkeys(groups["kind"]))
    colours = dict(zip(kinds, plt.get_cmap("tab10").colors))
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    lo = min(shown["intensity"].min() if len(shown) else 1.0, peak / bandwidth) / 4
    hi = max(shown["intensity"].max() if len(shown) else 1.0, peak / bandwidth) * 4
    x = np.geomspace(lo, hi, 200)
    ax.plot(x, np.minimum(peak, bandwidth * x), color="k", lw=1.8, label="roofs (min of the two)")
    ax.plot(x, bandwidth * x, color="k", lw=0.8, ls=":")
    ax.axhline(peak, color="k", lw=0.8, ls=":")
    ax.annotate(f"peak {peak / 1e12:.3g} TOPS", (hi, peak), ha="right", va="bottom", fontsize=8)
    ax.annotate(f"{level} {bandwidth / 1e9:.3g} GB/s", (lo * 1.2, bandwidth * lo * 1.2), rotation=0, fontsize=8,
                va="bottom")
    share = shown["time_s"] / groups["time_s"].sum()
    for kind in kinds:
        sel = shown["kind"] == kind
        ax.scatter(shown.loc[sel, "intensity"], shown.loc[sel, "perf"], s=20 + 400 * share[sel], color=colours[kind],
                   alpha=0.75, edgecolor="k", linewidth=0.4, label=kind, zorder=3)
    log_axis(ax, "x")
    log_axis(ax, "y")
    top = shown.assign(share=share).nlargest(MAX_ROOFLINE_LABELS, "share")
    place_labels(ax, top["intensity"].to_numpy(), top["perf"].to_numpy(), list(top["op"]), colour="#333",
                 fontsize=7)
    ax.set(xlabel=f"operational intensity (ops per {level} byte)", ylabel="attained performance (ops/s)",
           title=f"Roofline of {row.label}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="op kind (size: time share)")
    save(fig, path)
    hidden = f" {int(no_traffic.sum())} op group(s) without {level} traffic are not drawn." if no_traffic.any() else ""
    return (f"Roofline of the best point by energy-delay per work unit: each dot is an op (summed over layers), "
            f"2 × MACs per {level} byte against 2 × MACs per second; roofs: the peak and the {level} bandwidth."
            + hidden)


def energy_components(df: pd.DataFrame) -> list[str]:
    """The energy components of result rows (``energy_<c>_pj`` columns), the common ones first."""
    names = {m.group(1) for c in df.columns if (m := ENERGY.fullmatch(c)) and c != "energy_per_unit_pj"}
    return [c for c in PREFERRED_COLOURS if c in names] + sorted(names - set(PREFERRED_COLOURS))


def energy(ranked: pd.DataFrame, units: dict, path: Path) -> str:
    """Horizontal stacked bars of energy per work unit by component, best on top; a large sweep
    shows the Pareto points and the extremes."""
    shown, note = ranked, ""
    if len(ranked) > MAX_BARS:
        front = spread(ranked[ranked["pareto"]], MAX_BARS - 2 * EXTREMES)
        picked = set(front.index) | set(ranked.index[:EXTREMES]) | set(ranked.index[-EXTREMES:])
        shown = ranked.loc[sorted(picked)]
        note = f"\n{len(shown)} of {len(ranked)} points: the Pareto points and the {EXTREMES} best and worst"
    comps = energy_components(shown)
    spare = iter(plt.get_cmap("tab10").colors[5:] + plt.get_cmap("Set2").colors)
    colours = {c: PREFERRED_COLOURS.get(c) or next(spare) for c in comps}
    es, eu = units["energy"]
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.3 * len(shown)))
    y = np.arange(len(shown))
    left = np.zeros(len(shown))
    for comp in comps:
        values = shown[f"energy_{comp}_pj"].fillna(0).to_numpy() / shown["work_units"].to_numpy() * 1e-12 / es
        ax.barh(y, values, left=left, color=colours[comp], label=comp, height=0.75)
        left += values
    labels = [f"{'★ ' if p else ''}{lab}" for p, lab in zip(shown["pareto"], shown["label"])]
    ax.set_yticks(y, labels, fontsize=8 if len(shown) > 15 else 9)
    ax.invert_yaxis()
    ax.set(xlabel=f"energy per {units['work']} ({eu})",
           title=f"Energy per {units['work']} by component, sorted by energy-delay per {units['work']} (★ = Pareto){note}")
    ax.legend(title="component", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3, axis="x")
    save(fig, path)
    return f"Energy per {units['work']} by component, best energy-delay product per {units['work']} on top."


def versus_param(df: pd.DataFrame, param: str, share: float, units: dict, path: Path) -> str:
    (ts, tu), (es, eu) = units["time"], units["energy"]
    work = units["work"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, values, ylabel in ((axes[0], df["time_per_unit_s"] / ts, f"latency per {work} ({tu})"),
                               (axes[1], df["energy_per_unit_pj"] * 1e-12 / es, f"energy per {work} ({eu})")):
        ax.scatter(df[param], values, s=16, color="grey", alpha=0.6, label="all points")
        best = values.groupby(df[param]).min()
        ax.plot(best.index, best.to_numpy(), "o-", color="crimson", label=f"best at each {param[2:]}")
        ax.set(xlabel=param[2:], ylabel=ylabel)
        if df[param].min() > 0 and df[param].max() >= 4 * df[param].min():
            log_axis(ax, "x", base=2)
        if wide(values):
            log_axis(ax, "y")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend()
    fig.suptitle(f"Latency and energy per {work} vs {param[2:]} ({100 * share:.0f}% of the log-latency variance)")
    fig.tight_layout()
    save(fig, path)
    return f"Latency and energy per {work} vs {param[2:]}, the parameter that explains most of the latency."
