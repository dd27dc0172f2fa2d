"""Transports: move bytes between the client and the engine (HTTP, WebSocket); no protocol logic."""
