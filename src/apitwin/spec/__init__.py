"""Loading, normalizing and compiling OpenAPI documents (Swagger 2.0, OpenAPI 3.0 and 3.1)."""
