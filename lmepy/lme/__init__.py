"""nlme's lme(): structured random effects, serial correlation and variance functions, fitted
on the lmer blocked-Cholesky machinery."""
