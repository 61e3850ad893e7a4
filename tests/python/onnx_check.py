"""Runs an exported textrnn ONNX model in onnxruntime (used by tests/onnx_parity.rs).

usage: onnx_check.py MODEL.onnx IDS.json
IDS.json: {"rows": N, "cols": T, "ids": [N*T token ids, row-major]}
Checks the model with onnx.checker (full check, with shape inference) when `onnx` is
installed, runs it on the CPU provider and prints {"probs": [N*C floats], "shape": [N, C],
"onnxruntime": version, "opset": opset} as JSON on stdout.
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main():
    model_path, ids_path = sys.argv[1], sys.argv[2]
    with open(ids_path, encoding="utf-8") as f:
        spec = json.load(f)
    ids = np.asarray(spec["ids"], dtype=np.int64).reshape(spec["rows"], spec["cols"])
    try:
        import onnx

        model = onnx.load(model_path)
        onnx.checker.check_model(model, full_check=True)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    except ImportError:
        opset = None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    (probs,) = session.run(["probabilities"], {"input_ids": ids})
    json.dump(
        {
            "probs": probs.astype(np.float64).ravel().tolist(),
            "shape": list(probs.shape),
            "onnxruntime": ort.__version__,
            "opset": opset,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
