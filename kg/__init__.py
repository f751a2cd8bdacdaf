"""ModelKG's core: the store, ingest, validation, queries and the CLI.

`kg` depends on `ontology` only; the network face (`resolvers`) and code generation (`codegen`)
sit on top of it.
"""

__version__ = "0.1.0"
