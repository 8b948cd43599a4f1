from saleor_gordon.cli import main

raise SystemExit(main())
