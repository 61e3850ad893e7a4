"""Keras twin of a textrnn model, shared by the Keras sides of `cargo xtask parity` and
`cargo xtask experiments --vs-keras`.

A textrnn model is a list of layer specs in the JSON that `config.json` holds (the recipe's
`[model] layers`, with the embedding's `input_dim` resolved). `build` makes the Keras model with
the same layers, the same names (`lstm`, `bidirectional_1`, ...) and the Keras defaults the
recipe relies on; `set_weights` / `get_weights` move parameters between the two by textrnn's
safetensors keys (`lstm.kernel`, `bidirectional.forward.recurrent_kernel`, ...), whose shapes
are already Keras' layouts (gates i, f, c, o and z, r, h; GRU bias `(2, 3u)`; Conv1D kernel
`(k, in, filters)`).

`compile` uses what the Keras tutorials use: the last layer's activation stays in the model
(sigmoid or softmax) and the loss is given probabilities (`from_logits=False`). On the
TensorFlow backend the sigmoid and softmax outputs carry their logits (`_keras_logits`) and the
crossentropy losses use those, so no probability is clipped to [1e-7, 1 - 1e-7]: the loss is
computed from the logits, as textrnn computes it (`cargo xtask parity`: equal to <= 9e-8 before
the first update in every configuration).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402


def _rnn(spec, name, go_backwards=False):
    kind = spec["type"]
    common = dict(
        units=spec["units"],
        dropout=spec.get("dropout", 0.0),
        recurrent_dropout=spec.get("recurrent_dropout", 0.0),
        return_sequences=spec.get("return_sequences", False),
        go_backwards=go_backwards,
        name=name,
    )
    if kind == "lstm":
        return keras.layers.LSTM(**common)
    if kind == "gru":
        return keras.layers.GRU(reset_after=spec.get("reset_after", True), **common)
    raise ValueError(f"not a recurrent layer: {kind!r}")


def layer_names(layers):
    """textrnn's layer names, in order: the kind, then `_1`, `_2`, ... for repeats."""
    seen, names = {}, []
    for spec in layers:
        kind = spec["type"]
        n = seen.get(kind, 0)
        names.append(kind if n == 0 else f"{kind}_{n}")
        seen[kind] = n + 1
    return names


def seeded_build(layers, maxlen, seed):
    """`build` with Keras' own seeded initialisation: the global seed set, then the model built
    (what `keras_anchor.py` trains and `keras_init.py` writes)."""
    keras.utils.set_random_seed(seed)
    return build(layers, maxlen)


def build(layers, maxlen):
    """The Keras model of textrnn layer specs, for int32 inputs of `maxlen` tokens."""
    inp = keras.Input((maxlen,), dtype="int32", name="tokens")
    x = inp
    for spec, name in zip(layers, layer_names(layers)):
        kind = spec["type"]
        if kind == "embedding":
            layer = keras.layers.Embedding(
                spec["input_dim"], spec["output_dim"],
                mask_zero=spec.get("mask_zero", False), name=name)
        elif kind in ("lstm", "gru"):
            layer = _rnn(spec, name)
        elif kind == "bidirectional":
            inner = spec["layer"]
            layer = keras.layers.Bidirectional(
                _rnn(inner, f"forward_{name}"),
                backward_layer=_rnn(inner, f"backward_{name}", go_backwards=True),
                merge_mode=spec.get("merge_mode", "concat"), name=name)
        elif kind == "conv1d":
            layer = keras.layers.Conv1D(
                spec["filters"], spec["kernel_size"], strides=spec.get("strides", 1),
                padding=spec.get("padding", "valid"),
                activation=_activation(spec.get("activation", "linear")), name=name)
        elif kind == "max_pooling1d":
            layer = keras.layers.MaxPooling1D(
                spec.get("pool_size", 2), strides=spec.get("strides"),
                padding=spec.get("padding", "valid"), name=name)
        elif kind == "dense":
            layer = keras.layers.Dense(
                spec["units"], activation=_activation(spec.get("activation", "linear")),
                name=name)
        elif kind == "dropout":
            layer = keras.layers.Dropout(spec["rate"], name=name)
        else:
            raise ValueError(f"layer type {kind!r} has no Keras twin here")
        x = layer(x)
    return keras.Model(inp, x)


def _activation(name):
    return None if name == "linear" else name


def output_kind(layers):
    """'binary', 'softmax' or 'multi_label', from the last dense layer."""
    last = layers[-1]
    if last.get("activation") == "softmax":
        return "softmax"
    return "binary" if last["units"] == 1 else "multi_label"


def dense_grads():
    """Whether `TEXTRNN_KERAS_DENSE_GRADS=1` asks for dense embedding gradients (see `optimizer`)."""
    return os.environ.get("TEXTRNN_KERAS_DENSE_GRADS", "0") == "1"


def _densifying(cls):
    """`cls` with every `tf.IndexedSlices` gradient made dense before the update.

    On the TensorFlow backend an Embedding's gradient is an `IndexedSlices` with one slice per
    token occurrence, and Keras 3's Adam and RMSprop square it slice by slice
    (`ops.square` keeps it sparse) before summing duplicates: the second moment of a row
    gets the sum of squares of its occurrences' gradients, not the square of the row's gradient.
    Densifying first gives the textbook update that textrnn (and PyTorch) make.
    """
    import tensorflow as tf

    class Dense(cls):
        def apply(self, grads, trainable_variables=None):
            grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                     for g in grads]
            return super().apply(grads, trainable_variables)

    Dense.__name__ = cls.__name__
    return Dense


def optimizer(cfg):
    """The Keras optimizer of textrnn's `[train] optimizer` table (Keras 3 defaults); with
    `TEXTRNN_KERAS_DENSE_GRADS=1`, one that densifies embedding gradients first."""
    name = cfg.get("name", "adam")
    wrap = _densifying if dense_grads() else (lambda c: c)
    if name == "adam":
        return wrap(keras.optimizers.Adam)(
            learning_rate=cfg.get("learning_rate", 1e-3), beta_1=cfg.get("beta_1", 0.9),
            beta_2=cfg.get("beta_2", 0.999), epsilon=cfg.get("epsilon", 1e-7))
    if name == "rmsprop":
        return wrap(keras.optimizers.RMSprop)(
            learning_rate=cfg.get("learning_rate", 1e-3), rho=cfg.get("rho", 0.9),
            epsilon=cfg.get("epsilon", 1e-7))
    raise ValueError(f"optimizer {name!r} has no Keras twin here")


def compile(model, layers, optimizer_cfg, metrics=()):  # noqa: A001 (Keras' word)
    kind = output_kind(layers)
    loss = "sparse_categorical_crossentropy" if kind == "softmax" else "binary_crossentropy"
    model.compile(optimizer=optimizer(optimizer_cfg), loss=loss, metrics=list(metrics))
    return kind


def _slots(model, layers):
    """(textrnn key, Keras variable) for every parameter of the model."""
    out = []
    for spec, name in zip(layers, layer_names(layers)):
        layer = model.get_layer(name)
        kind = spec["type"]
        if kind == "embedding":
            out.append((f"{name}.embeddings", layer.embeddings))
        elif kind in ("lstm", "gru", "conv1d", "dense"):
            out.extend(_cell_slots(name, layer, kind))
        elif kind == "bidirectional":
            inner = spec["layer"]["type"]
            out.extend(_cell_slots(f"{name}.forward", layer.forward_layer, inner))
            out.extend(_cell_slots(f"{name}.backward", layer.backward_layer, inner))
    return out


def _cell_slots(prefix, layer, kind):
    if kind in ("lstm", "gru"):
        cell = layer.cell
        return [(f"{prefix}.kernel", cell.kernel),
                (f"{prefix}.recurrent_kernel", cell.recurrent_kernel),
                (f"{prefix}.bias", cell.bias)]
    return [(f"{prefix}.kernel", layer.kernel), (f"{prefix}.bias", layer.bias)]


def set_weights(model, layers, tensors):
    """Loads textrnn's parameters (key -> array) into the Keras model; every key must match."""
    slots = _slots(model, layers)
    keys = {k for k, _ in slots}
    extra = sorted(set(tensors) - keys)
    missing = sorted(keys - set(tensors))
    if extra or missing:
        raise ValueError(f"weights do not match the model: missing {missing}, unexpected {extra}")
    for key, var in slots:
        value = tensors[key]
        if tuple(var.shape) != tuple(value.shape):
            raise ValueError(f"{key}: Keras shape {tuple(var.shape)}, textrnn {value.shape}")
        var.assign(value.astype("float32"))


def get_weights(model, layers):
    """The Keras model's parameters under textrnn's keys."""
    return {k: keras.ops.convert_to_numpy(v) for k, v in _slots(model, layers)}
