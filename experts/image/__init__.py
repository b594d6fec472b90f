"""The image experts (issue #9): for now the layer description and its renderer, used by `agentos image render`."""
