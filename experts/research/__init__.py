"""The deep-research expert (issue #7), landing in slices. So far: documents and chunks with
character-offset provenance (`documents.py`) and hybrid retrieval with a disk cache (`retrieval.py`);
the operations (`research.investigate|compare|trace`) and their checks follow."""
