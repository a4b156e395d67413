"""JSON Schema work: OpenAPI-to-JSON-Schema conversion, compiled validation, parameter coercion and value synthesis."""
