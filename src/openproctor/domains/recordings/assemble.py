"""Joins a recording's chunks into one seekable WebM, with PyAV (FFmpeg inside the wheel).

MediaRecorder's chunks of one run are one WebM stream cut in pieces: joined in order they
play, but have no duration and no cues, so players cannot seek. Each run (a page reload
starts a new one, with a new header) is read as its own stream and its packets are remuxed,
one run after the other on a single timeline, into a file the muxer finishes with cues.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
from av.container import InputContainer, OutputContainer


class AssemblyError(Exception):
    """The chunks do not make a playable recording; the message says why."""


@dataclass(frozen=True)
class PartSpan:
    """Where one part (recorder run) lies in the assembled file, in seconds."""

    offset_s: float
    duration_s: float


@dataclass(frozen=True)
class Assembled:
    data: bytes
    duration_s: float
    parts: tuple[PartSpan, ...]  # one per part given, in the same order


def assemble(parts: Sequence[bytes]) -> Assembled:
    """One WebM from the parts (each the joined chunks of one recorder run), in order."""
    if not parts:
        raise AssemblyError("no chunks to assemble")
    output_buffer = io.BytesIO()
    offset = 0.0
    spans = []
    with av.open(output_buffer, mode="w", format="webm") as output:
        streams: dict[str, av.stream.Stream] = {}
        for number, data in enumerate(parts):
            try:
                with av.open(io.BytesIO(data), mode="r", format="webm") as source:
                    end = _copy(source, output, streams, offset, first=number == 0)
            except av.error.FFmpegError as error:
                raise AssemblyError(f"part {number} is not readable WebM: {error}") from None
            spans.append(PartSpan(offset, end - offset))
            offset = end
    data = output_buffer.getvalue()
    return Assembled(data, duration_of(data), tuple(spans))


def _copy(
    source: InputContainer,
    output: OutputContainer,
    streams: dict[str, av.stream.Stream],
    offset: float,
    *,
    first: bool,
) -> float:
    """Copies a run's packets after `offset` seconds; returns where the run ended."""
    # Streams are matched by type: every run of one recorder has the same video and audio.
    if first:
        for stream in source.streams:
            if stream.type in ("video", "audio") and stream.type not in streams:
                streams[stream.type] = output.add_stream_from_template(stream)
    end = offset
    last_dts: dict[str, int] = {}
    for packet in source.demux():
        target = streams.get(packet.stream.type)
        if target is None or packet.pts is None or packet.time_base is None:
            continue
        base: Fraction = packet.time_base
        shift = round(offset / base)
        packet.pts += shift
        if packet.dts is not None:
            packet.dts += shift
            # Browsers sometimes stamp two frames with the same millisecond; muxers want
            # strictly increasing decode times.
            previous = last_dts.get(packet.stream.type)
            if previous is not None and packet.dts <= previous:
                packet.dts = previous + 1
                packet.pts = max(packet.pts, packet.dts)
            last_dts[packet.stream.type] = packet.dts
        end = max(end, float((packet.pts + (packet.duration or 0)) * base))
        packet.stream = target
        output.mux(packet)
    return end


def duration_of(data: bytes) -> float:
    """The playable length of a media file, from its packets (not its header's claim)."""
    with av.open(io.BytesIO(data), mode="r") as container:
        end = 0.0
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        return end
