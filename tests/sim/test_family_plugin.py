"""A hardware family defined here, in the test, runs through the CLI's run, sweep and report with no
change under sim/; a family in an installed package appears in `dse list` through its entry point."""

import math
import os
import subprocess
import sys
import textwrap
from typing import Literal

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import Field

from sim.cli import main
from sim.errors import ConfigError, ModelError
from sim.models import Family, MemoryLevel, OpBatch, families, register_family, unregister_family
from sim.pareto import Metric
from sim.tech import TechValue
from sim.validation import Strict

MAC_PJ, LINK_PJ_PER_BYTE = 0.5, 10.0


class StreamConfig(Strict):
    """A toy near-memory unit: ``lanes`` MACs per cycle fed over a link of ``link_bytes_per_cycle``."""

    model: Literal["stream"]
    name: str = "stream"
    clock_ghz: float = Field(1.0, gt=0)
    lanes: int = Field(64, ge=1)
    link_bytes_per_cycle: float = Field(16.0, gt=0)


class StreamUnit:
    """Charges attention by the real KV lengths of a ragged batch (the ``kv_len`` payload) and moves
    every operand over a ``link`` memory level that no built-in family has."""

    kinds = ("gemm", "elementwise", "kv_append", "attention_score", "softmax", "attention_context")
    summed_columns = op_series = ("kv_tokens",)  # a family column the totals and sweep rows carry

    def __init__(self, config: StreamConfig):
        self.config, self.name = config, config.name
        self.clock_hz = config.clock_ghz * 1e9
        self.peak_macs_per_cycle = config.lanes
        self.memory_levels = (MemoryLevel("link", config.link_bytes_per_cycle),)
        self.basis = {"mac_pj": TechValue(MAC_PJ, "pJ", "test constant"),
                      "link_pj_per_byte": TechValue(LINK_PJ_PER_BYTE, "pJ/B", "test constant")}
        self.formulas = {"energy": "MACs x mac_pj + link bytes x link_pj_per_byte"}

    def area(self):
        return {"lanes": TechValue(0.01 * self.config.lanes, "mm2", "test constant")}

    def evaluate(self, batch: OpBatch):
        d, n = batch.dims, len(batch)
        tokens = np.zeros(n)
        if batch.kind == "gemm":
            macs, nbytes = d["M"] * d["N"] * d["K"], d["K"] * d["N"] + d["M"] * (d["K"] + d["N"])
        elif batch.kind in ("attention_score", "attention_context"):
            lengths = [kv if kv is not None else np.full(b, t) for kv, b, t in zip(batch.payload("kv_len"), d["B"], d["T"])]
            tokens = np.array([float(np.sum(kv)) for kv in lengths])
            macs, nbytes = tokens * d["H"] * d["D"], 2 * tokens * d["G"] * d["D"]
        else:
            macs, nbytes = np.zeros(n, np.int64), np.full(n, 64)
        compute = np.ceil(macs / self.config.lanes)
        link = nbytes / self.config.link_bytes_per_cycle
        cycles = np.maximum(compute, np.ceil(link)).astype(np.int64)
        return {"cycles": cycles, "compute_cycles": compute, "stall_cycles": cycles - compute, "memory_cycles": link,
                "macs": macs, "bytes_link_read": nbytes, "bytes_link_write": np.zeros(n),
                "energy_compute_pj": macs * MAC_PJ, "energy_link_pj": nbytes * LINK_PJ_PER_BYTE, "kv_tokens": tokens}


def stream_section(points, out, table):
    """A family section: a table of lanes against link traffic per token and KV tokens read."""
    shown = pd.DataFrame({"lanes": points["p.lanes"], "link MB per token": points["bytes_link_read"] / points["work_units"] / 1e6,
                          "KV tokens": points["kv_tokens"], "by the first op": [s[6] for s in points["op_kv_tokens"]]})
    return f"<h2>Stream unit section</h2>{table(shown)}", {}


@pytest.fixture
def stream_family():
    family = register_family(Family("stream", StreamConfig, StreamUnit, "toy near-memory unit (test)",
                                    sections=(stream_section,),
                                    metrics={"link_traffic": Metric("bytes_link_read", "min", "link bytes read")}))
    yield family
    unregister_family("stream")


WORKLOAD = ["-w", "llama-2-7b", "-p", "phase=decode", "-p", "kv_lengths=[100, 4000]", "-p", "num_layers=1"]


def test_family_runs_through_run_sweep_and_report(stream_family, tmp_path, capsys):
    config = tmp_path / "stream.yaml"
    config.write_text("model: stream\nname: my-stream\nlanes: 32\n")
    assert main(["run", "-c", str(config), *WORKLOAD, "-o", str(tmp_path / "ops.csv")]) == 0
    printed = capsys.readouterr().out
    assert "my-stream:" in printed and "per token (2 per run)" in printed

    ops = pd.read_csv(tmp_path / "ops.csv").set_index("name")
    h, d = 32, 128  # LLaMA-2-7B heads and head dim
    score = ops.loc["L0.attn_score"]
    assert score["macs"] == (100 + 4000) * h * d  # the payload's real lengths, not 2 x 4000
    assert score["compute_cycles"] == math.ceil((100 + 4000) * h * d / 32)
    assert score["bytes_link_read"] == 2 * (100 + 4000) * h * d and score["bound"] == "memory"
    assert score["cycles"] == score["bytes_link_read"] / 16  # the link, not the lanes, sets the time
    assert "bytes_dram_read" not in ops and ops["energy_pj"].sum() == pytest.approx(
        (ops["energy_compute_pj"] + ops["energy_link_pj"]).sum())

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "stream-lanes", "config": "stream.yaml",
                                    "workload": {"model": "llama-2-7b", "phase": "decode", "kv_lengths": [100, 4000],
                                                 "num_layers": 1},
                                    "grid": {"lanes": [16, 64, 256], "link_bytes_per_cycle": [8.0, 64.0]},
                                    "objectives": ["latency_per_unit", "link_traffic", "area"]}))
    assert main(["sweep", str(spec), "-o", str(tmp_path / "sweep"), "-j", "2", "--no-progress"]) == 0  # worker processes
    assert main(["report", str(tmp_path / "sweep"), "-o", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Stream unit section" in page and "link read (MB/token)" in page and "link_pj_per_byte" in page
    assert "MACs x mac_pj + link bytes x link_pj_per_byte" in page
    points = pd.read_csv(tmp_path / "report" / "points.csv")
    assert len(points) == 6 and set(points["model"]) == {"stream"}
    assert {"energy_compute_pj", "energy_link_pj", "bytes_link_read", "roof_link_bytes_per_s"} <= set(points.columns)
    assert (points["work_units"] == 2).all() and points["pareto"].any()
    assert (points["kv_tokens"] == 2 * (100 + 4000)).all()  # the family's summed column: score + context op
    assert "latency per token, link traffic, area" in page and "<td>8200</td><td>4100</td>" in page
    from sim.report_plots import energy_components

    assert energy_components(points) == ["compute", "link"]


def test_family_config_errors_are_one_line(stream_family, tmp_path):
    from sim.config import load_config

    base = {"model": "stream", "lanes": 8}
    with pytest.raises(ConfigError, match=r"config stream: lanes: got True; allowed: an integer$"):
        load_config({**base, "lanes": True})
    with pytest.raises(ConfigError, match=r"array: unknown key; allowed: model, name, clock_ghz, lanes, "
                                          r"link_bytes_per_cycle \(array is a field of model 'systolic', 'spade', not of 'stream'\)"):
        load_config({**base, "array": {"rows": 8, "cols": 8}})
    with pytest.raises(ConfigError, match=r"model: got 'streem'; allowed: systolic, spade, stream"):
        load_config({**base, "model": "streem"})


def test_a_model_that_omits_a_required_column_is_an_error(stream_family):
    from sim.config import load_config
    from sim.engine import run
    from workloads import build

    class Forgetful(StreamUnit):
        def evaluate(self, batch):
            out = super().evaluate(batch)
            out.pop("bytes_link_write")
            return out

    trace = build({"model": "llama-2-7b", "phase": "decode", "context": 64, "num_layers": 1})
    with pytest.raises(ModelError, match=r"model 'stream', op kind 'elementwise': evaluate returned no 'bytes_link_write'"):
        run(trace, Forgetful(load_config({"model": "stream"})))


PLUGIN = '''
from typing import Literal
from sim.models import Family, MemoryLevel
from sim.validation import Strict


class PimConfig(Strict):
    model: Literal["pim-toy"]
    banks: int = 16


class Pim:
    name, clock_hz, kinds, basis, formulas = "pim-toy", 1e9, ("gemm",), {}, {}

    def __init__(self, config):
        self.peak_macs_per_cycle = 16 * config.banks
        self.memory_levels = (MemoryLevel("bank", 32.0 * config.banks),)

    def area(self):
        return {}

    def evaluate(self, batch):
        macs = batch.dims["M"] * batch.dims["N"] * batch.dims["K"]
        cycles = -(-macs // self.peak_macs_per_cycle)
        return {"cycles": cycles, "compute_cycles": cycles, "stall_cycles": 0 * cycles, "macs": macs,
                "bytes_bank_read": 1.0 * macs, "bytes_bank_write": 0.0 * macs}


FAMILY = Family("pim-toy", PimConfig, Pim, "a family from an installed package")
'''


def test_installed_package_adds_a_family_through_its_entry_point(tmp_path):
    package = tmp_path / "src"
    (package / "dse_pim_toy").mkdir(parents=True)
    (package / "dse_pim_toy" / "__init__.py").write_text(PLUGIN)
    (package / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "dse-pim-toy"
        version = "0.0.1"
        [project.entry-points."accel_dse.families"]
        pim-toy = "dse_pim_toy:FAMILY"
        [tool.setuptools]
        packages = ["dse_pim_toy"]
        """))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(package)], check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    listing = subprocess.run([sys.executable, "-m", "sim.cli", "list"], capture_output=True, text=True, env=env,
                             timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert "pim-toy" in listing.stdout and "a family from an installed package" in listing.stdout
    assert "fields: model, banks" in listing.stdout
    assert "pim-toy" not in families()  # this process did not install it
    config = tmp_path / "pim.yaml"
    config.write_text("model: pim-toy\nbanks: 4\n")
    ran = subprocess.run([sys.executable, "-m", "sim.cli", "run", "-c", str(config), "-w", "resnet-50", "-p", "layers=[fc]"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    cycles = -(-2048 * 1000 // 64)  # ResNet-50 fc: 2048 x 1000 MACs at 16 x 4 per cycle
    assert f"{cycles} cycles" in ran.stdout and "per sample" in ran.stdout
