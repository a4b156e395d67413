"""The ASGI application of a twin and the process that serves many twins on their ports."""
