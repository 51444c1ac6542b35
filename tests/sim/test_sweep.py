"""Sweeps: expansion, validation, resume, a SIGKILL or Ctrl-C mid-sweep, and the Dask backend."""

import itertools
import json
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pandas.testing import assert_frame_equal

from sim.cli import main
from sim.errors import ConfigError, DSEError
from sim.point import code_version
from sim.sweep import CHUNK_SECONDS, _chunks, _evaluate_chunk, expand, load_results, load_spec, run_sweep

SMALL = {"model": "llama-2-7b", "phase": "decode", "batch": 1, "context": 128, "num_layers": 1}


def spec(**fields) -> dict:
    return {"name": "t", "config": "edge-32", "workload": SMALL, **fields}


def test_grid_order_and_size():
    grid = {"array.rows": [8, 16, 32], "array.dataflow": ["os", "ws"], "workload.batch": [1, 2]}
    points = expand(spec(grid=grid))
    expected = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    assert [p.params for p in points] == expected
    assert [p.index for p in points] == list(range(12))
    assert len({p.key for p in points}) == 12
    last = points[-1].point
    assert last["config"]["array"]["rows"] == 32 and last["config"]["array"]["dataflow"] == "ws"
    assert last["workload"] == {**SMALL, "batch": 2}


def test_cases_change_parameters_together_and_cross_the_grid(tmp_path):
    cases = {"w8a8": {"mac.weight_format": "int8", "mac.act_format": "int8",
                      "workload.formats": {"W": "int8", "A": "int8", "O": "int8", "KV": "int8"}},
             "w4a4": {"mac.weight_format": "int4", "mac.act_format": "int4",
                      "workload.formats": {"W": "int4", "A": "int4", "O": "int4", "KV": "int4"}}}
    points = expand(spec(grid={"array.rows": [8, 16]}, cases=cases))
    assert [(p.params["array.rows"], p.params["case"]) for p in points] == [
        (8, "w8a8"), (8, "w4a4"), (16, "w8a8"), (16, "w4a4")]
    assert points[1].point["config"]["mac"] == {"operand_bits": 8, "acc_bits": 32, "weight_format": "int4",
                                                "act_format": "int4"}
    assert points[1].point["workload"]["formats"]["W"] == "int4"
    assert "case" not in points[1].point["config"]
    table = run_sweep(spec(cases=cases), tmp_path / "sw", n_jobs=1, progress=False)
    assert list(table["p.case"]) == ["w8a8", "w4a4"]
    assert table["energy_mac_pj"].iloc[1] < table["energy_mac_pj"].iloc[0]
    with pytest.raises(ConfigError, match="cases.w8a8.array.rows: got 'array.rows'; allowed: a parameter not also in grid"):
        expand(spec(grid={"array.rows": [8]}, cases={"w8a8": {"array.rows": 4}}))


def test_grid_crossed_with_random_samples():
    points = expand(spec(grid={"array.rows": [8, 16]},
                         random={"n": 3, "seed": 5, "params": {"clock_ghz": {"low": 0.5, "high": 2}}}))
    assert [p.params["array.rows"] for p in points] == [8, 8, 8, 16, 16, 16]
    clocks = [p.params["clock_ghz"] for p in points]
    assert clocks[:3] == clocks[3:] and len(set(clocks)) == 3


def test_random_reproducible_and_within_bounds():
    params = {"dram.bandwidth_gbs": {"low": 1, "high": 1e4, "log": True},
              "array.rows": {"low": 2, "high": 9, "integer": True},
              "array.dataflow": {"choices": ["os", "ws", "is"]},
              "clock_ghz": {"low": 0.5, "high": 1.5}}
    draw = lambda seed: [p.params for p in expand(spec(random={"n": 600, "seed": seed, "params": params}))]
    first = draw(7)
    assert first == draw(7) and first != draw(8)
    bw = pd.Series([p["dram.bandwidth_gbs"] for p in first])
    assert bw.between(1, 1e4).all() and 0.4 < (bw < 100).mean() < 0.6  # log-uniform: median 100
    rows = [p["array.rows"] for p in first]
    assert all(type(r) is int for r in rows) and set(rows) == set(range(2, 10))
    assert {p["array.dataflow"] for p in first} == {"os", "ws", "is"}
    assert all(0.5 <= p["clock_ghz"] <= 1.5 for p in first)


@pytest.mark.parametrize("fields, message", [
    ({"colour": "red"}, r"colour: unknown key; allowed: name, config, workload, grid, cases, random"),
    ({"grid": {"array.rows": 8}}, r"grid\.array\.rows: got 8; allowed: a list"),
    ({"grid": {"array.rows": []}}, r"grid\.array\.rows: got \[\]"),
    ({"config": 5}, r"config: got 5; allowed: a preset name, a YAML path or a mapping"),
    ({"grid": {"arrays.rows": [8]}}, r"sweep point 0 \{'arrays\.rows': 8\}: .*arrays: unknown key"),
    ({"grid": {"array..rows": [8]}}, r"grid\.array\.\.rows: .*allowed: a dotted config path"),
    ({"grid": {"workload.a.b": [8]}}, r"grid\.workload\.a\.b: .*allowed: a dotted config path or workload\.<key>"),
    ({"grid": {"array.rows": [8, 0]}}, r"sweep point 1 \{'array\.rows': 0\}: .*array\.rows: got 0; allowed: an integer from 1 to 4096"),
    ({"random": {"n": 2, "params": {"dram.bandwidth_gbs": {"low": -1e308, "high": 1e308}}}},
     r"random\.params\.dram\.bandwidth_gbs: .*allowed: low and high whose difference is a finite number"),
    ({"random": {"n": 2, "seed": -1, "params": {"array.rows": {"low": 1, "high": 4}}}},
     r"random\.seed: got -1; allowed: an integer >= 0"),
    ({"random": {"n": 2, "params": {"array.rows": {"low": 1, "high": 4, "step": 2}}}},
     r"random\.params\.array\.rows\.step: unknown key; allowed: choices, low, high, log, integer"),
    ({"random": {"n": 2, "params": {"clock_ghz": {"low": 2, "high": 1}}}}, r"random\.params\.clock_ghz: .*low <= high"),
    ({"random": {"n": 2, "params": {"clock_ghz": {"low": 0, "high": 1, "log": True}}}}, r"low > 0 with log"),
    ({"random": {"n": 2, "params": {"array.rows": {"low": 1.5, "high": 4, "integer": True}}}}, r"whole-number"),
    ({"random": {"n": 0, "params": {"clock_ghz": {"low": 1, "high": 2}}}}, r"random\.n: got 0"),
    ({"grid": {"clock_ghz": [1]}, "random": {"n": 2, "params": {"clock_ghz": {"choices": [1]}}}},
     r"random\.params\.clock_ghz: .*not also in grid"),
])
def test_bad_specs_raise_one_line_config_errors(fields, message):
    with pytest.raises(ConfigError, match=message) as info:
        expand(spec(**fields))
    assert "\n" not in str(info.value)


def test_missing_field_and_bad_workload_value():
    with pytest.raises(ConfigError, match=r"sweep spec: name: missing"):
        expand({"config": "edge-32", "workload": SMALL})
    with pytest.raises(DSEError, match=r"sweep point 1 \{'workload\.context': 0\}: workload\.context: got 0"):
        expand(spec(grid={"workload.context": [16, 0]}))


def test_load_spec(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.yaml").write_text(
        "model: systolic\nname: mine\narray: {rows: 4, cols: 8}\n"
        "sram: {ifmap_kb: 8, filter_kb: 8, ofmap_kb: 8}\ndram: {bandwidth_gbs: 10}\n")
    (tmp_path / "sub" / "spec.yaml").write_text(
        "name: s\nconfig: mine.yaml\nworkload: {model: resnet-50}\ngrid: {array.rows: [4, 8]}\n")
    monkeypatch.chdir(tmp_path)  # the config path is relative to the spec file, not the cwd
    points = expand(load_spec("sub/spec.yaml"))
    assert [p.point["config"]["name"] for p in points] == ["mine", "mine"]
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_spec("nope.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML at line 2"):
        load_spec("bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match=r"top level must be a mapping"):
        load_spec("list.yaml")
    with pytest.raises(ConfigError, match=r"colour: unknown key"):
        load_spec(Path(__file__).parents[1] / "data/bad/sweep_unknown_key.yaml")


def test_resume_duplicates_and_reordering(tmp_path):
    grid = {"array.rows": [8, 16, 8], "array.dataflow": ["os", "ws"]}  # rows 8 twice: 4 distinct keys
    first = run_sweep(spec(grid=grid), tmp_path, n_jobs=1, progress=False)
    assert (first.attrs["computed"], first.attrs["cached"]) == (4, 0)
    assert list(first["point"]) == list(range(6)) and len(list((tmp_path / "points").glob("*.parquet"))) == 4
    assert list(first.columns[:4]) == ["point", "key", "p.array.rows", "p.array.dataflow"]
    assert {"cycles", "energy_pj", "time_s", "op_cycles", "point_json"} <= set(first.columns)
    assert first.loc[0, "cycles"] == first.loc[4, "cycles"] and first.loc[0, "cycles"] != first.loc[1, "cycles"]

    again = run_sweep(spec(grid=grid), tmp_path, n_jobs=1, progress=False)
    assert (again.attrs["computed"], again.attrs["cached"]) == (0, 4)
    assert_frame_equal(again, first)
    assert_frame_equal(load_results(tmp_path), first)
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [(r["computed"], r["cached"]) for r in runs] == [(4, 0), (0, 4)] and runs[0]["end"] >= runs[0]["start"]

    # The same points under a reordered grid: nothing recomputed, indices follow the new order.
    flipped = run_sweep(spec(grid={"array.dataflow": ["ws", "os"], "array.rows": [16, 8]}), tmp_path,
                        n_jobs=1, progress=False)
    assert flipped.attrs["computed"] == 0
    order = list(zip(flipped["p.array.dataflow"], flipped["p.array.rows"]))
    assert order == [("ws", 16), ("ws", 8), ("os", 16), ("os", 8)]
    assert flipped.loc[3, "cycles"] == first.loc[0, "cycles"]


def test_runtime_error_names_point_and_keeps_finished(tmp_path):
    # vector.lanes 0 is a valid config, but a model without a vector unit rejects elementwise ops at run time.
    message = r"^sweep point 1 \{'vector\.lanes': 0\}: .*cannot run op .* of kind 'elementwise'"
    with pytest.raises(DSEError, match=message) as info:
        run_sweep(spec(grid={"vector.lanes": [64, 0, 32]}), tmp_path, n_jobs=1, progress=False)
    assert "\n" not in str(info.value)
    assert len(list((tmp_path / "points").glob("*.parquet"))) == 1
    partial = load_results(tmp_path)
    assert list(partial["point"]) == [0] and list(partial["p.vector.lanes"]) == [64]
    assert json.loads((tmp_path / "runs.jsonl").read_text())["computed"] == 1


def test_a_chunk_keeps_the_points_before_an_error():
    points = expand(spec(grid={"vector.lanes": [64, 32, 0, 16]}))  # lanes 0 rejects elementwise ops at run time
    keys, data, _, error = _evaluate_chunk(points)
    assert keys == [points[0].key, points[1].key]
    assert pq.read_table(pa.BufferReader(data))["key"].to_pylist() == keys
    assert str(error).startswith("sweep point 2 {'vector.lanes': 0}: ")


def test_chunks_hold_about_chunk_seconds_of_work_and_shrink_towards_the_end():
    todo, pace = list(range(1000)), [None]
    chunks = _chunks(todo, 2, pace)
    assert next(chunks) == [0]  # single points until a chunk has finished
    pace[0] = CHUNK_SECONDS / 50  # 50 points of work per chunk from now on
    rest = list(chunks)
    assert [0] + [i for c in rest for i in c] == todo
    sizes = [len(c) for c in rest]
    assert max(sizes) == 50 and sizes[0] == 50 and sizes[-1] == 1
    remaining = len(todo) - 1
    for size in sizes:  # never more than a quarter of what is left on 2 workers, so both stay busy
        assert size <= max(1, remaining / 4)
        remaining -= size


KILL_GRID = {"array.rows": list(range(8, 168, 8)), "array.cols": list(range(8, 128, 8))}  # 300 points
KILL_SPEC = {"name": "kill", "config": "edge-32", "grid": KILL_GRID,
             "workload": {"model": "llama-2-70b", "phase": "decode", "batch": 1, "context": 2048}}
KILL_CHILD = ("import json, sys; from sim.sweep import run_sweep; "
              "run_sweep(json.loads(sys.argv[1]), sys.argv[2], n_jobs=1, progress=False)")


def test_sigkill_mid_sweep_then_resume(tmp_path):
    total = len(KILL_GRID["array.rows"]) * len(KILL_GRID["array.cols"])
    code_version.cache_clear()  # keys hash the source files: read them now, as the child does
    killed, points_dir = tmp_path / "killed", tmp_path / "killed" / "points"
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, json.dumps(KILL_SPEC), str(killed)])
    deadline = time.monotonic() + 60
    while len(list(points_dir.glob("*.parquet"))) < 3 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    chunks = {f.name: f.stat().st_mtime_ns for f in points_dir.glob("*.parquet")}
    keys = [k for name in chunks for k in pq.read_table(points_dir / name, columns=["key"])["key"].to_pylist()]
    assert 0 < len(keys) < total, f"kill came too late or too early: {len(keys)} of {total} finished"
    assert len(set(keys)) == len(keys)  # no point stored twice
    assert not (killed / "results.parquet").exists()
    assert len(load_results(killed)) == len(keys)
    child_version = json.loads((killed / "sweep.json").read_text())["code_version"]
    assert child_version == code_version(), "sources under sim/ or workloads/ changed during the test; rerun it"

    resumed = run_sweep(KILL_SPEC, killed, n_jobs=2, progress=False)
    assert (resumed.attrs["computed"], resumed.attrs["cached"]) == (total - len(keys), len(keys))
    assert {name: (points_dir / name).stat().st_mtime_ns for name in chunks} == chunks  # finished chunks untouched
    clean = run_sweep(KILL_SPEC, tmp_path / "clean", n_jobs=2, progress=False)
    assert clean.attrs["computed"] == total
    assert_frame_equal(resumed.sort_values("point", ignore_index=True), clean.sort_values("point", ignore_index=True))


def test_dask_backend_matches_joblib(tmp_path):
    distributed = pytest.importorskip("distributed")
    small = spec(grid={"array.rows": [8, 16, 32], "array.dataflow": ["os", "ws"]})
    local = run_sweep(small, tmp_path / "joblib", n_jobs=2, progress=False)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        remote = run_sweep(small, tmp_path / "dask", dask_address=cluster.scheduler_address, progress=False)
    assert remote.attrs["computed"] == 6
    assert_frame_equal(remote, local)


def _finished_keys(points_dir: Path) -> list[str]:
    return [k for f in points_dir.glob("*.parquet") for k in pq.read_table(f, columns=["key"])["key"].to_pylist()]


def test_ctrl_c_prints_the_resume_command_and_keeps_finished_points(tmp_path):
    total = len(KILL_GRID["array.rows"]) * len(KILL_GRID["array.cols"])
    code_version.cache_clear()
    (tmp_path / "kill.yaml").write_text(yaml.safe_dump(KILL_SPEC))
    out, points_dir = tmp_path / "out", tmp_path / "out" / "points"
    child = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", "kill.yaml", "-o", "out", "-j", "1",
                              "--no-progress"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(points_dir.glob("*.parquet")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    err = child.communicate(timeout=60)[1]
    finished = _finished_keys(points_dir)
    assert 0 < len(finished) < total, f"Ctrl-C came too late or too early: {len(finished)} of {total} finished"
    assert child.returncode == 130 and err.count("\n") == 1, err
    message, _, command = err.strip().partition("; resume with: ")
    assert message == f"dse: interrupted: {len(finished)} of {total} points finished and kept in out"
    assert shlex.split(command) == ["dse", "sweep", "kill.yaml", "-o", "out", "-j", "1", "--no-progress"]

    chunks = {f: f.stat().st_mtime_ns for f in points_dir.glob("*.parquet")}
    with pytest.MonkeyPatch.context() as mp:  # run the printed command here
        mp.chdir(tmp_path)
        assert main(shlex.split(command)[1:]) == 0
    last = json.loads((out / "runs.jsonl").read_text().splitlines()[-1])
    assert (last["computed"], last["cached"]) == (total - len(finished), len(finished))
    assert {f: f.stat().st_mtime_ns for f in chunks} == chunks
    assert sorted(_finished_keys(points_dir)) == sorted(set(_finished_keys(points_dir)))
    assert len(pd.read_parquet(out / "results.parquet")) == total


def test_unreachable_dask_scheduler_is_one_line_and_writes_nothing(tmp_path, capsys):
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # a local port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec(grid={"array.rows": [8, 16]})))
    out = tmp_path / "out"
    argv = ["sweep", str(tmp_path / "spec.yaml"), "-o", str(out), "--dask", address, "--dask-timeout", "0.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"dse: error: --dask: got {address!r}, which could not be reached")
    assert "after 0.5 s" in err  # the scheduler was given the timeout asked for, not the 30 s default
    assert not out.exists()
    assert main([*argv[:-1], "0"]) == 2
    assert capsys.readouterr().err == "dse: error: --dask-timeout: got 0.0; allowed: a number of seconds > 0\n"
