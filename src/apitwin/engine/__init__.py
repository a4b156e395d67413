"""The generic twin runtime: operations compiled from a document, and the request pipeline."""
