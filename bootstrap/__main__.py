from __future__ import annotations

from bootstrap.launch import main

main()
