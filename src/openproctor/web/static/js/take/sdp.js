// What the candidate's page writes into a viewer's answer before using it (take/live.js).
//
// Opus in 60 ms packets, not 20: a third of the packets, so a third of the ~12 kbit/s of RTP
// and SRTP headers, which weigh as much as a wall tile's capped sound itself (40 ms more delay,
// unheard when listening). The packet time is the receiver's to ask for in its answer and
// holds for the whole connection (a quality change cannot switch it without a new offer), so
// the sending page asks for it on every viewer's behalf. (Discontinuous transmission,
// usedtx=1, would save more in silence, but with it the wall's level meters read nothing from
// this page's microphone in Chromium: left out.)
export const AUDIO_PACKET_MS = 60;

export function preferLightAudio(sdp) {
  const opus = sdp.match(/^a=rtpmap:(\d+) opus\//im)?.[1];
  if (!opus || /^a=ptime:/m.test(sdp)) return sdp;
  return sdp.replace(new RegExp(`^a=fmtp:${opus} [^\r\n]*`, "m"), (line) => `${line}\r\na=ptime:${AUDIO_PACKET_MS}`);
}
