"""Text experts: load documents, summarise, extract keywords, write a Markdown report.

Small and model-free on purpose: they are the demo graph's experts and the runtime's test bed,
and they do their jobs for real (no canned output).
"""

from experts.text.keywords import KeywordExpert
from experts.text.loader import TextFilesExpert
from experts.text.report import ReportExpert
from experts.text.summarize import FrequencySummarizer, LeadSummarizer

EXPERTS = [TextFilesExpert, FrequencySummarizer, LeadSummarizer, KeywordExpert, ReportExpert]

__all__ = ["EXPERTS", "FrequencySummarizer", "KeywordExpert", "LeadSummarizer", "ReportExpert", "TextFilesExpert"]
