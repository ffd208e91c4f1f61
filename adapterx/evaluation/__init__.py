from .merge_report import MergeResult, write_merge_report
from .vtab_summary import VTABSummary, summarise_vtab

__all__ = [
    'MergeResult', 'write_merge_report', 'VTABSummary', 'summarise_vtab'
]
