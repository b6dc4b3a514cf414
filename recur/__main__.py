from recur.cli import main

raise SystemExit(main())
