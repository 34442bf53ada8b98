"""A real, small, reproducible edge model: a customer-support intent classifier, built in ~1 s.

It stands in for what a Tailor customer ships to devices: an OPEN compact student model (here
trained with numpy on templated English utterances; in production, on a Nova model's labels),
never Nova weights, which do not leave AWS. Features are hashed word and character n-grams, so
``featurize`` needs nothing but the standard library and numpy. The ONNX file is IR 9 / opset 17
and byte-identical on every rebuild (fixed seeds, float64 training, no timestamps), which the tests
and the benchmark rely on.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

INTENTS = ("billing", "refund", "shipping", "cancel", "password", "upgrade", "complaint", "other")
FEATURES = 512
HIDDEN = (256, 128)
IR_VERSION = 9
OPSET = 17
SEED = 7
MODEL_FILE = "intent-classifier.onnx"
GOLDEN_SAMPLES = 32
EPOCHS = 8
BATCH = 64

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "billing": (
        "why was I charged {amount} twice this month",
        "there is a charge on my {doc} I do not recognise",
        "can you explain the fee on my latest {doc}",
        "my {doc} shows the wrong amount",
        "I was billed {amount} but my plan costs less",
        "how do I update the card you charge",
        "where can I download my {doc}",
        "the payment failed on my {doc}",
    ),
    "refund": (
        "I want my money back for order {order}",
        "please refund the {amount} you took",
        "how long does a refund take",
        "I returned the {item} but got no refund yet",
        "can I get a refund for the broken {item}",
        "refund order {order} please",
        "when will the refund reach my card",
        "I was promised a refund of {amount}",
    ),
    "shipping": (
        "where is my order {order}",
        "my {item} has not arrived yet",
        "can you track the parcel for order {order}",
        "the delivery is late by a week",
        "do you ship the {item} abroad",
        "how much is express delivery",
        "the courier left my {item} at the wrong address",
        "when will order {order} be delivered",
    ),
    "cancel": (
        "cancel my subscription",
        "I want to close my account",
        "please cancel order {order} before it ships",
        "how do I stop the monthly plan",
        "end my membership today",
        "I no longer need the service, cancel it",
        "can I cancel without a fee",
        "terminate my contract please",
    ),
    "password": (
        "I forgot my password",
        "reset my password please",
        "I cannot log in to my account",
        "the login code never arrives",
        "my account is locked after too many attempts",
        "how do I change my password",
        "two factor authentication is not working",
        "I did not get the password reset email",
    ),
    "upgrade": (
        "I want to upgrade to the premium plan",
        "how much does the pro plan cost",
        "can I add more users to my plan",
        "switch me to the annual plan",
        "what do I get if I upgrade",
        "move my account to the business tier",
        "I need more storage on my plan",
        "upgrade my {item} subscription",
    ),
    "complaint": (
        "this is the worst service I have ever had",
        "your support agent was rude to me",
        "I am very unhappy with the {item}",
        "the {item} broke after one day, terrible quality",
        "I have waited hours and nobody helps",
        "I want to speak to a manager about this",
        "your app keeps crashing and I am fed up",
        "I am disappointed, the {item} is not as described",
    ),
    "other": (
        "what are your opening hours",
        "do you have a store near me",
        "is there a student discount",
        "can I talk to a human",
        "what is your phone number",
        "do you sell gift cards",
        "how do I contact you by email",
        "tell me about your company",
    ),
}
_FILL = {
    "amount": ("$20", "$49.99", "twelve dollars", "$5", "100 euros"),
    "doc": ("invoice", "bill", "statement", "receipt"),
    "order": ("A1234", "778120", "number 55", "ZX-9"),
    "item": ("headphones", "laptop", "phone case", "blender", "jacket"),
}
_PREFIX = ("", "hi ", "hello, ", "please ", "hey there ", "excuse me, ", "um ")
_SUFFIX = ("", " thanks", " asap", " please help", "?", " thank you", "!")
_WORD = re.compile(r"[a-z0-9$]+")


def _bucket(token: str) -> tuple[int, float]:
    value = zlib.crc32(token.encode())
    return value % FEATURES, 1.0 if (value >> 16) & 1 else -1.0


def featurize(text: str) -> np.ndarray:
    """Hashed word unigrams, bigrams and character trigrams → a float32 vector of 512, L2-normed."""
    import numpy as np

    vector = np.zeros(FEATURES, dtype=np.float64)
    words = _WORD.findall(text.lower())
    tokens = [f"w:{w}" for w in words] + [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f"#{word}#"
        tokens.extend(f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2))
    for token in tokens:
        index, sign = _bucket(token)
        vector[index] += sign
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


def utterances(seed: int = SEED, per_intent: int = 60) -> list[tuple[str, int]]:
    """Templated English utterances with their intent index, the same list on every call."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out: list[tuple[str, int]] = []
    for label, intent in enumerate(INTENTS):
        templates = _TEMPLATES[intent]
        for _ in range(per_intent):
            text = templates[int(rng.integers(len(templates)))]
            for slot, options in _FILL.items():
                text = text.replace("{" + slot + "}", options[int(rng.integers(len(options)))])
            text = _PREFIX[int(rng.integers(len(_PREFIX)))] + text + _SUFFIX[int(rng.integers(len(_SUFFIX)))]
            out.append((text, label))
    return out


def _train(x: np.ndarray, y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A 512→256→128→8 ReLU MLP, softmax cross-entropy, Adam, float64 (reproducible)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = (FEATURES, *HIDDEN, len(INTENTS))
    params = [
        (rng.standard_normal((a, b)) * np.sqrt(2.0 / a), np.zeros(b)) for a, b in itertools.pairwise(sizes)
    ]
    flat = [p for layer in params for p in layer]
    m = [np.zeros_like(p) for p in flat]
    v = [np.zeros_like(p) for p in flat]
    lr, beta1, beta2, eps, decay, step = 5e-3, 0.9, 0.999, 1e-8, 1e-4, 0
    onehot = np.eye(len(INTENTS))[y]
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            batch = order[start : start + BATCH]
            acts = [x[batch]]
            for i, (w, b) in enumerate(params):
                z = acts[-1] @ w + b
                acts.append(np.maximum(z, 0.0) if i < len(params) - 1 else z)
            logits = acts[-1]
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            delta = (probs - onehot[batch]) / len(batch)
            grads: list[np.ndarray] = []
            for i in range(len(params) - 1, -1, -1):
                w, _b = params[i]
                grads[:0] = [acts[i].T @ delta + decay * w, delta.sum(axis=0)]
                if i:
                    delta = (delta @ w.T) * (acts[i] > 0)
            step += 1
            for j, (p, g) in enumerate(zip(flat, grads, strict=True)):
                m[j] = beta1 * m[j] + (1 - beta1) * g
                v[j] = beta2 * v[j] + (1 - beta2) * g * g
                p -= lr * (m[j] / (1 - beta1**step)) / (np.sqrt(v[j] / (1 - beta2**step)) + eps)
    return params


def _onnx_model(params: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    current = "features"
    for i, (w, b) in enumerate(params, start=1):
        initializers += [
            numpy_helper.from_array(w.astype(np.float32), f"W{i}"),
            numpy_helper.from_array(b.astype(np.float32), f"b{i}"),
        ]
        last = i == len(params)
        nodes.append(helper.make_node("MatMul", [current, f"W{i}"], [f"mm{i}"], name=f"matmul{i}"))
        nodes.append(
            helper.make_node("Add", [f"mm{i}", f"b{i}"], ["logits" if last else f"z{i}"], name=f"add{i}")
        )
        if not last:
            nodes.append(helper.make_node("Relu", [f"z{i}"], [f"h{i}"], name=f"relu{i}"))
            current = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "intent_classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", FEATURES])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(INTENTS)])],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,  # pinned: onnx >= 1.23 would stamp IR 14, which device runtimes reject
        producer_name="tailor.edge.sample",
        producer_version="1",
        doc_string="Open customer-support intent classifier (a Tailor sample; not Nova weights).",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def build_intent_classifier(out_dir: Path) -> Path:
    """Train and write ``intent-classifier.onnx``, ``golden.json`` and ``labels.json``; return the model."""
    import numpy as np
    import onnx

    from tailor.edge.fidelity import run_model
    from tailor.edge.golden import GOLDEN_FILE_NAME, GoldenSet, Tensor

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = utterances()
    x = np.stack([featurize(text) for text, _ in data]).astype(np.float64)
    y = np.array([label for _, label in data])
    held_out = np.arange(len(data)) % (len(data) // GOLDEN_SAMPLES) == 0
    params = _train(x[~held_out], y[~held_out], SEED)
    model_path = out_dir / MODEL_FILE
    onnx.save_model(_onnx_model(params), str(model_path))
    feeds = [{"features": x[i : i + 1].astype(np.float32)} for i in np.flatnonzero(held_out)[:GOLDEN_SAMPLES]]
    outputs = run_model(model_path, feeds)
    golden = GoldenSet(
        inputs=[{n: Tensor.of(a) for n, a in f.items()} for f in feeds],
        expected={"fp32": [{n: Tensor.of(a) for n, a in o.items()} for o in outputs]},
    )
    (out_dir / GOLDEN_FILE_NAME).write_bytes(golden.to_bytes())
    (out_dir / "labels.json").write_text(json.dumps(list(INTENTS)) + "\n")
    return model_path


def classify(model_path: Path, text: str) -> str:
    """The intent label the ONNX model gives ``text`` (for demos)."""
    import numpy as np

    from tailor.edge.fidelity import run_model

    (outputs,) = run_model(model_path, [{"features": featurize(text)[None, :]}])
    return INTENTS[int(np.argmax(outputs["logits"][0]))]
