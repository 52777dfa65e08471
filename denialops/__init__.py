"""DenialOps: denial prevention and recovery for behavioral-health billing."""
