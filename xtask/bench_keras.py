"""Keras (TensorFlow CPU) counterpart of `cargo xtask bench` (called by `--vs-keras`).

Same shapes and the same measured step as xtask/src/bench.rs: float inputs (B,T,E) (the embedding
lookup is excluded; `imdb_lstm_model` is the whole model on token ids, with Embedding(5000, 32)) -> LSTM(u) / Bidirectional(GRU(u, reset_after=True)) for imdb_bigru ->
Dense(1) logit, binary cross-entropy from logits, Adam. Training = one `train_on_batch` per step;
inference = one `predict_on_batch`. Timed after a warm-up step (which also traces the graph);
2 intra-op threads. Prints one JSON object per line: {"case", "mode", "samples_per_s",
"ms_per_batch"}. Needs `pip install tensorflow-cpu` (or `tensorflow`).
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

CASES = {
    "imdb_lstm": dict(cell="lstm", bi=False, units=100, emb=32, len=500, batch=64),
    "imdb_bigru": dict(cell="gru", bi=True, units=64, emb=128, len=200, batch=256),
    "agnews_lstm": dict(cell="lstm", bi=False, units=50, emb=25, len=50, batch=512),
    "tweets_lstm": dict(cell="lstm", bi=False, units=256, emb=32, len=40, batch=512),
    # The whole tutorial model on token ids: Embedding(5000, 32) -> LSTM(100) -> Dense(1).
    "imdb_lstm_model": dict(cell="lstm", bi=False, units=100, emb=32, len=500, batch=64,
                            vocab=5000),
    # The default recipe's model (recipes/imdb-bigru.toml).
    "imdb_bigru_recipe": dict(cell="gru", bi=True, units=64, emb=128, len=200, batch=256,
                              vocab=10000, recipe=True),
}


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


def timeit(step, budget, min_iters):
    step()
    n, start = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - start < budget:
        step()
        n += 1
    return (time.perf_counter() - start) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    only = [o for o in args.only.split(",") if o]
    budget, min_iters = (0.3, 1) if args.quick else (3.0, 3)
    rng = np.random.default_rng(0)
    for name, c in CASES.items():
        if only and name not in only:
            continue
        model = build(c)
        if "vocab" in c:
            x = rng.integers(1, c["vocab"], (c["batch"], c["len"]), dtype=np.int32)
        else:
            x = rng.standard_normal((c["batch"], c["len"], c["emb"]), dtype=np.float32)
        y = (rng.random((c["batch"], 1)) > 0.5).astype(np.float32)

        def train():
            model.train_on_batch(x, y)

        def infer():
            model.predict_on_batch(x)

        for mode, step in (("train", train), ("infer", infer)):
            secs = timeit(step, budget, min_iters)
            print(json.dumps({"case": name, "mode": mode, "samples_per_s": c["batch"] / secs,
                              "ms_per_batch": secs * 1e3}), flush=True)


if __name__ == "__main__":
    main()
