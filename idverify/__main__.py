"""``python -m idverify`` is the ``idverify`` command."""

from idverify.cli import main

raise SystemExit(main())
