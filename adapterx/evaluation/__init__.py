from .vtab_summary import VTABSummary, summarise_vtab

__all__ = ['VTABSummary', 'summarise_vtab']
from .method_comparison import (ComparisonTable, MethodResult,
                                compare_methods, discover_methods)

__all__ += [
    'ComparisonTable', 'MethodResult', 'compare_methods', 'discover_methods'
]
