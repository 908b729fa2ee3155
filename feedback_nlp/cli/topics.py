"""``feedback-nlp topics``: fit, update, show and deploy topic models."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from feedback_nlp.cli.errors import reports_errors
from feedback_nlp.cli.options import InputOptions, require_one_source, with_input_options

if TYPE_CHECKING:
    from feedback_nlp.topics.corpus import Corpus
    from feedback_nlp.topics.model import TopicModel

topics_app = typer.Typer(
    help="Topic models fitted on your own feedback (BERTopic on base MiniLM, sentiment projected out).",
    no_args_is_help=True,
)

ASSIGNMENTS = "assignments.jsonl"

InputArg = Annotated[
    str | None, typer.Argument(help="CSV, Excel, JSONL, JSON array or Parquet file of feedback (or use --from-db).")
]
FromDb = Annotated[bool, typer.Option("--from-db", help="Use the feedback stored in the service database.")]
Since = Annotated[datetime | None, typer.Option(help="--from-db: only records created at or after this time.")]


def _corpus(input: str | None, from_db: bool, pipeline: Any, options: InputOptions, since: datetime | None) -> Corpus:
    from feedback_nlp.topics.corpus import corpus_from_db, corpus_from_file

    require_one_source(input, from_db)
    if from_db:
        return corpus_from_db(since)
    assert input is not None  # require_one_source: an INPUT file when not --from-db
    corpus = corpus_from_file(input, pipeline, **options.read_kwargs())
    for message in corpus.errors[:20]:
        typer.echo(message, err=True)
    if len(corpus.errors) > 20:
        typer.echo(f"... and {len(corpus.errors) - 20} more bad rows", err=True)
    return corpus


def _write_assignments(path: Path, ids: list[str], assignments: list[Any]) -> None:
    from feedback_nlp.fileio import open_output

    with open_output(path) as out:
        for record_id, a in zip(ids, assignments, strict=True):
            out.write(
                json.dumps({"id": record_id, "topic": a.topic, "label": a.label, "confidence": a.confidence}) + "\n"
            )


def _print_topics(model: TopicModel, limit: int = 30) -> None:
    rows = sorted(model.topics, key=lambda t: -t.count)
    typer.echo(f"{len(rows)} topics (min similarity {model.min_similarity:.3f}):")
    for t in rows[:limit]:
        flags = ("seed " if t.seeded else "") + ("NEW " if t.is_new else "")
        typer.echo(f"  {t.id:>4}  {t.count:>6}  {flags:<9}{t.label}")
    if len(rows) > limit:
        typer.echo(f"  ... {len(rows) - limit} more (feedback-nlp topics show DIR --all)")


@topics_app.command("fit")
@reports_errors
@with_input_options
def fit(
    input: InputArg = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the topic model to.")] = Path(
        "topics"
    ),
    from_db: FromDb = False,
    min_topic_size: Annotated[int, typer.Option(min=2, help="Smallest cluster that counts as a topic.")] = 15,
    max_outliers: Annotated[float, typer.Option(min=0.0, max=1.0, help="Largest share left unassigned.")] = 0.15,
    max_topic_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Largest share of the corpus one topic may hold (0 or 1: no cap).")
    ] = 0.4,
    *,
    inputs: InputOptions,
    since: Since = None,
    deploy: Annotated[
        bool, typer.Option("--deploy", help="Also deploy it: classify and ingest then fill topics.")
    ] = False,
) -> None:
    """Fit a topic model on a corpus and write it, with each record's topic in DIR/assignments.jsonl."""
    from feedback_nlp.storage.artifacts import check_replaceable
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.topics import deploy as deployment
    from feedback_nlp.topics.corpus import embed_corpus
    from feedback_nlp.topics.model import FIT_STAGES, MANIFEST, TopicConfig, TopicModel, check_fit_size
    from feedback_nlp.topics.space import topic_space
    from feedback_nlp.topics.stages import StageClock

    config = TopicConfig(
        min_topic_size=min_topic_size,
        max_outlier_share=max_outliers,
        max_topic_share=max_topic_share if 0 < max_topic_share < 1 else None,
        verbose=True,
    )
    # Before any work: a folder holding something other than a topic model is never replaced.
    check_replaceable(output.resolve(), MANIFEST, "topic model")
    pipeline = load_pipeline(topics=False)
    corpus = _corpus(input, from_db, pipeline, inputs, since)
    check_fit_size(len(corpus), config)  # before the embeddings, the expensive part
    space = topic_space(pipeline)
    X = embed_corpus(corpus, pipeline, space=space)
    typer.echo(f"fitting topics on {len(corpus)} texts ({space.name} embeddings) ...", err=True)
    clock = StageClock(progress=True, expected=len(FIT_STAGES))
    try:
        model, assignments = TopicModel.fit(
            corpus.model_inputs,
            X,
            embed=space.embed,
            seeds=pipeline.taxonomy.topic_seeds,
            config=config,
            clock=clock,
        )
    finally:
        clock.close()
    model.manifest["space"] = space.name
    model.save(
        output,
        encoder=space.fingerprint,
        extra={"source": "database" if from_db else str(input), "bundle": pipeline.version},
    )
    _write_assignments(output / ASSIGNMENTS, list(corpus.frame["id"]), assignments)
    unassigned = sum(a.topic < 0 for a in assignments) / len(assignments)
    _print_topics(model)
    typer.echo(f"wrote {output} ({unassigned:.1%} of texts unassigned)", err=True)
    if deploy:
        typer.echo(f"deployed to {deployment.deploy(output, pipeline)}", err=True)


@topics_app.command("update")
@reports_errors
@with_input_options
def update(
    input: InputArg = None,
    from_db: FromDb = False,
    model_dir: Annotated[Path | None, typer.Option("--model", help="Topic model (default: the deployed one).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here (default: in place).")] = None,
    *,
    inputs: InputOptions,
    since: Since = None,
) -> None:
    """Fold a new batch of feedback into a topic model without refitting; new topics are flagged."""
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.topics import deploy as deployment
    from feedback_nlp.topics.corpus import embed_corpus
    from feedback_nlp.topics.space import topic_space

    pipeline = load_pipeline(topics=False)
    source = model_dir or deployment.deployed_dir()
    target = output or source
    # Read and checked first, so a wrong folder fails before the batch is read and embedded.
    space_name = deployment.load_for(pipeline, source).space_name
    corpus = _corpus(input, from_db, pipeline, inputs, since)
    space = topic_space(pipeline, space_name)
    X = embed_corpus(corpus, pipeline, space=space)
    # Read, update and save under one lock: a second update of the same model waits, then folds
    # its batch into the model this one wrote (without it, one of the two updates was lost).
    with deployment.model_lock(source, target):
        model = deployment.load_for(pipeline, source)
        if model.space_name != space.name:  # replaced meanwhile by a model of another space
            space = topic_space(pipeline, model.space_name)
            X = embed_corpus(corpus, pipeline, space=space)
        updated, assignments = model.update(corpus.model_inputs, X, embed=space.embed)
        updated.save(target, encoder=space.fingerprint)
        _write_assignments(target / update_assignments_name(), list(corpus.frame["id"]), assignments)
    new = [t for t in updated.topics if t.is_new]
    typer.echo(
        f"{len(corpus)} texts folded in; {len(new)} new topic(s)"
        + (": " + "; ".join(t.label for t in new) if new else ""),
        err=True,
    )
    typer.echo(f"wrote {target}", err=True)


def update_assignments_name(now: datetime | None = None) -> str:
    """The file an update writes its assignments to: the time to the microsecond and a random
    suffix, so two updates (even in the same microsecond) never write the same file.

    >>> name = update_assignments_name(datetime(2026, 1, 2, 3, 4, 5, 6))
    >>> name.startswith("assignments-update-20260102T030405.000006-"), name.endswith(".jsonl")
    (True, True)
    """
    import uuid

    stamp = (now or datetime.now()).strftime("%Y%m%dT%H%M%S.%f")
    return f"assignments-update-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"


@topics_app.command("show")
@reports_errors
def show(
    model_dir: Annotated[Path | None, typer.Argument(help="Topic model folder (default: the deployed one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the topic table as JSON.")] = False,
    all_topics: Annotated[bool, typer.Option("--all", help="List every topic.")] = False,
) -> None:
    """List a topic model's topics, largest first."""
    from feedback_nlp.topics import deploy as deployment
    from feedback_nlp.topics.model import TopicModel

    model = TopicModel.load(model_dir or deployment.deployed_dir())
    if as_json:
        json.dump(model.topic_table(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_topics(model, limit=10**9 if all_topics else 30)


@topics_app.command("deploy")
@reports_errors
def deploy_command(
    model_dir: Annotated[Path, typer.Argument(help="Topic model folder to deploy.")],
) -> None:
    """Deploy a topic model: classify, ingest and the service then fill the topic fields."""
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.topics import deploy as deployment

    # Checked against the pipeline the service and `classify` will load it with (its encoder and
    # the model's embedding space) before the deployed model is replaced.
    target = deployment.deploy(model_dir, load_pipeline(topics=False))
    typer.echo(f"deployed {model_dir} to {target}; restart the service to pick it up", err=True)
