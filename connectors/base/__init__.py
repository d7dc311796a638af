"""What every connector and the sync engine share, and nothing vendor-specific."""
