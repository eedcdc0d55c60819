"""Text as names are compared: Unicode NFC, so a file name typed on one system matches the
same name listed by another (macOS lists decomposed forms)."""

import unicodedata


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
