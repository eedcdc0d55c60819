"""Stage 03: the initial set and the active-learning cycles."""
