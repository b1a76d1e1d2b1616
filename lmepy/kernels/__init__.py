"""kernels stage."""
