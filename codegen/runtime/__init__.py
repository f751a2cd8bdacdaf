"""Modules copied as they are into the packages codegen writes (standard library only), kept
here as real modules so they are type-checked and tested like the rest."""
