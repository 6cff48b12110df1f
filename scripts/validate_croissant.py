"""Validate Croissant JSON-LD documents with mlcroissant (pip install mlcroissant==1.1.1).

Usage: python scripts/validate_croissant.py FILE.json [FILE.json ...]
Exits 1 when mlcroissant reports an error for any file; prints its warnings.
The sample kura-formats writes is crates/kura-formats/tests/data/viewer/croissant_sample.json
(regenerate with `cargo test -p kura-formats -- --ignored write_croissant_sample`).
"""

import sys

import mlcroissant as mlc


def main(paths):
    failed = False
    for path in paths:
        try:
            dataset = mlc.Dataset(jsonld=path)
        except mlc.ValidationError as err:
            print(f"{path}: INVALID\n{err}")
            failed = True
            continue
        issues = dataset.metadata.issues
        for warning in issues.warnings:
            print(f"{path}: warning: {warning}")
        if issues.errors:
            failed = True
            for error in issues.errors:
                print(f"{path}: error: {error}")
        else:
            names = [rs.name or rs.id for rs in dataset.metadata.record_sets]
            print(f"{path}: valid ({len(names)} record sets: {', '.join(names)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
