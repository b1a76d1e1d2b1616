"""covariance stage."""
