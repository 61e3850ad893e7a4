"""PyTorch counterpart of `cargo xtask bench` (called by `--vs-torch`).

Same shapes and the same measured step as xtask/src/bench.rs: input projection + nn.LSTM / nn.GRU
(bidirectional for imdb_bigru; `imdb_lstm_model` adds nn.Embedding(5000, 32) on token ids) + Dense(1) head on the final state + BCE-with-logits, training =
forward + backward + AdamW, inference = forward under torch.no_grad(); 2 threads.
Prints one JSON object per line: {"case", "mode", "samples_per_s", "ms_per_batch"}.
"""
import argparse
import json
import time

import torch
from torch import nn

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


class Net(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = nn.Embedding(c["vocab"], c["emb"]) if "vocab" in c else None
        rnn = nn.LSTM if c["cell"] == "lstm" else nn.GRU
        self.rnn = rnn(c["emb"], c["units"], batch_first=True, bidirectional=c["bi"])
        feat = c["units"] * (2 if c["bi"] else 1)
        self.recipe = c.get("recipe", False)
        if self.recipe:
            self.head = nn.Sequential(nn.Linear(feat, 64), nn.ReLU(), nn.Dropout(0.3),
                                      nn.Linear(64, 1))
        else:
            self.head = nn.Linear(feat, 1)

    def forward(self, x):
        if self.emb is not None:
            x = self.emb(x)
        if self.recipe and self.training:
            # Keras GRU(dropout=0.2): one input mask per sequence and feature, fixed over time.
            keep = (torch.rand(x.shape[0], 1, x.shape[2]) >= 0.2).to(x.dtype) / 0.8
            x = x * keep
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h  # (dirs, B, u)
        return self.head(torch.cat(list(h), dim=-1))


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
    torch.set_num_threads(2)
    only = [o for o in args.only.split(",") if o]
    budget, min_iters = (0.3, 1) if args.quick else (3.0, 3)
    for name, c in CASES.items():
        if only and name not in only:
            continue
        net = Net(c)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        if "vocab" in c:
            x = torch.randint(1, c["vocab"], (c["batch"], c["len"]))
        else:
            # The input needs its gradient, as the embedding below a real layer does (ours
            # computes it).
            x = torch.randn(c["batch"], c["len"], c["emb"], requires_grad=True)
        y = (torch.rand(c["batch"], 1) > 0.5).float()
        loss_fn = nn.BCEWithLogitsLoss()

        def train():
            net.train()
            opt.zero_grad()
            loss_fn(net(x), y).backward()
            opt.step()

        def infer():
            net.eval()
            with torch.no_grad():
                net(x).sum().item()

        for mode, step in (("train", train), ("infer", infer)):
            secs = timeit(step, budget, min_iters)
            print(json.dumps({"case": name, "mode": mode, "samples_per_s": c["batch"] / secs,
                              "ms_per_batch": secs * 1e3}), flush=True)


if __name__ == "__main__":
    main()
