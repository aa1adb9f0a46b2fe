"""Running the pipeline over many files: on one machine or on a Dask cluster.

- :mod:`pipeline.run.batch` — fault-isolating, resumable batches of files;
- :mod:`pipeline.run.distributed` — the same batches as tasks on a Dask cluster.
"""
