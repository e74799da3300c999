"""``ivr simulate``: a discrete-event simulation driving the real app on a virtual clock.

``scenario`` says what to simulate, ``engine`` runs it, ``recorder`` sees each call from
the caller's side, ``checks`` asserts the invariants while it runs, ``stats`` and
``report`` turn the records into figures, ``plot`` draws them, ``cli`` is the command.
"""
