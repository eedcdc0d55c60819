"""One runner per notebook: 00 pretext, 01 scores, 02 batches, 03 active learning,
04 results, 05 labeling. A stage reads what earlier stages wrote and never runs them."""
