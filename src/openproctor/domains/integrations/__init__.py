"""Per-exam integration settings: the other system's meeting id, completion callback and the
URL candidates return to."""
