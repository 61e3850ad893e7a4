"""What `xtask/bench_torch.py` and `xtask/bench_keras.py` share: the cases of `cargo xtask bench`
(the same shapes as xtask/src/bench.rs), the command line, the timing loop and the output.

Each script calls `run(measure)`, where `measure(name, case, budget, min_iters)` builds the
model and yields `(mode, step)` pairs; every step is timed after one warm-up call and printed as
one JSON object per line: {"case", "mode", "samples_per_s", "ms_per_batch"}.
"""
import argparse
import json
import time

CASES = {
    "imdb_lstm": dict(cell="lstm", bi=False, units=100, emb=32, len=500, batch=64),
    "imdb_bigru": dict(cell="gru", bi=True, units=64, emb=128, len=200, batch=256),
    "agnews_lstm": dict(cell="lstm", bi=False, units=50, emb=25, len=50, batch=512),
    "tweets_lstm": dict(cell="lstm", bi=False, units=256, emb=32, len=40, batch=512),
    # The whole tutorial model on token ids: Embedding(5000, 32) -> LSTM(100) -> Dense(1).
    "imdb_lstm_model": dict(cell="lstm", bi=False, units=100, emb=32, len=500, batch=64,
                            vocab=5000),
    # The default recipe's model (recipes/imdb-bigru.toml): Embedding(10000, 128) ->
    # Bidirectional(GRU(64, Keras input dropout 0.2)) -> Dense(64, relu) -> Dropout(0.3) -> Dense(1).
    "imdb_bigru_recipe": dict(cell="gru", bi=True, units=64, emb=128, len=200, batch=256,
                              vocab=10000, recipe=True),
}


def timeit(step, budget, min_iters):
    """Seconds per call of `step`, after one warm-up call, over at least `min_iters` calls and
    `budget` seconds."""
    step()
    n, start = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - start < budget:
        step()
        n += 1
    return (time.perf_counter() - start) / n


def run(measure):
    """Parses `--only a,b`, `--mode train|infer` and `--quick`, then times and prints every
    selected case's steps."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--mode", default="", choices=["", "train", "infer"])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    only = [o for o in args.only.split(",") if o]
    budget, min_iters = (0.3, 1) if args.quick else (3.0, 3)
    for name, c in CASES.items():
        if only and name not in only:
            continue
        for mode, step in measure(name, c):
            if args.mode and mode != args.mode:
                continue
            secs = timeit(step, budget, min_iters)
            print(json.dumps({"case": name, "mode": mode, "samples_per_s": c["batch"] / secs,
                              "ms_per_batch": secs * 1e3}), flush=True)
