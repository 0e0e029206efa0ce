"""Widgets shared by the run-page tabs."""
