"""Exchange with QDA programs (MAXQDA, ATLAS.ti, NVivo, QualCoder) through REFI-QDA.

* :mod:`pipeline.qda.safezip` — reading an untrusted ``.qdpx`` (zip) safely;
* :mod:`pipeline.qda.xmlsafe` — parsing its XML without DTDs or entities;
* :mod:`pipeline.qda.offsets` — positions as programs count them (code points or
  UTF-16 units, CR LF as one or two) and their detection;
* :mod:`pipeline.qda.refi` — reading a project: sources, code system, users, codings;
* :mod:`pipeline.qda.importer` — writing it in autocode's formats;
* :mod:`pipeline.qda.qdc` — codebooks (``.qdc``);
* :mod:`pipeline.qda.export` — writing the model's codings as a project, or merging
  them into the imported one;
* :mod:`pipeline.text.maxqda` — MAXQDA's coded-segments export (``.xlsx``) as hand codes.
"""

from pipeline.qda.offsets import OffsetConvention, detect_convention
from pipeline.qda.refi import QdaImport, read_qdpx
from pipeline.qda.safezip import SafeArchive, ZipLimits

__all__ = ["OffsetConvention", "QdaImport", "SafeArchive", "ZipLimits", "detect_convention", "read_qdpx"]
