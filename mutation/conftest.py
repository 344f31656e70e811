"""Configuration for the mutation-testing view of the gate (see mutation/README.md)."""
from hypothesis import settings

from oracles import configure, profiles

profiles.register()
settings.register_profile("mutation", parent=settings.get_profile("ci"), max_examples=8)
settings.load_profile("mutation")
configure()
