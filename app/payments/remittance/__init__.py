"""Parsers for the payment files a utility receives, with one common output model.

Pure: standard library only, no database and no web. Each parser takes the file's
text or bytes and returns a `RemittanceFile` of `RemittanceItem`s and `LineError`s.
The caller matches items to accounts and posts them. docs/payment-files.md describes
the formats.
"""
