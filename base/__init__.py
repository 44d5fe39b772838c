"""The base layer: settings and small shared utilities. Imports nothing else of the project."""
