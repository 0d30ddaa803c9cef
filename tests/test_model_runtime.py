"""The model's runtimes: the ONNX copy in float32 (the default), sentence-transformers (torch)
and the int8 ONNX copy of the same model.

Real model, real ONNX Runtime: the copies are exported (and quantised) from the installed
model folder on first use (offline) and must agree with the original."""

import numpy as np
import pytest

from matcher.embedder import Embedder, load_embedder, resolve_model_path, split_runtime
from matcher.errors import ModelNotFound
from matcher.onnxmodel import onnx_copy, quantised_copy
from matcher.records import Brief
from matcher.scoring import Matcher

from conftest import MODEL

pytestmark = pytest.mark.slow
TEXTS = [
    "Harbour police will search the Fennick Quay cold store at dawn on Friday.",
    "Customs officers seized 38 containers at Marren Dock, Calderport.",
    "What a match last night, the keeper saved everything!",
    "The council will close the Ropewalk estate road for repairs next week.",
    "Une opération de police est prévue jeudi à l'aube sur le quai.",
    "Lumora's smart glasses launch in Corrastead on 12 September, priced at €549.",
    "short",
    " ".join(["A very long article sentence that goes on and on about the harbour"] * 30),
]


@pytest.fixture(scope="module")
def int8():
    return load_embedder(f"{MODEL}@onnx-int8")


@pytest.fixture(scope="module")
def original():
    return load_embedder(f"{MODEL}@torch")


def test_the_default_onnx_copy_gives_the_original_models_vectors(embedder, original):
    """The default runtime is the float32 ONNX copy: the same vectors as sentence-transformers,
    so it changes no decision (it only starts and runs faster)."""
    assert embedder.runtime == "onnx"
    agreement = (original._encode(TEXTS) * embedder._encode(TEXTS)).sum(axis=1)
    assert agreement.min() >= 0.99999, agreement
    assert onnx_copy(resolve_model_path(MODEL)) != quantised_copy(resolve_model_path(MODEL))


def test_the_int8_copy_agrees_with_the_original_model(original, int8):
    original = original._encode(TEXTS)
    quantised = int8._encode(TEXTS)
    agreement = (original * quantised).sum(axis=1)
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.95, agreement
    np.testing.assert_allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-5)
    # the order of a batch does not change a text's vector (sorted by length inside)
    again = int8._encode(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(again, quantised, atol=1e-5)


def test_the_int8_copy_is_made_once_and_reused(int8):
    path = quantised_copy(resolve_model_path(MODEL))
    made = path.stat().st_mtime_ns
    assert quantised_copy(resolve_model_path(MODEL)) == path
    assert path.stat().st_mtime_ns == made


def test_runtimes_never_share_cached_or_sealed_vectors(embedder, original, int8):
    assert original.name == MODEL  # as before runtimes: vectors stored then stay valid
    assert embedder.name == f"{MODEL}@onnx"
    assert int8.name == f"{MODEL}@onnx-int8"
    assert len({model.key("same text") for model in (embedder, original, int8)}) == 3


def test_an_unknown_runtime_is_refused_with_the_known_ones():
    assert split_runtime(MODEL) == (MODEL, "onnx")
    assert split_runtime(f"{MODEL}@torch") == (MODEL, "torch")
    known = "use one of onnx, torch, onnx-int8"
    with pytest.raises(ModelNotFound, match=f"unknown runtime 'gpu'; {known}"):
        Embedder(f"{MODEL}@gpu")


def test_the_matcher_decides_the_same_with_every_runtime(embedder, original, int8):
    brief = Brief(
        id="B-QUAY",
        codename="AMBER FINCH",
        summary="Harbour police will search the Fennick Quay cold store at dawn on 9 May 2031.",
        details=["Location: Fennick Quay cold store, Tollmere", "42 officers and a dog team"],
    )
    from matcher.records import Item

    items = [
        Item("leak", "", "social", "s", "2031-05-02T08:00:00+00:00", "",
             "Heads up: 42 cops raiding the Fennick Quay cold store in Tollmere on 9 May"),
        Item("chat", "", "social", "s", "2031-05-02T08:00:00+00:00", "",
             "Lovely walk along Tollmere beach today"),
    ]  # fmt: skip
    decided = []
    for model in (embedder, original, int8):
        matcher = Matcher(model)
        prepared = matcher.prepare_brief(brief)
        matches = matcher.score([prepared], matcher.prepare_items(items), all_scores=True)
        decided.append({m.item_id: m.alert for m in matches})
    assert decided[0] == decided[1] == decided[2] and decided[0].get("leak") is True


@pytest.fixture(scope="module")
def model_without_token_types(tmp_path_factory):
    """A small MPNet model (random weights, the installed model's tokenizer) saved as a
    sentence-transformers folder: MPNet, like RoBERTa, takes no token types."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, MPNetConfig, MPNetModel

    raw = tmp_path_factory.mktemp("mpnet-raw")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(MODEL), local_files_only=True)
    config = MPNetConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=258,
    )
    torch.manual_seed(7)
    MPNetModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    folder = tmp_path_factory.mktemp("mpnet")
    transformer = Transformer(str(raw), max_seq_length=128)
    pooling = Pooling(32, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling, Normalize()]).save(str(folder))
    return str(folder)


def test_a_model_without_token_types_runs_in_onnx_with_its_own_vectors(
    model_without_token_types, tmp_path, monkeypatch
):
    """Any local sentence-transformers folder can be named; the default runtime exports
    only the inputs the model takes (an MPNet model has no token types)."""
    monkeypatch.setenv("LEAKSENTRY_CACHE", str(tmp_path))
    onnx = Embedder(model_without_token_types)
    torch_model = Embedder(f"{model_without_token_types}@torch")
    assert onnx.runtime == "onnx" and onnx.dimension == 32
    agreement = (onnx._encode(TEXTS) * torch_model._encode(TEXTS)).sum(axis=1)
    assert agreement.min() >= 0.99999, agreement
