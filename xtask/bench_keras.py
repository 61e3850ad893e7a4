"""Keras (TensorFlow CPU) counterpart of `cargo xtask bench` (called by `--vs-keras`).

Same cases and the same measured step as xtask/src/bench.rs (`bench_common.CASES`): float
inputs (B,T,E) for the layer cases (the embedding lookup is excluded), token ids through
Embedding for the model cases -> LSTM(u) / Bidirectional(GRU(u, reset_after=True)) for the
imdb_bigru cases -> Dense(1) logit (the default recipe's head for imdb_bigru_recipe), binary
cross-entropy from logits, Adam. Training = one `train_on_batch` per step; inference = one
`predict_on_batch`; the warm-up step also traces the graph. 2 intra-op threads. Output as
described in `bench_common`. Needs `pip install tensorflow-cpu` (or `tensorflow`).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from bench_common import run  # noqa: E402


def build(c):
    if "vocab" in c:
        inp = keras.Input((c["len"],), batch_size=c["batch"], dtype="int32")
        feats = keras.layers.Embedding(c["vocab"], c["emb"])(inp)
    else:
        inp = feats = keras.Input((c["len"], c["emb"]), batch_size=c["batch"])
    dropout = 0.2 if c.get("recipe") else 0.0
    if c["cell"] == "lstm":
        rnn = keras.layers.LSTM(c["units"])
    else:
        rnn = keras.layers.GRU(c["units"], reset_after=True, dropout=dropout)
    if c["bi"]:
        rnn = keras.layers.Bidirectional(rnn)
    feats = rnn(feats)
    if c.get("recipe"):
        feats = keras.layers.Dense(64, activation="relu")(feats)
        feats = keras.layers.Dropout(0.3)(feats)
    out = keras.layers.Dense(1)(feats)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


RNG = np.random.default_rng(0)


def measure(_name, c):
    """The training and inference steps of case `c`."""
    model = build(c)
    if "vocab" in c:
        x = RNG.integers(1, c["vocab"], (c["batch"], c["len"]), dtype=np.int32)
    else:
        x = RNG.standard_normal((c["batch"], c["len"], c["emb"]), dtype=np.float32)
    y = (RNG.random((c["batch"], 1)) > 0.5).astype(np.float32)

    def train():
        model.train_on_batch(x, y)

    def infer():
        model.predict_on_batch(x)

    return (("train", train), ("infer", infer))


if __name__ == "__main__":
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    run(measure)
