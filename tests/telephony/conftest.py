"""Fixtures of the telephony tests: a jambonz REST endpoint on loopback."""

from tests.telephony.fake_jambonz import fake_jambonz

__all__ = ["fake_jambonz"]
