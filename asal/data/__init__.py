"""Data: the ASAL folder layout, decode-once image tensors with an on-disk cache, the
file formats people and the paper use (batch files, labels.csv, score CSVs), and the only
code that builds data (synthetic, MVTec AD)."""
