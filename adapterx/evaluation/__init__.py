from .vtab_summary import VTABSummary, summarise_vtab

__all__ = ['VTABSummary', 'summarise_vtab']
