"""One small reader per library that makes models on the Hub, and the libraries themselves as
ontology data (`ontology/libraries.ttl`, loaded by `kg.ingest.libraries.known`).

Kept free of imports so discovery (`kg.ingest.sources`) can load the library markers without
pulling in the readers; `kg.ingest.libraries.dispatch` runs the reader of a model's library.
"""
