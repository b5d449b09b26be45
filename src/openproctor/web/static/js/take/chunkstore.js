// Recording chunks kept in IndexedDB until the server has them, so nothing recorded is lost to
// a dropped connection, a reload or a browser restart. Only media and its bookkeeping is kept
// here: no token, no answers.
//
//   chunks   key [sessionId, kind, index]: {sessionId, kind, part, index, sha256, blob, mime,
//            startedMs, savedAt}
//   streams  key [sessionId, kind]: {sessionId, kind, nextIndex, startedMs, runs: {part: ms},
//            finished, completed}
//            nextIndex  the index the next chunk of this stream gets
//            runs       milliseconds recorded by each recorder run (a run is a part)
//            finished   no more chunks will be recorded (the exam ended, the room scan is done)
//            completed  the server was told the chunk count ("complete")
const DB_NAME = "openproctor-recordings";
const VERSION = 1;
let opening = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
  });
}

export function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      const chunks = db.createObjectStore("chunks", { keyPath: ["sessionId", "kind", "index"] });
      chunks.createIndex("session", "sessionId");
      db.createObjectStore("streams", { keyPath: ["sessionId", "kind"] });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
  });
  opening.catch(() => (opening = null));
  return opening;
}

const newStream = (sessionId, kind) => ({
  sessionId, kind, nextIndex: 0, startedMs: null, runs: {}, finished: false, completed: false,
});

export async function getStream(sessionId, kind) {
  const db = await open();
  const stream = await promised(db.transaction("streams").objectStore("streams").get([sessionId, kind]));
  return stream ?? newStream(sessionId, kind);
}

export async function streamsOf(sessionId) {
  const db = await open();
  const all = await promised(db.transaction("streams").objectStore("streams").getAll());
  return all.filter((stream) => stream.sessionId === sessionId);
}

// Applies `change(stream)` to the stream's bookkeeping and stores it; returns the new value.
export async function updateStream(sessionId, kind, change) {
  const db = await open();
  const transaction = db.transaction("streams", "readwrite");
  const store = transaction.objectStore("streams");
  const stream = (await promised(store.get([sessionId, kind]))) ?? newStream(sessionId, kind);
  change(stream);
  store.put(stream);
  await done(transaction);
  return stream;
}

// Reserves the stream's next index, from what this browser and the server know.
export async function reserveFrom(sessionId, kind, serverNext) {
  return updateStream(sessionId, kind, (stream) => {
    stream.nextIndex = Math.max(stream.nextIndex, serverNext);
    stream.finished = false;
    stream.completed = false;
  });
}

// Saves one chunk and moves the stream on, in one transaction: either both happen or neither.
export async function saveChunk(chunk, { runMs }) {
  const db = await open();
  const transaction = db.transaction(["chunks", "streams"], "readwrite");
  const streams = transaction.objectStore("streams");
  const key = [chunk.sessionId, chunk.kind];
  const stream = (await promised(streams.get(key))) ?? newStream(chunk.sessionId, chunk.kind);
  chunk.index = Math.max(stream.nextIndex, chunk.part);
  stream.nextIndex = chunk.index + 1;
  stream.runs[chunk.part] = runMs;
  if (chunk.index === 0) stream.startedMs = chunk.startedMs;
  transaction.objectStore("chunks").put({ ...chunk, savedAt: Date.now() });
  streams.put(stream);
  await done(transaction);
  return chunk;
}

export async function pendingChunks(sessionId) {
  const db = await open();
  const index = db.transaction("chunks").objectStore("chunks").index("session");
  const chunks = await promised(index.getAll(sessionId));
  return chunks.sort((a, b) => a.savedAt - b.savedAt || a.index - b.index);
}

export async function countPending(sessionId) {
  const db = await open();
  return promised(db.transaction("chunks").objectStore("chunks").index("session").count(sessionId));
}

export async function deleteChunk(chunk) {
  const db = await open();
  const transaction = db.transaction("chunks", "readwrite");
  transaction.objectStore("chunks").delete([chunk.sessionId, chunk.kind, chunk.index]);
  await done(transaction);
}

// Sessions with anything left to send or to complete (for a page opened after the exam).
export async function sessionsWithWork() {
  const db = await open();
  const streams = await promised(db.transaction("streams").objectStore("streams").getAll());
  return [...new Set(streams.filter((s) => !s.completed).map((s) => s.sessionId))];
}
