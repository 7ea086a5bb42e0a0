"""Recipes rendered into Dockerfiles, and the hardening policy run over both."""
