"""Command line: ``python -m course data`` checks that Fashion-MNIST loads."""

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["data"]:
        print("usage: python -m course data", file=sys.stderr)
        return 2
    from course.data import DataError, load_fashion_mnist

    try:
        ds = load_fashion_mnist()
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"Fashion-MNIST ready: {len(ds.x_train)} train, {len(ds.x_val)} validation, "
        f"{len(ds.x_test)} test images"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
