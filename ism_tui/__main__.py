from ism_tui.cli import main

raise SystemExit(main())
