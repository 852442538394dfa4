"""Mappings as validated data: loaders for ``include/mappings/*.yaml``."""
