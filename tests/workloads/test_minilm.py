"""Real-weight quantization study on all-MiniLM-L6-v2: capture, metrics, and the format ranking."""

import numpy as np
import pytest

from workloads.minilm import (asymmetry, capture, metrics, output_sqnr, output_sqnr_summary,
                              published_output_sqnr, ranking, study)

pytestmark = pytest.mark.numba  # the study quantizes to the MX formats


def test_metrics_by_hand():
    x = np.array([1.0, -2.0, 0.5, 0.0])
    q = np.array([1.0, -2.0, 0.0, 0.0])
    m = metrics(x, q)
    assert m["mse"] == 0.25 / 4 and m["max_err"] == 0.5 and m["underflow"] == pytest.approx(1 / 3)
    assert m["sqnr_db"] == pytest.approx(10 * np.log10(5.25 / 0.25))
    assert asymmetry(np.concatenate([np.linspace(-1, 1, 32), np.linspace(0.1, 2, 32)])) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def table():
    return study()[0]


def test_capture_has_every_linear_layer_with_real_weights():
    layers = capture()
    assert len(layers) == 37  # 6 encoder layers x (q, k, v, attn out, ffn in, ffn out) + pooler
    weight, act = layers["0.model.encoder.layer.0.intermediate.dense"]
    assert weight.shape == (1536, 384) and act.shape[1] == 384 and act.shape[0] > 20
    assert 0.01 < np.std(weight) < 1 and np.isfinite(act).all()


def test_ranking_and_seed_paper_directions(table):
    r = ranking(table)
    assert r.loc["mxint8", "weight"] > r.loc["mxfp8_e4m3", "weight"] > r.loc["mxfp4", "weight"]
    for operand in ("weight", "activation"):
        assert r.loc["amxfp4", operand] > r.loc["mxfp4", operand] + 1  # AMXFP4 beats MXFP4 by > 1 dB
        assert r.loc["dint4", operand] > r.loc["int4", operand]  # dINT4 beats INT4 at equal scales
    underflow = table.groupby(["operand", "format"])["underflow"].mean()
    assert underflow["weight", "dint4"] < 0.6 * underflow["weight", "int4"]  # denormals catch small weights


def test_output_sqnr_is_committed_and_orders_as_the_seed_papers_claim():
    fresh = output_sqnr_summary(output_sqnr())
    committed = published_output_sqnr()
    assert fresh.to_dict("records") == committed.to_dict("records"), "rerun python -m workloads.minilm"
    sqnr = committed.set_index("pe")["sqnr_db_mean"]
    assert sqnr["int8xint8"] > sqnr["amxfp4"] > sqnr["mxfp4"] > sqnr["int4xint4"]
    assert sqnr["dint4xint8"] > sqnr["int4xint8"]
