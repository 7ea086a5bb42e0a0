"""Images: the build plan, the engine, builds and their checks, and the watch for stale images."""
