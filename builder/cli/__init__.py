"""The `builder` command line."""
