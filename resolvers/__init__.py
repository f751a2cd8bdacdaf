"""The network face: the FastAPI app with GraphQL, the SPARQL 1.1 endpoint and REST.

Translates between HTTP and `kg`, never the other way round. Not built yet: see the open issues.
"""
