"""The digest the kept answers of compose are filed by (``modelcache``, compose's config
hashes), without hashlib's import: hashlib loads OpenSSL's libcrypto first, 2.1-2.5 ms of
every command that takes a kept model (``python -X importtime``, 2 cores), where BLAKE2 is
built into the interpreter."""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter built without its own BLAKE2: hashlib's, the same digest
    from hashlib import blake2b


def digest(data: bytes = b"") -> blake2b:
    """A 256-bit BLAKE2b digest of ``data``, to ``update`` with more."""
    return blake2b(data, digest_size=32)
