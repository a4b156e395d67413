"""State: resources inferred from the spec, and the stores that remember them."""
