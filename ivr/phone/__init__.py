"""A phone on every desk: Twilio's part played in process (``ivr call``) and simulated seats.

``twiml`` reads TwiML, ``call`` and ``dial`` run a call as Twilio does, ``transport``
signs and sends the webhooks, ``runtime`` keeps time (wall clock or virtual),
``switchboard`` and ``seats`` are the phones a ``<Dial>`` reaches, ``terminal`` is the
keyboard and screen, ``run`` and ``cli`` are ``ivr call``, ``demo`` the demo seats.
"""
