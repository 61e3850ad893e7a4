"""Writes the Keras twin's own seeded initial weights, under textrnn's keys, seed by seed.

    python keras_init.py OUT_DIR ANCHOR_DIR [SEED ...]

ANCHOR_DIR is a `seed-<s>-keras/` directory that `cargo xtask experiments --vs-keras` wrote; its
`anchor.json` gives the model (`layers`, `maxlen`) and the default seed. For each SEED (default
the anchor's own) the twin is initialised as `keras_anchor.py` initialises it
(`keras_common.seeded_build`: `keras.utils.set_random_seed(seed)`, then the model), and its parameters go to
`OUT_DIR/init-seed-<seed>.safetensors` under textrnn's keys: the file `cargo xtask parity
--init FILE` starts a replay from. One process serves every seed (importing TensorFlow takes
seconds); the seed is reset before each build, so a file does not depend on those before it.

What it is for (docs/results.md, issue #16): training textrnn from Keras' own initialisation
in textrnn's batch order, to tell the initial weights from the rest of a run.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras_common  # noqa: E402
import keras  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402


def main(out_dir, anchor_dir, seeds):
    with open(os.path.join(anchor_dir, "anchor.json")) as f:
        cfg = json.load(f)
    layers = cfg["layers"]
    os.makedirs(out_dir, exist_ok=True)
    for seed in seeds or [int(cfg["seed"])]:
        model = keras_common.seeded_build(layers, int(cfg["maxlen"]), seed)
        weights = keras_common.get_weights(model, layers)
        path = os.path.join(out_dir, f"init-seed-{seed}.safetensors")
        tmp = path + ".tmp"
        save_file({k: v.astype("float32") for k, v in weights.items()}, tmp)
        os.replace(tmp, path)
        print(path, flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]])
