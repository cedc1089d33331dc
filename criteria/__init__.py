"""criteria package."""
