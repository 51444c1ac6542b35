"""accel-dse simulator: traces, hardware models, engine, tech library, sweeps and reports."""

__version__ = "0.1.0"
