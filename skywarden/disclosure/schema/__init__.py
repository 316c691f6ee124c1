"""Schema files shipped with the disclosure package (the OASIS CAP 1.2 XML schema)."""
