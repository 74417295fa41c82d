"""Prefect flows: they only map, retry and schedule the plain steps of junkai/ and ocr/.

Prefect reads its settings when it is first imported, so importing this package sets
them first (files in the data folder, telemetry off) unless that was done already.
"""

import sys

if "prefect" not in sys.modules:
    import os

    from junkai import JunkaiError, prefect_env

    try:
        prefect_env.configure()
    except JunkaiError:  # unreadable settings: the command that loads them says why; stay offline anyway
        os.environ.update(prefect_env.OFFLINE)
