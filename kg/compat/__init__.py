"""Compatibility lookups: can model B take model A's output, replace it, share its tokenizer or
embedding space, and does it fit in a memory budget. Each answer comes with its explanation (the
rule that matched, or the arithmetic), so a user can check it rather than trust it; the
parameter counts and memory arithmetic behind "fits in budget" live in `kg.compat.size` and
`kg.compat.memory`.
"""
