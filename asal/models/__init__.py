"""Models and algorithms: the anomaly scorers (scorers/, DRAEM among them), the classifier,
the pretext networks, initial selections and queries, rankings and statistics. They take
tensors and plain values; no parameters object, no files (asal/runtime.py and asal/io.py,
below them, pick devices and save training states)."""
