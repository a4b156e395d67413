"""apitwin: local, stateful twins of real HTTP APIs, served from their OpenAPI documents."""

__version__ = "0.1.0"
