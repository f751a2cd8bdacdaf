"""The ModelKG vocabulary as data: Turtle files plus the small Python that loads them.

- `core.ttl`: classes and properties (aligned with FAIR4ML, schema.org, ML-Schema, PROV-O);
- `parameters.ttl`: normalized parameter concepts and how framework keys map to them;
- `catalog.ttl`: every model type and architecture the installed transformers knows (generated);
- `shapes.ttl`: the SHACL shapes an ingested model must satisfy.
"""

from ontology.catalog import ArchitectureEntry, Catalog, ModelTypeEntry, load_catalog
from ontology.files import ONTOLOGY_GRAPH, SHAPES_GRAPH, ontology_quads, shapes_quads
from ontology.namespaces import MKG, MKGSH, PREFIXES
from ontology.parameters import Concept, ParameterMapping, load_parameter_mapping

__all__ = [
    "MKG",
    "MKGSH",
    "ONTOLOGY_GRAPH",
    "PREFIXES",
    "SHAPES_GRAPH",
    "ArchitectureEntry",
    "Catalog",
    "Concept",
    "ModelTypeEntry",
    "ParameterMapping",
    "load_catalog",
    "load_parameter_mapping",
    "ontology_quads",
    "shapes_quads",
]
