"""Trial: a small sentence-embedding model as a second opinion to the intent rules.

    .venv/bin/python bench/embed_intents.py --model /path/to/all-MiniLM-L6-v2   # dir or model.zip

Encodes every labelled line of tune, dev and dev2 (never held-out) with
sentence-transformers/all-MiniLM-L6-v2 (pinned by its weights' SHA-256), run here with the
lock's `tokenizers` and a numpy forward pass (no torch, no sentence-transformers): BERT
embeddings, 6 encoder layers, mean pooling over the attention mask, L2 normalisation.
Classifiers on the embeddings: kNN (k=5, cosine) and a numpy multinomial logistic
regression. Cross-file: train on two files, score the third. As a second opinion the
classifier may replace the rules' intent by rule states (tie, no request heard, a clear
request) at confidence thresholds chosen on the two training files only (each scored with
a classifier trained on the other), never where the rules heard an emergency or a wish for
a person, and never to say either. Writes bench/results/embed_intents-<UTC>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import math
import os
import statistics
import struct
import sys
import time
import tomllib
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one line at a time: threads only contend
import numpy as np
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.llm.understanding import Intent  # noqa: E402
from appliance.workflows.intents import read  # noqa: E402
from appliance.workflows.understander import SAFETY, TIE_MARGIN, Understander  # noqa: E402
from tests.understanding_eval import demo_vocabulary  # noqa: E402

ASSETS = ROOT / "tests" / "assets" / "understanding"
PARTS = {"tune": "lines_tune.toml", "dev": "lines_dev.toml", "dev2": "lines_dev2.toml"}
# sentence-transformers/all-MiniLM-L6-v2, revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
NEVER_SAID = {Intent.EMERGENCY.value, Intent.SPEAK_TO_PERSON.value}
SANITY = [
    ("I need to book an appointment", "can I schedule a visit"),
    ("I need to book an appointment", "where do I park"),
    ("I need to book an appointment", "I want to cancel my appointment"),
    ("can I get a refill on my blood pressure pills", "I'm running out of my medication"),
    ("can I get a refill on my blood pressure pills", "what are your opening hours"),
    ("what time do you open on saturday", "are you open on weekends"),
]


# ---- the encoder -------------------------------------------------------------------------


def _files(model: Path) -> dict[str, bytes]:
    names = ("model.safetensors", "tokenizer.json", "config.json")
    if model.is_dir():
        return {n: (model / n).read_bytes() for n in names}
    with zipfile.ZipFile(model) as zf:
        return {n: zf.read(n) for n in names}


def read_safetensors(blob: bytes) -> dict[str, np.ndarray]:
    """8-byte little-endian header length, a JSON header, then the raw tensors."""
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        raw = blob[8 + n + start : 8 + n + end]
        # a copy: the data in the file need not be aligned, and numpy's BLAS path needs it
        out[name] = np.frombuffer(raw, dtype=dtypes[spec["dtype"]]).reshape(spec["shape"]).copy()
    return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mu) / np.sqrt(var + eps) * w + b)


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU without scipy."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return np.asarray(s * (1.0 - poly * np.exp(-a * a)))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


class MiniLM:
    def __init__(self, model: Path) -> None:
        files = _files(model)
        digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
        if digest != WEIGHTS_SHA256:
            raise SystemExit(f"model.safetensors sha256 {digest} is not the pinned one")
        self.cfg = json.loads(files["config.json"])
        self.w = read_safetensors(files["model.safetensors"])
        for name in [n for n in self.w if n.endswith(".weight") and self.w[n].ndim == 2]:
            self.w[name + ".T"] = np.ascontiguousarray(self.w[name].T)
        self.tok = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        self.tok.no_padding()
        self.tok.enable_truncation(256)  # sentence-transformers' max_seq_length

    def encode(self, text: str) -> np.ndarray:
        enc = self.tok.encode(text)
        ids, types = np.array(enc.ids), np.array(enc.type_ids)
        w, eps = self.w, self.cfg["layer_norm_eps"]
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        for i in range(self.cfg["num_hidden_layers"]):
            x = self._layer(x, f"encoder.layer.{i}.", eps)
        v = x.mean(0)  # one line, no padding: the mask covers every token
        return np.asarray(v / np.linalg.norm(v), dtype=np.float32)

    def _layer(self, x: np.ndarray, p: str, eps: float) -> np.ndarray:
        w = self.w
        heads = self.cfg["num_attention_heads"]
        n, d = x.shape
        hd = d // heads

        def lin(name: str, v: np.ndarray) -> np.ndarray:
            return np.asarray(v @ w[p + name + ".weight.T"] + w[p + name + ".bias"])

        q, k, v = (
            lin(f"attention.self.{m}", x).reshape(n, heads, hd).transpose(1, 0, 2)
            for m in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        att = scores / scores.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(n, d)
        x = _layer_norm(
            lin("attention.output.dense", ctx) + x,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        h = lin("output.dense", _gelu(lin("intermediate.dense", x)))
        return _layer_norm(
            h + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps
        )


# ---- the classifiers ---------------------------------------------------------------------


def knn(
    train_x: np.ndarray, train_y: list[str], x: np.ndarray, k: int = 5
) -> list[tuple[str, float]]:
    """Label and confidence (the share of the k nearest by cosine, similarity-weighted)."""
    out = []
    sims = x @ train_x.T
    for row in sims:
        top = np.argsort(-row)[:k]
        votes: dict[str, float] = {}
        for j in top:
            votes[train_y[j]] = votes.get(train_y[j], 0.0) + max(float(row[j]), 0.0)
        label = max(votes, key=lambda c: votes[c])
        out.append((label, votes[label] / (sum(votes.values()) or 1.0)))
    return out


def logreg(
    train_x: np.ndarray, train_y: list[str], x: np.ndarray, steps: int = 600, l2: float = 1e-3
) -> list[tuple[str, float]]:
    """Multinomial logistic regression (full-batch gradient descent, L2): label, probability."""
    classes = sorted(set(train_y))
    y = np.zeros((len(train_y), len(classes)))
    y[np.arange(len(train_y)), [classes.index(c) for c in train_y]] = 1.0
    xb = np.hstack([train_x, np.ones((len(train_x), 1))])
    wgt = np.zeros((xb.shape[1], len(classes)))
    for _ in range(steps):
        z = xb @ wgt
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = xb.T @ (p - y) / len(xb) + l2 * wgt
        wgt -= 4.0 * grad
    z = np.hstack([x, np.ones((len(x), 1))]) @ wgt
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return [(classes[int(i)], float(r[i])) for r, i in zip(p, p.argmax(1), strict=True)]


def logreg_long(train_x: np.ndarray, train_y: list[str], x: np.ndarray) -> list[tuple[str, float]]:
    """Closer to convergence, less regularised: sharper probabilities."""
    return logreg(train_x, train_y, x, steps=3000, l2=1e-4)


Fit = Callable[[np.ndarray, list[str], np.ndarray], list[tuple[str, float]]]
CLASSIFIERS: dict[str, Fit] = {"knn5": knn, "logreg": logreg, "logreg_long": logreg_long}


# ---- the rules and the second opinion ----------------------------------------------------


def rules_state(text: str) -> str:
    """How the rules decided: safety, clear, tie, or none (no request heard)."""
    r = read(text)
    if r.intent in SAFETY:
        return "safety"
    if r.score > 0:
        return "clear" if r.margin >= TIE_MARGIN else "tie"
    return "none"


THRESHOLDS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 2.0)  # 2.0: never
POLICIES = [
    {"tie": a, "none": b, "clear": c}
    for a, b, c in itertools.product(THRESHOLDS, THRESHOLDS, THRESHOLDS[3:])
]


def combine(
    rows: list[dict[str, Any]], opinion: list[tuple[str, float]], policy: dict[str, float]
) -> list[str]:
    out = []
    for row, (label, conf) in zip(rows, opinion, strict=True):
        state = row["state"]
        take = state != "safety" and label not in NEVER_SAID and conf >= policy[state]
        out.append(label if take else row["rules"])
    return out


def accuracy(rows: list[dict[str, Any]], got: list[str]) -> float:
    return float(sum(g == r["intent"] for g, r in zip(got, rows, strict=True)) / len(rows))


def pick_policy(
    parts: dict[str, list[dict[str, Any]]], vecs: dict[str, np.ndarray], fit: Fit, a: str, b: str
) -> dict[str, float]:
    """The policy with the best line-weighted accuracy over files a and b, each scored by a
    classifier trained on the other (the scored file plays no part); ties: fewest overrides."""
    ops = {
        a: fit(vecs[b], [r["intent"] for r in parts[b]], vecs[a]),
        b: fit(vecs[a], [r["intent"] for r in parts[a]], vecs[b]),
    }

    def key(pol: dict[str, float]) -> tuple[int, float]:
        right = sum(
            accuracy(parts[f], combine(parts[f], ops[f], pol)) * len(parts[f]) for f in (a, b)
        )
        return round(right), sum(pol.values())

    return max(POLICIES, key=key)


# ---- the trial ---------------------------------------------------------------------------


def load_part(name: str, enc: MiniLM, ms: list[float]) -> tuple[list[dict[str, Any]], np.ndarray]:
    data = tomllib.loads((ASSETS / PARTS[name]).read_text("utf-8"))
    now = datetime.fromisoformat(data["reference_now"]).replace(tzinfo=ZoneInfo("America/New_York"))
    u = Understander(None, "never")
    u.vocabulary = demo_vocabulary()
    rows, vecs = [], []
    for line in data["line"]:
        got = asyncio.run(u.understand(line["text"], now))
        rows.append(
            {
                "intent": line["intent"],
                "rules": got.intent.value,
                "state": rules_state(line["text"]),
            }
        )
        started = time.perf_counter()
        vecs.append(enc.encode(line["text"]))
        ms.append((time.perf_counter() - started) * 1000)
    return rows, np.stack(vecs)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def headroom(rows: list[dict[str, Any]], op: list[tuple[str, float]]) -> dict[str, list[int]]:
    """Per rule state: [the rules' misses, of which the classifier has right]."""
    out: dict[str, list[int]] = {}
    for r, (label, _) in zip(rows, op, strict=True):
        if r["rules"] != r["intent"]:
            cell = out.setdefault(r["state"], [0, 0])
            cell[0] += 1
            cell[1] += label == r["intent"]
    return out


def cross_file(
    parts: dict[str, list[dict[str, Any]]], vecs: dict[str, np.ndarray]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fit in CLASSIFIERS.items():
        per: dict[str, Any] = {}
        for scored in PARTS:
            a, b = (p for p in PARTS if p != scored)
            policy = pick_policy(parts, vecs, fit, a, b)
            train_x = np.vstack([vecs[a], vecs[b]])
            train_y = [r["intent"] for r in parts[a] + parts[b]]
            op = fit(train_x, train_y, vecs[scored])
            rows = parts[scored]
            both = combine(rows, op, policy)
            per[scored] = {
                "rules": round(accuracy(rows, [r["rules"] for r in rows]), 4),
                "alone": round(accuracy(rows, [lbl for lbl, _ in op]), 4),
                "second_opinion": round(accuracy(rows, both), 4),
                "policy": {k: (None if v > 1 else v) for k, v in policy.items()},
                "overrides": sum(g != r["rules"] for g, r in zip(both, rows, strict=True)),
                "fixed": sum(
                    g == r["intent"] != r["rules"] for g, r in zip(both, rows, strict=True)
                ),
                "broken": sum(
                    r["rules"] == r["intent"] != g for g, r in zip(both, rows, strict=True)
                ),
                "rules_misses_by_state": headroom(rows, op),
            }
        out[name] = per
    return out


def main(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    enc = MiniLM(Path(args.model))
    load_s = time.perf_counter() - started
    sanity = {f"{a} | {b}": round(float(enc.encode(a) @ enc.encode(b)), 3) for a, b in SANITY}
    ms: list[float] = []
    parts, vecs = {}, {}
    for name in PARTS:
        parts[name], vecs[name] = load_part(name, enc, ms)
    states = {
        n: {s: sum(r["state"] == s for r in rows) for s in ("safety", "clear", "tie", "none")}
        for n, rows in parts.items()
    }
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (numpy forward pass)",
        "weights_sha256": WEIGHTS_SHA256,
        "load_s": round(load_s, 2),
        "cosine_sanity": sanity,
        "encode_ms_per_line": {
            "lines": len(ms),
            "p50": round(statistics.median(ms), 2),
            "p95": round(pct(ms, 0.95), 2),
            "max": round(max(ms), 2),
        },
        "rules_states": states,
        "cross_file": cross_file(parts, vecs),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the model's directory or its model.zip")
    args = parser.parse_args()
    results = main(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"embed_intents-{stamp}.json"
    report = {"command": " ".join(sys.argv), "cpus": os.cpu_count(), **results}
    out.write_text(json.dumps(report, indent=2), "utf-8")
    print(json.dumps(results, indent=1))
    print(f"written: {out}")
