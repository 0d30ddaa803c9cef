"""A sentence-transformers model run by ONNX Runtime, in float32 or with int8 weights.

Why: the model is most of the matcher's cost, and importing torch and sentence-transformers
takes about 6 s of every process's start. The same model exported to ONNX gives the same
vectors (float32: cosine 1.000000 to sentence-transformers' on 1,500 ECB+ passages) and runs
without torch; quantised to int8 (dynamic, per channel) it is faster again but no longer
identical. The copy is made once, offline, from the installed model folder (torch's ONNX
export, then for int8 ONNX Runtime's quantiser) and kept in a cache folder; later processes
only load it.

Only models that pool by the mean of their token vectors (all-MiniLM-L6-v2 and most
sentence-transformers models) are supported; others are refused with a clear error and can
run with sentence-transformers itself (`model = "FOLDER@torch"`). Folders saved by
sentence-transformers 5 and by 6 (which writes its pooling and length settings differently)
are both read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from matcher.errors import ModelNotFound

RUNTIMES = ("onnx", "onnx-int8")  # float32, int8 weights
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
BATCH_SIZE = 64
FORMAT = "1"  # bump when the export changes: older cached copies are then made again


def cache_folder() -> Path:
    """Where quantised copies are kept: $LEAKSENTRY_CACHE, else ~/.cache/leaksentry."""
    root = os.environ.get("LEAKSENTRY_CACHE") or Path.home() / ".cache" / "leaksentry"
    return Path(root) / "onnx"


def quantised_copy(model_path: str) -> Path:
    """The int8 ONNX file for this model folder (see onnx_copy)."""
    return onnx_copy(model_path, int8=True)


def onnx_copy(model_path: str, int8: bool = False) -> Path:
    """The ONNX file for this model folder, float32 or int8, made on first use (atomically:
    two processes starting at once do not see a half-written file)."""
    weights = sorted(Path(model_path).glob("*.safetensors")) or sorted(
        Path(model_path).glob("*.bin")
    )
    digest = hashlib.sha256(f"{FORMAT}\0{Path(model_path).resolve()}".encode())
    for path in weights:
        digest.update(f"{path.name}\0{path.stat().st_size}\0{path.stat().st_mtime_ns}".encode())
    target = cache_folder() / f"{digest.hexdigest()[:24]}.{'int8' if int8 else 'fp32'}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work, _quietly():
        plain, small = Path(work) / "model.onnx", Path(work) / "model.int8.onnx"
        _export(model_path, plain)
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(plain), str(small), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(small if int8 else plain, target)
    return target


@contextlib.contextmanager
def _quietly():
    """The exporter's and quantiser's advice to developers is not for the operator's log
    (the result is checked by tests/test_model_runtime.py instead)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _export(model_path: str, out: Path) -> None:
    """torch's ONNX export of the model's transformer (token vectors out). Its inputs are
    those of INPUTS the model takes: MPNet and RoBERTa models have no token types."""
    import inspect

    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    takes = inspect.signature(model.forward).parameters
    names = [name for name in INPUTS if name in takes]

    class TokenVectors(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    sample = tokenizer(
        ["a short one", "and a longer second one"], padding=True, return_tensors="pt"
    )
    if "token_type_ids" in names and "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    axes = {name: {0: "batch", 1: "tokens"} for name in (*names, "token_vectors")}
    with torch.no_grad():
        torch.onnx.export(
            TokenVectors(model),
            tuple(sample[name] for name in names),
            str(out),
            input_names=names,
            output_names=["token_vectors"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


class OnnxModel:
    """encode(texts) -> unit vectors, like SentenceTransformer.encode for this use."""

    def __init__(self, model_path: str, int8: bool = False, threads: int | None = None):
        folder = Path(model_path)
        pooling = _read_json(folder / "1_Pooling" / "config.json")
        # sentence-transformers 5 wrote pooling_mode_mean_tokens, 6 writes pooling_mode
        if not (pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode") == "mean"):
            raise ModelNotFound(
                f"model at {folder} does not pool by mean tokens; "
                f'run it with sentence-transformers: model = "{folder}@torch"'
            )
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # the length sentence-transformers cuts at: its own setting (5), else the tokenizer's (6)
        truncation = self.tokenizer.truncation or {}
        max_tokens = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
        self.tokenizer.enable_truncation(int(max_tokens or truncation.get("max_length") or 256))
        # pad to the batch's longest text, with the model's own pad token (MPNet's is 1)
        padding = self.tokenizer.padding or {}
        self.tokenizer.enable_padding(
            pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]")
        )
        self.dimension = int(
            pooling.get("word_embedding_dimension") or pooling["embedding_dimension"]
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.log_severity_level = 3  # its own warnings are not the operator's business
        # Idle model threads sleep instead of spinning: the service embeds while a crawl
        # process shares the cores, and spinning threads took the CPU the crawl needed (posts
        # service cycle 5.7 s against 5.0 s; the model alone loses about 4 %).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(onnx_copy(model_path, int8)), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors; texts sorted by length so batches pad little."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            encodings = self.tokenizer.encode_batch([texts[r] for r in rows])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            tokens = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            mean = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[rows] = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return out


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
