"""Parameters and run folders: the typed schema, profiles and their one resolution, and
the one owner of every path under runs/<exp>/."""
