"""The bundled twins: one vendored OpenAPI document and one declarative profile each."""
