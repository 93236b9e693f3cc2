#!/usr/bin/env python3
"""Rebuild assets/models/selfie_segmentation_landscape.onnx from MediaPipe's TFLite model.

Source model: MediaPipe Selfie Segmentation, landscape variant (Google, Apache-2.0), taken from the
PyPI wheel mediapipe==0.10.14, path
    mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite
TFLite: input "input_1" [1,144,256,3] RGB float32 in 0..1 (NHWC), output "segment_back"
[1,144,256,1] person probability (already through a sigmoid).

Pinned environment (Python 3.11, x86_64 Linux). The full lock is assets/models/requirements.txt;
the key pins are:
    tensorflow-cpu==2.15.1  tf2onnx==1.16.1  mediapipe==0.10.14  onnx==1.16.2
    onnxruntime==1.32.0     numpy==1.26.4    opencv-python-headless==4.11.0.86
    scikit-image==0.26.0    pillow==13.0.0   protobuf==4.25.9    ml-dtypes==0.3.2
tf2onnx 1.16.1 declares protobuf~=3.20 while mediapipe 0.10.14 needs protobuf>=4.25.3,<5, so the lock
is installed without dependency resolution (tf2onnx works with protobuf 4.25):
    python3.11 -m venv /work/venv-selfie
    /work/venv-selfie/bin/pip install --no-deps -r assets/models/requirements.txt
    /work/venv-selfie/bin/python assets/models/convert_selfie_segmentation.py
(onnx is held at 1.16.2: onnx>=1.19 needs ml_dtypes>=0.5, which tensorflow 2.15 forbids.)

What the conversion does
  * tf2onnx.convert.from_tflite(opset=13). The fp16 weights (TFLite DEQUANTIZE fp16->fp32) are folded
    into float32 initializers.
  * Custom op Convolution2DTransposeBias (MediaPipe's transposed conv with bias; custom options are a
    raw TfLiteTransposeConvParams struct {padding=SAME, stride_w=2, stride_h=2}, not a flexbuffer, so
    plain tf2onnx cannot read them and leaves an invalid "TFL_Convolution2DTransposeBias" node in the
    graph while reporting success). A tf2onnx handler registered below lowers it to
        Transpose(NHWC->NCHW) -> ConvTranspose(kernel 2x2, strides 2, pads 0, bias) -> Transpose(NCHW->NHWC)
    with the TFLite kernel [C_out=1, kH=2, kW=2, C_in=16] (OHWI) transposed by perm [3,0,1,2] to ONNX's
    [C_in=16, C_out=1, kH, kW]. (SAME padding with stride 2 and kernel 2 needs no padding:
    (72-1)*2+2-144 = 0.)
  * HARD_SWISH: ONNX HardSwish only exists from opset 14, so at opset 13 it is lowered to the exact
    equivalent x * HardSigmoid(x, alpha=1/6, beta=0.5) (= x * relu6(x+3)/6, as TFLite computes it).
  * Each 2x bilinear half_pixel Resize becomes Pad(edge,1) -> Resize -> Slice. The numbers stay the
    same, but the result no longer depends on how a runtime treats the source coordinate -0.25 at
    the top/left border. onnxruntime clamps it; tract's Resize extrapolates. Because of the
    squeeze-excite blocks, extrapolating there changed outputs across the whole image by up to 0.9.
    See make_resize_border_safe().
  * tf2onnx's transpose optimizer is taught that HardSigmoid is elementwise, so the graph is NCHW
    inside with a single input Transpose. No-op Reshapes are dropped, and generated names are made
    deterministic, so the output file is byte-for-byte reproducible (same sha256 on every run).
  * The result is checked: onnx.checker (full_check), only op types from ALLOWED_OPS, the ConvTranspose
    weights equal the transposed TFLite kernel, and the ONNX output matches MediaPipe's own runtime
    (a MediaPipe CalculatorGraph: ImageToTensorCalculator -> InferenceCalculator with MediaPipe's
    TfLiteCustomOpResolverCalculator -> raw output tensor) within 1e-3 on the two test photos and on
    random images, all fed as 256x144 RGB so no resampling happens inside MediaPipe, and with the exact
    float input tensor MediaPipe built being fed to onnxruntime as well. Also checked: an ONNX variant
    whose Resize extrapolates at the border (as tract's does) gives exactly the same output.

The ONNX model keeps the TFLite layout: input "input_1" float32 [1,144,256,3] NHWC RGB 0..1, output
"segment_back" float32 [1,144,256,1] probability (NHWC).

Outputs: selfie_segmentation_landscape.onnx and selfie_segmentation_landscape.onnx.sha256 next to this
script. If assets/testdata/*.mask.png exist, the IoU of the model's mask against them is printed too.
"""

import argparse
import collections
import hashlib
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TESTDATA = os.path.join(REPO, "assets", "testdata")
ONNX_NAME = "selfie_segmentation_landscape.onnx"
TFLITE_REL = "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite"
EXPECTED_TFLITE_SHA256 = "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"  # as in NOTICE
OPSET = 13
ATOL = 1e-3
H, W = 144, 256

# Every op type here is implemented by tract-onnx (and onnxruntime) at opset 13.
ALLOWED_OPS = {
    "Conv", "ConvTranspose", "Relu", "Sigmoid", "HardSigmoid", "Add", "Mul",
    "GlobalAveragePool", "ReduceMean", "Resize", "Pad", "Slice", "Transpose", "Reshape",
}

PINNED = {
    "tensorflow": "2.15.1", "tf2onnx": "1.16.1", "mediapipe": "0.10.14", "onnx": "1.16.2",
    "onnxruntime": "1.32.0", "numpy": "1.26.4",
}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def check_versions(strict):
    import importlib
    bad = []
    for mod, want in PINNED.items():
        have = importlib.import_module(mod).__version__
        if have != want:
            bad.append(f"{mod} {have} (pinned {want})")
    if bad:
        msg = "version mismatch: " + ", ".join(bad)
        if strict:
            sys.exit(msg + "  (use --allow-other-versions to go on anyway)")
        print("WARNING:", msg)


def find_tflite():
    import mediapipe
    path = os.path.join(os.path.dirname(os.path.dirname(mediapipe.__file__)), TFLITE_REL)
    if not os.path.isfile(path):
        sys.exit(f"not found: {path}")
    return path


# ---------------------------------------------------------------------------------------------
# TFLite inspection (flatbuffer classes shipped with tf2onnx)

def read_custom_op(tflite_path):
    """Return (options, input shapes, output shape, kernel OHWI float32, bias) of the one
    Convolution2DTransposeBias op."""
    from tf2onnx.tflite.Model import Model
    buf = bytearray(open(tflite_path, "rb").read())
    model = Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    found = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex()).CustomCode()
        if code is not None:
            found.append((code.decode(), op))
    names = sorted({c for c, _ in found})
    assert names == ["Convolution2DTransposeBias"], f"unexpected custom ops {names}"
    assert len(found) == 1
    op = found[0][1]
    raw = op.CustomOptionsAsNumpy().tobytes()
    # struct TfLiteTransposeConvParams { TfLitePadding padding; int stride_width; int stride_height; }
    padding, stride_w, stride_h = struct.unpack("<iii", raw[:12])
    opts = {"padding": {1: "SAME", 2: "VALID"}.get(padding, padding),
            "stride_w": stride_w, "stride_h": stride_h}

    def tensor(ix):
        return graph.Tensors(ix)

    def const_of(ix):
        """Follow a DEQUANTIZE (fp16 -> fp32) back to the constant buffer."""
        for j in range(graph.OperatorsLength()):
            o = graph.Operators(j)
            if o.OutputsLength() and o.Outputs(0) == ix:
                src = o.Inputs(0)
                t = tensor(src)
                data = model.Buffers(t.Buffer()).DataAsNumpy()
                assert t.Type() == 1, "expected FLOAT16 weights"  # TensorType.FLOAT16 == 1
                return np.frombuffer(data.tobytes(), dtype=np.float16).reshape(t.ShapeAsNumpy()).astype(np.float32)
        raise AssertionError("weight is not a dequantized constant")

    in_shapes = [list(tensor(op.Inputs(k)).ShapeAsNumpy()) for k in range(op.InputsLength())]
    out_shape = list(tensor(op.Outputs(0)).ShapeAsNumpy())
    kernel = const_of(op.Inputs(1))
    bias = const_of(op.Inputs(2))
    return opts, in_shapes, out_shape, kernel, bias


# ---------------------------------------------------------------------------------------------
# tf2onnx handlers

def register_handlers(ct_opts):
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    kh, kw = 2, 2

    @tf_op("TFL_Convolution2DTransposeBias")
    class Convolution2DTransposeBias:  # pylint: disable=unused-variable
        @classmethod
        def version_1(cls, ctx, node, **kwargs):
            x, w = node.input[0], node.input[1]  # input[2] = bias, used as is
            x_shape = ctx.get_shape(x)       # NHWC
            out_shape = ctx.get_shape(node.output[0])  # NHWC
            w_shape = ctx.get_shape(w)       # OHWI
            dtype = ctx.get_dtype(node.output[0])
            for k in list(node.attr.keys()):
                del node.attr[k]
            node.type = "ConvTranspose"
            node.set_attr("kernel_shape", [kh, kw])
            node.set_attr("strides", [ct_opts["stride_h"], ct_opts["stride_w"]])
            node.set_attr("pads", [0, 0, 0, 0])
            node.set_attr("dilations", [1, 1])
            node.set_attr("group", 1)
            # input NHWC -> NCHW
            t_in = ctx.insert_new_node_on_input(node, "Transpose", x, perm=[0, 3, 1, 2])
            t_in.skip_conversion = True
            ctx.set_shape(t_in.output[0], [x_shape[0], x_shape[3], x_shape[1], x_shape[2]])
            # kernel OHWI [C_out, kH, kW, C_in] -> [C_in, C_out, kH, kW]
            t_w = ctx.insert_new_node_on_input(node, "Transpose", w, perm=[3, 0, 1, 2])
            t_w.skip_conversion = True
            ctx.set_shape(t_w.output[0], [w_shape[3], w_shape[0], w_shape[1], w_shape[2]])
            # output NCHW -> NHWC
            nchw = [out_shape[0], out_shape[3], out_shape[1], out_shape[2]]
            t_out = ctx.insert_new_node_on_output("Transpose", node.output[0],
                                                  name=utils.make_name(node.name + "_nhwc"),
                                                  perm=[0, 2, 3, 1])
            t_out.skip_conversion = True
            ctx.set_shape(t_out.output[0], out_shape)
            ctx.set_dtype(t_out.output[0], dtype)
            ctx.set_shape(node.output[0], nchw)

    @tf_op("HardSwish")
    class HardSwishOpset13:  # pylint: disable=unused-variable
        """Used for opsets < 14 only (tf2onnx's own HardSwish handler is version_14)."""
        @classmethod
        def version_1(cls, ctx, node, **kwargs):
            x = node.input[0]
            hs = ctx.make_node("HardSigmoid", [x], attr={"alpha": 1.0 / 6.0, "beta": 0.5},
                               name=utils.make_name(node.name + "_hsig"),
                               shapes=[ctx.get_shape(x)], dtypes=[ctx.get_dtype(x)])
            for k in list(node.attr.keys()):
                del node.attr[k]
            node.type = "Mul"
            ctx.replace_inputs(node, [x, hs.output[0]])

    # Let tf2onnx's transpose optimizer push NHWC<->NCHW transposes through HardSigmoid (elementwise)
    # as it does for Relu/Sigmoid; otherwise a Transpose pair is left around every hard-swish.
    from tf2onnx.optimizer.transpose_optimizer import TransposeOptimizer
    if not getattr(TransposeOptimizer, "_anchordesk_patched", False):
        orig_init = TransposeOptimizer._initialize_handlers

        def _initialize_handlers(self):
            orig_init(self)
            self._handler_map["HardSigmoid"] = self._simple_through_handler

        TransposeOptimizer._initialize_handlers = _initialize_handlers
        TransposeOptimizer._anchordesk_patched = True


# ---------------------------------------------------------------------------------------------

def make_resize_border_safe(model):
    """Rewrite each 2x bilinear half_pixel Resize as Pad(edge, 1) -> Resize -> Slice(crop 2).

    For output row 0, half_pixel asks for source coordinate -0.25. The ONNX spec and onnxruntime
    clamp it to row 0, but some runtimes extrapolate instead: tract's Resize does
    x_left = (x_in as usize) and frac = x_in - x_left = -0.25. In this network that border difference
    does not stay at the border, because the squeeze-and-excitation blocks (GlobalAveragePool) after
    the upsamplings spread it over the whole image. Measured on the test photos by emulating it in
    ONNX: up to 0.58 / 0.93 absolute difference in probability, and 200-300 mask pixels flipped.
    With one edge-replicated row/column on each side, every output that is kept samples coordinates
    inside [0.75, n+0.25] of the padded map. Those coordinates give the same values under either rule,
    and they are exactly the clamped result."""
    import onnx
    from onnx import helper, numpy_helper
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    new_nodes, added = [], []
    count = 0
    for node in model.graph.node:
        if node.op_type != "Resize":
            new_nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        scales = inits.get(node.input[2]) if len(node.input) > 2 else None
        shape = shapes.get(node.input[0])
        assert attrs.get("mode") == b"linear" and attrs.get("coordinate_transformation_mode") == b"half_pixel", attrs
        assert scales is not None and scales.tolist() == [1.0, 1.0, 2.0, 2.0], scales
        assert shape and len(shape) == 4 and all(shape), shape
        count += 1
        n, c, h, w = shape
        p = f"{node.name}_bordersafe"
        added += [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), p + "_pads"),
                  numpy_helper.from_array(np.array([2, 2], np.int64), p + "_starts"),
                  numpy_helper.from_array(np.array([2 * h + 2, 2 * w + 2], np.int64), p + "_ends"),
                  numpy_helper.from_array(np.array([2, 3], np.int64), p + "_axes")]
        new_nodes.append(helper.make_node("Pad", [node.input[0], p + "_pads"], [p + "_padded"],
                                          name=p + "_pad", mode="edge"))
        new_nodes.append(helper.make_node("Resize", [p + "_padded"] + list(node.input[1:]), [p + "_up"],
                                          name=node.name, **{k: v.decode() if isinstance(v, bytes) else v
                                                             for k, v in attrs.items()}))
        new_nodes.append(helper.make_node("Slice", [p + "_up", p + "_starts", p + "_ends", p + "_axes"],
                                          list(node.output), name=p + "_crop"))
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    model.graph.initializer.extend(added)
    return count


def remove_noop_reshapes(model):
    """Drop Reshape nodes whose input already has the target shape (tf2onnx leaves some of them
    after GlobalAveragePool, [1,C,1,1] -> [1,C,1,1], and which ones it leaves varies from run to run)."""
    import onnx
    from onnx import numpy_helper
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in list(inferred.graph.value_info) + list(inferred.graph.input)}
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    outputs = {o.name for o in model.graph.output}
    alias, kept, removed = {}, [], 0
    for node in model.graph.node:
        node.input[:] = [alias.get(n, n) for n in node.input]
        if (node.op_type == "Reshape" and node.output[0] not in outputs and node.input[1] in inits
                and shapes.get(node.input[0]) == inits[node.input[1]].tolist()):
            alias[node.output[0]] = node.input[0]
            removed += 1
            continue
        kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    used = {n for node in kept for n in node.input}
    inits_kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits_kept)
    del model.graph.value_info[:]
    return removed


def canonicalize_names(model):
    """Give generated tensor/node/initializer names a deterministic form.

    tf2onnx's optimizers walk sets of graph objects (hashed by id), so the numbers in generated
    names such as const_fold_opt__550 differ from run to run and the file's sha256 with them.
    Renames: nodes -> "<index>_<OpType>"; initializers -> "w<index of first consumer>_<input slot>";
    generated intermediate tensors (names with '__<n>' or ':') -> "t<index of producer>_<OpType>".
    Names that came from the TFLite model (conv2d_3, re_lu_7, h_swish, ...) and the graph's
    input/output names are kept."""
    import re
    g = model.graph
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    generated = re.compile(r"(__\d+|:\d+$|_raw_output_)")
    init_names = {i.name for i in g.initializer}
    rename = {}
    for idx, node in enumerate(g.node):
        for slot, name in enumerate(node.input):
            if name in init_names and name not in rename:
                rename[name] = f"w{idx:03d}_{slot}"
        for k, name in enumerate(node.output):
            if name and name not in keep and name not in rename and generated.search(name):
                rename[name] = f"t{idx:03d}_{node.op_type}" + (f"_{k}" if k else "")
        node.name = f"{idx:03d}_{node.op_type}"
    assert len(set(rename.values())) == len(rename)
    for node in g.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    for init in g.initializer:
        init.name = rename.get(init.name, init.name)
    for vi in g.value_info:
        vi.name = rename.get(vi.name, vi.name)
    # initializers in first-use order, value_info sorted: both independent of tf2onnx's set order
    order = {}
    for node in g.node:
        for n in node.input:
            order.setdefault(n, len(order))
    inits = sorted(g.initializer, key=lambda i: order.get(i.name, 1 << 30))
    del g.initializer[:]
    g.initializer.extend(inits)
    vis = sorted(g.value_info, key=lambda v: v.name)
    del g.value_info[:]
    g.value_info.extend(vis)


def convert(tflite_path, out_path):
    import onnx
    import tf2onnx
    from onnx import numpy_helper

    opts, in_shapes, out_shape, kernel, bias = read_custom_op(tflite_path)
    print(f"Convolution2DTransposeBias options {opts}; inputs {in_shapes} -> output {out_shape}")
    # x [1,72,128,16], kernel OHWI [1,2,2,16], bias [1] -> [1,144,256,1]
    assert opts == {"padding": "SAME", "stride_w": 2, "stride_h": 2}, opts
    assert in_shapes[1] == [out_shape[3], 2, 2, in_shapes[0][3]], "kernel is not OHWI [C_out,2,2,C_in]"
    assert in_shapes[2] == [out_shape[3]]
    assert out_shape[1:3] == [in_shapes[0][1] * 2, in_shapes[0][2] * 2]
    register_handlers(opts)

    model, _ = tf2onnx.convert.from_tflite(tflite_path, opset=OPSET)
    n_resize = make_resize_border_safe(model)
    print(f"made {n_resize} Resize nodes border-safe (Pad edge -> Resize -> Slice)")
    print(f"removed {remove_noop_reshapes(model)} no-op Reshape nodes")
    canonicalize_names(model)

    # Drop opset imports nothing uses (tf2onnx always adds ai.onnx.ml).
    used_domains = {n.domain for n in model.graph.node}
    keep = [o for o in model.opset_import if o.domain in ("", "ai.onnx") or o.domain in used_domains]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    model.producer_name = "tf2onnx+AnchorDesk convert_selfie_segmentation.py"
    model.doc_string = ("MediaPipe Selfie Segmentation (landscape), Google, Apache-2.0. Converted from "
                        "mediapipe==0.10.14 " + TFLITE_REL + " by assets/models/convert_selfie_segmentation.py")
    del model.metadata_props[:]
    for k, v in (("source", "pypi:mediapipe==0.10.14/" + TFLITE_REL),
                 ("source_sha256", sha256_file(tflite_path)),
                 ("license", "Apache-2.0"),
                 ("input_layout", "NHWC RGB float32 0..1 [1,144,256,3]"),
                 ("output_layout", "NHWC float32 person probability [1,144,256,1]")):
        model.metadata_props.add(key=k, value=v)

    onnx.checker.check_model(model, full_check=True)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    print("ONNX op types:", dict(sorted(ops.items())))
    extra = set(ops) - ALLOWED_OPS
    assert not extra, f"op types outside the allowed set: {extra}"
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node)

    # The lowered ConvTranspose must carry exactly the transposed TFLite kernel and bias.
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    cts = [n for n in model.graph.node if n.op_type == "ConvTranspose"]
    assert len(cts) == 1
    ct = cts[0]
    w = inits[ct.input[1]]
    b = inits[ct.input[2]]
    assert w.shape == (16, 1, 2, 2), w.shape
    assert np.array_equal(w, np.transpose(kernel, [3, 0, 1, 2])), "ConvTranspose weights != perm(kernel)"
    assert np.array_equal(b, bias)
    print(f"ConvTranspose weight {list(w.shape)} == transpose(tflite kernel {list(kernel.shape)}, [3,0,1,2]); "
          f"bias {b.tolist()}")

    onnx.save(model, out_path)
    digest = sha256_file(out_path)
    with open(out_path + ".sha256", "w") as f:
        f.write(f"{digest}  {os.path.basename(out_path)}\n")
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes) sha256 {digest}")
    return model


# ---------------------------------------------------------------------------------------------
# Verification against MediaPipe's own runtime

class MediaPipeReference:
    """Runs the .tflite inside a MediaPipe graph (MediaPipe's InferenceCalculator + its custom op
    resolver) and returns the raw input and output tensors."""

    def __init__(self, tflite_path):
        import mediapipe as mp
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python import packet_creator, packet_getter
        self.mp, self.packet_creator, self.packet_getter = mp, packet_creator, packet_getter
        cfg = f'''
        input_stream: "image"
        output_stream: "out_floats"
        output_stream: "in_floats"
        node {{
          calculator: "ImageToTensorCalculator"
          input_stream: "IMAGE:image"
          output_stream: "TENSORS:in_tensors"
          options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{
            output_tensor_width: {W} output_tensor_height: {H} keep_aspect_ratio: false
            output_tensor_float_range {{ min: 0 max: 1 }} border_mode: BORDER_ZERO }} }}
        }}
        node {{ calculator: "TfLiteCustomOpResolverCalculator" output_side_packet: "OP_RESOLVER:op_resolver" }}
        node {{
          calculator: "InferenceCalculator"
          input_stream: "TENSORS:in_tensors"
          output_stream: "TENSORS:out_tensors"
          input_side_packet: "OP_RESOLVER:op_resolver"
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{tflite_path}" delegate {{ tflite {{}} }} }} }}
        }}
        node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:out_tensors" output_stream: "FLOATS:out_floats" }}
        node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:in_tensors" output_stream: "FLOATS:in_floats" }}
        '''
        self.config = text_format.Parse(cfg, calculator_pb2.CalculatorGraphConfig())

    def run(self, rgb_u8):
        assert rgb_u8.shape == (H, W, 3) and rgb_u8.dtype == np.uint8
        out = {}
        graph = self.mp.CalculatorGraph(graph_config=self.config)
        graph.observe_output_stream("out_floats", lambda s, p: out.__setitem__(
            "y", np.array(self.packet_getter.get_float_list(p), dtype=np.float32)))
        graph.observe_output_stream("in_floats", lambda s, p: out.__setitem__(
            "x", np.array(self.packet_getter.get_float_list(p), dtype=np.float32)))
        graph.start_run()
        frame = self.packet_creator.create_image_frame(image_format=self.mp.ImageFormat.SRGB,
                                                       data=np.ascontiguousarray(rgb_u8))
        graph.add_packet_to_input_stream("image", frame.at(0))
        graph.close()
        return out["x"].reshape(1, H, W, 3), out["y"].reshape(1, H, W, 1)


def load_rgb(path):
    """PNG -> HxWx3 uint8 RGB (grayscale replicated into the three channels)."""
    from PIL import Image
    im = Image.open(path)
    if im.mode in ("L", "I;16", "I"):
        im = im.convert("L").convert("RGB")
    else:
        im = im.convert("RGB")
    return np.asarray(im)


def test_images():
    import cv2
    import skimage
    skdata = os.path.join(os.path.dirname(skimage.__file__), "data")
    imgs = []
    photos = {}
    for name in ("astronaut.png", "camera.png"):
        p = os.path.join(TESTDATA, name)
        if not os.path.isfile(p):
            p = os.path.join(skdata, name)
        photos[name] = rgb = load_rgb(p)
        imgs.append((name + " (squashed to 256x144)", cv2.resize(rgb, (W, H), interpolation=cv2.INTER_AREA)))
    rng = np.random.default_rng(20240613)
    # random variations of the photos (people in them, so the outputs are not all ~0)
    for name, rgb in photos.items():
        y0 = int(rng.integers(0, 512 - 288))
        crop = rgb[y0:y0 + 288, :]  # a 16:9 window, no squash
        noisy = np.clip(cv2.resize(crop, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)
                        + rng.normal(0, 20, (H, W, 3)), 0, 255).astype(np.uint8)
        imgs.append((f"{name} 16:9 crop+noise", noisy))
        imgs.append((f"{name} mirrored", cv2.resize(rgb[:, ::-1], (W, H), interpolation=cv2.INTER_LINEAR)))
    for i in range(4):
        imgs.append((f"random uniform #{i}", rng.integers(0, 256, (H, W, 3), dtype=np.uint8)))
    # smooth random image (blobs), closer to natural statistics
    blobs = cv2.resize(rng.integers(0, 256, (9, 16, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    imgs.append(("random smooth", blobs))
    imgs.append(("black", np.zeros((H, W, 3), np.uint8)))
    imgs.append(("white", np.full((H, W, 3), 255, np.uint8)))
    return imgs


def extrapolating_resize_variant(model):
    """Copy of `model` whose Resize nodes extrapolate at the top/left border the way tract's does
    (source coordinate -0.25 blends row 0 with a linearly extrapolated row -1 = 2*x0 - x1) instead of
    clamping. Used only to check that the shipped graph gives the same result under both rules."""
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for name, val in (("_ex_i0", [0]), ("_ex_i1", [1]), ("_ex_i2", [2]), ("_ex_ax2", [2]), ("_ex_ax3", [3]),
                      ("_ex_big", [1 << 30])):
        g.initializer.append(numpy_helper.from_array(np.array(val, np.int64), name))
    g.initializer.append(numpy_helper.from_array(np.array(2.0, np.float32), "_ex_two"))
    nodes = []
    for k, n in enumerate(g.node):
        if n.op_type != "Resize":
            nodes.append(n)
            continue
        cur, p = n.input[0], f"_ex{k}_"
        for ax in ("_ex_ax2", "_ex_ax3"):
            q = p + ax
            nodes += [helper.make_node("Slice", [cur, "_ex_i0", "_ex_i1", ax], [q + "s0"]),
                      helper.make_node("Slice", [cur, "_ex_i1", "_ex_i2", ax], [q + "s1"]),
                      helper.make_node("Mul", [q + "s0", "_ex_two"], [q + "m"]),
                      helper.make_node("Sub", [q + "m", q + "s1"], [q + "ex"]),
                      helper.make_node("Concat", [q + "ex", cur], [q + "cat"], axis=int(ax[-1]))]
            cur = q + "cat"
        nodes.append(helper.make_node("Resize", [cur] + list(n.input[1:]), [p + "r"],
                                      **{a.name: helper.get_attribute_value(a) for a in n.attribute}))
        nodes.append(helper.make_node("Slice", [p + "r", "_ex_i2", "_ex_big", "_ex_ax2"], [p + "c"]))
        nodes.append(helper.make_node("Slice", [p + "c", "_ex_i2", "_ex_big", "_ex_ax3"], list(n.output)))
    del g.node[:]
    g.node.extend(nodes)
    return m


def verify(tflite_path, onnx_path):
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    i0, o0 = sess.get_inputs()[0], sess.get_outputs()[0]
    print(f"ONNX input  {i0.name} {i0.shape} {i0.type}")
    print(f"ONNX output {o0.name} {o0.shape} {o0.type}")
    ref = MediaPipeReference(tflite_path)
    worst = 0.0
    for name, rgb in test_images():
        x, y_mp = ref.run(rgb)
        in_diff = float(np.abs(x - rgb[None].astype(np.float32) / 255.0).max())
        y_onnx = sess.run(None, {i0.name: x})[0]
        d = float(np.abs(y_onnx - y_mp).max())
        worst = max(worst, d)
        print(f"  {name:32s} max|onnx - mediapipe| = {d:.3e}   mean = {float(np.abs(y_onnx - y_mp).mean()):.3e}"
              f"   (mediapipe input tensor vs rgb/255: {in_diff:.1e}; person fraction {float((y_mp > 0.5).mean()):.3f})")
    print(f"worst max abs diff {worst:.3e} (tolerance {ATOL})")
    assert worst <= ATOL, "ONNX output differs from MediaPipe"

    # Border rule check: the shipped graph must not depend on how a runtime treats the half_pixel
    # coordinate -0.25 at the top/left border of Resize (clamp, as onnxruntime does, or extrapolate).
    import onnx
    ex = ort.InferenceSession(extrapolating_resize_variant(onnx.load(onnx_path)).SerializeToString(),
                              providers=["CPUExecutionProvider"])
    worst_ex = 0.0
    for name, rgb in test_images():
        x = rgb[None].astype(np.float32) / 255.0
        worst_ex = max(worst_ex, float(np.abs(sess.run(None, {i0.name: x})[0] - ex.run(None, {i0.name: x})[0]).max()))
    print(f"max |clamping Resize - extrapolating Resize| on the shipped graph = {worst_ex:.3e}")
    assert worst_ex <= 1e-5
    return sess


# ---------------------------------------------------------------------------------------------
# IoU against the hand-made GrabCut reference masks (assets/testdata/make_reference_masks.py)

def predict_full(sess, rgb, mode):
    """Model probability at full image resolution. mode 'squash': resize whole image to 256x144
    (what MediaPipe's selfie graph does, keep_aspect_ratio false); 'letterbox': scale to fit,
    pad with black (BORDER_ZERO), crop the mask back."""
    import cv2
    h, w = rgb.shape[:2]
    if mode == "squash":
        x = cv2.resize(rgb, (W, H), interpolation=cv2.INTER_AREA)
        p = sess.run(None, {sess.get_inputs()[0].name: x[None].astype(np.float32) / 255.0})[0][0, :, :, 0]
        return cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR)
    s = min(W / w, H / h)
    nw, nh = round(w * s), round(h * s)
    ox, oy = (W - nw) // 2, (H - nh) // 2
    canvas = np.zeros((H, W, 3), np.uint8)
    canvas[oy:oy + nh, ox:ox + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    p = sess.run(None, {sess.get_inputs()[0].name: canvas[None].astype(np.float32) / 255.0})[0][0, :, :, 0]
    return cv2.resize(np.ascontiguousarray(p[oy:oy + nh, ox:ox + nw]), (w, h), interpolation=cv2.INTER_LINEAR)


def iou_report(sess):
    from PIL import Image
    for name in ("astronaut", "camera"):
        img_p = os.path.join(TESTDATA, name + ".png")
        mask_p = os.path.join(TESTDATA, name + ".mask.png")
        if not (os.path.isfile(img_p) and os.path.isfile(mask_p)):
            print(f"IoU {name}: skipped (no {mask_p})")
            continue
        rgb = load_rgb(img_p)
        ref = np.asarray(Image.open(mask_p)) > 127
        for mode in ("squash", "letterbox"):
            pred = predict_full(sess, rgb, mode) > 0.5
            inter = np.logical_and(pred, ref).sum()
            union = np.logical_or(pred, ref).sum()
            print(f"IoU {name:9s} {mode:9s} = {inter / union:.4f}   (pred {pred.mean():.3f}, ref {ref.mean():.3f} of pixels)")


def main():
    # Pin Python's string hash seed for a steadier tf2onnx run. It is not enough on its own: tf2onnx
    # also iterates sets of graph objects. remove_noop_reshapes() and canonicalize_names() do the rest.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--allow-other-versions", action="store_true")
    args = ap.parse_args()
    check_versions(strict=not args.allow_other_versions)
    tflite_path = find_tflite()
    digest = sha256_file(tflite_path)
    print(f"source {tflite_path}\n  sha256 {digest}")
    if digest != EXPECTED_TFLITE_SHA256:
        sys.exit(f"unexpected .tflite (sha256 {digest}, expected {EXPECTED_TFLITE_SHA256})")
    out_path = os.path.join(args.out_dir, ONNX_NAME)
    convert(tflite_path, out_path)
    sess = verify(tflite_path, out_path)
    iou_report(sess)


if __name__ == "__main__":
    main()
