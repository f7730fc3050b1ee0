"""A name -> entry table for one switch of the architecture (norm, attention, shortcut).

Its keys are the builder's accepted values and the command line's choices alike, so adding an
entry is all it takes to offer a new option everywhere.
"""

import contextlib


class Registry(dict):
    def __init__(self, argument, entries):
        super().__init__(entries)
        self.argument = argument  # the builder argument it serves, for error messages

    def lookup(self, name):
        try:
            return self[name]
        except KeyError:
            raise ValueError(f"{self.argument} must be one of {', '.join(self)}; got {name!r}") from None

    @contextlib.contextmanager
    def registered(self, name, entry):
        """`entry` under `name` for the duration of a `with` block (trying out a new option)."""
        if name in self:
            raise ValueError(f"{self.argument} {name!r} is already registered")
        self[name] = entry
        try:
            yield entry
        finally:
            del self[name]
