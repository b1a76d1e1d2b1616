"""grammar stage."""
