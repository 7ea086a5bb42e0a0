"""Releases: version tags moved by digest, the catalog consumers read, and consumers' pins."""
