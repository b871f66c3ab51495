from weightwatch.cli import main

raise SystemExit(main())
