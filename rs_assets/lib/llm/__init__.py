"""Provider-neutral LLM calls: settings, request fingerprints, response cache, rate limits, cost, backends.

Nothing here knows about captions; `rs_assets.lib.captions` builds requests and reads outcomes.
"""
