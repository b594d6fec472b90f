"""The deep-research expert (issue #7), landing in slices. This slice: documents and chunks with
character-offset provenance (`documents.py`); retrieval, the operations and their checks follow."""
