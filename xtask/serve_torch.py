"""FastAPI + uvicorn + PyTorch server of a textrnn run (the comparison of `cargo xtask loadtest
--vs-python`).

    python serve_torch.py RUN_DIR [--host 127.0.0.1] [--port 0] [--threads 2]
    python serve_torch.py RUN_DIR --check FILE

The run's `config.json` and `model.safetensors` are loaded into an equivalent torch model
(Embedding, LSTM / GRU (bidirectional too), Conv1D, MaxPooling1D, Dense; dropout is the identity
at inference) and texts are encoded as textrnn encodes them: the run's cleaning (`imdb`: `<br />`
removal; `none`), the run's `tokenizer.json` through Python `tokenizers`, unknown words (id 0)
and ids >= num_words dropped, then Keras pre/post padding and truncation to `maxlen`.

Serving: `POST /v1/models/{name}/predict` with `{"texts": [...]}` answers what `textrnn serve`
answers (`model`, `predictions`: `label`, `probability`, `probabilities`, `threshold`, `status`);
`GET /healthz`, `GET /readyz`. One forward pass per request (the usual FastAPI deployment: a
synchronous endpoint in uvicorn's thread pool, no batching across requests), torch limited to
`--threads` intra-op threads. Prints `listening on http://HOST:PORT` on stdout once the socket
listens and the model is loaded (`--port 0`: a free port).

`--check FILE`: JSON Lines `{"text", "ids", "probabilities"}` (ids and probabilities from
textrnn; `probabilities` may be null); prints one JSON object: texts checked, id mismatches (with
the first one), and the largest absolute difference between the probabilities. Exit 0 either
way; the caller judges.
"""
import argparse
import json
import os
import re
import socket
import sys
from contextlib import asynccontextmanager

import struct

import torch
from tokenizers import Tokenizer
from torch import nn

# textrnn's `strip_html_breaks` step (crates/text/src/normalize/html.rs): `<br>`, `<br/>`,
# `<br />` in any case, with any inner spaces, become one space.
BREAKS = re.compile(r"(?i)<\s*br\s*/?\s*>")


def load_safetensors(path):
    """The tensors of a safetensors file (F32 only, as textrnn writes them), without the
    `safetensors` package: an 8-byte little-endian header length, a JSON header, the data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"serve_torch.py: {path}: {name} is {info['dtype']}, not F32")
        start, end = info["data_offsets"]
        buf = bytearray(data[8 + n + start:8 + n + end])
        tensors[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(info["shape"])
    return tensors


def cleaner(normalize):
    """The run's cleaning as a function; only the steps this script reproduces."""
    steps = normalize if isinstance(normalize, list) else {
        None: [], "none": [], "imdb": ["strip_html_breaks"]}.get(normalize)
    if steps is None or any(s != "strip_html_breaks" for s in steps):
        raise SystemExit(f"serve_torch.py: normalize = {normalize!r} is not reproduced here "
                         "(only none, imdb and [\"strip_html_breaks\"])")
    if steps:
        return lambda t: BREAKS.sub(" ", t)
    return lambda t: t


class Encoder:
    """Texts to the padded id rows textrnn feeds the model."""

    def __init__(self, run_dir, text_cfg):
        self.tok = Tokenizer.from_file(os.path.join(run_dir, "tokenizer.json"))
        self.clean = cleaner(text_cfg.get("normalize"))
        self.num_words = text_cfg.get("num_words")
        self.maxlen = text_cfg["maxlen"]
        self.padding = text_cfg.get("padding", "pre")
        self.truncating = text_cfg.get("truncating", "pre")

    def ids(self, texts):
        """Unpadded id sequences: unknown words (0) and ids >= num_words dropped."""
        encs = self.tok.encode_batch([self.clean(t) for t in texts], add_special_tokens=False)
        limit = self.num_words or float("inf")
        return [[i for i in e.ids if 0 < i < limit] for e in encs]

    def pad(self, seqs):
        """Keras `pad_sequences` with 0, as the run says (pre or post)."""
        rows = []
        for s in seqs:
            if len(s) > self.maxlen:
                s = s[-self.maxlen:] if self.truncating == "pre" else s[:self.maxlen]
            fill = [0] * (self.maxlen - len(s))
            rows.append(fill + s if self.padding == "pre" else s + fill)
        return rows


def keras_gates(w, units, order):
    """Reorders the gate blocks of the last axis of a Keras weight (`order`: Keras block per
    torch block)."""
    return torch.cat([w[..., g * units:(g + 1) * units] for g in order], dim=-1)


def recurrent(spec, prefix, weights, input_size, bidirectional):
    """An nn.LSTM / nn.GRU with the run's weights. Keras LSTM gates i,f,c,o are torch's i,f,g,o;
    Keras GRU (reset_after) z,r,h are torch's r,z,n with the input bias in b_ih and the
    recurrent one in b_hh."""
    units, kind = spec["units"], spec["type"]
    if kind == "gru" and not spec.get("reset_after", True):
        raise SystemExit("serve_torch.py: GRU with reset_after = false has no torch equivalent")
    cls = nn.LSTM if kind == "lstm" else nn.GRU
    rnn = cls(input_size, units, batch_first=True, bidirectional=bidirectional)
    order = [0, 1, 2, 3] if kind == "lstm" else [1, 0, 2]
    dirs = [("forward", ""), ("backward", "_reverse")] if bidirectional else [("", "")]
    with torch.no_grad():
        for name, suffix in dirs:
            base = f"{prefix}.{name}" if name else prefix
            kernel = weights[f"{base}.kernel"]  # (in, G*u)
            rec = weights[f"{base}.recurrent_kernel"]  # (u, G*u)
            bias = weights[f"{base}.bias"]  # LSTM (G*u,); GRU (2, G*u)
            getattr(rnn, f"weight_ih_l0{suffix}").copy_(keras_gates(kernel, units, order).T)
            getattr(rnn, f"weight_hh_l0{suffix}").copy_(keras_gates(rec, units, order).T)
            if kind == "lstm":
                getattr(rnn, f"bias_ih_l0{suffix}").copy_(keras_gates(bias, units, order))
                getattr(rnn, f"bias_hh_l0{suffix}").zero_()
            else:
                getattr(rnn, f"bias_ih_l0{suffix}").copy_(keras_gates(bias[0], units, order))
                getattr(rnn, f"bias_hh_l0{suffix}").copy_(keras_gates(bias[1], units, order))
    return rnn


ACTIVATIONS = {
    None: lambda x: x, "linear": lambda x: x, "relu": torch.relu, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "softmax": lambda x: torch.softmax(x, dim=-1),
}


class Net(nn.Module):
    """The run's layers in order, on `(B, T)` token ids; returns the last layer's output."""

    def __init__(self, layers, weights):
        super().__init__()
        self.steps = []  # (kind, module or None, extra)
        seen = {}
        mods = nn.ModuleList()
        features = None
        for spec in layers:
            kind = spec["type"]
            n = seen.get(kind, 0)
            seen[kind] = n + 1
            name = kind if n == 0 else f"{kind}_{n}"
            if kind == "embedding":
                if spec.get("mask_zero"):
                    raise SystemExit("serve_torch.py: mask_zero embeddings are not reproduced")
                w = weights[f"{name}.embeddings"]
                m = nn.Embedding(w.shape[0], w.shape[1])
                with torch.no_grad():
                    m.weight.copy_(w)
                features = w.shape[1]
                self.steps.append(("embedding", m, None))
            elif kind in ("lstm", "gru", "bidirectional"):
                inner = spec["layer"] if kind == "bidirectional" else spec
                bi = kind == "bidirectional"
                if bi and spec.get("merge_mode", "concat") != "concat":
                    raise SystemExit("serve_torch.py: only merge_mode = concat is reproduced")
                m = recurrent(inner, name, weights, features, bi)
                features = inner["units"] * (2 if bi else 1)
                self.steps.append(("rnn", m, inner.get("return_sequences", False)))
            elif kind == "conv1d":
                w = weights[f"{name}.kernel"]  # Keras (k, in, out)
                if spec.get("strides", 1) != 1:
                    raise SystemExit("serve_torch.py: conv1d strides != 1 are not reproduced")
                m = nn.Conv1d(w.shape[1], w.shape[2], w.shape[0],
                              padding="same" if spec.get("padding") == "same" else 0)
                with torch.no_grad():
                    m.weight.copy_(w.permute(2, 1, 0))
                    m.bias.copy_(weights[f"{name}.bias"])
                features = w.shape[2]
                self.steps.append(("conv1d", m, spec.get("activation")))
            elif kind == "max_pooling1d":
                if spec.get("padding", "valid") != "valid":
                    raise SystemExit("serve_torch.py: max_pooling1d padding = same is not reproduced")
                pool = spec["pool_size"]
                m = nn.MaxPool1d(pool, stride=spec.get("strides") or pool)
                self.steps.append(("pool", m, None))
            elif kind == "dense":
                w = weights[f"{name}.kernel"]  # (in, out)
                m = nn.Linear(w.shape[0], w.shape[1])
                with torch.no_grad():
                    m.weight.copy_(w.T)
                    m.bias.copy_(weights[f"{name}.bias"])
                features = w.shape[1]
                self.steps.append(("dense", m, spec.get("activation")))
            elif kind == "dropout":
                continue  # the identity at inference
            else:
                raise SystemExit(f"serve_torch.py: layer type {kind!r} is not reproduced")
            mods.append(m)
        self.mods = mods

    def forward(self, x):
        for kind, m, extra in self.steps:
            if kind == "embedding":
                x = m(x)
            elif kind == "rnn":
                out, h = m(x)
                if extra:
                    x = out
                else:
                    h = h[0] if isinstance(h, tuple) else h  # (dirs, B, u)
                    x = torch.cat(list(h), dim=-1)
            elif kind in ("conv1d", "pool"):
                x = m(x.transpose(1, 2)).transpose(1, 2)
                if kind == "conv1d":
                    x = ACTIVATIONS[extra](x)
            elif kind == "dense":
                x = ACTIVATIONS[extra](m(x))
        return x


class Model:
    """A run: encoder, torch model, classes and decision threshold."""

    def __init__(self, run_dir):
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        self.name = os.path.basename(os.path.normpath(run_dir))
        self.classes = cfg["classes"]
        self.encoder = Encoder(run_dir, cfg["text"])
        self.net = Net(cfg["model"]["layers"], load_safetensors(os.path.join(run_dir, "model.safetensors")))
        self.net.eval()
        self.threshold = 0.5
        path = os.path.join(run_dir, "threshold.json")
        if len(self.classes) == 2 and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                self.threshold = float(json.load(f)["threshold"])

    def probabilities(self, texts):
        """Class probabilities, one list per text."""
        x = torch.tensor(self.encoder.pad(self.encoder.ids(texts)), dtype=torch.long)
        with torch.inference_mode():
            out = self.net(x)
        if out.shape[-1] == 1:  # binary: sigmoid of the second class
            p = out[:, 0]
            out = torch.stack([1 - p, p], dim=-1)
        return out.tolist()

    def predictions(self, texts):
        preds = []
        for probs in self.probabilities(texts):
            if len(probs) == 2:
                label = 1 if probs[1] >= self.threshold else 0
            else:
                label = max(range(len(probs)), key=probs.__getitem__)
            preds.append({
                "label": self.classes[label],
                "probability": probs[label],
                "probabilities": dict(zip(self.classes, probs)),
                "threshold": self.threshold if len(probs) == 2 else None,
                "status": "ok",
            })
        return preds


def check(model, path):
    """Compares ids and probabilities with textrnn's (see the module docs)."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    texts = [r["text"] for r in rows]
    ids = model.encoder.pad(model.encoder.ids(texts))
    mismatches = [i for i, (r, got) in enumerate(zip(rows, ids)) if r["ids"] != got]
    with_probs = [i for i, r in enumerate(rows) if r.get("probabilities") is not None]
    max_diff = 0.0
    if with_probs:
        got = model.probabilities([texts[i] for i in with_probs])
        for i, p in zip(with_probs, got):
            max_diff = max(max_diff, max(abs(a - b) for a, b in zip(rows[i]["probabilities"], p)))
    report = {"texts": len(rows), "id_mismatches": len(mismatches),
              "probabilities_checked": len(with_probs), "max_abs_diff": max_diff}
    if mismatches:
        i = mismatches[0]
        report["first_mismatch"] = {"row": i, "textrnn": rows[i]["ids"], "python": ids[i]}
    print(json.dumps(report), flush=True)


def serve(model, host, port):
    import uvicorn
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel

    class Body(BaseModel):
        texts: list[str]

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    bound = sock.getsockname()[1]

    @asynccontextmanager
    async def lifespan(_app):
        print(f"listening on http://{host}:{bound}", flush=True)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        return {"status": "ready"}

    @app.post("/v1/models/{name}/predict")
    def predict(name: str, body: Body):
        if name != model.name:
            raise HTTPException(status_code=404, detail=f"unknown model {name!r}")
        if not body.texts:
            raise HTTPException(status_code=400, detail="texts is empty")
        return {"model": model.name, "predictions": model.predictions(body.texts)}

    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--check", metavar="FILE", help="compare ids and probabilities with FILE")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Model(args.run_dir)
    if args.check:
        check(model, args.check)
    else:
        serve(model, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
