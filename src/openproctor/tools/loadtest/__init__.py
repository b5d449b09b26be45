"""`openproctor loadtest`: real candidate sessions over WebSocket, real JPEG frames, real
proctor dashboards, and what arrived how fast.

Each simulated candidate goes through the real flow (invite, consent, enrolment with a face
photo, start), then streams frames at the asked rate, obeying the server's rate messages. Its
script: every candidate switches tabs once; one in ten shows two faces for a while, one in ten
leaves the camera. Those are the violations expected; the proctor sockets count which arrive
and when. Frames move by a few pixels from one to the next, as a person does, so the cheap
"unchanged frame" gate does not make the numbers look better than a real class would. With
--recording-kbps each candidate also uploads its webcam recording's chunks.

client.py is what candidates' browsers and proctors' walls do, scenario.py what each candidate
shows and when, server.py the server under test (on SQLite, or on a PostgreSQL and a Redis),
meter.py the CPU time and memory of its processes, backends.py the load on its PostgreSQL and
Redis, report.py what arrived how fast, run.py the whole run.
"""
