"""Speech stages: voice activity / end of turn, speech to text, text to speech."""
