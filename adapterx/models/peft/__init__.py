from .freeze import (TrainableParameterReport, freeze_parameters,
                     trainable_parameter_report)

__all__ = [
    'freeze_parameters', 'trainable_parameter_report',
    'TrainableParameterReport'
]
