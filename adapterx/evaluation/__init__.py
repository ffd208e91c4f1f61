from .merge_report import MergeResult, write_merge_report
from .method_comparison import (ComparisonTable, MethodResult,
                                compare_methods, discover_methods)
from .smoa_routing import (RouterStatistics, RoutingRecorder,
                           adapterx_routers, balance_loss_weight,
                           plot_routing)
from .vtab_summary import VTABSummary, summarise_vtab

__all__ = [
    'ComparisonTable', 'MergeResult', 'MethodResult', 'RouterStatistics',
    'RoutingRecorder', 'VTABSummary', 'adapterx_routers',
    'balance_loss_weight', 'compare_methods', 'discover_methods',
    'plot_routing', 'summarise_vtab', 'write_merge_report'
]
