"""From files to text units: reading documents and hand codes, cleaning, segmenting.

- :mod:`pipeline.text.ingest` — one reader per document format (``read_transcript``);
- :mod:`pipeline.text.clean` — offset-preserving cleaning rules;
- :mod:`pipeline.text.segment` — transcripts into coding units with offsets;
- :mod:`pipeline.text.documents` — which file a document name in hand codes refers to;
- :mod:`pipeline.text.formats` — what a hand-code or output file is (``detect_format``);
- :mod:`pipeline.text.codings` — the one reader of hand codes (``read_hand_codes``);
- :mod:`pipeline.text.maxqda` — MAXQDA's coded-segments export as hand codes.
"""
