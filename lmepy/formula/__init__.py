"""formula stage."""
