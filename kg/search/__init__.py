"""Plain-words search over the registry: search texts, embeddings, the vector index."""
