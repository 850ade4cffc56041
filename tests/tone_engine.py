"""A second engine, as small as one can be: each word is a beep whose note is the voice's.

It lives outside the package and is named in a voices file by its import path
(`tone_engine:ToneEngine`), so rendering a cast with it proves that an engine needs nothing
but its own module.
"""

import math
import re
import struct
import wave

from audiofic.engines import Engine, Palette, VoiceInfo

RATE = 16000  # not the pipeline's own rate, so the conversion on the way in is exercised too
NOTES = {"hum": 110.0, "bass": 146.8, "tenor": 220.0, "alto": 349.2, "soprano": 523.3}
GENDERS = {"hum": None, "bass": "male", "tenor": "male", "alto": "female", "soprano": "female"}


class ToneEngine(Engine):
    name = "tone"
    ranges = {"rate": (60, 400), "pitch": (0, 10), "volume": (0.0, 1.0)}
    default_pitch = 5

    def version(self, voice: str = "") -> str:
        return "tone 1"

    def voices(self):
        return [VoiceInfo(v, v.title(), ("en",), GENDERS[v]) for v in NOTES]

    def palette(self, language):
        plain = super().palette(language)  # by the genders voices() gives
        return Palette(plain.female, plain.male, plain.neutral, pitch_steps=(0, -3, 3))

    def synthesize(self, text, voice, path):
        words = max(1, len(re.findall(r"\w+", text)))
        per_word = 60.0 / voice.rate
        note = NOTES[voice.voice] * 2 ** ((voice.pitch - self.default_pitch) / 12)
        frames = bytearray()
        for _ in range(words):
            for i in range(int(RATE * per_word)):
                on = i < RATE * per_word * 0.8
                sample = math.sin(2 * math.pi * note * i / RATE) * 0.5 * voice.volume if on else 0.0
                frames += struct.pack("<h", int(sample * 32767))
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(bytes(frames))
