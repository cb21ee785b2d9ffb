"""Building blocks shared by the units and the bus side (stream plumbing)."""
