"""The offline tools' commands: analyze, verify, eval, bench, loadtest, attention (cli.py adds
them to `openproctor`). Each imports its tool (models, test clients) only when it runs, so no other
command, and never the server, loads them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from openproctor.console import command_settings, model_dir
from openproctor.detectors.base import ModelError

DEFAULT_BENCH_VIDEOS = Path("../shared/eval/video")


def _rates(text: str) -> list[float]:
    """Comma-separated frame rates, each within what a policy may ask for (0.1-10)."""
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"not a list of numbers: {text!r}", param_hint="--latency"
        ) from None
    if not rates or not all(0.1 <= rate <= 10 for rate in rates):
        raise click.BadParameter("give rates between 0.1 and 10", param_hint="--latency")
    return rates


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fps", default=1.0, show_default=True, type=click.FloatRange(0.01, 60))
def analyze(paths: tuple[Path, ...], fps: float) -> None:
    """Analyse images or videos: one JSON object per image or sampled frame."""
    from openproctor.tools.detection import analyze_paths

    settings = command_settings()
    failed = False
    try:
        for row in analyze_paths(
            paths, model_dir=model_dir(settings), config=settings.detectors, fps=fps
        ):
            failed = failed or "error" in row
            click.echo(json.dumps(row))
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
def verify(a: Path, b: Path) -> None:
    """Are the faces in two photos the same person? One JSON object."""
    from openproctor.tools.detection import verify as verify_pair

    settings = command_settings()
    try:
        result = verify_pair(a, b, model_dir=model_dir(settings), config=settings.detectors)
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(result))
    if "error" in result:
        raise SystemExit(1)


@click.command("eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--variants",
    is_flag=True,
    help="Also score identity on letterboxed and 60/40-px-face copies of each photo.",
)
@click.option(
    "--composites",
    "hand_image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=(
        "Also score generated phone scenes: the hand in this image at the ear with a phone "
        "and on the chin without, on each one-face photo of DIR (reported separately)."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(directory: Path, variants: bool, hand_image: Path | None, as_json: bool) -> None:
    """Accuracy per capability on DIR/labels.csv (the format of shared/eval)."""
    from openproctor.tools.detection import evaluate as run_eval

    settings = command_settings()
    try:
        report = run_eval(
            directory,
            model_dir=model_dir(settings),
            config=settings.detectors,
            with_variants=variants,
            hand_image=hand_image,
        )
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@click.command()
@click.argument("videos", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--frames", default=60, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--compare",
    is_flag=True,
    help="Also the ms per candidate-second through the live path at the default policy, for "
    "the issue-#14 stack and today's default side by side.",
)
@click.option(
    "--seconds",
    default=120.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="With --compare: seconds of stream per video (videos loop).",
)
@click.option(
    "--latency",
    "latency_rates",
    default=None,
    help="Also how soon eyes closed, eyes aside and no face are flagged, by the videos' "
    "timeline, at these base frame rates (comma-separated, e.g. 1,0.5) with the hub's burst.",
)
@click.option(
    "--timeline",
    default=DEFAULT_BENCH_VIDEOS.parent / "video_timeline.csv",
    show_default=True,
    type=click.Path(path_type=Path),
    help="With --latency: the CSV saying what each video shows when (shared/eval's format).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(
    videos: tuple[Path, ...],
    frames: int,
    compare: bool,
    seconds: float,
    latency_rates: str | None,
    timeline: Path,
    as_json: bool,
) -> None:
    """Median ms per stage on real webcam frames, one core, and the seed tutorial's baseline.

    VIDEOS default to the evaluation videos in ../shared/eval/video.
    """
    from openproctor.domains.exams.policy import ExamPolicy
    from openproctor.tools.cost import Stack, issue_stack
    from openproctor.tools.cost import compare as run_compare
    from openproctor.tools.detection import bench as run_bench
    from openproctor.tools.latency import measure as measure_latency

    settings = command_settings()
    sources = list(videos) or sorted(DEFAULT_BENCH_VIDEOS.glob("*.mjpeg"))
    if not sources:
        raise click.ClickException(f"no videos given and none in {DEFAULT_BENCH_VIDEOS}")
    models, config = model_dir(settings), settings.detectors
    rates = _rates(latency_rates) if latency_rates is not None else None
    if rates is not None and not timeline.is_file():
        raise click.ClickException(f"no timeline at {timeline} (see --timeline)")
    try:
        report = run_bench(sources, model_dir=models, config=config, frames=frames)
        if compare:
            stacks = [issue_stack(config), Stack("default", config, ExamPolicy())]
            report["per_candidate_second"] = run_compare(
                sources, stacks, model_dir=models, seconds=seconds
            )
        if rates is not None:
            with timeline.open(newline="") as f:
                rows = list(csv.DictReader(f))
            report["latency"] = measure_latency(
                sources, rows, model_dir=models, config=config, rates=rates
            )
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@click.command()
@click.option("--candidates", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--fps", default=1.0, show_default=True, type=click.FloatRange(0.1, 10))
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(5, 86_400))
@click.option("--proctors", default=2, show_default=True, type=click.IntRange(0, 1000))
@click.option("--url", default=None, help="A running server; without it one is started here.")
@click.option("--admin-email", default=None, help="With --url: an admin to set the exam up.")
@click.option("--admin-password", default=None, help="With --url: that admin's password.")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 64),
    help="Analysis workers of the server started here (default: its own default; "
    "with --redis-url, 2 `openproctor worker` processes).",
)
@click.option(
    "--database-url",
    default=None,
    help="The server started here uses this database (migrated first) instead of a new "
    "SQLite; on PostgreSQL the report adds its transactions, rows written and growth.",
)
@click.option(
    "--redis-url",
    default=None,
    help="The server started here is a web node on this Redis with --workers "
    "`openproctor worker` processes; the report adds Redis's commands and memory.",
)
@click.option(
    "--recording-kbps",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 10_000),
    help="Each candidate also uploads its webcam recording, a chunk every 2 s at this rate.",
)
@click.option(
    "--fixed-rate",
    is_flag=True,
    help="Keep sending --fps even when the server "
    "asks for fewer frames (measures a server that cannot shed load).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def loadtest(
    candidates: int,
    fps: float,
    duration: float,
    proctors: int,
    url: str | None,
    admin_email: str | None,
    admin_password: str | None,
    workers: int | None,
    database_url: str | None,
    redis_url: str | None,
    recording_kbps: float,
    fixed_rate: bool,
    as_json: bool,
) -> None:
    """Real candidate sessions and proctor dashboards against a server; what arrived, how fast."""
    import asyncio

    from openproctor.tools.loadtest.run import loadtest as run_loadtest

    settings = command_settings()
    try:
        report = asyncio.run(
            run_loadtest(
                candidates=candidates,
                fps=fps,
                duration=duration,
                proctors=proctors,
                url=url,
                admin_email=admin_email,
                admin_password=admin_password,
                models_dir=model_dir(settings),
                workers=workers,
                fixed_rate=fixed_rate,
                database_url=database_url,
                redis_url=redis_url,
                recording_kbps=recording_kbps,
            )
        )
    except (ValueError, RuntimeError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@click.command()
@click.argument("video", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fps", default=2.0, show_default=True, type=click.FloatRange(0.1, 30))
@click.option("--loops", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--enrol",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A photo for the baseline pose (default: the video's first face).",
)
def attention(video: Path, fps: float, loops: int, enrol: Path | None) -> None:
    """The attention score frame by frame over a video: one JSON object per sampled frame."""
    from openproctor.tools.attention import score_video
    from openproctor.tools.detection import InputError

    settings = command_settings()
    rows = score_video(
        video,
        model_dir=model_dir(settings),
        config=settings.detectors,
        fps=fps,
        loops=loops,
        enrol=enrol,
    )
    try:
        for row in rows:
            click.echo(json.dumps(row))
    except (ModelError, InputError, ValueError) as error:
        raise click.ClickException(str(error)) from None
