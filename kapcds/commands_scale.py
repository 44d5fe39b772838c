"""`kapcds` sub-commands for scoring and training past one machine (Dask).

``kapcds score`` reads a folder of parquet files (one Dask partition per file) and writes
the same columns as ``kapcds predict --explain`` as partitioned parquet: on a LocalCluster by
default, on a real cluster with ``--scheduler tcp://host:8786`` (workers must see the same
paths), or in-process with ``--engine local``. Heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kapcds import common

log = logging.getLogger(__name__)


@contextmanager
def dask_client(scheduler: str | None, workers: int = 2) -> Iterator[Any]:
    """A Client on ``scheduler``, or on a LocalCluster of ``workers`` that is closed after."""
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    from training.distributed.scoring import local_client

    with local_client(n_workers=workers, processes=False) as client:
        yield client


def parquet_files(folder: Path) -> list[Path]:
    """The input partitions, in name order; a clear error if there are none."""
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder {folder} does not exist")
    files = sorted(p for p in folder.glob("*.parquet") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no .parquet files in {folder}")
    return files


def required_columns() -> list[str]:
    """Columns every patient partition must have (the validation layer's list)."""
    from models.contract import schema

    return [schema.ID_COLUMN] + [feature.name for feature in schema.FEATURES]


def check_columns(files: list[Path]) -> None:
    """Read only each file's footer: fail on the first file that lacks schema columns."""
    import pyarrow.parquet as pq

    required = required_columns()
    for path in files:
        present = set(pq.read_schema(path).names)
        missing = [name for name in required if name not in present]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")


def _validate_file(path: str) -> int:
    """Validate one partition on a worker; the row count, or the file's validation error."""
    import pandas as pd

    from models.contract.validation import validate_patients

    return len(validate_patients(pd.read_parquet(path), source=Path(path).name))


def validate_on_cluster(client: Any, files: list[Path]) -> int:
    """Every partition through ``validate_patients`` in parallel; total rows."""
    futures = client.map(_validate_file, [str(p) for p in files], pure=False)
    return int(sum(client.gather(futures)))


def count_rows(folder: Path) -> int:
    """Rows of a parquet folder, from the file footers."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.glob("*.parquet")))


def _score_local(args: argparse.Namespace, files: list[Path], model_set: Any,
                 card: Any) -> int:
    import pandas as pd

    from models.contract.validation import validate_patients
    from training.distributed.scoring import score_frame, write_partitioned

    frames = [validate_patients(pd.read_parquet(p), source=p.name) for p in files]
    patients = pd.concat(frames, ignore_index=True)
    scored = score_frame(model_set, patients, explain=not args.no_explain, card=card,
                         withhold=not args.include_unreliable)
    write_partitioned(scored, args.output, rows_per_partition=max(1, len(scored)))
    return len(scored)


def _score_dask(args: argparse.Namespace, files: list[Path], model_set: Any,
                card: Any) -> int:
    from training.distributed.scoring import score_parquet

    with dask_client(args.scheduler, args.workers) as client:
        rows = validate_on_cluster(client, files)
        log.info("validated %d patients in %d partitions", rows, len(files))
        score_parquet(args.input, model_set, client=client, destination=args.output,
                      explain=not args.no_explain, card=card,
                      withhold=not args.include_unreliable)
    return count_rows(args.output)


def _score(args: argparse.Namespace) -> int:
    # absolute paths: remote workers do not share the client's working directory
    args.input, args.output = args.input.resolve(), args.output.resolve()
    files = parquet_files(args.input)
    check_columns(files)
    if args.output.exists() and any(args.output.iterdir()):
        raise FileExistsError(f"output folder {args.output} is not empty")
    model_set, card = common.load_model(args)
    score = _score_dask if args.engine == "dask" else _score_local
    rows = score(args, files, model_set, card)  # the quality gate as in `kapcds predict`
    sys.stdout.write(f"scored {rows} patients with model {card.get('version')} "
                     f"into {args.output}\n")
    return 0


def train_and_register_dask(data_dir: Path, registry_dir: Path, promote: bool, seed: int = 0,
                            progress: common.Progress | None = None,
                            scheduler: str | None = None, workers: int = 2,
                            audit: Any = None) -> str:
    """``training.lifecycle.first_run.train_and_register`` with the outcome boosters fitted on
    Dask."""
    from training.distributed.training import train_model_set_dask
    from training.lifecycle.first_run import train_and_register

    with dask_client(scheduler, workers) as client:
        return train_and_register(data_dir, registry_dir, promote, seed=seed,
                                  progress=progress, audit=audit,
                                  trainer=functools.partial(train_model_set_dask,
                                                            client=client))


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    p = sub.add_parser("score", help="score (and explain) a folder of parquet files",
                       description="Predict and explain every patient of a partitioned "
                       "parquet cohort (one partition per file) on Dask or in-process; "
                       "writes partitioned parquet with the columns of `kapcds predict "
                       "--explain`.")
    p.add_argument("--engine", choices=("dask", "local"), default="dask",
                   help="dask (LocalCluster or --scheduler) or local (in-process pandas)")
    p.add_argument("--input", type=Path, required=True, help="folder of patient .parquet files")
    p.add_argument("--output", type=Path, required=True,
                   help="output folder for the scored parquet (must be empty or new)")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                   "(default: start a LocalCluster)")
    p.add_argument("--workers", type=int, default=2,
                   help="LocalCluster workers when no --scheduler (default %(default)s)")
    p.add_argument("--no-explain", action="store_true", help="probabilities only, no SHAP")
    p.add_argument("--include-unreliable", action="store_true",
                   help="keep the numbers of outcomes that fail the quality gate (their "
                   "<outcome>_reliable stays false), as `kapcds predict --include-unreliable`")
    common.add_registry(p)
    common.add_version(p)
    p.set_defaults(handler=_score)
