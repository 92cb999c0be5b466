"""The cleaner: named rules decide, line by line, what is article text."""

from pipeline.clean.cleaner import clean_page
from pipeline.clean.rules import RuleSet, load_rules

__all__ = ["RuleSet", "clean_page", "load_rules"]
