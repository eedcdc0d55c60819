"""Tools over the stages: reproduction checks, seed-spread experiments, the command line."""
