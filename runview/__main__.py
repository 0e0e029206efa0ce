"""``python -m runview`` runs the viewer's command line."""

from runview.tui.cli import main

raise SystemExit(main())
