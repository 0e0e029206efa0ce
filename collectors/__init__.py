"""What the logger samples around the training loop: host facts, console, system, GPU, model.

Collectors degrade instead of failing, and never import textual, rich or plotext.
"""
