"""Lowering of op kinds to batched GEMMs, checked against hand-computed shapes."""

import numpy as np
import pytest

from sim.errors import TraceFormatError
from sim.lowering import conv_output_size, lower


def arr(**dims):
    return {k: np.array([v]) for k, v in dims.items()}


def test_conv_standard_and_scalesim_output_size():
    # 498-wide input, 3x3 kernel, stride 2: SCALE-Sim's ceil rule gives 249, standard arithmetic 248.
    assert conv_output_size(np.array([498]), np.array([3]), np.array([2]), np.array([0]), "scalesim")[0] == 249
    assert conv_output_size(np.array([498]), np.array([3]), np.array([2]), np.array([0]))[0] == 248
    # 496 with pad 1 gives 248 (PointPillars block 1).
    assert conv_output_size(np.array([496]), np.array([3]), np.array([2]), np.array([1]))[0] == 248


def test_conv_im2col():
    g = lower("conv2d", arr(N=2, C=3, H=10, W=12, K=16, R=3, S=3, stride=1, pad=1))
    assert (g.M[0], g.K[0], g.N[0]) == (2 * 10 * 12, 27, 16)
    assert g.a_elems[0] == 2 * 3 * 10 * 12 and g.w_elems[0] == 27 * 16 and g.o_elems[0] == 2 * 10 * 12 * 16
    assert g.macs[0] == 2 * 10 * 12 * 16 * 27


def test_deconv_kernel_equals_stride():
    g = lower("deconv2d", arr(N=1, C=256, H=62, W=54, K=128, R=4, S=4, stride=4, pad=0))
    assert (g.M[0], g.K[0], g.N[0]) == (62 * 54, 256, 128 * 16)
    assert g.o_elems[0] == 248 * 216 * 128  # 4x upsampled output map


def test_attention_gqa_stacks_query_heads():
    g = lower("attention_score", arr(B=2, H=32, G=8, Q=1, T=4096, D=128))
    assert (g.M[0], g.K[0], g.N[0], g.repeats[0]) == (4, 128, 4096, 16)
    assert g.macs[0] == 2 * 32 * 1 * 4096 * 128
    c = lower("attention_context", arr(B=2, H=32, G=8, Q=1, T=4096, D=128))
    assert (c.M[0], c.K[0], c.N[0]) == (4, 4096, 128) and c.w_operand == "KV"
    with pytest.raises(TraceFormatError, match="multiple of KV heads"):
        lower("attention_score", arr(B=1, H=6, G=4, Q=1, T=8, D=8))


def test_scalesim_mode_rejects_padding_and_unknown_kind():
    with pytest.raises(TraceFormatError, match="no padding"):
        lower("conv2d", arr(N=1, C=1, H=8, W=8, K=1, R=3, S=3, stride=1, pad=1), output_size="scalesim")
    with pytest.raises(TraceFormatError, match="no GEMM lowering"):
        lower("softmax", arr(B=1, H=1, Q=1, T=1))


def test_lower_batch_keeps_only_read_only_batches():
    """A batch whose dims can change is lowered afresh on every call; a read-only one (the engine's)
    once, and its kept lowering cannot be altered."""
    from sim.lowering import lower_batch
    from sim.models import OpBatch

    dims = arr(M=4, N=5, K=6)
    batch = OpBatch("gemm", np.array([0]), np.array(["g"], object), dims, {})
    assert lower_batch(batch).macs[0] == 120
    dims["K"][0] = 7
    assert lower_batch(batch).macs[0] == 140
    for d in dims.values():
        d.flags.writeable = False
    kept = lower_batch(batch)
    assert lower_batch(batch) is kept and lower_batch(batch, "scalesim") is not kept
    with pytest.raises(ValueError, match="read-only"):
        kept.macs[0] = 0
