"""Training scripts that log with runview; ``runview demo`` runs ``spirals`` and watches it live."""
