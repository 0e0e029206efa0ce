"""The Textual viewer: a run page with one tab per view of the run."""
