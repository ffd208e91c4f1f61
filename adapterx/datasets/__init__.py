"""Datasets of adapterx (VTAB-1k, FGVC, point clouds)."""
