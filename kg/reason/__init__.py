"""Reasoning: rules as data (`ontology/rules/*.rq`) run to a fixpoint into inferred graphs,
every inferred fact with the rule and premises that produced it.
"""
