"""How `keras_fer predict` prints one result (an image, a video frame, a stream frame): a JSON
line with --json, else a line to read."""

import json


def emit(record, args):
    if args.json:
        print(json.dumps(record), flush=True)
        return
    where = record["file"] + (f" frame {record['frame']}" if record.get("frame") is not None else "")
    if "error" in record:
        print(f"{where}: error: {record['error']}")
    elif not record["faces"]:
        print(f"{where}: no face found")
    else:
        faces = "; ".join(f"{f['top_emotion']} {f['score']:.2f} at {tuple(f['box'])}" for f in record["faces"])
        print(f"{where}: {len(record['faces'])} face(s): {faces}")
