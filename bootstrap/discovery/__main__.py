from __future__ import annotations

import sys

from bootstrap.discovery.server import serve

sys.exit(serve())
