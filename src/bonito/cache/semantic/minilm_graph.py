"""all-MiniLM-L6-v2's six BERT layers as an ONNX graph, run by onnxruntime on one thread.

The graph is built in memory from the safetensors weights (nothing is downloaded or written): onnxruntime's
matrix kernels run a prompt's few-row matmuls about twice as fast as NumPy's BLAS (docs/cache.md), and the
feed-forward weights in int8 let the whole graph sit in the CPU's cache: a short prompt is ~3 ms of CPU. Input: one text's normalised input embeddings (n, 384); output: the
mean of the last layer over its n tokens (384), not yet L2-normalised, and the last layer itself (n, 384): the
contextual token vectors the second stage aligns (secondstage.py), from the same pass.
"""

from __future__ import annotations

from typing import Any

# imported only by the encoder, when the semantic cache first embeds: an ImportError here names what is missing
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HEADS = 12
DIM = 384
LAYERS = 6
EPS = 1e-12


def build_session(w: dict[str, np.ndarray]) -> ort.InferenceSession:
    """An onnxruntime session (one intra-op thread) of the six layers, their weights taken from `w`."""
    nodes: list[Any] = []
    inits: list[Any] = []

    def weight(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=value.dtype), name))
        return name

    def op(kind: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def dense(x: str, prefix: str, name: str) -> str:
        """x @ W.T + b of a torch Linear, W stored (in, out): the fast layout for a few rows."""
        f32 = np.float32
        mm = op("MatMul", [x, weight(name + "_w", w[prefix + ".weight"].T.astype(f32))], name + "_mm")
        return op("Add", [mm, weight(name + "_b", w[prefix + ".bias"].astype(f32))], name)

    def int8_dense(x: str, prefix: str, name: str) -> str:
        """As `dense`, W stored as int8 with a scale per output column (the activations are quantized on
        the fly): a quarter of the bytes a few-row matmul has to stream from memory."""
        wt = w[prefix + ".weight"].T.astype(np.float32)
        scale = np.maximum(np.abs(wt).max(axis=0), np.float32(1e-12)) / np.float32(127)
        q = np.clip(np.rint(wt / scale), -127, 127).astype(np.int8)
        inputs = [x, weight(name + "_wq", q), weight(name + "_ws", scale.astype(np.float32)),
                  weight(name + "_wz", np.zeros(scale.shape, dtype=np.int8)),
                  weight(name + "_b", w[prefix + ".bias"].astype(np.float32))]
        nodes.append(helper.make_node("DynamicQuantizeMatMul", inputs, [name], domain="com.microsoft"))
        return name

    def layer_norm(x: str, prefix: str, name: str) -> str:
        scale, bias = (weight(name + s, w[prefix + "." + p].astype(np.float32)) for s, p in
                       (("_w", "weight"), ("_b", "bias")))
        return op("LayerNormalization", [x, scale, bias], name, axis=-1, epsilon=EPS)

    d = DIM // HEADS
    weight("qkv_shape", np.array([0, 3, HEADS, d], dtype=np.int64))
    weight("ctx_shape", np.array([0, DIM], dtype=np.int64))
    weight("tokens_axis", np.array([0], dtype=np.int64))
    x = "x"
    for i in range(LAYERS):
        p, n = f"encoder.layer.{i}.", f"l{i}_"
        # Q, K and V in one matmul; Q pre-scaled by the attention's 1/sqrt(head size)
        scale = np.ones(3 * DIM, dtype=np.float32)
        scale[:DIM] = 1.0 / np.sqrt(np.float32(d))
        qkv_w = np.concatenate([w[f"{p}attention.self.{m}.weight"] for m in ("query", "key", "value")])
        qkv_b = np.concatenate([w[f"{p}attention.self.{m}.bias"] for m in ("query", "key", "value")])
        qkv = op("Add", [op("MatMul", [x, weight(n + "qkv_w", (qkv_w * scale[:, None]).T.astype(np.float32))],
                            n + "qkv_mm"), weight(n + "qkv_b", (qkv_b * scale).astype(np.float32))], n + "qkv")
        heads = op("Reshape", [qkv, "qkv_shape"], n + "heads")  # (n, 3, heads, d)
        nodes.append(helper.make_node("Split", [heads], [n + "q3", n + "k3", n + "v3"], axis=1, num_outputs=3))
        q = op("Transpose", [n + "q3"], n + "q", perm=[1, 2, 0, 3])  # (1, heads, n, d)
        k = op("Transpose", [n + "k3"], n + "k", perm=[1, 2, 3, 0])  # (1, heads, d, n)
        v = op("Transpose", [n + "v3"], n + "v", perm=[1, 2, 0, 3])
        probs = op("Softmax", [op("MatMul", [q, k], n + "scores")], n + "probs", axis=-1)
        ctx = op("Transpose", [op("MatMul", [probs, v], n + "ctx_h")], n + "ctx_t", perm=[2, 0, 1, 3])
        ctx = op("Reshape", [ctx, "ctx_shape"], n + "ctx")
        attn = op("Add", [dense(ctx, p + "attention.output.dense", n + "attn_out"), x], n + "res1")
        x1 = layer_norm(attn, p + "attention.output.LayerNorm", n + "ln1")
        # the feed-forward half, two thirds of the weights, in int8: the whole graph's weights then fit in the
        # CPU's cache (~21 MB instead of ~42 MB); attention stays float32. Quality is unchanged on the dev
        # pairs at a threshold 0.005 lower (docs/cache.md)
        inter = op("Gelu", [int8_dense(x1, p + "intermediate.dense", n + "inter")], n + "gelu", approximate="tanh")
        out = op("Add", [int8_dense(inter, p + "output.dense", n + "out"), x1], n + "res2")
        x = layer_norm(out, p + "output.LayerNorm", n + "ln2")
    op("ReduceMean", [x, "tokens_axis"], "pooled", keepdims=0)
    op("Identity", [x], "tokens")
    graph = helper.make_graph(nodes, "minilm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", DIM])],
                              [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [DIM]),
                               helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["n", DIM])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                    helper.make_opsetid("com.microsoft", 1)]).SerializeToString()
    options = ort.SessionOptions()
    # one thread: a prompt's matmuls are a few rows each; more threads only spin against the event loop
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
