"""Help that teaches: every option explained, every command described with examples that parse,
"did you mean" for misspelled names, and `dse list` showing preset values and workload parameters."""

import argparse
import shlex

import pytest

from sim import cli
from sim.errors import DSEError, suggest


def _commands() -> dict[str, argparse.ArgumentParser]:
    top = cli.parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return {"": top, **sub.choices}


def _examples(p: argparse.ArgumentParser) -> list[str]:
    """The example command lines of a parser's epilog (comments and pipes cut off)."""
    lines = (p.epilog or "").split("examples:\n", 1)[-1].splitlines() if "examples:\n" in (p.epilog or "") else []
    return [line.split("#")[0].split("|")[0].strip() for line in lines if line.strip().startswith("dse ")]


@pytest.mark.parametrize("name", list(_commands()))
def test_every_option_has_help_and_every_command_a_description_and_examples(name):
    p = _commands()[name]
    undocumented = [a.option_strings or a.dest for a in p._actions
                    if not isinstance(a, argparse._HelpAction) and (not a.help or a.help == argparse.SUPPRESS)]
    assert not undocumented, f"dse {name}: options without help text: {undocumented}"
    assert p.description, f"dse {name}: no description"
    assert _examples(p), f"dse {name}: no examples in the epilog"


@pytest.mark.parametrize("name", list(_commands()))
def test_examples_parse(name):
    top = cli.parser()
    for example in _examples(_commands()[name]):
        argv = shlex.split(example)[1:]
        if argv[:1] == ["COMMAND"]:
            continue
        args = top.parse_args(argv)
        assert args.command == (name or argv[0]), example


def test_misspelled_subcommand_and_choice_get_a_suggestion(capsys):
    for argv, expected in ((["swep"], "did you mean 'sweep'?"), (["trace", "inspct", "x.parquet"], "'inspect'?"),
                           (["scalesim", "-c", "a", "-t", "b", "-o", "c", "-i", "gem"], "'gemm'?")):
        with pytest.raises(SystemExit) as exc:
            cli.parser().parse_args(argv)
        assert exc.value.code == 2
        assert expected in capsys.readouterr().err


def test_suggest():
    assert suggest("lama-2-7b", ["llama-2-7b", "resnet-50"]) == "; did you mean 'llama-2-7b'?"
    assert suggest("vgg-16", ["llama-2-7b", "resnet-50"]) == ""


def _error(call) -> str:
    with pytest.raises(DSEError) as exc:
        call()
    return str(exc.value)


def test_misspelled_names_get_a_suggestion():
    from hw.generators import build as rtl_build
    from sim.config import load_config
    from sim.models import get_family
    from sim.models.pes import get_pe
    from sim.numerics.storage import check_format
    from sim.sweep import validate_spec
    from workloads import build

    decode = {"model": "llama-2-7b", "phase": "decode", "context": 16, "num_layers": 1}
    cases = [
        (lambda: load_config("edge32"), "did you mean 'edge-32'?"),  # preset
        (lambda: build({**decode, "model": "lama-2-7b"}), "did you mean 'llama-2-7b'?"),  # zoo model
        (lambda: build({**decode, "contxt": 16}), "did you mean 'context'?"),  # workload key
        (lambda: build({**decode, "formats": {"W": "mxfp5"}}), "did you mean 'mxfp4'?"),  # format
        (lambda: load_config({"model": "systolik"}), "did you mean 'systolic'?"),  # family
        (lambda: get_family("systolik"), "did you mean 'systolic'?"),
        (lambda: get_pe("int8xint9"), "did you mean 'int8xint8'?"),  # PE
        (lambda: check_format("amxfp5"), "did you mean 'amxfp4'?"),
        (lambda: load_config("edge-32", {"array.dataflw": "os"}), "did you mean 'dataflow'?"),  # config key
        (lambda: load_config("edge-32", {"dram.kind": "hbm3e"}), "did you mean 'hbm3'?"),  # DRAM kind
        (lambda: validate_spec({"name": "s", "config": "edge-32", "workload": decode, "objectives": ["latncy"]}),
         "did you mean 'latency'?"),  # sweep objective
        (lambda: rtl_build("int8xint9"), "did you mean 'int8xint8'?"),  # rtl generator
    ]
    for call, expected in cases:
        assert expected in _error(call)


def test_list_shows_preset_values_and_workload_parameters(capsys):
    cli.main(["list"])
    out = capsys.readouterr().out
    # edge-32 (sim/presets/edge-32.yaml): 32x32 OS at 0.5 GHz, 64 KiB buffers, DDR4 at 12.8 GB/s, 8-bit MACs
    assert "array: rows 32, cols 32, dataflow os" in out
    assert "clock_ghz 0.5" in out and "sram: ifmap_kb 64, filter_kb 64, ofmap_kb 64" in out
    assert "dram: kind ddr4, bandwidth_gbs 12.8" in out and "mac: operand_bits 8, acc_bits 32" in out
    # edge-128 sets no bandwidth: a DDR4-3200 x64 channel is 3200 MT/s x 8 B = 25.6 GB/s
    assert "dram: kind ddr4 (25.6 GB/s from the kind)" in out
    assert "phase=prefill: prompt (required), batch=1" in out
    assert "llama-2-70b" in out and "num_layers 1 to 80" in out  # Llama-2-70B has 80 layers
    assert "resnet-50" in out and "layers: 54 (conv1, ..., fc)" in out  # 1 stem + 16x3 bottleneck + 4 downsample + fc


def test_missing_workload_names_only_options_the_command_takes(capsys):
    assert cli.main(["trace", "inspect"]) == 2
    err = capsys.readouterr().err
    assert "give -w MODEL (see `dse list`) or a trace FILE" in err and "--trace" not in err
    assert cli.main(["run", "-c", "edge-32"]) == 2
    assert "or --trace FILE" in capsys.readouterr().err
