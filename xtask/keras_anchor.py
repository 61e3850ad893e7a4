"""Keras side of `cargo xtask experiments --vs-keras`: trains the Keras twin of one recipe on the
very splits textrnn trained on, with one seed, and writes its test metrics.

    python keras_anchor.py DIR

DIR holds what the Rust side wrote:
- `anchor.json`: `recipe`, `seed`, `maxlen`, `layers` (textrnn's resolved layer specs, the
  embedding's `input_dim` filled in), `epochs`, `batch_size`, `shuffle`, `optimizer`
  (textrnn's `[train] optimizer` table), `early_stopping` (textrnn's table or null);
- `splits.safetensors`: `<split>.tokens` (i64, N x maxlen, padded as textrnn pads them) and
  `<split>.labels` (i64, N) for `train`, `validation` (when the recipe has one) and `test`;
  `train.weights` (f32, N) when the recipe has class weights; `<split>.targets` (f32, N x L)
  for multi-label data.

The model is `keras_common.build` / `keras_common.compile` (the tutorials' compile: the output
activation in the model, the loss on probabilities) with Keras' own seeded initialisation
(`keras.utils.set_random_seed(seed)`), trained by `model.fit` (epochs, batch size, validation
data and `EarlyStopping` as the recipe says) on a `tf.data` pipeline that reshuffles the
training rows every epoch (seeded; see `reshuffled`). It writes `DIR/results.json`:
`test_accuracy`, `test_auc` (binary ROC AUC, or the one-vs-rest macro average for softmax, as
textrnn reports it; the mean per-label AUC for multi-label), `epochs_run`, `train_seconds`,
`history` and the Keras / backend versions. With `TEXTRNN_KERAS_BEFORE_LAST_STEP=1` it also
scores the test split just before each epoch's last batch and writes the last epoch's value as
`test_accuracy_before_last_step` (what `cargo xtask parity --recipe R --data-dir D` reports for
both sides of a replay): with a small partial last batch that one step can move the result by
points (docs/results.md).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

import keras_common  # noqa: E402
import keras  # noqa: E402


def roc_auc(scores, positive):
    """Binary ROC AUC (Mann-Whitney, ties counted half); None when a class is absent."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0  # average 1-based rank of the ties
        i = j + 1
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def test_metrics(kind, probs, labels, targets=None):
    """(accuracy, AUC) of test probabilities, as textrnn's `metrics.json` computes them."""
    if kind == "binary":
        p = probs.reshape(-1)
        accuracy = float(np.mean((p > 0.5) == (labels == 1)))
        return accuracy, roc_auc(p, labels == 1)
    if kind == "softmax":
        accuracy = float(np.mean(np.argmax(probs, axis=1) == labels))
        aucs = [roc_auc(probs[:, c], labels == c) for c in range(probs.shape[1])]
        aucs = [a for a in aucs if a is not None]
        return accuracy, (float(np.mean(aucs)) if aucs else None)
    # multi-label: subset accuracy, mean per-label AUC
    predicted = probs > 0.5
    accuracy = float(np.mean(np.all(predicted == (targets > 0.5), axis=1)))
    aucs = [roc_auc(probs[:, j], targets[:, j] > 0.5) for j in range(probs.shape[1])]
    aucs = [a for a in aucs if a is not None]
    return accuracy, (float(np.mean(aucs)) if aucs else None)


class BeforeLastStep(keras.callbacks.Callback):
    """Scores the model (`score(model)`) just before each epoch's last batch (`steps` batches
    an epoch); `value` ends as the last epoch's, i.e. before the run's last optimizer step."""

    def __init__(self, steps, score):
        super().__init__()
        self.steps, self.score, self.value = steps, score, None

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.steps - 1:
            self.value = self.score(self.model)


def reshuffled(train, weights, batch_size, shuffle, seed):
    """The training rows as a `tf.data.Dataset` of batches (the last one partial), in a new
    seeded order every epoch when `shuffle`.

    Why not `model.fit(x, y, shuffle=True)`: with a global seed set, Keras 3 on TensorFlow draws
    the permutation inside a `tf.data` map from a fixed op seed, so every epoch gets the same
    order (Keras 3.15.1 / TF 2.21: epochs 1, 2 and 3 see identical batches). Without a global
    seed, as in the tutorials, the order changes every epoch, which is what Keras documents
    ("shuffle the training data before each epoch") and what textrnn does.
    `TEXTRNN_KERAS_SEEDED_ORDER=1` keeps Keras' seeded behaviour, for comparison.
    """
    import tensorflow as tf

    parts = (train[0], train[1]) if weights is None else (train[0], train[1], weights)
    data = tf.data.Dataset.from_tensor_slices(parts)
    if shuffle:
        data = data.shuffle(len(train[0]), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def main(directory):
    with open(os.path.join(directory, "anchor.json")) as f:
        cfg = json.load(f)
    tensors = load_file(os.path.join(directory, "splits.safetensors"))
    layers = cfg["layers"]
    kind = keras_common.output_kind(layers)

    def split(name):
        if f"{name}.tokens" not in tensors:
            return None
        x = tensors[f"{name}.tokens"].astype("int32")
        y = tensors.get(f"{name}.targets")
        if y is None:
            y = tensors[f"{name}.labels"]
            y = y.astype("float32") if kind == "binary" else y.astype("int32")
        return x, y

    train, validation, test = split("train"), split("validation"), split("test")
    model = keras_common.seeded_build(layers, int(cfg["maxlen"]), int(cfg["seed"]))
    es = cfg.get("early_stopping")
    metrics = ["accuracy"]
    if kind == "binary":
        metrics.append(keras.metrics.AUC(name="auc"))
    keras_common.compile(model, layers, cfg["optimizer"], metrics=metrics)
    # Diagnostics: start from given initial weights (textrnn's keys, e.g. the init.safetensors
    # that `cargo xtask parity --keep` writes) instead of Keras' own seeded initialisation.
    init = os.environ.get("TEXTRNN_KERAS_INIT")
    if init:
        weights = load_file(init)
        only = os.environ.get("TEXTRNN_KERAS_INIT_ONLY")
        if only:
            # these keys from the file, the rest from Keras' own initialisation
            mixed = keras_common.get_weights(model, layers)
            mixed.update({k: weights[k] for k in only.split(",")})
            weights = mixed
        keras_common.set_weights(model, layers, weights)
    callbacks = []
    if es is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=es.get("monitor", "val_loss"), mode=es.get("mode", "auto"),
            patience=es.get("patience", 0), min_delta=es.get("min_delta", 0.0),
            restore_best_weights=es.get("restore_best_weights", False),
            baseline=es.get("baseline"), start_from_epoch=es.get("start_from_epoch", 0)))
    batch_size = int(cfg["batch_size"])
    shuffle = bool(cfg.get("shuffle", True))
    weights = tensors.get("train.weights")

    def score_test(m):
        """(accuracy, AUC) of model `m` on the test split."""
        probs = np.asarray(m.predict(test[0], batch_size=batch_size, verbose=0))
        return test_metrics(kind, probs, tensors["test.labels"], tensors.get("test.targets"))

    before_last = None
    if os.environ.get("TEXTRNN_KERAS_BEFORE_LAST_STEP", "0") == "1" and test is not None:
        steps = -(-len(train[0]) // batch_size)
        before_last = BeforeLastStep(steps, lambda m: score_test(m)[0])
        callbacks.append(before_last)
    started = time.perf_counter()
    if os.environ.get("TEXTRNN_KERAS_SEEDED_ORDER", "0") == "1":
        history = model.fit(
            train[0], train[1], sample_weight=weights, epochs=int(cfg["epochs"]),
            batch_size=batch_size, shuffle=shuffle, validation_data=validation,
            callbacks=callbacks, verbose=2)
    else:
        history = model.fit(
            reshuffled(train, weights, batch_size, shuffle, int(cfg["seed"])),
            epochs=int(cfg["epochs"]), validation_data=validation, callbacks=callbacks,
            verbose=2)
    train_seconds = time.perf_counter() - started
    result = {
        "recipe": cfg.get("recipe"),
        "seed": cfg["seed"],
        "epochs_run": len(history.history.get("loss", [])),
        "train_seconds": train_seconds,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "test_accuracy": None,
        "test_auc": None,
    }
    if test is not None:
        result["test_accuracy"], result["test_auc"] = score_test(model)
    if before_last is not None:
        result["test_accuracy_before_last_step"] = before_last.value
    tmp = os.path.join(directory, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, os.path.join(directory, "results.json"))
    print(json.dumps({k: result[k] for k in ("test_accuracy", "test_auc", "epochs_run")}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: keras_anchor.py DIR")
    main(sys.argv[1])
