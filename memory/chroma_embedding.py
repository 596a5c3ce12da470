"""Mark-1's embedder as a Chroma embedding function, registered under a name.

Chroma stores the name (and ``get_config``) with each collection; a collection reopened in
another process rebuilds the function from that name, so this module must be imported before
a collection is opened (``memory`` modules that open collections import it). Chroma's own
default embedder would download a model, which fails offline: collections are always created
with this function.

Chroma rebuilds the function from its config (the model id) on every read of the collection's
settings, so the instance holds only that id: the model lives in ``memory.embedder`` (one per
process).
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from memory.embedder import MODEL_ID, embedder

NAME = "mark1-minilm-int8"


@register_embedding_function
class MiniLMEmbeddings(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (int8 ONNX, or its compact variant) through ``memory.embedder``."""

    def __init__(self, model_id: str = MODEL_ID) -> None:
        self.model_id = model_id

    def __call__(self, input: Documents) -> Embeddings:
        return list(embedder(self.model_id).embed(list(input)))

    @staticmethod
    def name() -> str:
        return NAME

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model_id}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddings:
        return MiniLMEmbeddings(config.get("model", MODEL_ID))

    def default_space(self) -> Space:
        return "cosine"  # vectors are normalised: cosine and inner product agree

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]
