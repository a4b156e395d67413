"""Per-twin conventions implemented once in the engine: error envelopes, and more."""
