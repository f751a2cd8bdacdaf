"""GraphQL at /graphql (strawberry): schema, types, DataLoaders, limits, GraphiQL."""
