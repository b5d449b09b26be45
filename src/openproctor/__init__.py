"""OpenProctor: self-hosted live proctoring for online exams."""

__version__ = "0.1.0"
