"""Keras side of `cargo xtask parity`: trains the Keras twin of a textrnn case step by step.

Usage: `python keras_parity.py CASE_DIR`, where CASE_DIR (written by xtask/src/parity.rs) holds

- `case.json`: `layers` (textrnn layer specs, `input_dim` resolved, dropout 0), `maxlen`,
  `optimizer` (textrnn's `[train] optimizer` table), `steps` (batches per epoch), `batch_size`,
  `epochs`, `rows_per_epoch` and `passes`;
- `init.safetensors`: the initial parameters under textrnn's keys (Keras layouts);
- `batches.safetensors`: `tokens` `(passes * rows_per_epoch, maxlen)` u32 and `labels` u32, in
  training order: one pass that every epoch repeats (synthetic cases, no shuffling) or every
  epoch's own (a replayed recipe); an epoch's last batch may be partial;
- `test.safetensors` (a replayed recipe only): the test split, scored after training.

It builds and compiles the twin with `keras_common`, loads the weights, and runs
`model.train_on_batch` on each batch in order, calling `model.reset_metrics()` first so that the
returned loss is that batch's (not the running mean of the epoch). As a check of that, it also
computes every batch's loss from a forward pass just before the step (`forward_losses`); the two
agree when `train_on_batch` reports the batch's own loss. Writes `keras.json`
(`losses`, `forward_losses`, `test_accuracy` and `test_accuracy_before_last_step` when there is a
test split, versions) and
`keras_final.safetensors` into CASE_DIR.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras_anchor  # noqa: E402
import keras_common  # noqa: E402
import numpy as np  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402


def main(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    layers, maxlen = case["layers"], case["maxlen"]
    steps, batch = case["steps"], case["batch_size"]
    init = load_file(os.path.join(case_dir, "init.safetensors"))
    data = load_file(os.path.join(case_dir, "batches.safetensors"))
    tokens = data["tokens"].astype("int32")
    labels = data["labels"]

    import keras

    model = keras_common.build(layers, maxlen)
    kind = keras_common.compile(model, layers, case["optimizer"])
    keras_common.set_weights(model, layers, init)
    if kind == "softmax":
        targets = labels.astype("int32")
        loss_fn = keras.losses.SparseCategoricalCrossentropy()
    else:
        targets = labels.astype("float32").reshape(-1, 1)
        loss_fn = keras.losses.BinaryCrossentropy()

    rows = int(case.get("rows_per_epoch", steps * batch))
    passes = int(case.get("passes", 1))
    epochs = int(case.get("epochs", 1))
    test_path = os.path.join(case_dir, "test.safetensors")
    test = load_file(test_path) if os.path.exists(test_path) else None

    def test_accuracy():
        probs = model.predict(test["tokens"].astype("int32"), batch_size=batch, verbose=0)
        # scored as the anchor scores it (and textrnn: argmax, or p > 0.5)
        return keras_anchor.test_metrics(kind, probs, test["labels"])[0]

    out = {}
    losses, forward_losses = [], []
    for epoch in range(epochs):
        base = (epoch % passes) * rows
        for step in range(steps):
            if test is not None and epoch == epochs - 1 and step == steps - 1 and epochs * steps > 1:
                # as textrnn's side reports it: a small partial last batch can move the
                # result by points in this one step
                out["test_accuracy_before_last_step"] = test_accuracy()
            lo, hi = base + step * batch, base + min((step + 1) * batch, rows)
            step_once(model, loss_fn, tokens[lo:hi], targets[lo:hi], losses, forward_losses)

    out.update({"losses": losses, "forward_losses": forward_losses})
    if test is not None:
        out["test_accuracy"] = test_accuracy()

    final = {k: np.ascontiguousarray(v, dtype="float32")
             for k, v in keras_common.get_weights(model, layers).items()}
    save_file(final, os.path.join(case_dir, "keras_final.safetensors"))
    import tensorflow as tf

    out.update({
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    })
    with open(os.path.join(case_dir, "keras.json"), "w") as f:
        json.dump(out, f)


def step_once(model, loss_fn, x, y, losses, forward_losses):
    """One `train_on_batch` on (x, y), recording its reported loss and a forward pass's."""
    import keras

    # dropout is 0 everywhere, so training=True gives the step's own forward pass
    probs = model(x, training=True)
    forward_losses.append(float(keras.ops.convert_to_numpy(loss_fn(y, probs))))
    model.reset_metrics()
    logs = model.train_on_batch(x, y, return_dict=True)
    losses.append(float(logs["loss"]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: keras_parity.py CASE_DIR")
    main(sys.argv[1])
