"""A sensor's credentials folder (``--credentials DIR``): its Ed25519 signing key, with which
it signs every interval's manifest, and what it ships with (the collector's token and CA,
written by ``teiten collector add-sensor``).

``sensor.key`` is the private key (PKCS#8 PEM, mode 0600), ``sensor.pub`` its public key
(the raw 32 bytes as hex, one line: what ``teiten collector add-sensor --public-key`` takes).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from teiten.errors import SettingError

__all__ = ["PRIVATE", "PUBLIC", "generate", "load_private", "public_hex", "public_key", "verify"]

PRIVATE = "sensor.key"
PUBLIC = "sensor.pub"


def generate(folder: Path, *, replace: bool = False) -> Ed25519PrivateKey:
    """A new signing key in ``folder`` (made, mode 0700), its private half readable by the
    owner alone; an existing key is kept unless ``replace``."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / PRIVATE
    if path.exists() and not replace:
        raise SettingError(f"{path} exists (a sensor keeps its key: give another folder, or replace it on purpose)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(PRIVATE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    tmp.replace(path)
    (folder / PUBLIC).write_text(public_hex(key.public_key()) + "\n", encoding="ascii")
    return key


def load_private(folder: Path) -> Ed25519PrivateKey:
    """The signing key of a credentials folder (a clear error when it is missing or not one)."""
    path = folder / PRIVATE
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SettingError(f"no signing key at {path} (teiten sensor keygen --credentials {folder})") from None
    except ValueError as e:
        raise SettingError(f"{path}: not a private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingError(f"{path}: not an Ed25519 key")
    return key


def public_hex(key: Ed25519PublicKey) -> str:
    """The raw public key as 64 hex digits."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key(text: str) -> Ed25519PublicKey:
    """A public key from its 64 hex digits."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise SettingError("a sensor's public key is 64 hex digits") from None
    if len(raw) != 32:
        raise SettingError(f"a sensor's public key is 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``key``'s over ``data``."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
