"""Counts what a diffplan recording holds, with the rerun-sdk of the same version as the crate.

Usage: read_recording.py FILE.rrd. Prints one JSON object:
{"application_id": ..., "entities": {"/world/robot": {"static": false, "rows": {"sim_time": 300, ...},
 "components": [...]}, ...}}. Rows are summed over chunks; static chunks count under "static_rows".
"""

import json
import sys

import rerun.experimental as rx


def main():
    reader = rx.RrdReader(sys.argv[1])
    recordings = reader.recordings()
    if len(recordings) != 1:
        raise SystemExit(f"expected one recording, found {recordings}")
    entities = {}
    for chunk in reader.stream():
        entry = entities.setdefault(chunk.entity_path, {"static_rows": 0, "rows": {}, "components": set()})
        if chunk.is_static:
            entry["static_rows"] += chunk.num_rows
        for timeline in chunk.timeline_names:
            entry["rows"][timeline] = entry["rows"].get(timeline, 0) + chunk.num_rows
        names = chunk.to_record_batch().schema.names
        entry["components"].update(n for n in names if ":" in n)
    for entry in entities.values():
        entry["components"] = sorted(entry["components"])
    print(json.dumps({
        "application_id": recordings[0].application_id,
        "blueprints": len(reader.blueprints()),
        "entities": entities,
    }))


if __name__ == "__main__":
    main()
