"""A curated, hardened base-image channel: recipes to digest-pinned, non-root images."""

__version__ = "0.1.0"
