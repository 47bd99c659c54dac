"""Resources bound to every asset."""

import dagster as dg

from rs_assets.defs.common import LakeResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"lake": LakeResource()})
