"""Caption strategies (RS5M meta, GAIA, MpGI) over one partition; see `engine.caption_partition`.

Nothing is imported here: the engine reads the stage registry, which reads the instruction tasks,
which use `captions.facts`; an eager import made that cycle fail for whoever imported first.
"""
