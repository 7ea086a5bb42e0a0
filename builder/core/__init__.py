"""What every phase shares: errors, atomic files, safe text, image references, settings,
the runtime profile and the facts recorded about an image."""
