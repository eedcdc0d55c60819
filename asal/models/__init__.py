"""Models and algorithms: DRAEM, the anomaly synthesis, the classifier, the pretext
networks, initial selections and queries, rankings and statistics. They take tensors and
plain values; no parameters object, no files (asal/runtime.py, below them, picks devices
and saves training states)."""
