"""Test support shared by the unit, integration and benchmark tests: stand-in servers, a fake engine,
scratch channels."""
