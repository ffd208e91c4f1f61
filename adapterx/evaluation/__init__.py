from .merge_report import MergeResult, write_merge_report
from .method_comparison import (ComparisonTable, MethodResult,
                                compare_methods, discover_methods)
from .vtab_summary import VTABSummary, summarise_vtab

__all__ = [
    'ComparisonTable', 'MergeResult', 'MethodResult', 'VTABSummary',
    'compare_methods', 'discover_methods', 'summarise_vtab',
    'write_merge_report'
]
