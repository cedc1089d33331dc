"""Shipped mapping files (YAML); a package so that the wheel includes them as package data."""
