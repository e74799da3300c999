"""The speech table: per language, how each telephony dialect speaks and listens. Pure.

Twilio names a voice and a ``<Say language>`` for text to speech, and a separate
``<Gather language>`` for recognition (its Gather list has ``cmn-Hans-CN``, not
``zh-CN``). jambonz names a synthesizer (vendor, language, voice) for ``say`` and a
recognizer (vendor, language) for ``gather``. Every spoken text carries its own
language, so the voice follows the caller's language when it changes mid-call.
The table's data lives in ``numbers/speech.yaml``; :meth:`SpeechTable.standard` is the
same table built in, for configs that come without the file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TwilioSpeech(BaseModel):
    """Twilio's part of one language: Say voice and language, Gather language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str = Field(min_length=1, description="<Say voice>, e.g. Google.cmn-CN-Standard-A")
    language: str = Field(min_length=2, description="<Say language> that goes with the voice")
    gather_language: str = Field(min_length=2, description="<Gather language> for speech input")


class JambonzSynthesizer(BaseModel):
    """jambonz ``say`` synthesizer: vendor (or a custom vendor's name), language, voice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor: str = Field(min_length=1)
    language: str = Field(min_length=2)
    voice: str = Field(min_length=1)
    label: str = ""


class JambonzRecognizer(BaseModel):
    """jambonz ``gather`` recognizer: vendor and language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor: str = Field(min_length=1)
    language: str = Field(min_length=2)
    label: str = ""


class JambonzSpeech(BaseModel):
    """jambonz's part of one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    say: JambonzSynthesizer
    gather: JambonzRecognizer


class LanguageSpeech(BaseModel):
    """One language in both dialects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    twilio: TwilioSpeech
    jambonz: JambonzSpeech


class SpeechTable(BaseModel):
    """Every language the service speaks; ``default`` serves any language not listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str = "zh-CN"
    languages: dict[str, LanguageSpeech]

    @model_validator(mode="after")
    def _default_listed(self) -> SpeechTable:
        if self.default not in self.languages:
            raise ValueError(f"default language {self.default!r} is not in languages")
        return self

    def of(self, language: str) -> LanguageSpeech:
        """The entry for a language: exact, else same primary language (en-GB -> en-US), else default."""
        hit = self.languages.get(language)
        if hit is not None:
            return hit
        primary = (language or "").split("-")[0].lower()
        for code, entry in self.languages.items():
            if code.split("-")[0].lower() == primary:
                return entry
        return self.languages[self.default]

    @classmethod
    def standard(cls) -> SpeechTable:
        """The built-in table (the same as the shipped ``numbers/speech.yaml``)."""
        return cls.model_validate(STANDARD)


STANDARD: dict[str, object] = {
    "default": "zh-CN",
    "languages": {
        "zh-CN": {
            "twilio": {"voice": "Google.cmn-CN-Standard-A", "language": "cmn-CN",
                       "gather_language": "cmn-Hans-CN"},
            "jambonz": {"say": {"vendor": "google", "language": "cmn-CN", "voice": "cmn-CN-Standard-A"},
                        "gather": {"vendor": "google", "language": "cmn-Hans-CN"}},
        },
        "en-US": {
            "twilio": {"voice": "Polly.Joanna-Neural", "language": "en-US", "gather_language": "en-US"},
            "jambonz": {"say": {"vendor": "google", "language": "en-US", "voice": "en-US-Standard-C"},
                        "gather": {"vendor": "google", "language": "en-US"}},
        },
    },
}
