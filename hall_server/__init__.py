"""The hall server: allocation engine (pure), SQLite store, bus service, embedded broker, reports."""
__version__ = "0.1.0"
