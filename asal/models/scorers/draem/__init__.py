"""DRAEM, the paper's detector, in one folder: its networks, loss, anomaly synthesis, and
the scorer that trains and applies them."""
