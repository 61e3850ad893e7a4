"""PyTorch counterpart of `cargo xtask bench` (called by `--vs-torch`).

Same cases and the same measured step as xtask/src/bench.rs (`bench_common.CASES`): input
projection + nn.LSTM / nn.GRU (bidirectional for the imdb_bigru cases; the model cases add
nn.Embedding on token ids) + Dense(1) head on the final state + BCE-with-logits, training =
forward + backward + Adam, inference = forward under torch.no_grad(); 2 threads. Output as
described in `bench_common`.
"""
import torch
from torch import nn

from bench_common import run


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


def measure(_name, c):
    """The training and inference steps of case `c`."""
    net = Net(c)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
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

    return (("train", train), ("infer", infer))


if __name__ == "__main__":
    torch.set_num_threads(2)
    run(measure)
