"""observatory package."""
