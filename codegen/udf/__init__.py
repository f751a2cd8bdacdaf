"""Typed UDF packages: pip-installable Python functions for models in the graph.

`write_package` renders one from the models' interface descriptions (`codegen.interface`);
`modelkg codegen udf` is its command.
"""

from __future__ import annotations

from codegen.udf.package import GeneratedPackage, default_name, write_package

__all__ = ["GeneratedPackage", "default_name", "write_package"]
