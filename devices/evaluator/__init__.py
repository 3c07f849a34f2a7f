"""Five-grade service evaluators (评价器) on the 7E bus."""
from devices.evaluator.driver import GRADES, Evaluator

__all__ = ["GRADES", "Evaluator"]
