"""Decoding the data sets' 48x48 face files in this thread vs a thread pool, side by side.

    .venv/bin/python benchmarks/decode_faces.py [--workers 1 2 8] [--repeats 2]

For FER2013's train/ (28,709 JPEGs) and FER+'s FER2013Train (PNGs): seconds per pass of
`decode_many` for each worker count (the best of --repeats passes, files in the page cache after
the first) and its ratio to one worker. The FER2013 and FER+ loaders use the fastest.
"""

import argparse

from common import dataset_path, timed  # also puts the repository on sys.path

from keras_fer.data.images import decode_many


def face_files():
    return {"fer2013 train/": sorted((dataset_path("fer2013") / "train").glob("*/*.jpg")),
            "ferplus FER2013Train": sorted((dataset_path("ferplus") / "FER2013Train").glob("*.png"))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{'files':<22} {'images':>7} " + " ".join(f"{f'{w} worker(s) s':>14}" for w in args.workers)
          + " " + " ".join(f"{f'{w}w / 1w':>8}" for w in args.workers[1:]))
    for name, paths in face_files().items():
        decode_many(paths[:2000], size=48)  # the page cache and Pillow's plugins warm
        seconds = [min(timed(lambda: decode_many(paths, size=48, workers=w))[1] for _ in range(args.repeats))
                   for w in args.workers]
        print(f"{name:<22} {len(paths):>7} " + " ".join(f"{s:>14.2f}" for s in seconds) + " "
              + " ".join(f"{s / seconds[0]:>8.2f}" for s in seconds[1:]), flush=True)


if __name__ == "__main__":
    main()
