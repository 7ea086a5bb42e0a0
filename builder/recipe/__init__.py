"""Recipes: strict YAML, the validated model, overlays, committed inputs, the image graph and its variants."""
