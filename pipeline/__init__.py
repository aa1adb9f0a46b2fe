"""autocode: automatic coding of German interview transcripts into a qualitative code system."""

__version__ = "0.1.0"
