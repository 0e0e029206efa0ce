"""The run directory: its format, the writer the logger uses, and the tailing reader the viewer
uses.

Nothing here imports textual, rich or plotext: the writer lives inside training processes.
"""
