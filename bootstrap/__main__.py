from __future__ import annotations

from bootstrap.cli import main

main()
